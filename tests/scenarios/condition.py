"""Tasks in Condition.wait(): 'waiter-0'..'waiter-2' entered `async with
cond:` and called cond.wait() (which released the lock); then 'holder' took
the condition's lock and waits on an Event inside `async with cond:`.  Only
'holder' holds the condition; the waiters do not."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

STATE = []


def ready():
    """Three waiters in cond.wait() and the lock taken by 'holder'."""
    return bool(STATE) and len(STATE[0]._waiters) == 3 and STATE[0].locked()


async def waiter(cond):
    async with cond:
        await cond.wait()


async def hold(cond, never):
    await asyncio.sleep(0)  # let the waiters reach cond.wait() first
    async with cond:
        await never.wait()


async def main():
    loop = asyncio.get_running_loop()
    never = oracle.resource(asyncio.Event(), holder=None)
    cond = oracle.resource(asyncio.Condition(), holder="holder")
    STATE.append(cond)
    tasks = [oracle.named(loop.create_task(waiter(cond), name="waiter-%d" % i))
             for i in range(3)]
    tasks.append(oracle.named(loop.create_task(hold(cond, never),
                                               name="holder")))
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main, ready=ready)
