"""asyncio.Barrier(4) with three tasks waiting in barrier.wait() (the fourth
party never comes)."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

MIN_VERSION = (3, 11)
STATE = []


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("party-0", ["party", "wait", "_wait", "wait_for", "wait"], "Future"),
    ("party-1", ["party", "wait", "_wait", "wait_for", "wait"], "Future"),
    ("party-2", ["party", "wait", "_wait", "wait_for", "wait"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 1, "waits": 1}
EXPECT_PRIMITIVES = [("Barrier", [], None)]


def ready():
    return bool(STATE) and STATE[0].n_waiting == 3


async def party(barrier):
    await barrier.wait()


async def main():
    loop = asyncio.get_running_loop()
    barrier = oracle.resource(asyncio.Barrier(4), holder=None)
    STATE.append(barrier)
    tasks = [oracle.named(loop.create_task(party(barrier), name="party-%d" % i))
             for i in range(3)]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main, ready=ready)
