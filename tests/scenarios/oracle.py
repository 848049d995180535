"""Shared helper for the awaitwhat scenario programs (standard library only).

A scenario builds a stuck asyncio state, then this module computes, in
process, the ORACLE: every pending task with its await chain (outermost frame
first) and every non-main thread's Python stack.  The oracle is written
atomically to the path given on the command line, and the event loop keeps
running (parked in select) until killed.

SIGUSR1 recomputes the oracle, compares it with the saved one and prints
"INTACT" (exit 0) or "CHANGED: <diff>" (exit 1).  This proves that a debugger
that attached to the process, read it and detached, changed nothing.

A scenario may instead leave one task RUNNING (blocking the loop's thread
inside the task): run(main, from_running_task=True), and the task calls
block_here(seconds) on the same line as its blocking call, e.g.
`time.sleep(oracle.block_here(3600))`.  The running task's entry then has
"frames" from its coroutine's frame inwards to the caller of block_here
(outermost first), "awaiting": null and "running_on_thread":
threading.get_ident(); see block_here().

Usage from a scenario:

    import oracle
    async def main(): ...
    if __name__ == "__main__":
        oracle.run(main)

Rules kept here on purpose:
  * asyncio is imported lazily: no_asyncio.py imports this module too.
  * No task's name is ever read unless the scenario named it explicitly
    (oracle.named(task)): on 3.12+ reading the lazy default name of a task
    ("Task-N") materialises it and so changes the target's memory.
  * No repr() of tasks, coroutines or futures anywhere.
"""

import gc
import json
import os
import platform
import signal
import sys
import threading
import types

MAX_DEPTH = 1000
MAX_POLLS = 10000
FAST_POLLS = 200  # first polls via call_soon, the rest via call_later
POLL_DELAY = 0.002

_names = {}  # id(task) -> explicit name
_keep = []  # strong references to every task/future the oracle describes
_saved = None
_oracle_path = None


def scenario_name():
    return os.path.splitext(os.path.basename(sys.argv[0]))[0]


def oracle_path():
    global _oracle_path
    if _oracle_path is None:
        if len(sys.argv) != 2:
            sys.stderr.write("usage: %s ORACLE_PATH\n" % sys.argv[0])
            sys.exit(2)
        _oracle_path = sys.argv[1]
    return _oracle_path


def named(task):
    """Record the explicit name of a task created with name=... and return it.

    Only call this on tasks that were given a name explicitly."""
    _names[id(task)] = task.get_name()
    _keep.append(task)
    return task


def keep(obj):
    """Keep obj alive for the life of the process (pending tasks are only
    weakly referenced by asyncio)."""
    _keep.append(obj)
    return obj


# ---------------------------------------------------------------- frames


def frame_dict(frame, qualname=None):
    code = frame.f_code
    qn = getattr(code, "co_qualname", None) or qualname or code.co_name
    return {
        "function": code.co_name,
        "qualname": qn,
        "file": code.co_filename,
        "line": frame.f_lineno,
    }


def _referent(obj, type_name):
    for r in gc.get_referents(obj):
        if type(r).__name__ == type_name:
            return r
    return None


def await_chain(coro):
    """Frames of an await chain, outermost first, starting at coro."""
    frames = []
    obj = coro
    steps = 0
    while obj is not None and steps < MAX_DEPTH and len(frames) < MAX_DEPTH:
        steps += 1
        tname = type(obj).__name__
        if tname in ("async_generator_asend", "async_generator_athrow"):
            obj = _referent(obj, "async_generator")
            continue
        if tname == "coroutine_wrapper":
            obj = _referent(obj, "coroutine")
            continue
        if isinstance(obj, types.CoroutineType):
            frame, nxt = obj.cr_frame, obj.cr_await
        elif isinstance(obj, types.GeneratorType):
            frame, nxt = obj.gi_frame, obj.gi_yieldfrom
        elif isinstance(obj, types.AsyncGeneratorType):
            frame, nxt = obj.ag_frame, obj.ag_await
        else:
            break  # Future, FutureIter, None, anything else
        if frame is None:
            break
        frames.append(frame_dict(frame, getattr(obj, "__qualname__", None)))
        obj = nxt
    return frames


def running_frames(coro, innermost):
    """Frames of a running coroutine, outermost first: from `innermost` back
    (f_back) to the coroutine's own frame, inclusive.  None if the coroutine's
    frame is not on that stack."""
    target = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
    stack = []
    frame = innermost
    while frame is not None and len(stack) < MAX_DEPTH:
        stack.append(frame_dict(frame))
        if frame is target:
            stack.reverse()
            return stack
        frame = frame.f_back
    return None


