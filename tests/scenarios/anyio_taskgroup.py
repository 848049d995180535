"""anyio's task group on asyncio: 'host' is in the group's `async with`, waiting in its
__aexit__ for two children that wait on an Event nobody sets. The group is typed by its
module and class: the host waits on it (not on a bare future), the group names its
children and its host (through its cancel scope), before 3.14 as well as after, where
anyio also fills CPython's awaited-by bookkeeping."""
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
    ("main", ["main"], "Task"),
    ("host", ["host", "__aexit__"], "Future"),
    ("child-1", ["_run_coro", "child", "wait"], "Future"),
    ("child-2", ["_run_coro", "child", "wait"], "Future"),
]
# The oracle's graph: entries per section, and each registered primitive's (type,
# holders, wakers) by task name.
EXPECT_GRAPH = {"resources": 1, "taskgroups": 1, "waits": 1}
EXPECT_PRIMITIVES = [("Event", [], None)]

GROUPS = []
EVENTS = []


def ready():
    """The host waits in __aexit__, both children on the event."""
    return bool(GROUPS) and GROUPS[0]._on_completed_fut is not None and \
        len(EVENTS[0]._waiters) == 2


async def child(never):
    await never.wait()


async def host(never):
    async with anyio.create_task_group() as tg:
        GROUPS.append(oracle.taskgroup(tg))
        tg.start_soon(child, never, name="child-1")
        tg.start_soon(child, never, name="child-2")
        for t in tg._tasks:  # the names given to start_soon
            oracle.named(t)


async def main():
    loop = asyncio.get_running_loop()
    never = oracle.resource(asyncio.Event(), holder=None)
    EVENTS.append(never)
    await oracle.named(loop.create_task(host(never), name="host"))


if __name__ == "__main__":
    oracle.run(main, ready=ready)
