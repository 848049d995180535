"""Not a deadlock: 'A' holds the lock and waits for the event; 'B' would set the event once
it has the lock; but a `loop.call_later` timer sets the event, and then everything completes."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _lock_event as cycle  # noqa: E402
import oracle  # noqa: E402

EXPECT_CYCLE = ["A", "B"]
EXPECT_GRADE = "not a deadlock"


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 2, "waits": 1}
EXPECT_PRIMITIVES = [("Lock", ["A"], None), ("Event", [], ["B", "other"])]


async def main():
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    timer = loop.call_later(oracle.wake_delay(), event.set)
    await asyncio.gather(*cycle.start(loop, event, wakers=[timer]))
    oracle.recovered()


if __name__ == "__main__":
    oracle.run(main, ready=cycle.ready)
