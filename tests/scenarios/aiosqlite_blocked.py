"""aiosqlite with a blocked worker: the query 'query' awaits runs on the connection's own
thread, where SQLite calls back into a Python function that blocks on a threading.Event.
The task's chain ends in a bare future of the library's; the thread that holds that future,
and will complete it, is the worker, blocked inside SQLite. A real library, installed by
scripts/setup under target/pydeps."""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asyncio  # noqa: E402

import aiosqlite  # noqa: E402

import oracle  # noqa: E402

# From 3.8: scripts/setup installs the (pinned) libraries of these scenarios for 3.8 on.
MIN_VERSION = (3, 8)
# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "Future"),
    ("query", ["query", "__aenter__", "execute", "_execute"], "Future"),
]
# The connection's worker, blocked in threading.Event.wait (threading.Condition.wait).
EXPECT_THREADS = [(None, ["block", "wait", "wait"])]
# The oracle's graph: entries per section.
EXPECT_GRAPH = {"waits": 2, "links": {"shield": 1}}

GATE = threading.Event()
INSIDE = threading.Event()


def block():
    """Called by SQLite on the worker thread: never returns while the program is stuck."""
    INSIDE.set()
    GATE.wait()
    return 1


def ready():
    """The worker is inside the blocking function."""
    return INSIDE.is_set()


async def query(db):
    async with db.execute("SELECT block()") as cursor:
        return await cursor.fetchall()


async def main():
    db = oracle.keep(await aiosqlite.connect(":memory:"))
    await db.create_function("block", 0, block)
    loop = asyncio.get_running_loop()
    task = oracle.named(loop.create_task(query(db), name="query"))
    await asyncio.shield(task)


if __name__ == "__main__":
    oracle.run(main, ready=ready)
