"""async with asyncio.TaskGroup(): three named children wait on an Event."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

MIN_VERSION = (3, 11)


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = {
    (3, 6): [
        ("main", ["main", "__aexit__"], "Future"),
        ("child-0", ["child", "wait"], "Future"),
        ("child-1", ["child", "wait"], "Future"),
        ("child-2", ["child", "wait"], "Future"),
    ],
    (3, 14): [
        ("main", ["main", "__aexit__", "_aexit"], "Future"),
        ("child-0", ["child", "wait"], "Future"),
        ("child-1", ["child", "wait"], "Future"),
        ("child-2", ["child", "wait"], "Future"),
    ],
}
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"resources": 1, "taskgroups": 1}
EXPECT_PRIMITIVES = [("Event", [], None)]


async def child(ev):
    await ev.wait()


async def main():
    ev = oracle.resource(asyncio.Event(), holder=None)
    async with asyncio.TaskGroup() as tg:
        oracle.taskgroup(tg)
        for i in range(3):
            oracle.named(tg.create_task(child(ev), name="child-%d" % i))


if __name__ == "__main__":
    oracle.run(main)
