"""A library whose modules live in a directory named asyncio (as redis/asyncio/ and
websockets/asyncio/ do) is the program's code, not asyncio's: 'wrapped' waits in the
library's own `_wait(fs, waiter)`, which holds a list and awaits one bare future. Nothing
here is an asyncio.wait."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402
from _pkgs.lookalike.asyncio import conn  # noqa: E402

# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("wrapped", ["use_library", "_wait"], "Future"),
]


async def use_library(fs, waiter):
    await conn._wait(fs, waiter)


async def main():
    loop = asyncio.get_running_loop()
    fs = [oracle.keep(loop.create_future())]
    waiter = oracle.keep(loop.create_future())
    task = oracle.named(loop.create_task(use_library(fs, waiter), name="wrapped"))
    await asyncio.gather(task)


if __name__ == "__main__":
    oracle.run(main)
