"""main awaits asyncio.gather() of three job(i) chains that end in
asyncio.sleep(3600), plus one coroutine awaiting a bare loop.create_future()."""
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
    (None, ["job", "foo", "bar", "baz", "leaf", "sleep"], "Future"),
    (None, ["job", "foo", "bar", "baz", "leaf", "sleep"], "Future"),
    (None, ["job", "foo", "bar", "baz", "leaf", "sleep"], "Future"),
    (None, ["waits_future"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "timers": 3, "waits": 2}
EXPECT_PRIMITIVES = []


async def leaf(i):
    await asyncio.sleep(3600)


async def baz(i):
    await leaf(i)


async def bar(i):
    await baz(i)


async def foo(i):
    await bar(i)


async def job(i):
    await foo(i)


async def waits_future():
    fut = oracle.keep(asyncio.get_running_loop().create_future())
    await fut


async def main():
    # Deliberately spread over several lines: the reported line of a
    # suspended frame for a multi-line await expression is version-specific.
    await asyncio.gather(
        *[job(i) for i in range(3)],
        waits_future(),
    )


if __name__ == "__main__":
    oracle.run(main)
