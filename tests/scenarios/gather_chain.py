"""main awaits asyncio.gather() of three job(i) chains that end in
asyncio.sleep(3600), plus one coroutine awaiting a bare loop.create_future()."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


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
