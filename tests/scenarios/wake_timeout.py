"""Not a deadlock: 'A' holds the lock and waits for the event, but only until its
`wait_for` deadline; 'B' would set the event once it has the lock. When A gives up it
releases the lock, B takes it and sets the event, and everything completes."""
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
EXPECT_GRAPH = {
    (3, 6): {"gathers": 1, "resources": 2, "waits": 2, "links": {"wait_for": 1}},
    (3, 12): {"gathers": 1, "resources": 2, "timers": 1, "waits": 1},
}
EXPECT_PRIMITIVES = [("Lock", ["A"], None), ("Event", [], ["B"])]


async def a(lock, event):
    async with lock:
        try:
            await asyncio.wait_for(event.wait(), oracle.wake_delay())
        except asyncio.TimeoutError:
            pass


async def main():
    loop = asyncio.get_running_loop()
    tasks = cycle.start(loop, asyncio.Event(), wakers=[], a=a)
    await asyncio.gather(*tasks)
    oracle.recovered()


if __name__ == "__main__":
    oracle.run(main, ready=cycle.ready)
