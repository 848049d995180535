"""anyio memory object streams on asyncio, deadlocked: 'ping' and 'pong' each wait to
receive on a stream of their own and would then send on the other's. Each holds the only
send end of the other's stream, so only the other could wake it, and neither can. The
streams' shared state (buffer, waiting receivers and senders) is typed by its module and
class, a waiter suspended in receive() waits on it (not on the Events inside), and what
holds an end of a stream could wake its waiters: the cycle goes through both streams."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asyncio  # noqa: E402

import _anyio_relays as cycle  # noqa: E402
import oracle  # noqa: E402

MIN_VERSION = (3, 10)
EXPECT_CYCLE = ["ping", "pong"]

# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("ping", ["relay", "receive", "wait", "wait"], "Future"),
    ("pong", ["relay", "receive", "wait", "wait"], "Future"),
]
# The oracle's graph: entries per section, and each registered primitive's (type,
# holders, wakers) by task name.
EXPECT_GRAPH = {"gathers": 1, "resources": 2, "waits": 1}
EXPECT_PRIMITIVES = [
    ("_MemoryObjectStreamState", [], ["pong"]),
    ("_MemoryObjectStreamState", [], ["ping"]),
]

async def main():
    await asyncio.gather(*cycle.start(asyncio.get_running_loop()))


if __name__ == "__main__":
    oracle.run(main, ready=cycle.ready)
