"""`asyncio.as_completed`: the main task takes results as they come, and none comes: two
tasks sleep for an hour. It waits on as_completed's internal queue."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

STATE = {}


async def slow(n):
    await asyncio.sleep(3600 + n)


def internal_queue():
    """The Queue the main task waits on inside as_completed (found in-process)."""
    obj = oracle.coro_of(STATE["main"])
    while obj is not None:
        frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None)
        if frame is None:
            return None
        for value in list(frame.f_locals.values()):
            for candidate in (value, getattr(value, "_done", None)):
                if isinstance(candidate, asyncio.Queue):
                    return candidate
        obj = getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None)
    return None


def ready():
    if "main" not in STATE or STATE["main"]._fut_waiter is None:
        return False
    q = internal_queue()
    if q is None or not q._getters:
        return False
    if "queue" not in STATE:
        STATE["queue"] = oracle.resource(q, holders=[])
    return True


async def main():
    loop = asyncio.get_running_loop()
    STATE["main"] = asyncio.current_task()
    tasks = [oracle.named(loop.create_task(slow(n), name="slow-%d" % n)) for n in (1, 2)]
    for next_done in asyncio.as_completed(tasks):
        await next_done


if __name__ == "__main__":
    oracle.run(main, ready=ready)
