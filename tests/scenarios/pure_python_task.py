"""A pure-Python task (asyncio.tasks._PyTask) awaiting a sleep, and a C task
awaiting a pure-Python future (asyncio.futures._PyFuture, whose __await__ is
a generator, so the chain ends in a Future.__await__ generator frame)."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = {
    # 3.6: the pure-Python Future's __await__ is its __iter__ (the code's name).
    (3, 6): [
        ("main", ["main"], "_GatheringFuture"),
        ("py-task", ["py_task_body", "sleep"], "Future"),
        ("c-task-py-future", ["await_py_future", "__iter__"], "Future"),
    ],
    (3, 7): [
        ("main", ["main"], "_GatheringFuture"),
        ("py-task", ["py_task_body", "sleep"], "Future"),
        ("c-task-py-future", ["await_py_future", "__await__"], "Future"),
    ],
}
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "timers": 1, "waits": 2}
EXPECT_PRIMITIVES = []


async def py_task_body():
    await asyncio.sleep(3600)


async def await_py_future(fut):
    await fut


async def main():
    loop = asyncio.get_running_loop()
    py_task = oracle.named(
        oracle.new_task(asyncio.tasks._PyTask, py_task_body(), loop, "py-task"))
    py_fut = oracle.keep(asyncio.futures._PyFuture(loop=loop))
    c_task = oracle.named(
        loop.create_task(await_py_future(py_fut), name="c-task-py-future"))
    await asyncio.gather(py_task, c_task)


if __name__ == "__main__":
    oracle.run(main)
