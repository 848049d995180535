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


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type[,
# how many: "rest" for every other task]]).
EXPECT_SHAPES = [
    ("main", ["main", "wait"], "Future"),
    (None, ["worker", "step", "wait"], "Future", "Task", "rest"),
]
# The oracle's graph: entries per section, and each registered primitive's (type,
# holders, wakers) by task name; every task waits on the first one.
EXPECT_GRAPH = {"resources": 1}
EXPECT_PRIMITIVES = [("Event", [], None)]
EXPECT_ALL_WAIT_ON_FIRST = True
EXPECT_MIN_TASKS = 2


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
