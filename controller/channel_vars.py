"""Names of FreeSWITCH channel variables, event headers and ESL content types.

Every FreeSWITCH name the controller reads or writes lives here, so a grep
finds every use and a typo is an ``AttributeError`` instead of a silent miss.
"""

from typing import Final

# --- ESL content types ----------------------------------------------------------------------
CT_AUTH_REQUEST: Final = "auth/request"
CT_COMMAND_REPLY: Final = "command/reply"
CT_API_RESPONSE: Final = "api/response"
CT_EVENT_PLAIN: Final = "text/event-plain"
CT_DISCONNECT_NOTICE: Final = "text/disconnect-notice"
CT_RUDE_REJECTION: Final = "text/rude-rejection"

# --- ESL frame / reply headers -------------------------------------------------------------
H_CONTENT_TYPE: Final = "Content-Type"
H_CONTENT_LENGTH: Final = "Content-Length"
H_REPLY_TEXT: Final = "Reply-Text"
H_JOB_UUID: Final = "Job-UUID"

# --- event headers ----------------------------------------------------------------------------
H_EVENT_NAME: Final = "Event-Name"
H_EVENT_SUBCLASS: Final = "Event-Subclass"
H_UNIQUE_ID: Final = "Unique-ID"
H_CHANNEL_NAME: Final = "Channel-Name"
H_CALL_DIRECTION: Final = "Call-Direction"
H_OTHER_LEG_UNIQUE_ID: Final = "Other-Leg-Unique-ID"
H_APPLICATION_UUID: Final = "Application-UUID"
H_HANGUP_CAUSE: Final = "Hangup-Cause"
H_EVENT_DATE_TIMESTAMP: Final = "Event-Date-Timestamp"  # microseconds since the epoch
H_CALLER_DESTINATION_NUMBER: Final = "Caller-Destination-Number"
H_CALLER_ID_NUMBER: Final = "Caller-Caller-ID-Number"
H_CALLER_ID_NAME: Final = "Caller-Caller-ID-Name"
H_CALLER_NETWORK_ADDR: Final = "Caller-Network-Addr"

# --- sendmsg headers ---------------------------------------------------------------------------
SM_CALL_COMMAND: Final = "call-command"
SM_EXECUTE_APP_NAME: Final = "execute-app-name"
SM_HANGUP_CAUSE: Final = "hangup-cause"
SM_EVENT_UUID: Final = "Event-UUID"
SM_EVENT_LOCK: Final = "event-lock"
SM_CONTENT_TYPE: Final = "content-type"
SM_CONTENT_LENGTH: Final = "content-length"

# --- event names ------------------------------------------------------------------------------
EV_CHANNEL_EXECUTE_COMPLETE: Final = "CHANNEL_EXECUTE_COMPLETE"
EV_CHANNEL_HANGUP: Final = "CHANNEL_HANGUP"
EV_CHANNEL_HANGUP_COMPLETE: Final = "CHANNEL_HANGUP_COMPLETE"
EV_CHANNEL_ANSWER: Final = "CHANNEL_ANSWER"
EV_CHANNEL_BRIDGE: Final = "CHANNEL_BRIDGE"
EV_CHANNEL_CREATE: Final = "CHANNEL_CREATE"
EV_BACKGROUND_JOB: Final = "BACKGROUND_JOB"
EV_CUSTOM: Final = "CUSTOM"

MYEVENTS: Final = frozenset(
    {
        "CHANNEL_ANSWER",
        "CHANNEL_APPLICATION",
        "CHANNEL_BRIDGE",
        "CHANNEL_CREATE",
        "CHANNEL_DATA",
        "CHANNEL_DESTROY",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "CHANNEL_OUTGOING",
        "CHANNEL_PARK",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_STATE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_UNPARK",
        "DETECTED_SPEECH",
        "DTMF",
        "NOTALK",
        "TALK",
    }
)
"""What ``myevents`` subscribes to (mod_event_socket.c, parse_command); the controller
``nixevent``s the ones it does not read, so FreeSWITCH never serialises them."""
SUB_SOFIA_REGISTER: Final = "sofia::register"
SUB_SOFIA_UNREGISTER: Final = "sofia::unregister"
SUB_SOFIA_EXPIRE: Final = "sofia::expire"

# sofia::register / unregister carry username + realm (and from-user/from-host); expire: user/host
SOFIA_USER_KEYS: Final = ("username", "from-user", "user")
SOFIA_DOMAIN_KEYS: Final = ("realm", "from-host", "host")
SOFIA_CONTACT: Final = "contact"
DIRECTION_OUTBOUND: Final = "outbound"

