"""Queue.join(): task 'joiner' waits until every item put is marked done.
Task 'worker' took the one item and would call task_done() after an Event
that nobody sets: it is the only task that could wake the joiner (inferred
from its remaining code), and no cycle is involved."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("worker", ["work", "wait"], "Future"),
    ("joiner", ["join", "join", "wait"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 2, "waits": 1}
EXPECT_PRIMITIVES = [("Queue", [], ["worker"]), ("Event", [], None)]


async def join(q):
    await q.join()


async def work(q, go):
    await q.get()
    await go.wait()
    q.task_done()


async def main():
    loop = asyncio.get_running_loop()
    q = oracle.resource(asyncio.Queue(), holder=None, wakers=["worker"])
    go = oracle.resource(asyncio.Event(), holder=None)
    q.put_nowait("job")
    tasks = [
        oracle.named(loop.create_task(work(q, go), name="worker")),
        oracle.named(loop.create_task(join(q), name="joiner")),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main)
