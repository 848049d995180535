"""Not a deadlock: 'A' holds the lock and waits for the event; 'B' would set the event once
it has the lock; but a thread hands `event.set` to the loop with `call_soon_threadsafe`
after a while, and then everything completes."""
import asyncio
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _lock_event as cycle  # noqa: E402
import oracle  # noqa: E402

EXPECT_CYCLE = ["A", "B"]
EXPECT_GRADE = "not a deadlock"


def wake_later(loop, event):
    time.sleep(oracle.wake_delay())
    loop.call_soon_threadsafe(event.set)


async def main():
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    waker = threading.Thread(target=wake_later, args=(loop, event), name="waker", daemon=True)
    tasks = cycle.start(loop, event, wakers=[waker])
    waker.start()
    await asyncio.gather(*tasks)
    oracle.recovered()


if __name__ == "__main__":
    oracle.run(main, ready=cycle.ready)
