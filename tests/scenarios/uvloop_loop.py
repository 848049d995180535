"""The common waits under uvloop's event loop (Cython objects; its timers live
in libuv): a Lock held by a task sleeping inside `async with`, a task waiting
for that lock, an Event, a Queue get, a task awaiting another task, all
gathered by main (the coroutines of locks.py, which runs them under asyncio's loop).

uvloop is not in the standard library: scripts/setup installs it for every
interpreter of the matrix under target/pydeps/VERSION, which the matrix puts
on PYTHONPATH."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402
from locks import get_item, hold_lock, wait_event, want_lock  # noqa: E402

try:
    import uvloop
except ImportError as e:
    sys.exit("uvloop_loop: uvloop is not importable (%s); scripts/setup installs it "
             "under target/pydeps/%d.%d, put that on PYTHONPATH" % ((e,) + sys.version_info[:2]))


# From 3.8: awaitwhat reads the timers of uvloop 0.21+, which needs CPython 3.8.
MIN_VERSION = (3, 8)
# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("get", ["get_item", "get"], "Future"),
    ("holder", ["hold_lock", "sleep"], "Future"),
    ("lock", ["want_lock", "__aenter__", "acquire"], "Future"),
    ("event", ["wait_event", "wait"], "Future"),
    ("awaiter", ["await_task"], "Task"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 3, "timers": 1, "waits": 2}
EXPECT_PRIMITIVES = [("Lock", ["holder"], None), ("Event", [], None), ("Queue", [], None)]


async def await_task(task):
    return await task


async def main():
    loop = asyncio.get_running_loop()
    lock = oracle.resource(asyncio.Lock(), holder="holder")
    ev = oracle.resource(asyncio.Event(), holder=None)
    q = oracle.resource(asyncio.Queue(), holder=None)
    # Tasks start in creation order, so "holder" takes the lock first.
    getter = oracle.named(loop.create_task(get_item(q), name="get"))
    tasks = [
        oracle.named(loop.create_task(hold_lock(lock), name="holder")),
        oracle.named(loop.create_task(want_lock(lock), name="lock")),
        oracle.named(loop.create_task(wait_event(ev), name="event")),
        oracle.named(loop.create_task(await_task(getter), name="awaiter")),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main, loop_factory=uvloop.new_event_loop)
