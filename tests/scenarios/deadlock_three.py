"""A three-task cycle through a Lock, an Event and a Queue:
'A' holds the lock and waits for the event; 'B' would set the event once it gets an item
from the queue; 'C' would put that item once it gets the lock."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

EXPECT_CYCLE = ["A", "B", "C"]
STATE = []


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("A", ["a", "wait"], "Future"),
    ("B", ["b", "get"], "Future"),
    ("C", ["c", "__aenter__", "acquire"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 3, "waits": 1}
EXPECT_PRIMITIVES = [("Lock", ["A"], None), ("Event", [], ["B"]), ("Queue", [], ["C"])]


def ready():
    """A waits on the event, B on the queue, C on the lock."""
    if not STATE:
        return False
    lock, event, items = STATE
    return len(lock._waiters or ()) == 1 and len(event._waiters) == 1 and len(items._getters) == 1


async def a(lock, event):
    async with lock:
        await event.wait()


async def b(items, event):
    await items.get()
    event.set()


async def c(lock, items):
    await asyncio.sleep(0)
    async with lock:
        items.put_nowait("item")


async def main():
    loop = asyncio.get_running_loop()
    lock = oracle.resource(asyncio.Lock(), holder="A")
    event = oracle.resource(asyncio.Event(), holder=None, wakers=["B"])
    items = oracle.resource(asyncio.Queue(), holder=None, wakers=["C"])
    STATE.extend([lock, event, items])
    tasks = [
        oracle.named(loop.create_task(a(lock, event), name="A")),
        oracle.named(loop.create_task(b(items, event), name="B")),
        oracle.named(loop.create_task(c(lock, items), name="C")),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main, ready=ready)
