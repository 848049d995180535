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


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 2, "waits": 2, "executors": 1, "links": {"executor": 1}}
EXPECT_PRIMITIVES = [("Lock", ["A"], None), ("Event", [], ["B", "other"])]
# Threads besides the main one: (name, or None for any; its innermost functions, outermost
# first, where a list means any one of them).
# The worker that will wake the event, asleep in its job.
EXPECT_THREADS = [(None, ["job"])]


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
