"""main awaits asyncio.wait_for(slow(), 3600); slow waits on an Event that is
never set.  (Before 3.12 wait_for wraps slow() in its own unnamed task; from
3.12 on it awaits the coroutine directly inside a timeout context.)"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


async def slow(ev):
    await ev.wait()


async def main():
    ev = oracle.resource(asyncio.Event(), holder=None)
    await asyncio.wait_for(slow(ev), 3600)


if __name__ == "__main__":
    oracle.run(main)
