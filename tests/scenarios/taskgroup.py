"""async with asyncio.TaskGroup(): three named children wait on an Event."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

MIN_VERSION = (3, 11)


async def child(ev):
    await ev.wait()


async def main():
    ev = oracle.resource(asyncio.Event(), holder=None)
    async with asyncio.TaskGroup() as tg:
        oracle.taskgroup(tg)
        for i in range(3):
            oracle.named(tg.create_task(child(ev), name="child-%d" % i))


if __name__ == "__main__":
    oracle.run(main)
