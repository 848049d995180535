"""`async for x in agen()` where agen yields once and then sleeps 3600:
coroutine -> async_generator_asend -> async generator frame -> sleep."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


async def agen():
    yield 1
    await asyncio.sleep(3600)
    yield 2


async def consume():
    async for x in agen():
        pass


if __name__ == "__main__":
    oracle.run(consume)
