"""One task is RUNNING when the debugger looks: task "blocker" awaits
compute(), which calls the plain function crunch(), which blocks the event
loop's (main) thread in time.sleep.  Meanwhile task "waiter" is suspended on
an Event and the main task on gather().

The oracle cannot come from a loop callback (the loop never gets control
back), so crunch() computes it itself through oracle.block_here(), on the
same line as the sleep: the running task's frames are blocker -> compute ->
crunch (time.sleep is C), "awaiting" is null and "running_on_thread" is the
main thread's threading.get_ident().  SIGUSR1 is installed with
signal.signal and runs while time.sleep is interrupted."""
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("waiter", ["wait_event", "wait"], "Future"),
    ("blocker", ["blocker", "compute", "crunch"], "<running>"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 1, "waits": 1}
EXPECT_PRIMITIVES = [("Event", [], None)]


def crunch():
    while True:
        # One line: the oracle's line for crunch is this line.
        time.sleep(oracle.block_here(3600))


async def compute():
    return crunch()


async def blocker():
    await oracle.settle()  # let the other tasks suspend first
    return await compute()


async def wait_event(ev):
    await ev.wait()


async def main():
    loop = asyncio.get_running_loop()
    ev = oracle.resource(asyncio.Event(), holder=None)
    tasks = [
        oracle.named(loop.create_task(wait_event(ev), name="waiter")),
        oracle.named(loop.create_task(blocker(), name="blocker")),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main, from_running_task=True)
