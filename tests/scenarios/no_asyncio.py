"""A plain program that never imports asyncio, blocked in time.sleep."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = []
# What the text says instead of stacks; the oracle says so too ("no_asyncio": true).
EXPECT_TEXT = "asyncio is not imported"


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
