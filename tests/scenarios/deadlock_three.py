"""A three-task cycle through a Lock, an Event and a Queue:
'A' holds the lock and waits for the event; 'B' would set the event once it gets an item
from the queue; 'C' would put that item once it gets the lock."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

EXPECT_CYCLE = ["A", "B", "C"]


async def a(lock, ready):
    async with lock:
        await ready.wait()


async def b(items, ready):
    await items.get()
    ready.set()


async def c(lock, items):
    await asyncio.sleep(0)
    async with lock:
        items.put_nowait("item")


async def main():
    loop = asyncio.get_running_loop()
    lock, ready, items = oracle.keep(asyncio.Lock()), oracle.keep(asyncio.Event()), oracle.keep(asyncio.Queue())
    tasks = [
        oracle.named(loop.create_task(a(lock, ready), name="A")),
        oracle.named(loop.create_task(b(items, ready), name="B")),
        oracle.named(loop.create_task(c(lock, items), name="C")),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main)
