"""main awaits asyncio.wait({'sleeper', 'waiter', fut},
return_when=FIRST_COMPLETED): 'sleeper' sleeps 3600, 'waiter' waits on an
Event, fut is a bare future; none completes."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main", "wait", "_wait"], "Future"),
    ("sleeper", ["sleeper", "sleep"], "Future"),
    ("waiter", ["wait_event", "wait"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"resources": 1, "timers": 1, "waits": 1, "links": {"wait": 3}, "wait_sets": 1}
EXPECT_PRIMITIVES = [("Event", [], None)]


async def sleeper():
    await asyncio.sleep(3600)


async def wait_event(ev):
    await ev.wait()


async def main():
    loop = asyncio.get_running_loop()
    ev = oracle.resource(asyncio.Event(), holder=None)
    fut = oracle.keep(loop.create_future())
    watched = {
        oracle.named(loop.create_task(sleeper(), name="sleeper")),
        oracle.named(loop.create_task(wait_event(ev), name="waiter")),
        fut,
    }
    await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)


if __name__ == "__main__":
    oracle.run(main)
