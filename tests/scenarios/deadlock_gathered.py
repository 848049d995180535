"""A deadlock through a gather: 'main' gathers 'reader' and 'sleeper', and would set the
Event 'reader' waits on once the gather is done. 'sleeper' ends in an hour, without
raising: the gather still waits for 'reader', which only 'main' could wake. awaitwhat
cannot know that 'sleeper' will not raise (which would end the gather), so it must not say
"not a deadlock" (it did, naming 'sleeper' as what breaks the cycle): a likely deadlock."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

EXPECT_CYCLE = ["main", "reader"]
EXPECT_GRADE = "likely deadlock"

# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("reader", ["reader", "wait"], "Future"),
    ("sleeper", ["sleeper", "sleep"], "Future"),
]
# The oracle's graph: entries per section, and each registered primitive's (type,
# holders, wakers) by task name.
EXPECT_GRAPH = {"gathers": 1, "resources": 1, "timers": 1, "waits": 1}
EXPECT_PRIMITIVES = [("Event", [], ["main"])]
EVENTS = []


def ready():
    return bool(EVENTS) and len(EVENTS[0]._waiters) == 1


async def reader(event):
    await event.wait()


async def sleeper():
    await asyncio.sleep(3600)


async def main():
    loop = asyncio.get_running_loop()
    event = oracle.resource(asyncio.Event(), holder=None, wakers=["main"])
    EVENTS.append(event)
    await asyncio.gather(oracle.named(loop.create_task(reader(event), name="reader")),
                         oracle.named(loop.create_task(sleeper(), name="sleeper")))
    event.set()


if __name__ == "__main__":
    oracle.run(main, ready=ready)
