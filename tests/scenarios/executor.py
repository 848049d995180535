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
