"""AW_TASKS (default 10000) unnamed tasks worker(i) -> step(i) -> ev.wait()
on one Event that is never set. AW_TICK=S: a loop callback also reschedules itself every
S seconds, so the loop's timer heap changes while awaitwhat reads it."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

COUNT = int(os.environ.get("AW_TASKS", "10000"))
TICK = float(os.environ.get("AW_TICK", "0"))


async def step(i, ev):
    await ev.wait()


async def worker(i, ev):
    await step(i, ev)


def tick(loop):
    loop.call_later(TICK, tick, loop)


async def main():
    loop = asyncio.get_running_loop()
    if TICK:
        tick(loop)
    ev = oracle.resource(asyncio.Event(), holder=None)
    for i in range(COUNT):
        oracle.keep(loop.create_task(worker(i, ev)))
    await ev.wait()


if __name__ == "__main__":
    oracle.run(main)
