"""A plain program that never imports asyncio, blocked in time.sleep."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


def check(signum, frame):
    if "asyncio" in sys.modules:
        oracle._exit(1, "CHANGED: asyncio got imported")
    oracle._exit(0, "INTACT")


def main():
    assert "asyncio" not in sys.modules, "oracle.py must not import asyncio"
    signal.signal(signal.SIGUSR1, check)
    oracle.write({
        "python": oracle.platform.python_version(),
        "pid": os.getpid(),
        "scenario": oracle.scenario_name(),
        "tasks": [],
        "threads": [],
        "no_asyncio": True,
    })
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
