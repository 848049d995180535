"""main awaits asyncio.shield(inner) where inner sleeps 3600."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "Future"),
    ("inner", ["inner_sleep", "sleep"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"timers": 1, "waits": 1, "links": {"shield": 1}}
EXPECT_PRIMITIVES = []


async def inner_sleep():
    await asyncio.sleep(3600)


async def main():
    inner = oracle.named(
        asyncio.get_running_loop().create_task(inner_sleep(), name="inner"))
    await asyncio.shield(inner)


if __name__ == "__main__":
    oracle.run(main)
