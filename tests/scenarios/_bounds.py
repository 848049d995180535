"""Helper of tests/e2e/bounds.py, not a matrix scenario: one task for each bound a program
can push a decoder past. 'long-xxx…' has a 200,000-character name, 'deep' is 2,000
coroutine frames deep, and 'main' gathers 100 children; every task sleeps."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

LONG = "long-" + "x" * 199995
DEPTH = 2000
CHILDREN = 100


async def nap():
    await asyncio.sleep(3600)


async def descend(n):
    if n:
        return await descend(n - 1)
    await asyncio.sleep(3600)


async def main():
    loop = asyncio.get_running_loop()
    oracle.named(loop.create_task(nap(), name=LONG))
    oracle.named(loop.create_task(descend(DEPTH), name="deep"))
    children = [oracle.named(loop.create_task(nap(), name="child-%d" % i)) for i in range(CHILDREN)]
    await asyncio.gather(*children)


if __name__ == "__main__":
    sys.setrecursionlimit(10 * DEPTH)
    oracle.run(main)
