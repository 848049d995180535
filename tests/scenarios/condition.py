"""Tasks in Condition.wait(): 'waiter-0'..'waiter-2' entered `async with
cond:` and called cond.wait() (which released the lock); then 'holder' took
the condition's lock and waits on an Event inside `async with cond:`.  Only
'holder' holds the condition; the waiters do not."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

STATE = []


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("holder", ["hold", "wait"], "Future"),
    ("waiter-0", ["waiter", "wait"], "Future"),
    ("waiter-1", ["waiter", "wait"], "Future"),
    ("waiter-2", ["waiter", "wait"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 2, "waits": 1}
EXPECT_PRIMITIVES = [("Event", [], None), ("Condition", ["holder"], None)]


def ready():
    """Three waiters in cond.wait() and the lock taken by 'holder'."""
    return bool(STATE) and len(STATE[0]._waiters) == 3 and STATE[0].locked()


async def waiter(cond):
    async with cond:
        await cond.wait()


async def hold(cond, never):
    await asyncio.sleep(0)  # let the waiters reach cond.wait() first
    async with cond:
        await never.wait()


async def main():
    loop = asyncio.get_running_loop()
    never = oracle.resource(asyncio.Event(), holder=None)
    cond = oracle.resource(asyncio.Condition(), holder="holder")
    STATE.append(cond)
    tasks = [oracle.named(loop.create_task(waiter(cond), name="waiter-%d" % i))
             for i in range(3)]
    tasks.append(oracle.named(loop.create_task(hold(cond, never),
                                               name="holder")))
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main, ready=ready)
