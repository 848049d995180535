"""A library's own awaited-by records (3.14+): like anyio's task groups, the 'host' task
waits on an Event of the library's until its 'child' ends, and says so to CPython with
asyncio.future_add_to_awaited_by(child, host). The chains do not show that the host waits
for the child; CPython's bookkeeping (and `python -m asyncio pstree`) does."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

MIN_VERSION = (3, 14)

# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("host", ["host", "wait"], "Future"),
    ("child", ["child", "wait"], "Future"),
]


async def host(done):
    await done.wait()


async def child(never):
    await never.wait()


async def main():
    loop = asyncio.get_running_loop()
    done = oracle.resource(asyncio.Event(), holder=None)
    never = oracle.resource(asyncio.Event(), holder=None)
    h = oracle.named(loop.create_task(host(done), name="host"))
    c = oracle.named(loop.create_task(child(never), name="child"))
    asyncio.future_add_to_awaited_by(c, h)
    await asyncio.gather(h, c)


if __name__ == "__main__":
    oracle.run(main)
