"""Not a deadlock: 'A' holds the lock and waits for the event, but only until its
`wait_for` deadline; 'B' would set the event once it has the lock. When A gives up it
releases the lock, B takes it and sets the event, and everything completes."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _lock_event as cycle  # noqa: E402
import oracle  # noqa: E402

EXPECT_CYCLE = ["A", "B"]
EXPECT_GRADE = "not a deadlock"


async def a(lock, event):
    async with lock:
        try:
            await asyncio.wait_for(event.wait(), oracle.wake_delay())
        except asyncio.TimeoutError:
            pass


async def main():
    loop = asyncio.get_running_loop()
    tasks = cycle.start(loop, asyncio.Event(), wakers=[], a=a)
    await asyncio.gather(*tasks)
    oracle.recovered()


if __name__ == "__main__":
    oracle.run(main, ready=cycle.ready)
