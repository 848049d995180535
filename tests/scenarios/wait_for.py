"""main awaits asyncio.wait_for(slow(), 3600); slow waits on an Event that is
never set.  (Before 3.12 wait_for wraps slow() in its own unnamed task; from
3.12 on it awaits the coroutine directly inside a timeout context.)"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = {
    (3, 6): [
        ("main", ["main", "wait_for"], "Future"),
        (None, ["slow", "wait"], "Future"),
    ],
    (3, 12): [
        ("main", ["main", "wait_for", "slow", "wait"], "Future"),
    ],
}
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {
    (3, 6): {"resources": 1, "waits": 1, "links": {"wait_for": 1}},
    (3, 12): {"resources": 1, "timers": 1},
}
EXPECT_PRIMITIVES = [("Event", [], None)]


async def slow(ev):
    await ev.wait()


async def main():
    ev = oracle.resource(asyncio.Event(), holder=None)
    await asyncio.wait_for(slow(ev), 3600)


if __name__ == "__main__":
    oracle.run(main)