def thread_stacks():
    """Python stacks of every thread except the main thread."""
    current = sys._current_frames()
    by_ident = {t.ident: t for t in threading.enumerate()}
    main_ident = threading.main_thread().ident
    out = []
    for ident, frame in current.items():
        if ident == main_ident:
            continue
        t = by_ident.get(ident)
        stack = []
        while frame is not None and len(stack) < MAX_DEPTH:
            stack.append(frame_dict(frame))
            frame = frame.f_back
        stack.reverse()
        out.append({
            "native_id": getattr(t, "native_id", None),
            "name": t.name if t is not None else None,
            "frames": stack,
        })
    out.sort(key=lambda d: (d["native_id"] is None, d["native_id"] or 0))
    return out


# ---------------------------------------------------------------- oracle


def _pending_tasks(loop):
    import asyncio
    return [t for t in asyncio.all_tasks(loop) if not t.done()]


def _all_waiting(tasks, running=None):
    """Every task except `running` is suspended on a future."""
    return all(t._fut_waiter is not None for t in tasks if t is not running)


def compute(loop, running=None):
    """The oracle.  running = (task, innermost frame, thread ident) describes
    a task that is executing right now (its frames are taken from the stack,
    not from its await chain); every other task must be suspended."""
    tasks = []
    problems = []
    for t in _pending_tasks(loop):
        if running is not None and t is running[0]:
            frames = running_frames(t.get_coro(), running[1])
            if frames is None:
                problems.append("running task %s: its coroutine's frame is "
                                "not on the given stack" % hex(id(t)))
                frames = []
            tasks.append({
                "address": hex(id(t)),
                "name": _names.get(id(t)),
                "state": "pending",
                "type": type(t).__name__,
                "frames": frames,
                "awaiting": None,
                "running_on_thread": running[2],
            })
            continue
        w = t._fut_waiter
        tasks.append({
            "address": hex(id(t)),
            "name": _names.get(id(t)),
            "state": "pending",
            "type": type(t).__name__,
            "frames": await_chain(t.get_coro()),
            "awaiting": None if w is None else {
                "type": type(w).__name__, "address": hex(id(w))},
        })
    tasks.sort(key=lambda d: int(d["address"], 16))
    data = {
        "python": platform.python_version(),
        "pid": os.getpid(),
        "scenario": scenario_name(),
        "tasks": tasks,
        "threads": thread_stacks(),
    }
    if running is not None and not any(
            t.get("running_on_thread") is not None for t in tasks):
        problems.append("running task %s is not pending" % hex(id(running[0])))
    if problems:
        data["warning"] = "; ".join(problems)
    return data


