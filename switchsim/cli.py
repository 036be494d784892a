"""Command line: ``python -m switchsim call|load|serve-inbound``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

import gevent

from switchsim.endpoints import Behaviour
from switchsim.load import run_load
from switchsim.records import CallResult
from switchsim.switch import Switch


def _target_seconds(spec: str) -> tuple[str, float]:
    target, sep, secs = spec.rpartition("=")
    if not sep:
        return spec, 0.0
    return target, float(secs)


def _behaviours(args: argparse.Namespace, sw: Switch) -> None:
    for spec in args.answer or []:
        target, secs = _target_seconds(spec)
        sw.endpoints.set(target, Behaviour.answer(after=secs, hangup_after=args.talk))
    for target in args.busy or []:
        sw.endpoints.set(target, Behaviour.busy())
    for target in args.no_answer or []:
        sw.endpoints.set(target, Behaviour.no_answer())
    for target in args.reject or []:
        sw.endpoints.set(target, Behaviour.reject())
    for target in args.unregistered or []:
        sw.endpoints.set(target, Behaviour.unregistered())
    defaults = {
        "unregistered": Behaviour.unregistered(),
        "busy": Behaviour.busy(),
        "no-answer": Behaviour.no_answer(),
        "answer": Behaviour.answer(after=1, hangup_after=args.talk),
        "reject": Behaviour.reject(),
    }
    sw.endpoints.default = defaults[args.default]


def print_result(result: CallResult, out: TextIO | None = None) -> None:
    """What rang and how each leg ended."""
    out = out or sys.stdout
    print(f"call {result.uuid} via {result.controller or 'no controller'}", file=out)
    for name in result.command_names():
        print(f"  command: {name}", file=out)
    for i, bridge in enumerate(result.bridges, 1):
        print(f"  bridge {i}: {bridge.dial_string} -> {bridge.cause}", file=out)
        for leg in bridge.legs:
            state = "answered" if leg.answered else "not answered"
            print(f"    leg {leg.target}: {state}, cause {leg.cause}", file=out)
    print(f"  answered by: {result.answered_by or '-'}", file=out)
    print(f"  fallback ran: {'yes' if result.fallback_ran else 'no'}", file=out)
    print(f"  hangup cause: {result.hangup_cause}", file=out)


def cmd_call(args: argparse.Namespace) -> int:
    sw = Switch(time_scale=args.time_scale)
    _behaviours(args, sw)
    variables = dict(v.split("=", 1) for v in args.var or [])
    try:
        call = sw.place_call(
            controllers=args.controller,
            destination=args.to,
            caller_number=args.from_,
            caller_name=args.name or "",
            domain=args.domain,
            from_user=args.from_user,
            variables=variables,
            caller_hangup_after=args.hangup_after,
        )
        result = call.wait(timeout=args.timeout)
    except TimeoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        sw.close()
    print_result(result)
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    report = run_load(
        controllers=args.controller,
        cps=args.cps,
        duration=args.duration,
        answer_ratio=args.answer_ratio,
        answer_after=args.answer_after,
        talk=args.talk,
        time_scale=args.time_scale,
        call_timeout=args.call_timeout,
        domain=args.domain,
        seed=args.seed,
    )
    for line in report.lines():
        print(line)
    return 0 if report.failures == 0 else 1


def cmd_serve_inbound(args: argparse.Namespace) -> int:
    sw = Switch(time_scale=args.time_scale)
    _behaviours(args, sw)
    host, port = sw.serve_inbound(host=args.host, port=args.port, password=args.password)
    print(f"inbound ESL listening on {host}:{port}", flush=True)
    for spec in args.register or []:
        user, _, domain = spec.partition("@")
        sw.set_registered(user, domain, True)
    try:
        gevent.sleep(args.duration) if args.duration else gevent.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sw.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m switchsim", description="FreeSWITCH emulator")
    sub = parser.add_subparsers(dest="command", required=True)

    def endpoint_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--answer", action="append", metavar="TARGET[=SECS]", help="answers after SECS"
        )
        p.add_argument("--busy", action="append", metavar="TARGET")
        p.add_argument("--no-answer", action="append", metavar="TARGET")
        p.add_argument("--reject", action="append", metavar="TARGET")
        p.add_argument("--unregistered", action="append", metavar="TARGET")
        p.add_argument(
            "--default",
            default="unregistered",
            choices=["unregistered", "busy", "no-answer", "answer", "reject"],
            help="behaviour of targets not named",
        )
        p.add_argument("--talk", type=float, default=5.0, help="seconds an answered leg talks")
        p.add_argument("--time-scale", type=float, default=1.0)

    call = sub.add_parser("call", help="place one call through a running controller")
    call.add_argument("--controller", required=True, help="host:port[|host2:port2]")
    call.add_argument("--from", dest="from_", required=True, help="caller number")
    call.add_argument("--to", required=True, help="destination number")
    call.add_argument("--name", help="caller name")
    call.add_argument("--domain")
    call.add_argument("--from-user")
    call.add_argument("--var", action="append", metavar="NAME=VALUE", help="dialplan variable")
    call.add_argument("--hangup-after", type=float, help="caller hangs up after SECS")
    call.add_argument("--timeout", type=float, default=120.0, help="real seconds to wait")
    endpoint_options(call)
    call.set_defaults(func=cmd_call)

    load = sub.add_parser("load", help="generate load and report setups/s and latency")
    load.add_argument("--controller", required=True)
    load.add_argument("--cps", type=float, required=True, help="calls per second")
    load.add_argument("--duration", type=float, required=True, help="seconds to place calls")
    load.add_argument("--answer-ratio", type=float, default=0.8)
    load.add_argument("--answer-after", type=float, default=2.0)
    load.add_argument("--talk", type=float, default=5.0)
    load.add_argument("--call-timeout", type=float, default=120.0)
    load.add_argument("--time-scale", type=float, default=1.0)
    load.add_argument("--domain")
    load.add_argument("--seed", type=int)
    load.set_defaults(func=cmd_load)

    serve = sub.add_parser("serve-inbound", help="run an inbound ESL server for manual tests")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8021)
    serve.add_argument("--password", default="ClueCon")
    serve.add_argument("--register", action="append", metavar="USER@DOMAIN")
    serve.add_argument("--duration", type=float, help="stop after SECS (default: until Ctrl-C)")
    endpoint_options(serve)
    serve.set_defaults(func=cmd_serve_inbound)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m switchsim``."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))
