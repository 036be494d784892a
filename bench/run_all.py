"""`make bench`: run every benchmark with its default (issue-sized) workload, one after another.

Each script prints its own figures; this runner prints the command line before each one, so the
output can be pasted as is into a closing note. Pass `--quick` for a short smoke run.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL = [
    ["bench_plan_call.py", "--calls", "20000"],
    ["bench_compile.py", "--devices", "10000"],
    ["bench_controller.py", "--cps", "200", "--duration", "60"],
    ["bench_controller.py", "--cps", "100", "--duration", "60"],
    ["bench_queue.py", "--duration", "300"],
    ["bench_billing.py"],
]
QUICK = [
    ["bench_plan_call.py", "--calls", "2000", "--domains", "100"],
    ["bench_compile.py", "--devices", "1000", "--repeat", "2"],
    ["bench_controller.py", "--cps", "50", "--duration", "10"],
    ["bench_queue.py", "--duration", "10"],
    ["bench_billing.py", "--cdrs", "2000", "--report-rows", "100000"],
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small workloads (a smoke run)")
    args = parser.parse_args()
    print(f"machine: {platform.node()}, {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}")  # fmt: skip
    failed = 0
    for script, *script_args in QUICK if args.quick else FULL:
        command = [sys.executable, str(HERE / script), *script_args]
        print(f"\n$ python bench/{script} {' '.join(script_args)}", flush=True)
        started = time.monotonic()
        rc = subprocess.call(command)
        print(f"(exit {rc}, {time.monotonic() - started:.0f} s)", flush=True)
        failed += rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
