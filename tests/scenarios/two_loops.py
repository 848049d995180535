"""Two event loops in two threads: the main thread's loop (main awaits a task
sleeping an hour) and a second loop that thread 'loop-thread' runs, whose
tasks wait on an Event and a sleep.  Every task must be found and tied to its
own loop, and each loop to the thread running it."""
import asyncio
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

BACKGROUND = []


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "Task"),
    ("fg-sleep", ["nap", "sleep"], "Future"),
    ("bg-event", ["wait_event", "wait"], "Future"),
    ("bg-sleep", ["nap", "sleep"], "Future"),
]
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"resources": 1, "timers": 2, "waits": 1}
EXPECT_PRIMITIVES = [("Event", [], None)]
# Threads besides the main one: (name, or None for any; its innermost functions, outermost
# first, where a list means any one of them).
# The second loop's thread, parked in its selector.
EXPECT_THREADS = [("loop-thread", [["select", "poll"]])]
EXPECT_LOOPS = 2


async def wait_event(ev):
    await ev.wait()


async def nap():
    await asyncio.sleep(3600)


def background(loop, started):
    asyncio.set_event_loop(loop)
    ev = oracle.resource(asyncio.Event(), holder=None)
    BACKGROUND.append(oracle.named(loop.create_task(wait_event(ev), name="bg-event")))
    BACKGROUND.append(oracle.named(loop.create_task(nap(), name="bg-sleep")))
    loop.call_soon(started.set)
    loop.run_forever()


def ready():
    """The background tasks wait and their thread is blocked in select()."""
    if len(BACKGROUND) != 2 or any(t._fut_waiter is None for t in BACKGROUND):
        return False
    frame = sys._current_frames().get(THREAD.ident)
    return frame is not None and frame.f_code.co_name in ("select", "poll") and \
        frame.f_code.co_filename.endswith("selectors.py")


async def main():
    loop = asyncio.get_running_loop()
    await oracle.named(loop.create_task(nap(), name="fg-sleep"))


def setup(_loop):
    global THREAD
    other = oracle.other_loop(asyncio.new_event_loop())
    started = threading.Event()
    THREAD = threading.Thread(target=background, args=(other, started), name="loop-thread", daemon=True)
    THREAD.start()
    started.wait()


if __name__ == "__main__":
    oracle.run(main, ready=ready, setup=setup)
