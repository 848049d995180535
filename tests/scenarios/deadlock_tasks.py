"""Two tasks awaiting each other: 'A' awaits task 'B', which awaits task 'A'."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

EXPECT_CYCLE = ["A", "B"]
other = {}


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("A", ["wait_for_other"], "Task"),
    ("B", ["wait_for_other"], "Task"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "waits": 3}
EXPECT_PRIMITIVES = []


def ready():
    """Each task is blocked on the other."""
    return len(other) == 2 and other["A"]._fut_waiter is other["B"] is not None and other["B"]._fut_waiter is other["A"]


async def wait_for_other(me):
    await asyncio.sleep(0)
    await other[me]


async def main():
    loop = asyncio.get_running_loop()
    a = oracle.named(loop.create_task(wait_for_other("A"), name="A"))
    b = oracle.named(loop.create_task(wait_for_other("B"), name="B"))
    other.update(A=b, B=a)
    await asyncio.gather(a, b)


if __name__ == "__main__":
    oracle.run(main, ready=ready)
