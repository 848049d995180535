"""Not a deadlock: 'A' holds the lock and waits for the event; 'B' would set the event once
it has the lock; but 'C' sets the event after its sleep, and then everything completes."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _lock_event as cycle  # noqa: E402
import oracle  # noqa: E402

EXPECT_CYCLE = ["A", "B"]
EXPECT_GRADE = "not a deadlock"


async def c(event):
    await asyncio.sleep(oracle.wake_delay())
    event.set()


async def main():
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    tasks = cycle.start(loop, event, wakers=["C"])
    tasks.append(oracle.named(loop.create_task(c(event), name="C")))
    await asyncio.gather(*tasks)
    oracle.recovered()


if __name__ == "__main__":
    oracle.run(main, ready=cycle.ready)
