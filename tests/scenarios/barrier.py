"""asyncio.Barrier(4) with three tasks waiting in barrier.wait() (the fourth
party never comes)."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

MIN_VERSION = (3, 11)
STATE = []


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
