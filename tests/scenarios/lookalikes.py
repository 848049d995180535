"""Classes named like asyncio's own but defined here, as libraries do (anyio's Lock has
__slots__ and no deque of waiters): a task sleeps inside `async with` this module's Lock,
another waits on a real asyncio.Lock held by a task inside `async with` this module's
Semaphore; others wait in this module's Event (with __slots__), Queue (without), and await
this module's Future and Task, which wrap real futures. No look-alike may be typed as
asyncio's (no Lock, Semaphore, Event or Queue node, no inferred holder, no task node for the
Task): an object is typed by its class's module and name, never its name alone. The real
Lock is typed and its holder found as usual."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


class Lock:
    """Not asyncio's: slots, an owner, and a number where asyncio's Lock keeps its
    waiters (a reader that took this for asyncio's would print it as a count)."""
    __slots__ = ("_owner", "_waiters", "_locked")

    def __init__(self):
        self._owner = None
        self._waiters = 94824968006736
        self._locked = False

    async def __aenter__(self):
        self._owner = asyncio.current_task()
        self._locked = True

    async def __aexit__(self, *exc):
        self._owner = None
        self._locked = False


class Semaphore:
    def __init__(self):
        self._value = 1
        self._waiters = None

    async def __aenter__(self):
        self._value -= 1

    async def __aexit__(self, *exc):
        self._value += 1


class Event:
    __slots__ = ("_value", "_waiters")

    def __init__(self):
        self._value = False
        self._waiters = asyncio.get_running_loop().create_future()

    async def wait(self):
        await self._waiters


class Queue:
    def __init__(self):
        self._getters = asyncio.get_running_loop().create_future()
        self._queue = []

    async def get(self):
        return await self._getters


class Future:
    """Awaitable like asyncio's Future, through a real one."""

    def __init__(self):
        self._inner = asyncio.get_running_loop().create_future()

    def __await__(self):
        return (yield from self._inner.__await__())


class Task(Future):
    """Named like asyncio's Task; it runs nothing."""
    __slots__ = ()


async def wait_lookalike(thing):
    await thing.wait()


async def get_lookalike(queue):
    await queue.get()


async def await_lookalike(thing):
    await thing


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("lookalike", ["hold_lookalike", "sleep"], "Future"),
    ("holder", ["hold_real_inside", "sleep"], "Future"),
    ("waiter", ["want_real", "__aenter__", "acquire"], "Future"),
    ("event", ["wait_lookalike", "wait"], "Future"),
    ("queue", ["get_lookalike", "get"], "Future"),
    ("future", ["await_lookalike", "__await__"], "Future"),
    ("task", ["await_lookalike", "__await__"], "Future"),
]
# The oracle's graph: only the real Lock is one of asyncio's primitives.
EXPECT_PRIMITIVES = [("Lock", ["holder"], None)]


async def hold_lookalike(lock):
    async with lock:
        await asyncio.sleep(3600)


async def hold_real_inside(sem, real):
    async with sem:
        async with real:
            await asyncio.sleep(3600)


async def want_real(real):
    async with real:
        pass


async def main():
    loop = asyncio.get_running_loop()
    real = oracle.resource(asyncio.Lock(), holder="holder")
    tasks = [
        oracle.named(loop.create_task(hold_lookalike(Lock()), name="lookalike")),
        oracle.named(loop.create_task(hold_real_inside(Semaphore(), real), name="holder")),
        oracle.named(loop.create_task(want_real(real), name="waiter")),
        oracle.named(loop.create_task(wait_lookalike(oracle.keep(Event())), name="event")),
        oracle.named(loop.create_task(get_lookalike(oracle.keep(Queue())), name="queue")),
        oracle.named(loop.create_task(await_lookalike(oracle.keep(Future())), name="future")),
        oracle.named(loop.create_task(await_lookalike(oracle.keep(Task())), name="task")),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main)
