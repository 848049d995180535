"""anyio on asyncio: 'holder' sleeps inside `async with` an anyio Lock that 'waiter' wants,
and 'sem-holder' inside an anyio Semaphore(1) that 'sem-waiter' wants. anyio's Lock keeps
its owner task and (task, future) waiters in slots of its own: typed by its module and
name, held by 'holder', with one waiter; not asyncio's Lock. 'manual' holds a third one
taken with acquire() outside any `async with`: only the lock's owner names it. An anyio
CapacityLimiter(2) has lent its tokens to 'lim-holder' (inside `async with`) and
'lim-manual' (acquire(), no `async with`); 'lim-waiter' waits for one on an asyncio.Event
the limiter keeps for it: the wait is the limiter's, held by both borrowers."""
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
    ("lim-holder", ["hold", "sleep"], "Future"),
    ("lim-manual", ["hold_acquired", "sleep"], "Future"),
    ("lim-waiter", ["want", "__aenter__", "acquire", "acquire_on_behalf_of", "wait"], "Future"),
]
# The oracle's graph: entries per section, and each registered primitive's (type,
# holders, wakers) by task name.
EXPECT_GRAPH = {"gathers": 1, "resources": 4, "timers": 5, "waits": 1}
EXPECT_PRIMITIVES = [
    ("Lock", ["holder"], None),
    ("Semaphore", ["sem-holder"], None),
    ("Lock", ["manual"], None),
    ("CapacityLimiter", ["lim-holder", "lim-manual"], None),
]


STATE = []
LIMITERS = []


def ready():
    """Each primitive is held and has its waiter queued."""
    return bool(STATE) and all(len(p._waiters) == 1 for p in STATE) and \
        all(len(lim._borrowers) == 2 and len(lim._wait_queue) == 1 for lim in LIMITERS)


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
    limiter = oracle.resource(anyio.CapacityLimiter(2), holders=["lim-holder", "lim-manual"])
    LIMITERS.append(limiter)
    lim_holder = oracle.named(loop.create_task(hold(limiter), name="lim-holder"))
    lim_manual = oracle.named(loop.create_task(hold_acquired(limiter), name="lim-manual"))
    await asyncio.sleep(0)
    lim_waiter = oracle.named(loop.create_task(want(limiter), name="lim-waiter"))
    await asyncio.gather(holder, sem_holder, manual_holder, waiter, sem_waiter, manual_waiter,
                         lim_holder, lim_manual, lim_waiter)


if __name__ == "__main__":
    oracle.run(main, ready=ready)
