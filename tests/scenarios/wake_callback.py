"""Not a deadlock: 'A' holds the lock and waits for the event; 'B' would set the event once
it has the lock; but a done-callback of another future sets the event when that future
completes (a timer completes it), and then everything completes."""
import asyncio
import functools
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


def on_done(event, fut):
    event.set()


async def main():
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    other = oracle.keep(loop.create_future())
    other.add_done_callback(functools.partial(on_done, event))
    timer = loop.call_later(oracle.wake_delay(), other.set_result, None)
    await asyncio.gather(*cycle.start(loop, event, wakers=[timer]))
    oracle.recovered()


if __name__ == "__main__":
    oracle.run(main, ready=cycle.ready)
