"""`await loop.run_in_executor(None, blocking_fn)` where blocking_fn waits on
a threading.Event forever; on 3.9+ also `await asyncio.to_thread(...)`.
The oracle records the worker threads' Python stacks too."""
import asyncio
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

NEVER = threading.Event()
HAS_TO_THREAD = sys.version_info >= (3, 9)


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = {
    (3, 6): [
        ("main", ["main"], "_GatheringFuture"),
        ("executor", ["in_executor"], "Future"),
    ],
    (3, 9): [
        ("main", ["main"], "_GatheringFuture"),
        ("executor", ["in_executor"], "Future"),
        ("to_thread", ["in_to_thread", "to_thread"], "Future"),
    ],
}
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {
    (3, 6): {"gathers": 1, "waits": 2, "executors": 1, "links": {"executor": 1}},
    (3, 9): {"gathers": 1, "waits": 3, "executors": 2, "links": {"executor": 2}},
}
EXPECT_PRIMITIVES = []
# Threads besides the main one: (name, or None for any; its innermost functions, outermost
# first, where a list means any one of them).
EXPECT_THREADS = {
    (3, 6): [(None, ["blocking_fn", "wait", "wait"])],
    (3, 9): [
        (None, ["blocking_fn", "wait", "wait"]),
        (None, ["other_blocking_fn", "wait", "wait"]),
    ],
}


def blocking_fn():
    NEVER.wait()


def other_blocking_fn():
    NEVER.wait()


async def in_executor():
    await asyncio.get_running_loop().run_in_executor(None, blocking_fn)


async def in_to_thread():
    await asyncio.to_thread(other_blocking_fn)


async def main():
    loop = asyncio.get_running_loop()
    tasks = [oracle.named(loop.create_task(in_executor(), name="executor"))]
    if HAS_TO_THREAD:
        tasks.append(
            oracle.named(loop.create_task(in_to_thread(), name="to_thread")))
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main, ready=oracle.threads_blocked_in_wait(
        2 if HAS_TO_THREAD else 1))
