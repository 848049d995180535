"""Not a deadlock: 'A' holds the lock and waits for the event; 'B' would set the event once
it has the lock; but a thread hands `event.set` to the loop with `call_soon_threadsafe`
after a while, and then everything completes."""
import asyncio
import os
import sys
import threading
import time

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
# Threads besides the main one: (name, or None for any; its innermost functions, outermost
# first, where a list means any one of them).
# The thread that will wake the event, asleep in its own function.
EXPECT_THREADS = [("waker", ["wake_later"])]


def wake_later(loop, event):
    time.sleep(oracle.wake_delay())
    loop.call_soon_threadsafe(event.set)


async def main():
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    waker = threading.Thread(target=wake_later, args=(loop, event), name="waker", daemon=True)
    tasks = cycle.start(loop, event, wakers=[waker])
    waker.start()
    await asyncio.gather(*tasks)
    oracle.recovered()


if __name__ == "__main__":
    oracle.run(main, ready=cycle.ready)
