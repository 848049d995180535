"""Bare futures and what they belong to, as libraries use them: a protocol that awaits its
own `_waiter` (aiohttp's ResponseHandler does), a `__slots__` reader doing the same, a plain
function awaiting a future kept on a connection object it was given (the connection, a
local of the frame, holds it), and a plain function awaiting a future it was given (it
belongs to nothing the chain shows)."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("protocol", ["fetch", "read"], "Future"),
    ("slots", ["fetch_slots", "read"], "Future"),
    ("on-conn", ["wait_on"], "Future"),
    ("free", ["wait_given"], "Future"),
]


class ResponseHandler:
    def __init__(self, loop):
        self._loop = loop
        self._waiter = None

    async def read(self):
        self._waiter = self._loop.create_future()
        await self._waiter


class SlotReader:
    __slots__ = ("_waiter",)

    async def read(self):
        self._waiter = asyncio.get_running_loop().create_future()
        await self._waiter


async def fetch(handler):
    await handler.read()


async def fetch_slots(reader):
    await reader.read()


class Connection:
    """Keeps the future its reader waits on, as an attribute of its own."""

    def __init__(self, loop):
        self.name = "conn"
        self.reply = loop.create_future()


async def wait_on(conn):
    await conn.reply


async def wait_given(fut):
    await fut


async def main():
    loop = asyncio.get_running_loop()
    handler = oracle.keep(ResponseHandler(loop))
    reader = oracle.keep(SlotReader())
    given = oracle.keep(loop.create_future())
    conn = oracle.keep(Connection(loop))
    await asyncio.gather(
        oracle.named(loop.create_task(fetch(handler), name="protocol")),
        oracle.named(loop.create_task(fetch_slots(reader), name="slots")),
        oracle.named(loop.create_task(wait_on(conn), name="on-conn")),
        oracle.named(loop.create_task(wait_given(given), name="free")),
    )


if __name__ == "__main__":
    oracle.run(main)
