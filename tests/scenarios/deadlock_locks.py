"""Lock-order deadlock: 'A' holds lock1 and wants lock2; 'B' holds lock2 and wants lock1."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

EXPECT_CYCLE = ["A", "B"]
LOCKS = []


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("A", ["take_both", "__aenter__", "acquire"], "Future"),
    ("B", ["take_both", "__aenter__", "acquire"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 2, "waits": 1}
EXPECT_PRIMITIVES = [("Lock", ["A"], None), ("Lock", ["B"], None)]


def ready():
    """Both locks taken and each with one waiter: the deadlock has formed."""
    return len(LOCKS) == 2 and all(lock.locked() and len(lock._waiters or ()) == 1 for lock in LOCKS)


async def take_both(first, second, go):
    async with first:
        await go.wait()
        async with second:
            pass


async def main():
    loop = asyncio.get_running_loop()
    lock1 = oracle.resource(asyncio.Lock(), holder="A")
    lock2 = oracle.resource(asyncio.Lock(), holder="B")
    go = oracle.keep(asyncio.Event())
    LOCKS.extend([lock1, lock2])
    a = oracle.named(loop.create_task(take_both(lock1, lock2, go), name="A"))
    b = oracle.named(loop.create_task(take_both(lock2, lock1, go), name="B"))
    await asyncio.sleep(0)
    go.set()
    await asyncio.gather(a, b)


if __name__ == "__main__":
    oracle.run(main, ready=ready)
