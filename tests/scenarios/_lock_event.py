"""The wait cycle of the wake_* scenarios (and deadlock_unproven): 'A' holds a Lock and waits
for an Event; 'B' waits for the Lock and would set the Event once it has it. Whether that is a
deadlock depends on who else could set the Event: each scenario adds its own waker."""
import asyncio

import oracle

STATE = []


def ready():
    """A holds the lock and waits on the event, B waits on the lock."""
    if not STATE:
        return False
    lock, event = STATE
    return len(lock._waiters or ()) == 1 and len(event._waiters) == 1


async def a(lock, event):
    async with lock:
        await event.wait()


async def b(lock, event):
    await asyncio.sleep(0)
    async with lock:
        event.set()


def start(loop, event, wakers, a=a):
    """Register the Lock (held by 'A') and `event` (woken by 'B' and `wakers`) with the
    oracle and start A (`a`, this module's unless given) and B; returns the two tasks."""
    lock = oracle.resource(asyncio.Lock(), holder="A")
    oracle.resource(event, holder=None, wakers=["B"] + list(wakers))
    STATE.extend([lock, event])
    return [
        oracle.named(loop.create_task(a(lock, event), name="A")),
        oracle.named(loop.create_task(b(lock, event), name="B")),
    ]
