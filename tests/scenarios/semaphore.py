"""Tasks holding and waiting for semaphores: a Semaphore(2) held by 'hold-1'
and 'hold-2' (inside `async with sem:`, waiting on an Event nobody sets) with
'want-1' and 'want-2' queued behind it; a BoundedSemaphore(1) held by
'bhold' with 'bwant' queued behind it."""
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
    ("hold-1", ["hold", "wait"], "Future"),
    ("hold-2", ["hold", "wait"], "Future"),
    ("bhold", ["hold", "wait"], "Future"),
    ("want-1", ["want", "__aenter__", "acquire"], "Future"),
    ("want-2", ["want", "__aenter__", "acquire"], "Future"),
    ("bwant", ["want", "__aenter__", "acquire"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 3, "waits": 1}
EXPECT_PRIMITIVES = [
    ("Event", [], None),
    ("Semaphore", ["hold-1", "hold-2"], None),
    ("BoundedSemaphore", ["bhold"], None),
]


async def hold(sem, never):
    async with sem:
        await never.wait()


async def want(sem):
    async with sem:
        pass


async def main():
    loop = asyncio.get_running_loop()
    never = oracle.resource(asyncio.Event(), holder=None)
    sem = oracle.resource(asyncio.Semaphore(2), holders=["hold-1", "hold-2"])
    bsem = oracle.resource(asyncio.BoundedSemaphore(1), holder="bhold")
    # Tasks start in creation order: the holders take the semaphores first.
    tasks = [
        oracle.named(loop.create_task(hold(sem, never), name="hold-1")),
        oracle.named(loop.create_task(hold(sem, never), name="hold-2")),
        oracle.named(loop.create_task(hold(bsem, never), name="bhold")),
        oracle.named(loop.create_task(want(sem), name="want-1")),
        oracle.named(loop.create_task(want(sem), name="want-2")),
        oracle.named(loop.create_task(want(bsem), name="bwant")),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main)
