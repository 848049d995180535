"""A deadlock awaitwhat cannot prove: 'A' holds the lock and waits for the event; only 'B'
would set the event, once it has the lock. A 'ticker' task wakes up every hour to count,
and never touches either; it could still run, so the cycle is only a likely deadlock."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _lock_event as cycle  # noqa: E402
import oracle  # noqa: E402

EXPECT_CYCLE = ["A", "B"]
EXPECT_GRADE = "likely deadlock"
TICKS = []


async def ticker():
    while True:
        await asyncio.sleep(3600)
        TICKS.append(1)


async def main():
    loop = asyncio.get_running_loop()
    oracle.named(loop.create_task(ticker(), name="ticker"))
    await asyncio.gather(*cycle.start(loop, asyncio.Event(), wakers=[]))


if __name__ == "__main__":
    oracle.run(main, ready=cycle.ready)
