"""Templates of a new channel's variables (inbound sofia A-leg, outbound B-leg).

The names and their order are those of FreeSWITCH 1.10.12 for a call arriving on the sofia
profile ``external`` and handed to ``socket ... async full`` (see the captures); the values are
derived from the call being simulated.
"""

from __future__ import annotations

import random
import uuid as uuidlib
from dataclasses import dataclass, field


@dataclass
class CallerSpec:
    """What the simulated SIP caller sends (values of the A-leg's channel data)."""

    destination: str
    caller_number: str = "0000000000"
    caller_name: str = ""
    domain: str | None = None
    from_user: str | None = None
    network_addr: str = "127.0.0.1"
    network_port: int = 5070
    profile: str = "external"
    profile_host: str = "127.0.0.1"
    profile_port: int = 5080
    context: str = "public"
    sip_subject: str | None = None
    rtp_port: int = 6900
    socket_data: str = ""
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def user(self) -> str:
        """The SIP From user (``sip_from_user``)."""
        return self.from_user or self.caller_number

    @property
    def display(self) -> str:
        """The From display name (FreeSWITCH falls back to the user)."""
        return self.caller_name or self.user

    @property
    def to_host(self) -> str:
        """Host of the To/Request URI: the domain when given, else the profile address."""
        return self.domain or self.profile_host

    @property
    def channel_name(self) -> str:
        """``sofia/<profile>/<user>@<addr>:<port>``."""
        return f"sofia/{self.profile}/{self.user}@{self.network_addr}:{self.network_port}"


