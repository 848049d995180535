"""A recursive await chain: task "deep" descends twelve levels of one coroutine function,
then waits on an Event. Its text folds the repeated frame as Python's tracebacks do (three
shown, then "[Previous line repeated 9 more times]"); its JSON keeps every frame."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "Task"),
    ("deep", ["descend", "descend", "descend", "descend", "descend", "descend", "descend",
              "descend", "descend", "descend", "descend", "descend", "descend", "wait"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"waits": 1, "resources": 1}
EXPECT_PRIMITIVES = [("Event", [], None)]

DEPTH = 12


async def descend(ev, n):
    if n:
        return await descend(ev, n - 1)
    await ev.wait()


async def main():
    loop = asyncio.get_running_loop()
    ev = oracle.resource(asyncio.Event(), holder=None)
    deep = oracle.named(loop.create_task(descend(ev, DEPTH), name="deep"))
    await deep


if __name__ == "__main__":
    oracle.run(main)
