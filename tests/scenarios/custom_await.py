"""Awaitables with hand-written __await__:
  * FutureAwaitable: __await__ is a generator, `yield from fut.__await__()`
    (chain: coroutine -> generator -> FutureIter)
  * SleepAwaitable: __await__ is a generator doing
    `yield from asyncio.sleep(3600).__await__()`
    (chain: coroutine -> generator -> coroutine_wrapper -> sleep coroutine)
  * WrapperAwaitable: __await__ is a plain function returning
    coro.__await__() (chain: coroutine -> coroutine_wrapper -> coroutine)."""
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
    ("future", ["use", "__await__"], "Future"),
    ("sleep", ["use", "__await__", "sleep"], "Future"),
    ("wrapper", ["use", "wrapped_sleep", "sleep"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "timers": 2, "waits": 2}
EXPECT_PRIMITIVES = []


class FutureAwaitable:
    def __init__(self):
        self._fut = oracle.keep(asyncio.get_running_loop().create_future())

    def __await__(self):
        return (yield from self._fut.__await__())


class SleepAwaitable:
    def __await__(self):
        sleep = asyncio.sleep(3600)
        # 3.6's asyncio.sleep is a generator-based coroutine: iterated as it is.
        yield from (sleep.__await__() if hasattr(sleep, "__await__") else sleep)


class WrapperAwaitable:
    def __await__(self):
        return wrapped_sleep().__await__()


async def wrapped_sleep():
    await asyncio.sleep(3600)


async def use(awaitable):
    await awaitable


async def main():
    loop = asyncio.get_running_loop()
    tasks = [
        oracle.named(loop.create_task(use(FutureAwaitable()), name="future")),
        oracle.named(loop.create_task(use(SleepAwaitable()), name="sleep")),
        oracle.named(loop.create_task(use(WrapperAwaitable()), name="wrapper")),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main)