def _sdp(origin: str, addr: str, port: int) -> str:
    sess = random.randint(10_000_000, 99_999_999)
    ver = random.randint(1_000_000_000, 2_999_999_999)
    return (
        f"v=0\r\no={origin} {sess} {ver} IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )


# The negotiated-codec variables of a PCMU call (A-leg at connect, B-leg at its 200 OK), in the
# order FreeSWITCH sets them.
_PCMU_SESSION: dict[str, str] = {
    "rtp_audio_recv_pt": "0",
    "rtp_use_codec_name": "PCMU",
    "rtp_use_codec_rate": "8000",
    "rtp_use_codec_ptime": "20",
    "rtp_use_codec_channels": "1",
    "rtp_last_audio_codec_string": "PCMU@8000h@20i@1c",
    "read_codec": "PCMU",
    "original_read_codec": "PCMU",
    "read_rate": "8000",
    "original_read_rate": "8000",
    "write_codec": "PCMU",
    "write_rate": "8000",
    "dtmf_type": "info",
}


def a_leg_variables(
    spec: CallerSpec, uuid: str, session_id: int, created_us: int
) -> dict[str, str]:
    """Variables of an inbound sofia channel at the moment the socket app connects."""
    tag = f"{random.randint(100, 99999)}SIPpTag001"
    call_id = f"{random.randint(1, 9)}-{random.randint(100, 99999)}@{spec.network_addr}"
    port = spec.network_port
    addr = spec.network_addr
    to_uri = f"{spec.destination}@{spec.to_host}:{spec.profile_port}"
    branch = f"z9hG4bK-{random.randint(100, 99999)}-1-0"
    out: dict[str, str] = {
        "direction": "inbound",
        "uuid": uuid,
        "session_id": str(session_id),
        "sip_from_user": spec.user,
        "sip_from_port": str(port),
        "sip_from_uri": f"{spec.user}@{addr}:{port}",
        "sip_from_host": addr,
        "video_media_flow": "disabled",
        "text_media_flow": "disabled",
        "channel_name": spec.channel_name,
        "sip_call_id": call_id,
        "sip_local_network_addr": spec.profile_host,
        "sip_network_ip": addr,
        "sip_network_port": str(port),
        "sip_invite_stamp": str(created_us),
        "sip_received_ip": addr,
        "sip_received_port": str(port),
        "sip_via_protocol": "udp",
        "sip_from_user_stripped": spec.user,
        "sip_from_tag": tag,
        "sofia_profile_name": spec.profile,
        "sofia_profile_url": f"sip:mod_sofia@{spec.profile_host}:{spec.profile_port}",
        "recovery_profile_name": spec.profile,
        "sip_full_via": f"SIP/2.0/UDP {addr}:{port};branch={branch}",
        "sip_from_display": spec.display,
        "sip_full_from": f"{spec.display} <sip:{spec.user}@{addr}:{port}>;tag={tag}",
        "sip_to_display": spec.destination,
        "sip_full_to": f"{spec.destination} <sip:{to_uri}>",
        "sip_req_user": spec.destination,
        "sip_req_port": str(spec.profile_port),
        "sip_req_uri": to_uri,
        "sip_req_host": spec.to_host,
        "sip_to_user": spec.destination,
        "sip_to_port": str(spec.profile_port),
        "sip_to_uri": to_uri,
        "sip_to_host": spec.to_host,
        "sip_contact_user": spec.user,
        "sip_contact_port": str(port),
        "sip_contact_uri": f"{spec.user}@{addr}:{port}",
        "sip_contact_host": addr,
    }
    if spec.sip_subject is not None:
        out["sip_subject"] = spec.sip_subject
    out.update(
        {
            "sip_via_host": addr,
            "sip_via_port": str(port),
            "max_forwards": "70",
            "switch_r_sdp": _sdp("user1", addr, spec.rtp_port),
            "ep_codec_string": "CORE_PCM_MODULE.PCMU@8000h@20i@64000b",
            "rtp_use_codec_string": "PCMU",
            "remote_video_media_flow": "inactive",
            "remote_text_media_flow": "inactive",
            "remote_audio_media_flow": "sendrecv",
            "audio_media_flow": "sendrecv",
            "remote_media_ip": addr,
            "remote_media_port": str(spec.rtp_port),
            **_PCMU_SESSION,
            "endpoint_disposition": "RECEIVED",
            "DP_MATCH": f"ARRAY::{spec.destination}|:{spec.destination}",
            "call_uuid": uuid,
        }
    )
    if spec.from_user:
        # The caller is one of the directory's users and passed digest authentication: sofia
        # marks the channel sip_authorized and copies the directory identity onto it. A
        # controller trusts from_user only on such channels (sip_from_user is caller-chosen).
        realm = spec.domain or spec.profile_host
        out.update(
            {
                "sip_authorized": "true",
                "sip_auth_username": spec.from_user,
                "sip_auth_realm": realm,
                "user_name": spec.from_user,
                "domain_name": realm,
            }
        )
    # Variables set by the dialplan before the socket app (domain, socket_resume, ...).
    if spec.domain and "domain_name" not in spec.variables:
        out["domain_name"] = spec.domain
    out.update(spec.variables)
    out["current_application_data"] = spec.socket_data
    out["current_application"] = "socket"
    return out


def answer_variables(local_port: int) -> dict[str, str]:
    """Variables the media layer adds when a channel is answered (or pre-answered)."""
    return {
        "rtp_local_sdp_str": (
            f"v=0\r\no=FreeSWITCH {random.randint(1_700_000_000, 1_799_999_999)} "
            f"{random.randint(1_700_000_000, 1_799_999_999)} IN IP4 127.0.0.1\r\n"
            "s=FreeSWITCH\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {local_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n"
            "a=sendrecv\r\n"
        ),
        "local_media_ip": "127.0.0.1",
        "local_media_port": str(local_port),
        "advertised_media_ip": "127.0.0.1",
        "rtp_use_timer_name": "soft",
        "rtp_use_pt": "0",
        "rtp_use_ssrc": str(random.randint(100_000_000, 999_999_999)),
    }


def _host_port(uri: str) -> tuple[str, str]:
    hostport = uri.rpartition("@")[2]
    host, _, port = hostport.partition(":")
    return host, port or "5060"


def b_leg_variables(
    uuid: str,
    session_id: int,
    channel_name: str,
    target_uri: str,
    extra: dict[str, str],
    media_port: int,
) -> dict[str, str]:
    """Variables of an outbound (originated) sofia channel at CHANNEL_CREATE."""
    host, port = _host_port(target_uri)
    out = {
        "direction": "outbound",
        "is_outbound": "true",
        "uuid": uuid,
        "call_uuid": uuid,
        "session_id": str(session_id),
        "sip_local_network_addr": "127.0.0.1",
        "sip_profile_name": "external",
        "video_media_flow": "disabled",
        "text_media_flow": "disabled",
        "channel_name": channel_name,
        "sip_destination_url": f"sip:{target_uri}",
    }
    out.update(extra)
    local = answer_variables(media_port)
    out.update(
        {
            "originate_early_media": "true",
            "originate_endpoint": channel_name.split("/", 1)[0],
            "rtp_use_codec_string": "PCMU",
            "local_media_ip": local["local_media_ip"],
            "local_media_port": local["local_media_port"],
            "advertised_media_ip": local["advertised_media_ip"],
            "audio_media_flow": "sendrecv",
            "rtp_local_sdp_str": local["rtp_local_sdp_str"],
            "sip_outgoing_contact_uri": "<sip:mod_sofia@127.0.0.1:5080>",
            "sip_req_uri": target_uri,
            "sip_to_host": f"{host}:{port}",
            "sip_from_host": "127.0.0.1",
            "sofia_profile_name": "external",
            "recovery_profile_name": "external",
            "sofia_profile_url": "sip:mod_sofia@127.0.0.1:5080",
        }
    )
    return out


def b_leg_reply_variables(target_uri: str) -> dict[str, str]:
    """Set on an outbound channel by the first SIP reply (where it came from)."""
    host, port = _host_port(target_uri)
    return {
        "sip_reply_host": host,
        "sip_reply_port": port,
        "sip_network_ip": host,
        "sip_network_port": port,
    }


def b_leg_dialog_variables(target_uri: str, caller_number: str) -> dict[str, str]:
    """Set on an outbound channel once a reply created the dialog (180/200)."""
    host, port = _host_port(target_uri)
    user = target_uri.partition("@")[0]
    from_tag = uuidlib.uuid4().hex[:13]
    to_tag = f"{random.randint(1000, 99999)}SIPpTag01{random.randint(0, 9)}"
    branch = uuidlib.uuid4().hex[:16]
    return {
        "sip_recover_contact": f"<sip:{host}:{port};transport=UDP>",
        "sip_full_via": f"SIP/2.0/UDP 127.0.0.1:5080;rport;branch=z9hG4bK{branch}",
        "sip_recover_via": f"SIP/2.0/UDP 127.0.0.1:5080;rport;branch=z9hG4bK{branch}",
        "sip_full_from": f"<sip:{caller_number}@127.0.0.1>;tag={from_tag}",
        "sip_full_to": f"<sip:{user}@{host}:{port}>;tag={to_tag}",
        "sip_from_user": caller_number,
        "sip_from_uri": f"{caller_number}@127.0.0.1",
        "sip_from_host": "127.0.0.1",
        "sip_to_user": user,
        "sip_to_port": port,
        "sip_to_uri": f"{user}@{host}:{port}",
        "sip_to_host": host,
        "sip_contact_params": "transport=UDP",
        "sip_contact_user": "nobody",
        "sip_contact_port": port,
        "sip_contact_uri": f"nobody@{host}:{port}",
        "sip_contact_host": host,
        "sip_to_tag": to_tag,
        "sip_from_tag": from_tag,
        "sip_cseq": str(random.randint(100_000_000, 199_999_999)),
        "sip_call_id": str(uuidlib.uuid4()),
    }


def b_leg_media_variables(media_port: int, remote_port: int) -> dict[str, str]:
    """Set on an outbound channel when its 200 OK (with SDP) arrives."""
    local = answer_variables(media_port)
    return {
        "switch_r_sdp": _sdp("user1", "127.0.0.1", remote_port),
        "ep_codec_string": "CORE_PCM_MODULE.PCMU@8000h@20i@64000b",
        "rtp_use_codec_string": "PCMU",
        "remote_video_media_flow": "inactive",
        "remote_text_media_flow": "inactive",
        "remote_audio_media_flow": "sendrecv",
        **_PCMU_SESSION,
        "local_media_ip": local["local_media_ip"],
        "local_media_port": local["local_media_port"],
        "advertised_media_ip": local["advertised_media_ip"],
        "rtp_use_timer_name": "soft",
        "rtp_use_pt": "0",
        "rtp_use_ssrc": local["rtp_use_ssrc"],
        "remote_media_ip": "127.0.0.1",
        "remote_media_port": str(remote_port),
    }
