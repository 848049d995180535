"""A deadlock awaitwhat cannot prove: 'A' holds the lock and waits for the event; only 'B'
would set the event, once it has the lock. A loop timer runs this module's own
`_on_timeout` every hour, which only counts. asyncio has callbacks of that name that only
complete its futures and wake no one; this one is not asyncio's (a callback is known by its
module and name, never its name alone), so it could still run any code: the cycle is only a
likely deadlock, naming the timer, not a proven one."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _lock_event as cycle  # noqa: E402
import oracle  # noqa: E402

EXPECT_CYCLE = ["A", "B"]
EXPECT_GRADE = "likely deadlock"
TICKS = []


def _on_timeout():
    TICKS.append(1)
    asyncio.get_running_loop().call_later(3600, _on_timeout)


async def main():
    loop = asyncio.get_running_loop()
    loop.call_later(3600, _on_timeout)
    await asyncio.gather(*cycle.start(loop, asyncio.Event(), wakers=[]))


if __name__ == "__main__":
    oracle.run(main, ready=cycle.ready)
