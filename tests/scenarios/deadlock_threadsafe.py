"""Waits across threads through asyncio.run_coroutine_threadsafe():

- thread 'worker' blocks in Future.result() on a coroutine that the loop runs
  as a task, which waits on an Event;
- task 'blocker' calls run_coroutine_threadsafe(...).result() on the loop's
  own thread: the coroutine can never start (its callback waits in the loop's
  ready queue behind the blocked thread) - the classic deadlock, a cycle
  blocker -> concurrent future -> loop -> blocker."""
import asyncio
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

EXPECT_CYCLE = ["blocker"]
WORKER = []


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "Task"),
    (None, ["remote", "wait"], "Future"),
    ("blocker", ["blocker", "result", "wait"], "<running>"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"resources": 1, "waits": 1, "threadsafe": 2}
EXPECT_PRIMITIVES = [("Event", [], None)]
# Threads besides the main one: (name, or None for any; its innermost functions, outermost
# first, where a list means any one of them).
EXPECT_THREADS = [("worker", ["result", "wait"])]


async def remote(ev):
    await ev.wait()


async def compute():
    return 42


def worker(loop, ev, futures):
    fut = asyncio.run_coroutine_threadsafe(remote(ev), loop)
    futures.append(fut)
    fut.result()


async def blocker(loop):
    fut = oracle.threadsafe(asyncio.run_coroutine_threadsafe(compute(), loop), "blocker")
    return fut.result(oracle.block_below(None, ready=lambda: oracle.thread_parked(WORKER[0])))


async def main():
    loop = asyncio.get_running_loop()
    ev = oracle.resource(asyncio.Event(), holder=None)
    futures = []
    th = threading.Thread(target=worker, args=(loop, ev, futures), name="worker", daemon=True)
    WORKER.append(th)
    th.start()
    while not futures or not ev._waiters:  # the worker's coroutine waits as a task
        await asyncio.sleep(0.001)
    oracle.threadsafe(futures[0], th)
    await oracle.named(loop.create_task(blocker(loop), name="blocker"))


if __name__ == "__main__":
    oracle.run(main, from_running_task=True)
