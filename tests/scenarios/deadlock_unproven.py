"""A deadlock awaitwhat cannot prove: 'A' holds the lock and waits for the event; only 'B'
would set the event, once it has the lock. A 'ticker' task wakes up every hour to count,
and never touches either; it could still run, so the cycle is only a likely deadlock."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _lock_event as cycle  # noqa: E402
import oracle  # noqa: E402

EXPECT_CYCLE = ["A", "B"]
EXPECT_GRADE = "likely deadlock"
TICKS = []


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 2, "timers": 1, "waits": 1}
EXPECT_PRIMITIVES = [("Lock", ["A"], None), ("Event", [], ["B"])]


async def ticker():
    while True:
        await asyncio.sleep(3600)
        TICKS.append(1)


async def main():
    loop = asyncio.get_running_loop()
    oracle.named(loop.create_task(ticker(), name="ticker"))
    await asyncio.gather(*cycle.start(loop, asyncio.Event(), wakers=[]))


if __name__ == "__main__":
    oracle.run(main, ready=cycle.ready)
