"""Tasks in asyncio.sleep with different delays and results, directly and
through a helper coroutine: each waits on the TimerHandle of its sleep."""
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
    ("hour", ["nap", "sleep"], "Future"),
    ("day", ["deep", "nap", "sleep"], "Future"),
    ("direct", ["sleep"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "timers": 3, "waits": 1}
EXPECT_PRIMITIVES = []


async def nap(seconds):
    await asyncio.sleep(seconds)


async def deep(seconds):
    await nap(seconds)


async def main():
    loop = asyncio.get_running_loop()
    tasks = [
        oracle.named(loop.create_task(nap(3600), name="hour")),
        oracle.named(loop.create_task(deep(86400.25), name="day")),
        oracle.named(loop.create_task(
            asyncio.sleep(1e6, result="late"), name="direct")),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main)
