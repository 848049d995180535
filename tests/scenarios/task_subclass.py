"""Task subclasses: MyTask(asyncio.Task) installed as the task factory (so
the main task is a MyTask) and created directly, and MyPyTask, a subclass of
the pure-Python asyncio.tasks._PyTask."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture", "MyTask"),
    ("via-factory", ["sleeper", "sleep"], "Future", "MyTask"),
    ("direct", ["sleeper", "sleep"], "Future", "MyTask"),
    ("py-subclass", ["sleeper", "sleep"], "Future", "MyPyTask"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "timers": 3, "waits": 1}
EXPECT_PRIMITIVES = []


class MyTask(asyncio.Task):
    pass


class MyPyTask(asyncio.tasks._PyTask):
    pass


def factory(loop, coro, **kwargs):
    return MyTask(coro, loop=loop, **kwargs)


async def sleeper():
    await asyncio.sleep(3600)


async def main():
    loop = asyncio.get_running_loop()
    tasks = [
        oracle.named(loop.create_task(sleeper(), name="via-factory")),
        oracle.named(oracle.new_task(MyTask, sleeper(), loop, "direct")),
        oracle.named(oracle.new_task(MyPyTask, sleeper(), loop, "py-subclass")),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main, setup=lambda loop: loop.set_task_factory(factory))