# --- `show channels|registrations as json` (mod_commands: {"row_count": N, "rows": [...]}) ------
API_SHOW_CHANNELS: Final = "show channels as json"
API_SHOW_REGISTRATIONS: Final = "show registrations as json"
SHOW_ROW_COUNT: Final = "row_count"
SHOW_ROWS: Final = "rows"
# columns of the core `channels` table (switch_core_sqldb.c)
COL_NAME: Final = "name"
COL_DIRECTION: Final = "direction"
COL_PRESENCE_ID: Final = "presence_id"  # mod_dptools sets user@domain on user/ legs
# columns of the core `registrations` table (filled by sofia_reg.c)
COL_REG_USER: Final = "reg_user"
COL_REALM: Final = "realm"
COL_URL: Final = "url"  # sofia/<profile>/sip:<contact>


# --- channel variables as they appear in channel data (``variable_`` prefix) ------------------
CV_UUID: Final = "variable_uuid"
CV_DOMAIN_NAME: Final = "variable_domain_name"
CV_SIP_TO_HOST: Final = "variable_sip_to_host"
CV_SIP_REQ_HOST: Final = "variable_sip_req_host"
CV_SIP_FROM_USER: Final = "variable_sip_from_user"
CV_USER_NAME: Final = "variable_user_name"
CV_SIP_AUTHORIZED: Final = "variable_sip_authorized"
CV_SIP_AUTH_USERNAME: Final = "variable_sip_auth_username"
CV_DIALED_USER: Final = "variable_dialed_user"
CV_DIALED_DOMAIN: Final = "variable_dialed_domain"
CV_NETWORK_ADDR: Final = "variable_network_addr"
CV_SIP_HEADER_PREFIX: Final = "variable_sip_h_"
CV_ORIGINATE_DISPOSITION: Final = "variable_originate_disposition"
CV_DIALSTATUS: Final = "variable_DIALSTATUS"
CV_ORIGINATE_CAUSES: Final = "variable_originate_causes"
CV_ORIGINATE_FAILED_CAUSE: Final = "variable_originate_failed_cause"
CV_LAST_BRIDGE_HANGUP_CAUSE: Final = "variable_last_bridge_hangup_cause"
CV_BRIDGE_HANGUP_CAUSE: Final = "variable_bridge_hangup_cause"
CV_START_UEPOCH: Final = "variable_start_uepoch"  # microseconds since the epoch
CV_ANSWER_UEPOCH: Final = "variable_answer_uepoch"
CV_END_UEPOCH: Final = "variable_end_uepoch"
CV_BILLSEC: Final = "variable_billsec"
CV_DURATION: Final = "variable_duration"

# --- variables the controller sets (no prefix) ------------------------------------------------
SET_CONTINUE_ON_FAIL: Final = "continue_on_fail"
HANGUP_CAUSE_NONE: Final = "NONE"  # originate_causes entry of the leg that answered
DS_IGNORE_EARLY_MEDIA: Final = "ignore_early_media"
DS_LEG_TIMEOUT: Final = "leg_timeout"
DS_LEG_DELAY_START: Final = "leg_delay_start"
DS_ORIGINATE_TIMEOUT: Final = "originate_timeout"
DS_ORIGINATE_DELAY_START: Final = "originate_delay_start"
DS_CALLER_ID_NAME: Final = "origination_caller_id_name"
DS_CALLER_ID_NUMBER: Final = "origination_caller_id_number"
DS_CALL_HEADER: Final = "sip_h_X-Huntsman-Call"
DS_ORIGINATION_UUID: Final = "origination_uuid"

# --- dialplan applications ----------------------------------------------------------------------
APP_SET: Final = "set"
APP_BRIDGE: Final = "bridge"
APP_TRANSFER: Final = "transfer"
APP_PLAYBACK: Final = "playback"
APP_VOICEMAIL: Final = "voicemail"
APP_ANSWER: Final = "answer"
APP_SCHED_CANCEL: Final = "sched_cancel"
"""Disarms the dialplan's hand-over watchdog (a ``sched_transfer`` to the fallback set before
``socket``, see freeswitch/dialplan/huntsman.xml): the first application sent on every call."""

# --- bridge outcome values ----------------------------------------------------------------------
DISPOSITION_SUCCESS: Final = "SUCCESS"
