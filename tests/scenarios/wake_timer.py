"""Not a deadlock: 'A' holds the lock and waits for the event; 'B' would set the event once
it has the lock; but a `loop.call_later` timer sets the event, and then everything completes."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _lock_event as cycle  # noqa: E402
import oracle  # noqa: E402

EXPECT_CYCLE = ["A", "B"]
EXPECT_GRADE = "not a deadlock"


async def main():
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    timer = loop.call_later(oracle.wake_delay(), event.set)
    await asyncio.gather(*cycle.start(loop, event, wakers=[timer]))
    oracle.recovered()


if __name__ == "__main__":
    oracle.run(main, ready=cycle.ready)
