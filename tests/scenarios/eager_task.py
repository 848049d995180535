"""asyncio.eager_task_factory: tasks run their first step eagerly inside
create_task and suspend on a Future; one task finishes eagerly (never
pending); one pending task is unnamed (its lazy default name must not be
materialised by the oracle)."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

MIN_VERSION = (3, 12)


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("eager-1", ["wait_on"], "Future"),
    ("eager-2", ["wait_on"], "Future"),
    (None, ["wait_on"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "waits": 4}
EXPECT_PRIMITIVES = []


async def wait_on(fut):
    await fut


async def quick():
    return 42


async def main():
    loop = asyncio.get_running_loop()
    fut = oracle.keep(loop.create_future())
    done = loop.create_task(quick())  # completes eagerly, never scheduled
    assert done.done() and await done == 42
    tasks = [
        oracle.named(loop.create_task(wait_on(fut), name="eager-1")),
        oracle.named(loop.create_task(wait_on(fut), name="eager-2")),
        # Unnamed, lazy default name.  Made by calling the factory directly:
        # 3.13.0's loop.create_task() calls task.set_name(None) whenever a
        # task factory is set, which names the task "None" (CPython bug).
        oracle.keep(asyncio.eager_task_factory(loop, wait_on(fut))),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main, setup=lambda loop: loop.set_task_factory(
        asyncio.eager_task_factory))
