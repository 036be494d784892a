"""Behaviours, causes, timers and socket-app rules, driven through a scripted controller."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import pytest

from switchsim import Behaviour, CallResult, Switch
from tests.switchsim.esl_stub import Session, StubController, reply_text, standard_start

SCALE = 0.02
D = "example.com"


# How late a simulated timer may fire: scheduling slack on a loaded 2-core CI machine, in real
# seconds (never early is the strict part).
LATE_SLACK_S = 0.25


def about(actual: float | None, expected: float) -> bool:
    """Simulated durations: never early, and late by at most the scheduling slack."""
    assert actual is not None
    return expected - 0.3 <= actual <= expected + LATE_SLACK_S / SCALE


@pytest.fixture
def sw() -> Iterator[Switch]:
    # A full collection of the test process's heap (the whole suite's objects) can stall it
    # for 100 ms, i.e. 5 simulated seconds at this time scale: none during a call.
    gc.collect()
    gc.disable()
    switch = Switch(time_scale=SCALE)
    switch.endpoints.default = Behaviour.unregistered()
    try:
        yield switch
    finally:
        switch.close()
        gc.enable()


def run(sw: Switch, script: Callable[[Session], None], **kwargs: object) -> CallResult:
    stub = StubController(script)
    try:
        call = sw.place_call(
            controllers=stub.address, destination="2000", caller_number="1000", domain=D, **kwargs
        )  # type: ignore[arg-type]
        result = call.wait(timeout=10)
        assert stub.done.wait(5)
        if stub.errors:
            raise stub.errors[0]
        return result
    finally:
        stub.stop()


def bridge_then_hangup(
    dial: str, hangup: bool = True, on_bridge: bool = True
) -> Callable[[Session], None]:
    def script(s: Session) -> None:
        standard_start(s)
        s.execute("bridge", dial, event_uuid="11111111-2222-3333-4444-555555555555")
        while True:
            ev = s.wait_event_any(("CHANNEL_BRIDGE", "CHANNEL_EXECUTE_COMPLETE"), timeout=10)
            if ev["Event-Name"] == "CHANNEL_EXECUTE_COMPLETE":
                script.complete = ev  # type: ignore[attr-defined]
                break
            script.bridged = ev  # type: ignore[attr-defined]
            if hangup and on_bridge:  # the controller ends an answered call
                s.send("sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING")
        if hangup and "Hangup-Cause" not in script.complete:  # type: ignore[attr-defined]
            s.command("sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING")
        s.wait_event("CHANNEL_HANGUP_COMPLETE", timeout=10)

    return script


def test_answered_bridge_reports_winner_and_returns_application_uuid(sw: Switch) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.answer(after=2, hangup_after=5))
    script = bridge_then_hangup(f"user/1001@{D}", on_bridge=False)
    result = run(sw, script)
    done = script.complete  # type: ignore[attr-defined]
    assert done["Application-UUID"] == "11111111-2222-3333-4444-555555555555"
    assert done["variable_originate_disposition"] == "SUCCESS"
    assert done["variable_bridge_hangup_cause"] == "NORMAL_CLEARING"
    assert result.answered_by == f"user/1001@{D}"
    (leg,) = result.bridges[0].legs
    assert leg.answered and leg.cause == "NORMAL_CLEARING"
    assert leg.answered_at is not None and leg.ended_at is not None
    assert about(leg.ended_at - leg.answered_at, 5)
    assert result.hangup_cause == "NORMAL_CLEARING"
    assert sw.legs == result.bridges[0].legs


@pytest.mark.parametrize(
    ("behaviour", "cause", "dialstatus"),
    [
        pytest.param(Behaviour.busy(), "USER_BUSY", "BUSY", id="busy-486"),
        pytest.param(Behaviour.reject(), "CALL_REJECTED", "CALL_REJECTED", id="reject-603"),
        pytest.param(
            Behaviour.unregistered(),
            "USER_NOT_REGISTERED",
            "USER_NOT_REGISTERED",
            id="unregistered-user",
        ),
    ],
)
def test_failed_bridge_hangs_up_the_a_leg_with_the_cause(
    sw: Switch, behaviour: Behaviour, cause: str, dialstatus: str
) -> None:
    sw.endpoints.set(f"user/1001@{D}", behaviour)
    script = bridge_then_hangup(f"user/1001@{D}", hangup=False)
    result = run(sw, script)
    done = script.complete  # type: ignore[attr-defined]
    assert done["Hangup-Cause"] == cause
    assert done["variable_DIALSTATUS"] == dialstatus
    assert result.hangup_cause == cause
    assert result.bridges[0].legs[0].cause == cause


def test_unregistered_user_creates_no_channel_but_sofia_target_fails_temporarily(
    sw: Switch,
) -> None:
    script = bridge_then_hangup("user/9999@example.com|sofia/gateway/gw/+4930111", hangup=False)
    result = run(sw, script)
    first, second = result.bridges[0].legs
    assert (first.cause, first.uuid) == ("USER_NOT_REGISTERED", None)
    assert second.cause == "NORMAL_TEMPORARY_FAILURE" and second.uuid is not None
    assert result.hangup_cause == "NORMAL_TEMPORARY_FAILURE"


def test_set_registered_false_makes_a_user_unregistered(sw: Switch) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.answer())
    sw.set_registered("1001", D, False)
    result = run(sw, bridge_then_hangup(f"user/1001@{D}", hangup=False))
    assert result.bridges[0].cause == "USER_NOT_REGISTERED"


def test_leg_timeout_gives_allotted_timeout(sw: Switch) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.no_answer())
    result = run(sw, bridge_then_hangup(f"{{leg_timeout=5}}user/1001@{D}", hangup=False))
    leg = result.bridges[0].legs[0]
    assert leg.cause == "ALLOTTED_TIMEOUT"
    assert about(leg.ended_at - leg.started_at, 5)
    assert result.hangup_cause == "ALLOTTED_TIMEOUT"


def test_originate_timeout_with_continue_on_fail_keeps_the_a_leg(sw: Switch) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.no_answer())

    def script(s: Session) -> None:
        standard_start(s)
        s.execute("set", "continue_on_fail=true")
        s.execute("bridge", f"{{originate_timeout=3}}user/1001@{D}")
        done = s.wait_event("CHANNEL_EXECUTE_COMPLETE", timeout=10, Application="bridge")
        assert done["variable_originate_disposition"] == "NO_ANSWER"
        assert done["variable_DIALSTATUS"] == "NOANSWER"
        assert "Hangup-Cause" not in done
        uuid = done["Unique-ID"]
        assert s.command(f"api uuid_getvar {uuid} bridge_hangup_cause").body == "_undef_"
        s.command("sendmsg\ncall-command: hangup\nhangup-cause: NO_ANSWER")
        s.wait_event("CHANNEL_HANGUP_COMPLETE")

    result = run(sw, script)
    assert result.hangup_cause == "NO_ANSWER"
    assert result.bridges[0].legs[0].cause == "NO_ANSWER"


@pytest.mark.parametrize(
    ("variable", "continues"),
    [
        pytest.param("continue_on_fail=USER_BUSY,NO_ANSWER", True, id="cause-listed"),
        pytest.param("continue_on_fail=17", True, id="q850-listed"),
        pytest.param("continue_on_fail=NO_ANSWER", False, id="cause-not-listed"),
        pytest.param("failure_causes=NO_ANSWER", True, id="failure-causes-other"),
        pytest.param("failure_causes=USER_BUSY", False, id="failure-causes-match"),
    ],
)
def test_continue_on_fail_lists(sw: Switch, variable: str, continues: bool) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.busy())

    def script(s: Session) -> None:
        standard_start(s)
        s.execute("set", variable)
        s.execute("bridge", f"user/1001@{D}")
        done = s.wait_event("CHANNEL_EXECUTE_COMPLETE", Application="bridge")
        script.hung = "Hangup-Cause" in done  # type: ignore[attr-defined]
        if not script.hung:  # type: ignore[attr-defined]
            s.execute("hangup", "NORMAL_CLEARING")
        s.wait_event("CHANNEL_HANGUP_COMPLETE")

    result = run(sw, script)
    assert script.hung is (not continues)  # type: ignore[attr-defined]
    assert result.hangup_cause == ("NORMAL_CLEARING" if continues else "USER_BUSY")


def test_simultaneous_first_answer_wins_others_lose_race(sw: Switch) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.answer(after=3))
    sw.endpoints.set(f"user/1002@{D}", Behaviour.answer(after=1, hangup_after=1))
    sw.endpoints.set(f"user/1003@{D}", Behaviour.no_answer())
    script = bridge_then_hangup(f"user/1001@{D},user/1002@{D},user/1003@{D}")
    result = run(sw, script)
    causes = {leg.target: leg.cause for leg in result.bridges[0].legs}
    assert result.answered_by == f"user/1002@{D}"
    assert causes[f"user/1001@{D}"] == "LOSE_RACE"
    assert causes[f"user/1003@{D}"] == "LOSE_RACE"
    oc = script.bridged["variable_originate_causes"]  # type: ignore[attr-defined]
    assert oc.startswith("ARRAY::") and oc.count("LOSE_RACE") == 2 and oc.count(";NONE") == 1


def test_sequential_with_leg_delay_start(sw: Switch) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.busy())
    sw.endpoints.set(f"user/1002@{D}", Behaviour.answer(after=1, hangup_after=1))
    result = run(sw, bridge_then_hangup(f"user/1001@{D}|[leg_delay_start=2]user/1002@{D}"))
    first, second = result.bridges[0].legs
    assert first.cause == "USER_BUSY"
    assert second.answered
    assert about(second.started_at - first.ended_at, 2)
    assert not first.overlaps(second)


def test_enterprise_branches_ring_in_parallel(sw: Switch) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.no_answer())
    sw.endpoints.set(f"user/1002@{D}", Behaviour.answer(after=2, hangup_after=1))
    result = run(
        sw, bridge_then_hangup(f"<origination_caller_id_name=Sales>user/1001@{D}:_:user/1002@{D}")
    )
    a, b = result.bridges[0].legs
    assert a.overlaps(b)
    assert result.answered_by == f"user/1002@{D}"
    assert a.variables["ignore_early_media"] == "true"  # forced by enterprise originate
    assert b.variables["origination_caller_id_name"] == "Sales"  # <> reaches every branch


def test_slow_ring_sends_progress_late(sw: Switch) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.slow_ring(progress_after=3, answer_after=4))
    result = run(sw, bridge_then_hangup(f"user/1001@{D}"))
    leg = result.bridges[0].legs[0]
    assert about(leg.rang_at - leg.started_at, 3)
    assert leg.answered


def test_too_many_legs_fail_the_overflow_like_freeswitch(sw: Switch) -> None:
    sw.endpoints.default = Behaviour.busy()
    dial = ",".join(f"sofia/gateway/gw/{n}" for n in range(130))
    result = run(sw, bridge_then_hangup(dial, hangup=False))
    legs = result.bridges[0].legs
    assert len(legs) == 128
    assert legs[-1].cause == "INVALID_NUMBER_FORMAT"
    assert {leg.cause for leg in legs[:-1]} == {"USER_BUSY"}


def test_caller_hangup_while_ringing_cancels_the_legs(sw: Switch) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.no_answer())

    def script(s: Session) -> None:
        standard_start(s)
        s.execute("bridge", f"user/1001@{D}")
        s.wait_event("CHANNEL_HANGUP_COMPLETE", timeout=10)

    result = run(sw, script, caller_hangup_after=2)
    assert result.bridges[0].legs[0].cause == "ORIGINATOR_CANCEL"
    assert result.hangup_cause == "NORMAL_CLEARING"


def test_hangup_after_bridge(sw: Switch) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.answer(after=1, hangup_after=1))

    def script(s: Session) -> None:
        standard_start(s)
        s.execute("set", "hangup_after_bridge=true")
        s.execute("bridge", f"user/1001@{D}")
        s.wait_event("CHANNEL_HANGUP_COMPLETE", timeout=10)

    assert run(sw, script).hangup_cause == "NORMAL_CLEARING"


def test_no_double_offer_is_visible_in_legs(sw: Switch) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.answer(after=1, hangup_after=1))
    run(sw, bridge_then_hangup(f"user/1001@{D}"))
    run(sw, bridge_then_hangup(f"user/1001@{D}"))
    first, second = sw.legs
    assert first.a_leg != second.a_leg
    assert not first.overlaps(second)


def test_controller_failover_and_socket_error_fallback(sw: Switch) -> None:
    stub = StubController(
        lambda s: (standard_start(s), s.execute("hangup"), s.wait_event("CHANNEL_HANGUP_COMPLETE"))
    )
    try:
        call = sw.place_call(controllers=f"127.0.0.1:1|{stub.address}", destination="2000")
        result = call.wait(timeout=10)
        assert result.controller == stub.address and not result.fallback_ran
    finally:
        stub.stop()
    result = sw.place_call(controllers="127.0.0.1:1|127.0.0.1:2", destination="2000").wait(
        timeout=10
    )
    assert result.fallback_ran and result.commands == [] and result.controller is None


@pytest.mark.parametrize(
    ("resume", "fallback"), [("true", True), ("false", False)], ids=["socket_resume", "no-resume"]
)
def test_controller_drop_runs_the_fallback_only_with_socket_resume(
    sw: Switch, resume: str, fallback: bool
) -> None:
    def script(s: Session) -> None:
        standard_start(s)
        s.execute("answer")
        s.wait_event("CHANNEL_EXECUTE_COMPLETE", Application="answer")

    result = run(sw, script, variables={"socket_resume": resume})
    assert result.fallback_ran is fallback
    assert (
        ("transfer", "fallback XML fallback") in result.apps
        if fallback
        else ("transfer", "fallback XML fallback") not in result.apps
    )


def test_resume_command_also_runs_the_fallback(sw: Switch) -> None:
    def script(s: Session) -> None:
        standard_start(s)
        assert reply_text(s.command("resume")) == "+OK"

    assert run(sw, script).fallback_ran


def test_sendmsg_body_form_and_json_events(sw: Switch) -> None:
    def script(s: Session) -> None:
        s.command("connect")
        assert reply_text(s.command("myevents json")) == "+OK Events Enabled"
        body = "tone_stream://%(100,0,440);loops=1"
        s.send(
            f"sendmsg\ncall-command: execute\nexecute-app-name: playback\ncontent-type: text/plain\ncontent-length: {len(body)}\n\n{body}"
        )
        msg = s.next()
        while not msg.content_type.startswith("text/event"):
            msg = s.next()
        assert msg.content_type == "text/event-json"
        done = s.wait_event("CHANNEL_EXECUTE_COMPLETE", Application="playback")
        assert done["Application-Data"] == body and done["Application-Response"] == "FILE PLAYED"
        s.execute("hangup")
        s.wait_event("CHANNEL_HANGUP_COMPLETE")

    result = run(sw, script)
    assert ("playback", "tone_stream://%(100,0,440);loops=1") in result.apps


def test_linger_with_seconds_closes_after_the_delay(sw: Switch) -> None:
    def script(s: Session) -> None:
        s.command("connect")
        s.command("myevents")
        assert reply_text(s.command("linger 2")) == "+OK will linger 2 seconds"
        s.execute("hangup", "USER_BUSY")
        s.wait_event("CHANNEL_HANGUP_COMPLETE")
        notices = []
        while True:
            try:
                msg = s.next(timeout=3)
            except AssertionError:
                break
            notices.append(dict(msg.headers).get("Content-Disposition"))
        assert notices == ["linger", "disconnect"]
        assert s.eof

    assert run(sw, script).hangup_cause == "USER_BUSY"


def test_apps_answer_ring_ready_pre_answer_voicemail(sw: Switch) -> None:
    def script(s: Session) -> None:
        standard_start(s)
        s.execute("ring_ready")
        s.wait_event("CHANNEL_PROGRESS")
        s.execute("pre_answer")
        s.wait_event("CHANNEL_PROGRESS_MEDIA")
        s.execute("voicemail", f"default {D} 1001")
        s.wait_event("CHANNEL_ANSWER")
        s.wait_event("CHANNEL_HANGUP_COMPLETE", timeout=10)

    result = run(sw, script)
    assert [a for a, _ in result.apps] == ["ring_ready", "pre_answer", "voicemail"]
    assert result.answered_at is not None


def test_call_timeout_on_the_a_leg_bounds_the_ring_time(sw: Switch) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.no_answer())

    def script(s: Session) -> None:
        standard_start(s)
        s.execute("set", "call_timeout=4")
        s.execute("bridge", f"user/1001@{D}")
        s.wait_event("CHANNEL_HANGUP_COMPLETE", timeout=10)

    result = run(sw, script)
    leg = result.bridges[0].legs[0]
    assert result.hangup_cause == "NO_ANSWER"
    assert about(leg.ended_at - leg.started_at, 4)


def test_originate_delay_start_delays_an_enterprise_branch(sw: Switch) -> None:
    sw.endpoints.set(f"user/1001@{D}", Behaviour.no_answer())
    sw.endpoints.set(f"user/1002@{D}", Behaviour.answer(after=0.5, hangup_after=1))
    dial = f"{{leg_timeout=6}}user/1001@{D}:_:{{originate_delay_start=3}}user/1002@{D}"
    result = run(sw, bridge_then_hangup(dial))
    first, second = result.bridges[0].legs
    assert about(second.started_at - first.started_at, 3)
    assert result.answered_by == f"user/1002@{D}"
    assert first.cause == "LOSE_RACE"


def test_channel_data_carries_the_call(sw: Switch) -> None:
    seen: dict[str, str] = {}

    def script(s: Session) -> None:
        seen.update(standard_start(s))
        s.execute("hangup")
        s.wait_event("CHANNEL_HANGUP_COMPLETE")

    stub = StubController(script)
    try:
        sw.place_call(
            controllers=stub.address,
            destination="+4930123456",
            caller_number="+4917012345",
            caller_name="Alice",
            domain=D,
            from_user="1001",
            variables={"socket_resume": "true"},
        ).wait(timeout=10)
    finally:
        stub.stop()
    assert seen["Caller-Destination-Number"] == "+4930123456"
    assert seen["Caller-Caller-ID-Number"] == "+4917012345"
    assert seen["Caller-Caller-ID-Name"] == "Alice"
    assert seen["variable_domain_name"] == D
    assert seen["variable_sip_from_user"] == "1001"
    assert seen["variable_sip_to_host"] == D
    assert seen["variable_socket_resume"] == "true"
    assert seen["Socket-Mode"] == "async" and seen["Control"] == "full"


def test_nixevent_narrows_myevents_like_mod_event_socket(sw: Switch) -> None:
    """`myevents` then `nixevent`: the nixed names stop, the rest keep coming (and the
    switch does not even build the nixed ones)."""
    sw.endpoints.set(f"user/1001@{D}", Behaviour.answer(after=1, hangup_after=2))
    replies: dict[str, str] = {}

    def script(s: Session) -> None:
        s.command("connect")
        replies["myevents"] = reply_text(s.command("myevents"))
        replies["empty"] = reply_text(s.command("nixevent"))
        replies["nix"] = reply_text(
            s.command("nixevent CHANNEL_STATE CHANNEL_PARK CHANNEL_UNPARK CHANNEL_EXECUTE")
        )
        s.command("linger")
        s.execute("bridge", f"user/1001@{D}", event_uuid="11111111-2222-3333-4444-555555555555")
        s.wait_event("CHANNEL_EXECUTE_COMPLETE", timeout=10)
        s.command("sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING")
        s.wait_event("CHANNEL_HANGUP_COMPLETE", timeout=10)

    result = run(sw, script)
    assert replies == {
        "myevents": "+OK Events Enabled",
        "empty": "-ERR no keywords supplied",
        "nix": "+OK events nixed",
    }
    assert "CHANNEL_EXECUTE_COMPLETE" in result.events and "CHANNEL_BRIDGE" in result.events
    nixed = {"CHANNEL_STATE", "CHANNEL_PARK", "CHANNEL_UNPARK", "CHANNEL_EXECUTE"}
    assert not nixed & set(result.events)
