"""anyio on asyncio: 'holder' sleeps inside `async with` an anyio Lock that 'waiter' wants,
and 'sem-holder' inside an anyio Semaphore(1) that 'sem-waiter' wants. anyio's Lock keeps
its owner task and (task, future) waiters in slots of its own: typed by its module and
name, held by 'holder', with one waiter; not asyncio's Lock. 'manual' holds a third one
taken with acquire() outside any `async with`: only the lock's owner names it."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asyncio  # noqa: E402

import anyio  # noqa: E402

import oracle  # noqa: E402

MIN_VERSION = (3, 10)

# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("holder", ["hold", "sleep"], "Future"),
    ("waiter", ["want", "__aenter__", "acquire"], "Future"),
    ("sem-holder", ["hold", "sleep"], "Future"),
    ("sem-waiter", ["want", "__aenter__", "acquire"], "Future"),
    ("manual", ["hold_acquired", "sleep"], "Future"),
    ("manual-waiter", ["want", "__aenter__", "acquire"], "Future"),
]
# The oracle's graph: entries per section, and each registered primitive's (type,
# holders, wakers) by task name.
EXPECT_GRAPH = {"gathers": 1, "resources": 3, "timers": 3, "waits": 1}
EXPECT_PRIMITIVES = [
    ("Lock", ["holder"], None),
    ("Semaphore", ["sem-holder"], None),
    ("Lock", ["manual"], None),
]


STATE = []


def ready():
    """Each primitive is held and has its waiter queued."""
    return bool(STATE) and all(len(p._waiters) == 1 for p in STATE)


async def hold(prim):
    async with prim:
        await asyncio.sleep(3600)


async def hold_acquired(lock):
    """Holds the lock taken with acquire(), outside any `async with`: only the lock's own
    owner says who holds it."""
    await lock.acquire()
    await asyncio.sleep(3600)


async def want(prim):
    async with prim:
        pass


async def main():
    loop = asyncio.get_running_loop()
    lock = oracle.resource(anyio.Lock(), holder="holder")
    sem = oracle.resource(anyio.Semaphore(1), holder="sem-holder")
    manual = oracle.resource(anyio.Lock(), holder="manual")
    STATE.extend([lock, sem, manual])
    holder = oracle.named(loop.create_task(hold(lock), name="holder"))
    sem_holder = oracle.named(loop.create_task(hold(sem), name="sem-holder"))
    manual_holder = oracle.named(loop.create_task(hold_acquired(manual), name="manual"))
    await asyncio.sleep(0)
    waiter = oracle.named(loop.create_task(want(lock), name="waiter"))
    sem_waiter = oracle.named(loop.create_task(want(sem), name="sem-waiter"))
    manual_waiter = oracle.named(loop.create_task(want(manual), name="manual-waiter"))
    await asyncio.gather(holder, sem_holder, manual_holder, waiter, sem_waiter, manual_waiter)


if __name__ == "__main__":
    oracle.run(main, ready=ready)
