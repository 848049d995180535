"""asyncio.timeout (3.11+): main waits on an Event inside
`async with asyncio.timeout(3600)`; 'nested' sleeps inside
`asyncio.timeout_at(now + 7200)` inside `asyncio.timeout(None)` (no timer)."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

MIN_VERSION = (3, 11)


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main", "wait"], "Future"),
    ("nested", ["nested", "sleep"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"resources": 1, "timers": 3}
EXPECT_PRIMITIVES = [("Event", [], None)]


async def nested():
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(None):
        async with asyncio.timeout_at(loop.time() + 7200):
            await asyncio.sleep(10800)


async def main():
    loop = asyncio.get_running_loop()
    ev = oracle.resource(asyncio.Event(), holder=None)
    oracle.named(loop.create_task(nested(), name="nested"))
    async with asyncio.timeout(3600):
        await ev.wait()


if __name__ == "__main__":
    oracle.run(main)
