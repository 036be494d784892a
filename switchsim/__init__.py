r"""switchsim: a FreeSWITCH 1.10 emulator that speaks the real Event Socket protocol.

It serves the test suite, the demo and the load benchmarks. It never imports ``controller`` or
``web``. Everything runs on gevent in the caller's process (``gevent.monkey.patch_all()`` is done
by the entry points and by ``tests/conftest.py``).

Quick tour::

    from switchsim import Switch, Behaviour

    sw = Switch(time_scale=0.01, hostname="sim1")     # 1 simulated s = 10 ms real
    sw.endpoints.set("user/1001@example.com", Behaviour.answer(after=2, hangup_after=5))
    sw.endpoints.set("user/1002@example.com", Behaviour.busy())
    sw.endpoints.default = Behaviour.unregistered()
    sw.set_registered("1001", "example.com", True)    # CUSTOM sofia::register to subscribers
    host, port = sw.serve_inbound(host="127.0.0.1", port=0, password="ClueCon")
    call = sw.place_call(controllers="127.0.0.1:8084|127.0.0.1:8085",
                         destination="+4930123456", caller_number="+4917012345",
                         caller_name="Alice", domain="example.com",
                         variables={"socket_resume": "true"},
                         fallback=("transfer", "fallback XML fallback"))
    result = call.wait(timeout=10)
    result.commands       # [Command(name, args, headers, body)] the controller sent
    result.bridges        # [BridgeRecord(dial_string, legs=[LegRecord], cause, answered_by)]
    result.hangup_cause   # 'NORMAL_CLEARING', 'NO_ANSWER', ...
    result.fallback_ran   # the dialplan resumed after the socket (or no controller answered)
    result.answered_by    # target that answered, or None
    sw.legs               # every B-leg ever originated (double-offer checks)
    sw.close()

:class:`Switch`
    ``Switch(time_scale=1.0, hostname="sim1", ipv4=..., ipv6=..., core_uuid=None)``.
    Attributes: ``endpoints`` (:class:`Endpoints`), ``legs`` (list of :class:`LegRecord`),
    ``channels`` (live channels by UUID), ``calls``, ``clock``.

    ``place_call(controllers, destination, caller_number="0000000000", caller_name="",
    domain=None, from_user=None, variables=None, caller_hangup_after=None,
    caller_hangup_after_answer=None, fallback=("transfer", "fallback XML fallback"), **caller)``
    dials the controllers like ``socket host:port|host2:port2 async full``: each address is
    tried in order, a refused one falls through to the next; when all fail the fallback runs
    (``fallback_ran``). ``variables`` are channel variables set by the dialplan before the
    socket app (e.g. ``socket_resume``); ``domain`` becomes ``domain_name``, ``sip_to_host``
    and ``sip_req_host``; ``from_user`` the SIP From user. ``caller_hangup_after`` hangs the
    caller up that many simulated seconds after the call starts, ``caller_hangup_after_answer``
    after the A-leg is answered. Extra keyword arguments go to
    :class:`~switchsim.channel_data.CallerSpec` (``network_addr``, ``network_port``,
    ``context``, ``sip_subject``, ``profile``...). Returns a :class:`Call`:
    ``call.wait(timeout)`` (real seconds) returns the :class:`CallResult`; ``call.hangup()``
    makes the caller hang up now; ``call.uuid`` is the A-leg UUID.

    ``serve_inbound(host, port, password)`` starts an inbound ESL server and returns its
    address (``port=0`` picks a free port). ``set_registered(user, domain, registered,
    contact=None)`` and
    ``expire_registration(user, domain)`` change registrations and fire
    ``CUSTOM sofia::register`` / ``sofia::unregister`` / ``sofia::expire``.
    ``close()`` stops servers and drops calls.

:class:`CallResult` (``call.wait()``)
    ``uuid``, ``controller`` (the address that took the call, None on socket error),
    ``commands`` (:class:`~switchsim.frames.Command`: ``name``, ``args``, ``headers``,
    ``body``, ``at``; ``command_names()`` summarises them as ``execute bridge``/``hangup``),
    ``bridges`` (:class:`BridgeRecord`: ``dial_string``, ``legs``, ``cause`` (= ``result``,
    ``SUCCESS`` or the failure cause), ``answered_by``, ``application_uuid``, times),
    ``apps`` (``(app, arg)`` executed, the fallback included), ``events`` (names delivered by
    ``myevents``), ``hangup_cause``, ``fallback_ran``, ``transferred_to``, ``answered_by``,
    ``connected_at``/``answered_at``/``ended_at`` and the final ``variables``.

:class:`LegRecord` (``sw.legs``, ``bridge.legs``)
    ``target``, ``variables`` (effective dial-string variables), ``a_leg`` (UUID of the call
    that rang it, None for inbound ``originate``), ``uuid``, ``started_at``, ``rang_at``,
    ``answered_at``, ``ended_at`` (simulated seconds), ``cause``/``outcome``, ``answered``;
    ``overlaps(other)`` tells whether two legs were alive at the same time.

:class:`Behaviour`
    ``answer(after=0, hangup_after=None)``, ``busy(after=0)`` (USER_BUSY),
    ``no_answer()``, ``unregistered()`` (``user/``: USER_NOT_REGISTERED, ``sofia/``:
    NORMAL_TEMPORARY_FAILURE), ``unreachable(after=1)``, ``reject(after=0)`` (CALL_REJECTED),
    ``slow_ring(progress_after=3, answer_after=None)``. Times are simulated seconds.
    ``sw.endpoints.set(target, behaviour)`` keys them by dial target; ``sw.endpoints.default``
    applies to unknown targets and ``sw.endpoints.resolver`` (``target -> Behaviour | None``)
    is asked first when set. A ``user/`` target whose user was set unregistered with
    ``set_registered(..., False)`` fails with USER_NOT_REGISTERED whatever its behaviour.

Dial strings (:func:`parse_dial_string`): ``,`` rings together, ``|`` one after the other,
``:_:`` enterprise branches in parallel; ``<>`` ``{}`` ``[]`` variables with ``\,`` escapes
and ``^^X`` separators; at most 128 legs per ``,`` group (the rest fails like FreeSWITCH).
Timers: ``leg_timeout`` (ALLOTTED_TIMEOUT), ``originate_timeout``/``call_timeout`` (per
``|`` group, NO_ANSWER), ``leg_delay_start``, ``originate_delay_start``. The first answer wins,
the other legs end with LOSE_RACE; a caller hangup cancels ringing legs (ORIGINATOR_CANCEL).

Outbound session commands: ``connect``, ``myevents [plain|json]``, ``linger [secs]``,
``nolinger``, ``event``, ``noevents``, ``sendmsg [uuid]`` (``call-command: execute|hangup``,
``execute-app-name``/``execute-app-arg`` or a ``text/plain`` body, ``Event-UUID`` returned as
``Application-UUID``, ``loops``), ``api``, ``bgapi``, ``resume``, ``exit``. Applications:
answer, playback, bridge, hangup, set, export, transfer, sleep, ring_ready, pre_answer,
voicemail, park.
"""

from switchsim.call import Call
from switchsim.dialstring import DialString, DialStringError
from switchsim.dialstring import parse as parse_dial_string
from switchsim.endpoints import Behaviour, Endpoints
from switchsim.records import BridgeRecord, CallResult, LegRecord
from switchsim.switch import Switch

__all__ = [
    "Behaviour",
    "BridgeRecord",
    "Call",
    "CallResult",
    "DialString",
    "DialStringError",
    "Endpoints",
    "LegRecord",
    "Switch",
    "parse_dial_string",
]