def write(data):
    """Write the oracle atomically (path.tmp, then rename)."""
    global _saved
    _saved = data
    path = oracle_path()
    with open(path + ".tmp", "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.rename(path + ".tmp", path)


def _strip(data):
    return {k: v for k, v in data.items() if k != "warning"}


def diff(old, new):
    """First difference between two oracles, as one human-readable line."""
    old, new = _strip(old), _strip(new)
    for k in sorted(set(old) | set(new)):
        if k in ("tasks", "threads"):
            continue
        if old.get(k) != new.get(k):
            return "%s: %r -> %r" % (k, old.get(k), new.get(k))
    ot = {t["address"]: t for t in old.get("tasks", [])}
    nt = {t["address"]: t for t in new.get("tasks", [])}
    if set(ot) != set(nt):
        return "task set: gone %s, new %s" % (
            sorted(set(ot) - set(nt)), sorted(set(nt) - set(ot)))
    for addr in sorted(ot, key=lambda a: int(a, 16)):
        a, b = ot[addr], nt[addr]
        for k in sorted(set(a) | set(b)):
            if a.get(k) == b.get(k):
                continue
            if k == "frames":
                fa, fb = a["frames"], b["frames"]
                for i in range(max(len(fa), len(fb))):
                    x = fa[i] if i < len(fa) else None
                    y = fb[i] if i < len(fb) else None
                    if x != y:
                        return "task %s frame #%d: %r -> %r" % (addr, i, x, y)
            return "task %s %s: %r -> %r" % (addr, k, a.get(k), b.get(k))
    ot = {t["native_id"]: t for t in old.get("threads", [])}
    nt = {t["native_id"]: t for t in new.get("threads", [])}
    if set(ot) != set(nt):
        return "thread set: %s -> %s" % (sorted(ot), sorted(nt))
    for tid in ot:
        if ot[tid] != nt[tid]:
            return "thread %s: %r -> %r" % (tid, ot[tid], nt[tid])
    return None


def _exit(code, text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _check(recompute):
    """Recompute the oracle, print INTACT or CHANGED: <diff>, exit."""
    try:
        if _saved is None:
            _exit(1, "CHANGED: oracle was never written")
        d = diff(_saved, recompute())
    except BaseException as e:  # report, never hang
        _exit(1, "CHANGED: check failed: %s: %s" % (type(e).__name__, e))
    if d is None:
        _exit(0, "INTACT")
    _exit(1, "CHANGED: " + d)


def install_check(loop):
    """SIGUSR1 (through the loop): _check()."""
    loop.add_signal_handler(signal.SIGUSR1, lambda: _check(
        lambda: compute(loop)))


def schedule_oracle(loop, ready=None):
    """From a loop callback, wait until every pending task is suspended on a
    future (t._fut_waiter is not None) and ready() (if given) is true, then
    compute and write the oracle.  Gives up after MAX_POLLS polls and writes
    the oracle anyway with a "warning" field."""
    state = {"polls": 0}

    def poll():
        state["polls"] += 1
        tasks = _pending_tasks(loop)
        waiting = _all_waiting(tasks)
        ok = waiting and (ready is None or ready())
        if not ok and state["polls"] < MAX_POLLS:
            if state["polls"] < FAST_POLLS:
                loop.call_soon(poll)
            else:
                loop.call_later(POLL_DELAY, poll)
            return
        _keep.extend(tasks)
        _keep.extend(t._fut_waiter for t in tasks)
        data = compute(loop)
        if not ok:
            data["warning"] = (
                "state not settled after %d polls (all tasks waiting: %s)"
                % (state["polls"], waiting))
        write(data)

    loop.call_soon(poll)


def run(main=None, *, ready=None, setup=None, main_name="main",
        from_running_task=False):
    """Create a loop, run main() (a coroutine function, may be None) in a task
    named main_name, write the oracle once everything is stuck, and run the
    loop forever.

    setup(loop) is called before the main task is created (e.g. to install a
    task factory).  ready() is an extra readiness predicate.

    from_running_task=True: neither the oracle nor the loop's SIGUSR1 handler
    is set up here; a task of the scenario must call block_here() (after
    `await settle()`), which does both."""
    import asyncio

    oracle_path()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    if setup is not None:
        setup(loop)
    if main is not None:
        named(loop.create_task(main(), name=main_name))
    if not from_running_task:
        install_check(loop)
        schedule_oracle(loop, ready)
    loop.run_forever()


# ------------------------------------------------ oracle from a running task

_settle_polls = 0


async def settle(ready=None):
    """From inside a task: yield to the loop until every other pending task is
    suspended on a future and ready() (if given) is true, at most MAX_POLLS
    times.  block_here() re-checks and warns if the state did not settle."""
    import asyncio
    global _settle_polls

    loop = asyncio.get_running_loop()
    me = asyncio.current_task(loop)
    while _settle_polls < MAX_POLLS:
        if _all_waiting(_pending_tasks(loop), me) and (
                ready is None or ready()):
            return
        _settle_polls += 1
        await asyncio.sleep(0 if _settle_polls < FAST_POLLS else POLL_DELAY)


def block_here(value, ready=None):
    """Called (synchronously) from inside the running task, on the SAME LINE
    as the call that then blocks the loop's thread, e.g.

        time.sleep(oracle.block_here(3600))

    The first call computes the oracle with the current task running on this
    thread (frames from the task's coroutine frame down to the caller of
    block_here, whose line is that blocking line), writes it, and installs
    the SIGUSR1 check with signal.signal (the loop is blocked, so
    loop.add_signal_handler would never run it; a Python-level handler runs
    in the main thread between bytecodes: an interrupted time.sleep runs it,
    PEP 475).  The check recomputes the same oracle from the same frame.
    Returns value."""
    import asyncio

    if _saved is not None:
        return value
    loop = asyncio.get_running_loop()
    task = asyncio.current_task(loop)
    frame = sys._getframe(1)
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("block_here() must run on the main thread")
    running = (task, frame, threading.get_ident())
    tasks = _pending_tasks(loop)
    waiting = _all_waiting(tasks, task)
    ok = waiting and (ready is None or ready())
    _keep.extend(tasks)
    _keep.extend(t._fut_waiter for t in tasks if t._fut_waiter is not None)
    _keep.append(frame)

    def recompute():
        return compute(loop, running)

    signal.signal(signal.SIGUSR1, lambda signum, f: _check(recompute))
    data = recompute()
    if not ok:
        w = "state not settled after %d polls (all other tasks waiting: %s)" % (
            _settle_polls, waiting)
        data["warning"] = w + ("; " + data["warning"]
                               if data.get("warning") else "")
    write(data)
    return value


# ---------------------------------------------------------------- helpers


def threads_blocked_in_wait(count):
    """ready() predicate: `count` non-main threads exist and each is blocked
    in threading.Condition.wait at its `waiter.acquire()` line (from there
    on its Python stack never changes)."""
    import linecache

    def ready():
        current = sys._current_frames()
        main_ident = threading.main_thread().ident
        others = [f for i, f in current.items() if i != main_ident]
        if len(others) != count:
            return False
        for f in others:
            code = f.f_code
            if code.co_name != "wait" or not code.co_filename.endswith(
                    "threading.py"):
                return False
            src = linecache.getline(code.co_filename, f.f_lineno)
            if "waiter.acquire()" not in src:
                return False
        return True

    return ready
