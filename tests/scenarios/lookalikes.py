"""Classes named like asyncio's own but defined here, as libraries do (anyio's Lock has
__slots__ and no deque of waiters): a task sleeps inside `async with` this module's Lock,
another waits on a real asyncio.Lock held by a task inside `async with` this module's
Semaphore. Neither look-alike may be typed as asyncio's (no Lock or Semaphore node, no
inferred holder): an object is typed by its class's module and name, never its name alone.
The real Lock is typed and its holder found as usual."""
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
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main)
