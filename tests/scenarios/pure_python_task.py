"""A pure-Python task (asyncio.tasks._PyTask) awaiting a sleep, and a C task
awaiting a pure-Python future (asyncio.futures._PyFuture, whose __await__ is
a generator, so the chain ends in a Future.__await__ generator frame)."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


async def py_task_body():
    await asyncio.sleep(3600)


async def await_py_future(fut):
    await fut


async def main():
    loop = asyncio.get_running_loop()
    py_task = oracle.named(
        asyncio.tasks._PyTask(py_task_body(), loop=loop, name="py-task"))
    py_fut = oracle.keep(asyncio.futures._PyFuture(loop=loop))
    c_task = oracle.named(
        loop.create_task(await_py_future(py_fut), name="c-task-py-future"))
    await asyncio.gather(py_task, c_task)


if __name__ == "__main__":
    oracle.run(main)
