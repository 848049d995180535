"""`async for x in agen()` where agen yields once and then sleeps 3600:
coroutine -> async_generator_asend -> async generator frame -> sleep."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["consume", "agen", "sleep"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"timers": 1}
EXPECT_PRIMITIVES = []


async def agen():
    yield 1
    await asyncio.sleep(3600)
    yield 2


async def consume():
    async for x in agen():
        pass


if __name__ == "__main__":
    oracle.run(consume)
