"""Tasks blocked on asyncio primitives: Lock.acquire (lock held by a task
sleeping inside `async with lock`), Event.wait, Queue.get, and a
Queue(maxsize=1).put that blocks because the queue is full."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("holder", ["hold_lock", "sleep"], "Future"),
    ("lock", ["want_lock", "__aenter__", "acquire"], "Future"),
    ("event", ["wait_event", "wait"], "Future"),
    ("get", ["get_item", "get"], "Future"),
    ("put", ["put_item", "put"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 4, "timers": 1, "waits": 1}
EXPECT_PRIMITIVES = [
    ("Lock", ["holder"], None),
    ("Event", [], None),
    ("Queue", [], None),
    ("Queue", [], None),
]


async def hold_lock(lock):
    async with lock:
        await asyncio.sleep(3600)


async def want_lock(lock):
    async with lock:
        pass


async def wait_event(ev):
    await ev.wait()


async def get_item(q):
    return await q.get()


async def put_item(q):
    await q.put("second")


async def main():
    loop = asyncio.get_running_loop()
    lock = oracle.resource(asyncio.Lock(), holder="holder")
    ev = oracle.resource(asyncio.Event(), holder=None)
    empty = oracle.resource(asyncio.Queue(), holder=None)
    full = oracle.resource(asyncio.Queue(maxsize=1), holder=None)
    full.put_nowait("first")
    # Tasks start in creation order, so "holder" takes the lock first.
    tasks = [
        oracle.named(loop.create_task(hold_lock(lock), name="holder")),
        oracle.named(loop.create_task(want_lock(lock), name="lock")),
        oracle.named(loop.create_task(wait_event(ev), name="event")),
        oracle.named(loop.create_task(get_item(empty), name="get")),
        oracle.named(loop.create_task(put_item(full), name="put")),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main)
