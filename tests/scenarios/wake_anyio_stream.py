"""Not a deadlock: 'ping' and 'pong' wait on each other's anyio memory object stream as in
deadlock_anyio_streams, but a timer on the loop holds a third end of ping's stream: its
callback is that end's send_nowait, which hands ping an item. Then ping passes it to pong
and both complete. The timer's callback could wake the cycle: no deadlock is claimed."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asyncio  # noqa: E402

import _anyio_relays as cycle  # noqa: E402
import oracle  # noqa: E402

MIN_VERSION = (3, 10)
EXPECT_CYCLE = ["ping", "pong"]
EXPECT_GRADE = "not a deadlock"

# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("ping", ["relay", "receive", "wait", "wait"], "Future"),
    ("pong", ["relay", "receive", "wait", "wait"], "Future"),
]
# The oracle's graph: entries per section, and each registered primitive's (type,
# holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 2, "waits": 1}
EXPECT_PRIMITIVES = [
    ("_MemoryObjectStreamState", [], ["other", "pong"]),
    ("_MemoryObjectStreamState", [], ["ping"]),
]

async def main():
    loop = asyncio.get_running_loop()
    # A timer whose callback is send_nowait on a third end of ping's stream.
    wake = lambda end: loop.call_later(oracle.wake_delay(), end.send_nowait, "item")  # noqa: E731
    await asyncio.gather(*cycle.start(loop, ping_waker=wake))
    oracle.recovered()


if __name__ == "__main__":
    oracle.run(main, ready=cycle.ready)
