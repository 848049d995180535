"""Task A awaits task B awaits task C (explicitly named); C awaits a
never-set Future through two more coroutine levels."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("A", ["a_body"], "Task"),
    ("B", ["b_body"], "Task"),
    ("C", ["c_body", "level1", "level2"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"waits": 3}
EXPECT_PRIMITIVES = []


async def level2(fut):
    return await fut


async def level1(fut):
    return await level2(fut)


async def c_body():
    fut = oracle.keep(asyncio.get_running_loop().create_future())
    return await level1(fut)


async def b_body():
    c = oracle.named(asyncio.get_running_loop().create_task(c_body(), name="C"))
    return await c


async def a_body():
    b = oracle.named(asyncio.get_running_loop().create_task(b_body(), name="B"))
    return await b


if __name__ == "__main__":
    oracle.run(a_body, main_name="A")
