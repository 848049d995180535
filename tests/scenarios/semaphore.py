"""Tasks holding and waiting for semaphores: a Semaphore(2) held by 'hold-1'
and 'hold-2' (inside `async with sem:`, waiting on an Event nobody sets) with
'want-1' and 'want-2' queued behind it; a BoundedSemaphore(1) held by
'bhold' with 'bwant' queued behind it."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


async def hold(sem, never):
    async with sem:
        await never.wait()


async def want(sem):
    async with sem:
        pass


async def main():
    loop = asyncio.get_running_loop()
    never = oracle.resource(asyncio.Event(), holder=None)
    sem = oracle.resource(asyncio.Semaphore(2), holders=["hold-1", "hold-2"])
    bsem = oracle.resource(asyncio.BoundedSemaphore(1), holder="bhold")
    # Tasks start in creation order: the holders take the semaphores first.
    tasks = [
        oracle.named(loop.create_task(hold(sem, never), name="hold-1")),
        oracle.named(loop.create_task(hold(sem, never), name="hold-2")),
        oracle.named(loop.create_task(hold(bsem, never), name="bhold")),
        oracle.named(loop.create_task(want(sem), name="want-1")),
        oracle.named(loop.create_task(want(sem), name="want-2")),
        oracle.named(loop.create_task(want(bsem), name="bwant")),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main)
