"""Task A awaits task B awaits task C (explicitly named); C awaits a
never-set Future through two more coroutine levels."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


async def level2(fut):
    return await fut


async def level1(fut):
    return await level2(fut)


async def c_body():
    fut = oracle.keep(asyncio.get_running_loop().create_future())
    return await level1(fut)


async def b_body():
    c = oracle.named(asyncio.get_running_loop().create_task(c_body(), name="C"))
    return await c


async def a_body():
    b = oracle.named(asyncio.get_running_loop().create_task(b_body(), name="B"))
    return await b


if __name__ == "__main__":
    oracle.run(a_body, main_name="A")
