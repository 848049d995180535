"""Not a deadlock: 'A' holds the lock and waits for the event; 'B' would set the event once
it has the lock; but a job that 'D' runs in the loop's default executor hands `event.set` to
the loop after a while, and then everything completes."""
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
WORKER = []


def ready():
    """The lock/event cycle has formed and the job runs."""
    return bool(WORKER) and cycle.ready()


def job(loop, event):
    WORKER.append(threading.current_thread())
    time.sleep(oracle.wake_delay())
    loop.call_soon_threadsafe(event.set)


async def d(loop, event):
    await loop.run_in_executor(None, job, loop, event)


async def main():
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    tasks = cycle.start(loop, event, wakers=[lambda: WORKER[0]])
    tasks.append(oracle.named(loop.create_task(d(loop, event), name="D")))
    await asyncio.gather(*tasks)
    oracle.recovered()


if __name__ == "__main__":
    oracle.run(main, ready=ready)
