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

The oracle also has a "graph" section (compute_graph()): what the wait graph
must contain, computed from the real objects.  A scenario registers the
asyncio primitives its tasks use with resource(obj, holder=..., wakers=...)
(and TaskGroups with taskgroup(tg)), saying which task holds each one as far
as it knows; gathers, sleep and asyncio.timeout timers, and the bookkeeping
links of shield, wait, wait_for and run_in_executor are found by the oracle
itself.  A deadlock scenario sets EXPECT_CYCLE = [task names] at module top.
A task waiting on a primitive that was not registered makes the oracle warn.

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
  * The graph oracle only reads: task._fut_waiter, the waiter deques of the
    primitives, futures' _callbacks (the C property builds a new list),
    closure cells, gc.get_referents() of suspended coroutines (their locals
    and value stacks, for asyncio.timeout scopes), loop._scheduled, and the
    f_locals of executor worker threads' _WorkItem.run frames (before 3.13
    that fills the frame object's locals dict; nothing awaitwhat reads).
"""

import gc
import json
import os
import platform
import signal
import sys
import threading
import time
import types

MAX_DEPTH = 10000  # deeper than any chain a scenario builds (_bounds.py: 2,001)
MAX_POLLS = 10000
FAST_POLLS = 200  # first polls via call_soon, the rest via call_later
POLL_DELAY = 0.002

_names = {}  # id(task) -> explicit name
_labels = {}  # ≤3.7: id(task) -> the name= a scenario gave (see _old_asyncio)
_by_name = {}  # explicit name -> task
_resources = []  # (object, holders or UNKNOWN, wakers or None), in registration order
_taskgroups = []  # registered asyncio.TaskGroup objects
_io = []  # (task, object, kind, edge) registered with io_wait()
_other_loops = []  # loops run by other threads, registered with other_loop()
_threadsafe = []  # (concurrent future, waiter) registered with threadsafe()
# Strong references to every task/future the oracle describes, each in a tuple of its own:
# awaitwhat does not take a tuple for what keeps a future, so the oracle's own references
# are never named as a bare future's holder.
_keep = []
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
    _names[id(task)] = _labels[id(task)] if NAMELESS else task.get_name()
    _by_name[_names[id(task)]] = task
    _keep.append((task,))
    return task


# Tasks have names from 3.8 on. Before, a scenario's name=... is kept here only, as a
# label: the oracle still says "name" (every expectation is by name) and adds
# "nameless": true, and the task itself stays as nameless as the decoder must show it.
NAMELESS = sys.version_info < (3, 8)


def _old_asyncio():
    """≤3.7: let the scenarios' calls of 3.8's asyncio run. create_task takes name=
    (recorded in _labels); 3.6 also gets 3.7's create_task, get_running_loop,
    current_task and all_tasks, made of what it has. Only the scenario's own calls go
    through these: the tasks, futures and frames are asyncio's own."""
    import asyncio
    if not NAMELESS or getattr(_old_asyncio, "done", False):
        return
    _old_asyncio.done = True
    base = asyncio.BaseEventLoop.create_task

    def loop_create_task(self, coro, *, name=None):
        task = base(self, coro)
        if name is not None:
            _labels[id(task)] = name
        return task

    asyncio.BaseEventLoop.create_task = loop_create_task

    def get_running_loop():
        loop = asyncio._get_running_loop()
        if loop is None:
            raise RuntimeError("no running event loop")
        return loop

    def create_task(coro, *, name=None):
        return get_running_loop().create_task(coro, name=name)

    asyncio.create_task = asyncio.tasks.create_task = create_task
    if sys.version_info < (3, 7):
        def current_task(loop=None):
            return asyncio.Task.current_task(loop) or asyncio.tasks._PyTask.current_task(loop)

        def all_tasks(loop=None):
            every = set(asyncio.Task.all_tasks(loop)) | set(asyncio.tasks._PyTask.all_tasks(loop))
            return {t for t in every if not t.done()}

        asyncio.get_running_loop = asyncio.events.get_running_loop = get_running_loop
        asyncio.current_task = asyncio.tasks.current_task = current_task
        asyncio.all_tasks = asyncio.tasks.all_tasks = all_tasks


if "asyncio" in sys.modules:
    _old_asyncio()


def new_task(cls, coro, loop, name):
    """cls(coro, loop=loop, name=name), a Task class called directly (≤3.7: the name is
    the oracle's label only)."""
    if not NAMELESS:
        return cls(coro, loop=loop, name=name)
    task = cls(coro, loop=loop)
    _labels[id(task)] = name
    return task


def when_of(handle):
    """handle.when() (3.7+, uvloop's too), or its _when."""
    return handle.when() if hasattr(handle, "when") else handle._when


def cancelled_of(handle):
    """handle.cancelled() (3.7+), or its _cancelled."""
    return handle.cancelled() if hasattr(handle, "cancelled") else handle._cancelled


def coro_of(task):
    """task.get_coro() (3.8+), or its _coro."""
    get = getattr(task, "get_coro", None)
    return get() if get is not None else task._coro


def loop_of(fut):
    """fut.get_loop() (3.7+), or its _loop."""
    get = getattr(fut, "get_loop", None)
    return get() if get is not None else fut._loop


def keep(obj):
    """Keep obj alive for the life of the process (pending tasks are only
    weakly referenced by asyncio)."""
    _keep.append((obj,))
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
    return [frame_dict(_frame_of(obj), getattr(obj, "__qualname__", None)) for obj in chain_objects(coro)]


def _frame_of(obj):
    return getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None) or getattr(obj, "ag_frame", None)


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
            "native_id": getattr(t, "native_id", None),  # 3.8+
            "ident": ident,
            "name": t.name if t is not None else None,
            "frames": stack,
        })
    out.sort(key=lambda d: (d["native_id"] is None, d["native_id"] or 0, d["ident"]))
    return out


# ------------------------------------------------------------ wait graph
#
# What a scenario knows about the objects its tasks wait on, declared with
# resource() and taskgroup(), and the "graph" section of the oracle computed
# from the real objects at oracle time (never from awaitwhat's output).


class _Unknown:
    def __repr__(self):
        return "UNKNOWN"


UNKNOWN = _Unknown()

# asyncio class name (anywhere in the type's MRO) -> awaitwhat object kind.
RESOURCE_KINDS = (
    ("Barrier", "barrier"),
    ("BoundedSemaphore", "semaphore"),
    ("Semaphore", "semaphore"),
    ("Condition", "condition"),
    ("Lock", "lock"),
    ("Event", "event"),
    ("Queue", "queue"),
)
# A task waiting on an object of one of these kinds is linked to it by an
# edge of this kind (queues: "get", "put" or "join", by the deque its waiter
# is in).
WAIT_EDGE = {"lock": "acquire", "semaphore": "acquire", "event": "wait",
             "condition": "wait", "barrier": "wait"}
# A suspended task whose innermost frame is in one of these asyncio modules
# waits on a primitive; the scenario must have registered it.
PRIMITIVE_MODULES = ("locks.py", "queues.py", "taskgroups.py")


# anyio's primitives on asyncio (anyio 4), by their classes' module and name.
ANYIO_KINDS = {("anyio._backends._asyncio", "Lock"): "lock",
               ("anyio._backends._asyncio", "Semaphore"): "semaphore",
               ("anyio._backends._asyncio", "CapacityLimiter"): "semaphore",
               ("anyio.streams.memory", "_MemoryObjectStreamState"): "queue",
               ("anyio._backends._asyncio", "TaskGroup"): "taskgroup"}


def _anyio_taskgroup(obj):
    return (type(obj).__module__, type(obj).__name__) == (
        "anyio._backends._asyncio", "TaskGroup")


def _anyio_stream(obj):
    """Is obj the shared state of an anyio memory object stream (a channel)?"""
    return (type(obj).__module__, type(obj).__name__) == (
        "anyio.streams.memory", "_MemoryObjectStreamState")


def _anyio_limiter(obj):
    return (type(obj).__module__, type(obj).__name__) == (
        "anyio._backends._asyncio", "CapacityLimiter")


def _anyio(obj):
    """The kind of an anyio primitive, or None."""
    return ANYIO_KINDS.get((type(obj).__module__, type(obj).__name__))


def _resource_kind(obj):
    if _anyio(obj):
        return _anyio(obj)
    names = [c.__name__ for c in type(obj).__mro__
             if c.__module__.startswith("asyncio")]
    for cls, kind in RESOURCE_KINDS:
        if cls in names:
            return kind
    return None


def wake_delay():
    """Seconds until a scenario's outside waker fires: an hour, or
    $AW_WAKE_DELAY when a test proves that the program recovers by itself."""
    delay = float(os.environ.get("AW_WAKE_DELAY", "3600"))
    return int(delay) if delay.is_integer() else delay


def recovered():
    """Called by a scenario once everything it waited for has happened: under
    $AW_WAKE_DELAY, say so and exit 0 (the proof that it was no deadlock)."""
    if os.environ.get("AW_WAKE_DELAY"):
        print("RECOVERED", flush=True)
        os._exit(0)


def resource(obj, holder=UNKNOWN, holders=UNKNOWN, wakers=None):
    """Register an asyncio primitive (Lock, Event, Semaphore,
    BoundedSemaphore, Condition, Queue and subclasses, Barrier) for the graph
    oracle, keep it alive and return it.

    holder=TASK (one holder) or holders=[TASK, ...] say who holds it (inside
    `async with obj:`); holder=None or holders=[] say that nobody does (a
    held-by edge from it to any task is then wrong).  Left out: not known,
    not checked.  wakers=[TASK, ...]: tasks that could still wake its
    waiters (expected "could-wake" edges).  A TASK may be a task object or
    the name given to oracle.named(); a waker may also be a thread, a timer
    handle or a future (see _waker_id)."""
    if _resource_kind(obj) is None:
        raise TypeError("oracle.resource: %s is no asyncio primitive"
                        % type(obj).__name__)
    if holder is not UNKNOWN:
        if holders is not UNKNOWN:
            raise TypeError("oracle.resource: holder= or holders=, not both")
        holders = [] if holder is None else [holder]
    elif holders is not UNKNOWN:
        holders = list(holders)
    _resources.append((obj, holders, list(wakers) if wakers else None))
    return keep(obj)


def taskgroup(tg):
    """Register an asyncio.TaskGroup (3.11+) or an anyio task group on asyncio for the
    graph oracle."""
    _taskgroups.append(tg)
    return keep(tg)


IO_EDGE = {"stream": "read", "socket": "read", "subprocess": "wait"}


def io_wait(task, obj, kind, edge=None):
    """Register that `task` waits on the outside world through `obj`:
    kind "stream" (obj: the StreamReader), "socket" (obj: the socket given
    to loop.sock_recv & co.) or "subprocess" (obj: the Process).  edge: how
    the wait graph links the task's future to it (default by kind: read,
    read, wait).  The oracle then checks that the task's future really is
    the one the object's bookkeeping holds, and records the file descriptor
    and what the loop's selector watches it for, or the child's pid."""
    if kind not in IO_EDGE:
        raise TypeError("oracle.io_wait: kind %r is not one of %s"
                        % (kind, sorted(IO_EDGE)))
    _io.append((task, obj, kind, edge or IO_EDGE[kind]))
    return keep(obj)


def _io_entry(task, obj, kind, edge):
    """(entry, problem or None) of one registered io_wait()."""
    fut = task._fut_waiter
    entry = {"task": hex(id(task)), "future": hex(id(fut)), "kind": kind,
             "edge": edge, "address": hex(id(obj)), "facts": {}}
    if kind == "subprocess":
        transport = obj._transport
        entry["address"] = hex(id(transport))
        entry["facts"] = {"pid": obj.pid}
        ok = any(w is fut for w in transport._exit_waiters)
        return entry, None if ok else "subprocess %s: the task's future is not " \
            "among its transport's exit waiters" % obj.pid
    if kind == "stream":
        fd = obj._transport.get_extra_info("socket").fileno()
        ok = obj._waiter is fut
    else:
        fd = obj.fileno()
        ok = False
    try:
        key = loop_of(task)._selector.get_key(fd)
        events = key.events
        if kind == "socket":
            handles = [h for h in key.data or () if h is not None]
            ok = any(h._args and h._args[0] is fut for h in handles)
    except KeyError:
        events = 0
    entry["facts"] = {"fd": fd, "selector_events": events}
    return entry, None if ok else "%s fd %d: the task's future is not the " \
        "one its bookkeeping waits to complete" % (kind, fd)


def threadsafe(cf, waiter):
    """Register the concurrent.futures.Future of run_coroutine_threadsafe()
    that `waiter` (a task or task name, or a threading.Thread) blocks on in
    Future.result().  The oracle finds what completes it from the real
    objects: the task _chain_future ties it to, or the coroutine's callback
    still queued in a loop's _ready (and the task blocking that loop's
    thread, if any).  Returns cf."""
    _threadsafe.append((cf, waiter))
    return keep(cf)


def _threadsafe_entry(cf, waiter, loops):
    import asyncio
    if isinstance(waiter, threading.Thread):
        who = hex(waiter.ident)
    else:
        who = hex(id(_task_ref(waiter)))
    entry = {"waiter": who, "future": hex(id(cf)), "state": cf._state,
             "task": None, "loop": None, "blocked_by": None}
    for cb in list(cf._done_callbacks):
        if getattr(cb, "__qualname__", "") == \
                "_chain_future.<locals>._call_check_cancel":
            entry["task"] = hex(id(_closure_var(cb, "source")))
            return entry
    for lp in loops:
        for h in list(lp._ready):
            cb = h._callback
            if getattr(cb, "__qualname__", "") == \
                    "run_coroutine_threadsafe.<locals>.callback" and \
                    _closure_var(cb, "future") is cf:
                entry["loop"] = hex(id(lp))
                running = asyncio.current_task(lp)
                if running is not None:
                    entry["blocked_by"] = hex(id(running))
                return entry
    return entry


def _task_ref(ref):
    """A task object or a name given to named() -> the task."""
    if isinstance(ref, str):
        if ref not in _by_name:
            raise KeyError("no task named %r via oracle.named()" % ref)
        return _by_name[ref]
    return ref


def _waker_id(ref):
    """The graph id of a waker: a task (or its name), a thread (its ident, the
    id of a thread node), a loop's TimerHandle or Handle, a future; a
    zero-argument function stands for what it returns at oracle time (a
    thread that only exists once the loop has run a while)."""
    import threading
    if isinstance(ref, types.FunctionType):
        ref = ref()
    if isinstance(ref, threading.Thread):
        return hex(ref.ident)
    return hex(id(_task_ref(ref)))


def _is_task(obj):
    import asyncio
    py_task = getattr(asyncio.tasks, "_PyTask", None)
    return isinstance(obj, asyncio.Task) or (
        py_task is not None and isinstance(obj, py_task))


def chain_objects(coro):
    """The coroutines/generators of an await chain, outermost first (the
    objects await_chain() takes its frames from)."""
    objs = []
    obj = coro
    steps = 0
    while obj is not None and steps < MAX_DEPTH and len(objs) < MAX_DEPTH:
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
            break
        if frame is None:
            break
        objs.append(obj)
        obj = nxt
    return objs


def _owner(task, awaited):
    """What a bare asyncio.Future belongs to: `self` of the innermost frame of the chain
    outside asyncio's own package, when that frame has one, else the first local of that
    frame that holds it as an attribute of its own (its __dict__). Only the plain Future
    class. Its socket: its own transport's, else that of the nearest `self` further out in
    the chain that has one ("socket_of")."""
    if not _plain_future(awaited):
        return None
    import asyncio
    stdlib = os.path.dirname(asyncio.__file__) + os.sep
    selves = []
    for obj in reversed(chain_objects(coro_of(task))):
        frame = _frame_of(obj)
        if frame.f_code.co_filename.startswith(stdlib):
            continue
        me = frame.f_locals.get("self")
        if not selves and me is None:
            me = _holder_among_locals(frame, awaited)
            if me is None:
                return None
        if me is not None:
            selves.append(me)
    if not selves:
        return None
    me = selves[0]
    out = {"address": hex(id(me)),
           "type": "%s.%s" % (type(me).__module__, type(me).__name__)}
    for other in selves:
        transport = _plain_attr(other, "transport") or _plain_attr(other, "_transport")
        sock = _transport_socket(transport, asyncio)
        if sock is not None:
            out["socket"] = sock
            if other is not me:
                out["socket_of"] = {"address": hex(id(other)),
                                    "type": "%s.%s" % (type(other).__module__,
                                                       type(other).__name__)}
            break
    return out


def _holder_among_locals(frame, fut):
    """The first local of `frame` (other than `fut` itself) whose own attributes (its
    __dict__; not its __slots__) include `fut`, or None."""
    for v in frame.f_locals.values():
        if v is fut:
            continue
        try:
            own = vars(v)
        except TypeError:
            continue
        if any(x is fut for x in own.values()):
            return v
    return None


def _plain_attr(obj, name):
    """obj.name as Python finds it without running any code of obj's: a `__slots__` member
    (a data descriptor on the type, found first), else the instance dict; None when it is
    neither (properties and other computed attributes are not read)."""
    for klass in type(obj).__mro__:
        if name not in vars(klass):
            continue
        member = vars(klass)[name]
        if isinstance(member, types.MemberDescriptorType):
            return getattr(obj, name, None)
        if hasattr(type(member), "__set__"):
            return None
        break
    return getattr(obj, "__dict__", {}).get(name)


def _transport_socket(transport, asyncio):
    """fd, addresses and selector events of an asyncio selector transport's socket."""
    from asyncio import selector_events
    kinds = (selector_events._SelectorSocketTransport, selector_events._SelectorDatagramTransport)
    if not isinstance(transport, kinds):
        return None

    def address(a):
        if isinstance(a, str):
            return a
        if not isinstance(a, tuple) or len(a) < 2:
            return None
        host, port = a[0], a[1]
        return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)

    fd = transport._sock_fd
    try:
        events = transport._loop._selector.get_key(fd).events
    except (KeyError, ValueError, AttributeError):
        events = 0
    return {"fd": fd, "sockname": address(transport.get_extra_info("sockname")),
            "peername": address(transport.get_extra_info("peername")),
            "selector_events": events}


def _awaiting(task, w, loop_threads):
    out = {"type": type(w).__name__, "address": hex(id(w))}
    owner = _owner(task, w)
    if owner is not None:
        out["owner"] = owner
    thread = _holding_thread(w, loop_threads)
    if thread is not None:
        out["thread"] = thread
    return out


_HELD_STEPS = 3  # containers climbed through, as awaitwhat does
_HELD_MAX = 200  # bare futures the oracle looks up at most (see compute)


def _held_by(futs, frames):
    """What keeps each plain asyncio.Future of `futs` (by id) that nothing in its chain or
    a thread explains, by awaitwhat's rule, from the collector's own view
    (gc.get_referrers): a container (dict or list, subclasses too; set, frozenset or
    deque exactly) by its items, any other object (not a class, tuple or Task) by its own
    attributes; a dict that is some such object's __dict__ stands for that object, one that
    is a frame's f_locals (`frames`) for nothing. Of several holders, the one at the lowest
    address, first place in its own order; an object's attribute before any container;
    through at most _HELD_STEPS containers. {id(fut): {"address", "type", "module"?,
    "path"}}."""
    import asyncio
    import collections
    tasks = (asyncio.Task,) + tuple(
        c for c in (getattr(asyncio.tasks, "_PyTask", None),) if c is not None)
    snapshots = set()
    for f in frames:
        # A function's frame copies its locals into a dict (≤3.12); a module's f_locals is
        # its globals, a real holder.
        if sys.version_info < (3, 13) and f.f_locals is not f.f_globals:
            snapshots.add(id(f.f_locals))
    names = {}
    for name, m in list(sys.modules.items()):
        names.setdefault(id(m), name)

    def container(o):
        return isinstance(o, (dict, list)) or type(o) in (set, frozenset, collections.deque)

    def skipped(o):
        return isinstance(o, (type, tuple) + tasks) or id(o) in snapshots

    def holders_of(xs):
        """{id(x): [(holder, place), ...]} for every x of xs, in one pass over the heap."""
        want = {id(x) for x in xs}
        out = {}
        dicts = []  # (dict, [(key, value)]): the dict, or the object it is the __dict__ of

        def note(v, holder, p):
            out.setdefault(id(v), []).append((holder, p))

        for r in gc.get_referrers(*xs):
            if r is xs or r is futs or skipped(r):
                continue
            if isinstance(r, dict):
                hits = [(k, v) for k, v in list(r.items()) if id(v) in want and v is not r]
                if hits:
                    dicts.append((r, hits))
            elif isinstance(r, list) or type(r) is collections.deque:
                for i, v in enumerate(list(r)):
                    if id(v) in want and v is not r:
                        note(v, r, ("index", i))
            elif type(r) in (set, frozenset):
                for v in r:
                    if id(v) in want and v is not r:
                        note(v, r, ("member", None))
            else:
                own = getattr(r, "__dict__", None)
                if isinstance(own, dict):
                    for k, v in list(own.items()):
                        if id(v) in want and v is not r:
                            note(v, r, ("attr", k))
        owners = {}
        if dicts:
            ds = [d for d, _ in dicts]
            ids = {id(d) for d in ds}
            for r in gc.get_referrers(*ds):
                if r is ds or container(r) or skipped(r):
                    continue
                own = getattr(r, "__dict__", None)
                if own is not None and id(own) in ids:
                    owners.setdefault(id(own), r)
        for d, hits in dicts:
            owner = owners.get(id(d))
            for k, v in hits:
                if owner is not None:
                    note(v, owner, ("attr", k))
                else:
                    note(v, d, ("key", k))
        return out

    def first(rs):
        best = None
        for r in rs:
            if best is None or id(r[0]) < id(best[0]):
                best = r
        return best

    def key_repr(k):
        if isinstance(k, str) and len(k) <= 64 and \
                all(c == " " or ("!" <= c <= "~") for c in k) and not any(c in k for c in "'\\"):
            return "'%s'" % k
        if isinstance(k, int) and -2 ** 63 <= k < 2 ** 63:
            return str(int(k))
        return "\u2026"

    def place(p):
        kind, v = p
        if kind == "index":
            return "[%d]" % v
        if kind == "key":
            return "[%s]" % key_repr(v)
        return "{\u2026}"

    def held(obj, path):
        out = {"address": hex(id(obj)),
               "type": "%s.%s" % (type(obj).__module__, type(obj).__name__),
               "path": path}
        if id(obj) in names:
            out["module"] = names[id(obj)]
        return out

    result = {}
    climbing = [(fut, fut, "") for fut in futs]
    for step in range(_HELD_STEPS + 1):
        found = holders_of(list({id(c[1]): c[1] for c in climbing}.values()))
        following = []
        for fut, at, path in climbing:
            rs = found.get(id(at), [])
            named = first([r for r in rs if not container(r[0])])
            inner = first([r for r in rs if container(r[0])])
            if named is not None:
                if isinstance(named[1][1], str):
                    result[id(fut)] = held(named[0], named[1][1] + path)
            elif inner is not None:
                path = place(inner[1]) + path
                if step == _HELD_STEPS:
                    result[id(fut)] = held(inner[0], path)
                else:
                    following.append((fut, inner[0], path))
            elif step > 0:
                result[id(fut)] = held(at, path)
        if not following:
            break
        climbing = following
    # The copies of locals made above (≤3.12) would outlive this call in reference cycles
    # (the caller's copy holds the list of frames that holds the caller's frame), each a
    # dict holding futures: empty them (a frame's own locals are not touched).
    if sys.version_info < (3, 13):
        for f in frames:
            if f.f_locals is not f.f_globals:
                f.f_locals.clear()
    return result


def _plain_future(obj):
    """Is obj an instance of asyncio's own Future class (C or pure Python), not a subclass?"""
    cls = type(obj)
    return cls.__name__ == "Future" and cls.__module__ in ("_asyncio", "asyncio.futures")


def _holding_thread(fut, loop_threads):
    """For a plain asyncio.Future: the thread, other than any running an event loop, one of
    whose current frames holds it in a local (or a closure cell): a library's worker that
    will complete it. Its threading ident, or None."""
    if not _plain_future(fut):
        return None
    for ident, frame in sorted(sys._current_frames().items()):
        if ident == threading.get_ident() or ident in loop_threads:
            continue
        f = frame
        while f is not None:
            if any(v is fut for v in f.f_locals.values()):
                return ident
            f = f.f_back
    return None


def _innermost_frame(coro):
    objs = chain_objects(coro)
    if not objs:
        return None
    o = objs[-1]
    return getattr(o, "cr_frame", None) or getattr(o, "gi_frame", None) or \
        getattr(o, "ag_frame", None)


def _callbacks(fut):
    """The done-callbacks of a future (C or pure Python; reading the C
    future's _callbacks property builds a new list, it changes nothing)."""
    try:
        cbs = fut._callbacks
    except AttributeError:
        return []
    return [c[0] if isinstance(c, tuple) else c for c in (cbs or ())]


def _closure_var(func, name):
    code = getattr(func, "__code__", None)
    if code is None or name not in code.co_freevars:
        return None
    cell = func.__closure__[code.co_freevars.index(name)]
    try:
        return cell.cell_contents
    except ValueError:
        return None


def _link_of(cb):
    """What asyncio's own bookkeeping callback `cb` on future F says:
    (kind, other) with the edge other -> F ("shield", "wait", "wait_for") or
    F -> other ("executor"), or None."""
    import functools
    if isinstance(cb, functools.partial):
        if getattr(cb.func, "__name__", None) == "_release_waiter" and cb.args:
            return ("wait_for", cb.args[0])
        return None
    name = getattr(cb, "__qualname__", "")
    if name in ("shield.<locals>._inner_done_callback", "shield.<locals>._done_callback"):  # 3.7+, 3.6
        return ("shield", _closure_var(cb, "outer"))
    if name == "_wait.<locals>._on_completion":
        return ("wait", _closure_var(cb, "waiter"))
    if name == "_chain_future.<locals>._call_check_cancel":
        return ("executor", _closure_var(cb, "source"))
    return None


def _executor_threads():
    """id(concurrent future) -> threading.get_ident() of the pool thread
    running it (its _WorkItem.run frame; `self` read through f_locals)."""
    out = {}
    main_ident = threading.main_thread().ident
    for ident, frame in sys._current_frames().items():
        if ident == main_ident:
            continue
        while frame is not None:
            code = frame.f_code
            if code.co_name == "run" and code.co_filename.endswith(
                    os.path.join("concurrent", "futures", "thread.py")):
                item = frame.f_locals.get("self")
                fut = getattr(item, "future", None)
                if fut is not None:
                    out[id(fut)] = ident
                break
            frame = frame.f_back
    return out


def _facts(obj, kind):
    n = lambda d: len(d or ())  # noqa: E731  (3.9+ creates _waiters lazily)
    if _anyio(obj) == "lock":
        return {"locked": obj._owner_task is not None, "waiters": n(obj._waiters)}
    if _anyio_stream(obj):
        top = obj.max_buffer_size
        return {"size": len(obj.buffer), "maxsize": top if isinstance(top, int) else None,
                "getters": len(obj.waiting_receivers), "putters": len(obj.waiting_senders)}
    if _anyio_limiter(obj):
        total = obj._total_tokens
        return {"total": total if isinstance(total, int) else None,
                "borrowed": len(obj._borrowers), "waiters": len(obj._wait_queue)}
    if kind == "lock":
        return {"locked": bool(obj._locked), "waiters": n(obj._waiters)}
    if kind == "event":
        return {"set": bool(obj._value), "waiters": n(obj._waiters)}
    if kind == "semaphore":
        return {"value": obj._value, "waiters": n(obj._waiters)}
    if kind == "condition":
        return {"waiters": n(obj._waiters), "lock": hex(id(obj._lock))}
    if kind == "queue":
        return {"size": obj.qsize(), "maxsize": obj.maxsize,
                "getters": n(obj._getters), "putters": n(obj._putters),
                "unfinished": obj._unfinished_tasks}
    if kind == "barrier":
        return {"parties": obj._parties, "waiting": obj._count}
    return {}


def _waiter_deques(obj, kind):
    """(edge kind, deque of waiter futures) of a primitive."""
    if _anyio_stream(obj):
        # anyio Event -> item (or receiver); each wraps the asyncio.Event its task waits on.
        return [(edge, [fut for ev in waiting for fut in (ev._event._waiters or ())])
                for edge, waiting in (("get", obj.waiting_receivers),
                                      ("put", obj.waiting_senders))]
    if kind == "queue":
        return [("get", obj._getters), ("put", obj._putters),
                ("join", obj._finished._waiters)]
    if kind == "barrier":
        return [("wait", obj._cond._waiters)]
    if _anyio(obj) == "lock":
        # (task, future) pairs.
        return [("acquire", [fut for _, fut in obj._waiters])]
    if _anyio_limiter(obj):
        # borrower -> the asyncio.Event that borrower's task waits on.
        return [("acquire", [fut for ev in obj._wait_queue.values()
                             for fut in (ev._waiters or ())])]
    return [(WAIT_EDGE[kind], obj._waiters)]


def _foreign_sleep_handles(suspended):
    """id(future) -> timer handle of each asyncio.sleep under a loop that
    keeps its timers out of Python's reach (uvloop: a Cython TimerHandle
    holds the callback's argument tuple, which holds the sleep's future;
    both are found through gc.get_referrers, which only reads)."""
    out = {}
    for t in suspended:
        frame = _innermost_frame(coro_of(t))
        if frame is None or frame.f_code.co_name != "sleep":
            continue
        w = t._fut_waiter
        for args in gc.get_referrers(w):
            if type(args) is not tuple or not args or args[0] is not w:
                continue
            for h in gc.get_referrers(args):
                if type(h).__name__ == "TimerHandle" and not h.cancelled():
                    out[id(w)] = h
    return out


def _call_graph(suspended):
    """asyncio.capture_call_graph() of each suspended task (3.14+; it only
    reads the tasks' awaited-by sets and coroutine chains), or None."""
    import asyncio
    capture = getattr(asyncio, "capture_call_graph", None)
    if capture is None:
        return None
    out = []
    for t in suspended:
        try:
            g = capture(t, limit=None)
        except (TypeError, RecursionError) as e:
            # Pure-Python tasks are "not compatible"; a task in an await
            # cycle recurses without end (CPython 3.14/3.15).
            out.append({"task": hex(id(t)),
                        "refused": "%s: %s" % (type(e).__name__, str(e)[-120:])})
            continue
        out.append({
            "task": hex(id(t)),
            "awaited_by": sorted(hex(id(a.future)) for a in g.awaited_by),
            "functions": [e.frame.f_code.co_name
                          for e in reversed(g.call_stack)],
        })
    out.sort(key=lambda d: int(d["task"], 16))
    return out


def compute_graph(loop, tasks, running_task=None):
    """The "graph" section of the oracle, from the live objects.

    waits      one entry per suspended task with a non-typed wait:
               {task, to, kind: "awaits", to_kind, to_state}
    resources  registered primitives: {address, kind, type, facts,
               waiting: [{task, edge}], holders (null = unknown), wakers}
    gathers    every _GatheringFuture a task awaits (and nested ones):
               {address, waiter, children, done}
    taskgroups registered TaskGroups: {address, parent, tasks, waiting}
    timers     asyncio.sleep's TimerHandle (kind "timer", edge "sleep") and
               asyncio.timeout's (kind "timeout", edge "timeout"):
               {address, task, kind, edge, when, cancelled}
    links      asyncio bookkeeping between futures, from their callbacks:
               {from, to, kind: shield | wait | wait_for | executor}
    executors  concurrent futures behind run_in_executor/to_thread:
               {address, state, thread}
    wait_sets  asyncio.wait's waiter futures: {address, return_when,
               watched (pending futures given its completion callback)}
    call_graph (3.14+, else null) CPython's own view: for each suspended
               task, asyncio.capture_call_graph(task): {task, awaited_by:
               [addresses of the futures it lists], functions: its call
               stack's function names, outermost first}
    threadsafe registered threadsafe() futures: {waiter (task address or
               thread ident, hex), future, state, task (what completes it) or
               loop (its coroutine still queued there) and blocked_by (the
               task running on that loop's thread)}
    io         registered io_wait()s: {task, future, address, kind, edge,
               facts: {fd, selector_events} or {pid}}
    primitives every live instance of asyncio's own Lock, Event, Condition,
               Semaphore, Queue, Barrier and TaskGroup (subclasses included),
               by isinstance, whatever its class is called: {address, kind}
    loop_state each loop's own state (`awaitwhat loops`): {address, thread_id,
               ready: [callback], timers, cancelled_timers, next_when, fds:
               [{fd, events, reader, writer}]}, a callback as {name, module,
               receiver}; only address and thread_id for uvloop
    expect_cycle  EXPECT_CYCLE of the scenario module (task names) or []
    """
    import asyncio
    from asyncio import futures as _futures

    problems = []
    suspended = [t for t in tasks if t is not running_task
                 and t._fut_waiter is not None]

    # Registered primitives and the waiter futures queued on them.
    waiter_of = {}  # id(waiter future) -> (resource index, edge kind)
    resources = []
    for i, (obj, holders, wakers) in enumerate(_resources):
        kind = _resource_kind(obj)
        for edge, dq in _waiter_deques(obj, kind):
            for w in dq or ():
                waiter_of.setdefault(id(w), (i, edge))
        entry = {
            "address": hex(id(obj)),
            "kind": kind,
            "type": type(obj).__name__,
            "facts": _facts(obj, kind),
            "waiting": [],
            "holders": None,
            "wakers": None,
        }
        try:
            if holders is not UNKNOWN:
                hs = [_task_ref(h) for h in holders]
                entry["holders"] = sorted(hex(id(h)) for h in hs)
                for h in hs:
                    if h.done():
                        problems.append("holder of %s %s is done" % (
                            kind, entry["address"]))
                locked = entry["facts"].get("locked")
                if kind == "lock" and bool(hs) != bool(locked):
                    problems.append("lock %s: locked=%s but holders %s" % (
                        entry["address"], locked, entry["holders"]))
            if wakers is not None:
                entry["wakers"] = sorted(_waker_id(w) for w in wakers)
        except KeyError as e:
            problems.append(str(e))
        resources.append(entry)

    groups = []
    group_of = {}  # id(_on_completed_fut) -> group index
    for i, tg in enumerate(_taskgroups):
        # anyio's names its host through its cancel scope.
        parent = (tg.cancel_scope._host_task if _anyio_taskgroup(tg)
                  else tg._parent_task)
        groups.append({
            "address": hex(id(tg)),
            "parent": None if parent is None else hex(id(parent)),
            "tasks": sorted(hex(id(c)) for c in tg._tasks),
            "waiting": [],
        })
        if tg._on_completed_fut is not None:
            group_of[id(tg._on_completed_fut)] = i

    # asyncio.sleep: call_later(delay, _set_result_unless_cancelled, fut, ..)
    sleep_handle = {}
    for lp in _loops(loop):
        for h in list(getattr(lp, "_scheduled", ())):
            if isinstance(h, asyncio.TimerHandle) and \
                    h._callback is _futures._set_result_unless_cancelled and \
                    h._args:
                sleep_handle[id(h._args[0])] = h
        if not hasattr(lp, "_scheduled"):
            sleep_handle.update(_foreign_sleep_handles(
                [t for t in suspended if loop_of(t) is lp]))

    # Bookkeeping links, from the callbacks of every future in sight.
    seen, todo, links, executors = set(), [], [], []
    for t in tasks:
        todo.append(t)
        if t._fut_waiter is not None:
            todo.append(t._fut_waiter)
    for tg in _taskgroups:
        todo.extend(tg._tasks)
    for kept in _keep:
        todo.extend(obj for obj in kept if asyncio.isfuture(obj))
    gathers = {}
    wait_sets = {}  # id(asyncio.wait's waiter) -> {address, return_when, watched}
    threads_of = None
    while todo:
        f = todo.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        if type(f).__name__ == "_GatheringFuture":
            children = list(f._children)
            gathers[id(f)] = {
                "address": hex(id(f)),
                "waiter": None,
                "children": [hex(id(c)) for c in children],
                "done": sum(1 for c in children if c.done()),
            }
            todo.extend(children)
        for cb in _callbacks(f):
            link = _link_of(cb)
            if link is None or link[1] is None:
                continue
            kind, other = link
            if kind == "executor":
                if threads_of is None:
                    threads_of = _executor_threads()
                links.append({"from": hex(id(f)), "to": hex(id(other)),
                              "kind": kind})
                executors.append({"address": hex(id(other)),
                                  "state": other._state,
                                  "thread": threads_of.get(id(other))})
            else:
                links.append({"from": hex(id(other)), "to": hex(id(f)),
                              "kind": kind})
                todo.append(other)
                if kind == "wait":
                    ws = wait_sets.setdefault(id(other), {
                        "address": hex(id(other)),
                        "return_when": _closure_var(cb, "return_when"),
                        "watched": 0})
                    ws["watched"] += 1
    link_kind = {}  # address of a future with a bookkeeping role -> kind
    for lk in links:
        if lk["kind"] in ("shield", "wait", "wait_for"):
            link_kind[lk["from"]] = lk["kind"]

    waits, timers = [], []
    for t in suspended:
        w = t._fut_waiter
        ta = hex(id(t))
        frame = _innermost_frame(coro_of(t))
        fname = frame.f_code.co_filename if frame is not None else ""
        fn = frame.f_code.co_name if frame is not None else ""
        in_asyncio = os.sep + "asyncio" + os.sep in fname
        if id(w) in waiter_of:
            i, edge = waiter_of[id(w)]
            resources[i]["waiting"].append({"task": ta, "edge": edge})
        elif id(w) in group_of:
            groups[group_of[id(w)]]["waiting"].append(ta)
        elif id(w) in sleep_handle and in_asyncio and fn == "sleep":
            h = sleep_handle[id(w)]
            # f_locals of a suspended frame: before 3.13 this fills the
            # frame object's locals dict, which awaitwhat never reads.
            timers.append({"address": hex(id(h)), "task": ta,
                           "kind": "timer", "edge": "sleep",
                           "when": when_of(h), "cancelled": cancelled_of(h),
                           "delay": frame.f_locals.get("delay")})
        elif in_asyncio and fname.endswith(PRIMITIVE_MODULES):
            problems.append(
                "task %s waits in %s:%s on a primitive the scenario did not "
                "register with oracle.resource()/taskgroup()" % (
                    ta, os.path.basename(fname), fn))
        else:
            if _is_task(w):
                to_kind = "task"
            elif type(w).__name__ == "_GatheringFuture":
                to_kind = "gather"
            else:
                to_kind = link_kind.get(hex(id(w)), "future")
            waits.append({"task": ta, "to": hex(id(w)), "kind": "awaits",
                          "to_kind": to_kind,
                          "to_state": "pending" if not w.done() else (
                              "cancelled" if w.cancelled() else "finished")})
            if id(w) in gathers:
                gathers[id(w)]["waiter"] = ta

        # asyncio.timeout() scopes (3.11+): Timeout.__aexit__ bound methods
        # on the value stacks of the chain (gc.get_referents of a suspended
        # 3.11+ coroutine visits its frame's locals and value stack); 3.14+
        # keeps `async with`'s __aexit__ unbound, next to the Timeout itself.
        timeout_cls = getattr(asyncio, "Timeout", None)
        if timeout_cls is not None:
            handles = set()
            for obj in chain_objects(coro_of(t)):
                refs = gc.get_referents(obj)
                scopes = [r.__self__ for r in refs
                          if isinstance(r, types.MethodType) and
                          r.__func__.__name__ == "__aexit__" and
                          isinstance(r.__self__, timeout_cls)]
                if any(r is timeout_cls.__aexit__ for r in refs):
                    scopes += [r for r in refs if isinstance(r, timeout_cls)]
                for scope in scopes:
                    h = scope._timeout_handler
                    if h is not None and id(h) not in handles:
                        handles.add(id(h))
                        timers.append({
                            "address": hex(id(h)), "task": ta,
                            "kind": "timeout", "edge": "timeout",
                            "when": when_of(h), "cancelled": cancelled_of(h)})
    io = []
    for task, obj, kind, edge in _io:
        try:
            entry, problem = _io_entry(_task_ref(task), obj, kind, edge)
        except (KeyError, AttributeError, OSError) as e:
            problems.append("io_wait %s: %s: %s" % (kind, type(e).__name__, e))
            continue
        io.append(entry)
        if problem:
            problems.append(problem)
    call_graph = _call_graph(suspended)
    threadsafe_waits = [_threadsafe_entry(cf, w, _loops(loop))
                        for cf, w in _threadsafe]
    for r in resources:
        r["waiting"].sort(key=lambda d: int(d["task"], 16))
    for g in groups:
        g["waiting"].sort()

    main_module = sys.modules.get("__main__")
    expect = getattr(main_module, "EXPECT_CYCLE", None) or []
    grade = getattr(main_module, "EXPECT_GRADE", "deadlock") if expect else None
    key = lambda d: json.dumps(d, sort_keys=True)  # noqa: E731
    data = {
        "waits": sorted(waits, key=key),
        "resources": resources,
        "gathers": sorted(gathers.values(), key=key),
        "taskgroups": groups,
        "timers": sorted(timers, key=key),
        "links": sorted(links, key=key),
        "executors": sorted(executors, key=key),
        "io": sorted(io, key=key),
        "primitives": _primitives(),
        "wait_sets": sorted(wait_sets.values(), key=key),
        "call_graph": call_graph,
        "threadsafe": sorted(threadsafe_waits, key=key),
        "loop_state": [_loop_state(lp, running_task) for lp in _loops(loop)],
        "expect_cycle": list(expect),
        "expect_grade": grade,
    }
    return data, problems


def _callback_ref(cb):
    """A handle's callback as `awaitwhat loops` names it: module, qualified name, and the
    object a method is bound to."""
    import functools
    if isinstance(cb, functools.partial):
        inner = _callback_ref(cb.func)
        return dict(inner, name="functools.partial(%s)" % inner["name"])
    func = getattr(cb, "__func__", cb)
    me = getattr(cb, "__self__", None)
    if isinstance(func, types.FunctionType):
        return {"name": func.__qualname__, "module": func.__module__,
                "receiver": None if me is None else hex(id(me))}
    return {"name": "<%s object>" % type(cb).__name__, "module": None, "receiver": hex(id(cb))}


def _loop_state(lp, running_task):
    """What `awaitwhat loops` reads of a loop: its queue, timers and selector.  A loop that is
    not blocked sleeps in select() only with nothing ready (asyncio computes a zero timeout
    otherwise): its ready queue then is empty, whatever it holds while this task runs."""
    state = {"address": hex(id(lp)), "thread_id": getattr(lp, "_thread_id", None)}
    if not hasattr(lp, "_ready"):
        return state  # uvloop: libuv keeps them
    blocked = running_task is not None and loop_of(running_task) is lp
    state["ready"] = [_callback_ref(h._callback) for h in lp._ready] if blocked else []
    scheduled = list(lp._scheduled)
    live = [h for h in scheduled if not h._cancelled]
    state["timers"] = len(scheduled)
    state["cancelled_timers"] = len(scheduled) - len(live)
    state["next_when"] = min(h._when for h in live) if live else None
    fds = []
    for key in lp._selector.get_map().values():
        reader, writer = key.data if key.data else (None, None)
        fds.append({"fd": key.fd, "events": key.events,
                    "reader": None if reader is None else _callback_ref(reader._callback),
                    "writer": None if writer is None else _callback_ref(writer._callback)})
    state["fds"] = sorted(fds, key=lambda f: f["fd"])
    return state


def _primitives():
    """Every instance of asyncio's primitive classes (isinstance: by identity, not by
    name) and of anyio's, address order: what a decoder may type as one, and nothing
    else."""
    import asyncio
    import gc

    classes = [("lock", asyncio.Lock), ("event", asyncio.Event),
               ("condition", asyncio.Condition), ("semaphore", asyncio.Semaphore),
               ("queue", asyncio.Queue)]
    classes += [(kind, getattr(asyncio, name)) for kind, name in
                (("barrier", "Barrier"), ("taskgroup", "TaskGroup"))
                if hasattr(asyncio, name)]
    found = []
    for o in gc.get_objects():
        kind = _anyio(o) or next((k for k, c in classes if isinstance(o, c)), None)
        if kind is not None:
            found.append({"address": hex(id(o)), "kind": kind})
    return sorted(found, key=lambda d: int(d["address"], 16))


# ---------------------------------------------------------------- oracle


def other_loop(loop):
    """Register an event loop that another thread runs: its tasks belong to
    the oracle too.  Returns the loop."""
    _other_loops.append(loop)
    return keep(loop)


def _loops(loop):
    return [loop] + _other_loops


def _pending_tasks(loop):
    """Every pending task of the loop and of the other_loop()s.  3.14+:
    asyncio.all_tasks() (C) does not see pure-Python tasks
    (asyncio.tasks._PyTask and subclasses), which register in
    asyncio.tasks._scheduled_tasks only (before 3.14 that is the C module's
    set, already covered)."""
    import asyncio
    tasks, seen = [], set()
    for lp in _loops(loop):
        for t in list(asyncio.all_tasks(lp)) + [
                t for t in list(getattr(asyncio.tasks, "_scheduled_tasks", ()))
                if loop_of(t) is lp]:
            if id(t) not in seen:
                seen.add(id(t))
                tasks.append(t)
    return [t for t in tasks if not t.done()]


def _all_waiting(tasks, running=None):
    """Every task except `running` is suspended on a future."""
    return all(t._fut_waiter is not None for t in tasks if t is not running)


def compute(loop, running=None):
    """The oracle.  running = (task, innermost frame, thread ident) describes
    a task that is executing right now (its frames are taken from the stack,
    not from its await chain); every other task must be suspended."""
    tasks = []
    problems = []
    bare = []  # (awaiting entry, future) of bare futures nothing else explains
    pending = _pending_tasks(loop)
    loop_threads = {getattr(loop_of(t), "_thread_id", None) for t in pending}
    for t in pending:
        if running is not None and t is running[0]:
            frames = running_frames(coro_of(t), running[1])
            if frames is None:
                problems.append("running task %s: its coroutine's frame is "
                                "not on the given stack" % hex(id(t)))
                frames = []
            tasks.append({
                "address": hex(id(t)),
                "name": _names.get(id(t)),
            "nameless": NAMELESS,
                "nameless": NAMELESS,
                "state": "pending",
                "type": type(t).__name__,
                "frames": frames,
                "awaiting": None,
                "running_on_thread": running[2],
                "loop": hex(id(loop_of(t))),
            })
            continue
        w = t._fut_waiter
        tasks.append({
            "address": hex(id(t)),
            "name": _names.get(id(t)),
            "nameless": NAMELESS,
            "state": "pending",
            "type": type(t).__name__,
            "frames": await_chain(coro_of(t)),
            "awaiting": None if w is None else _awaiting(t, w, loop_threads),
            "loop": hex(id(loop_of(t))),
        })
        # Where it was created, when asyncio's debug mode recorded it (`awaitwhat task`).
        created = getattr(t, "_source_traceback", None)
        if created:
            tasks[-1]["created"] = [[f.filename, f.lineno, f.name] for f in created]
        aw = tasks[-1]["awaiting"]
        if aw is not None and _plain_future(w) and "owner" not in aw and "thread" not in aw:
            bare.append((aw, w))
    # gc.get_referrers() costs the whole heap times its arguments: a program with many bare
    # futures (a server's handlers on their Events) is not asked (nor compared).
    held_by_computed = len(bare) <= _HELD_MAX
    if bare and held_by_computed:
        # The frames whose f_locals awaitwhat knows to be copies: every chain's and thread's.
        frames = [_frame_of(o) for t in pending for o in chain_objects(coro_of(t))]
        for f in sys._current_frames().values():
            while f is not None:
                frames.append(f)
                f = f.f_back
        held = _held_by([w for _, w in bare], [f for f in frames if f is not None])
        for aw, w in bare:
            if id(w) in held:
                aw["held_by"] = held[id(w)]
        del frames, held
    del bare
    tasks.sort(key=lambda d: int(d["address"], 16))
    loops = []
    for t in pending:
        lp = loop_of(t)
        if hex(id(lp)) not in [x["address"] for x in loops]:
            loops.append({"address": hex(id(lp)),
                          "thread_id": getattr(lp, "_thread_id", None)})
    graph, gproblems = compute_graph(
        loop, pending, running[0] if running is not None else None)
    problems.extend(gproblems)
    data = {
        "python": platform.python_version(),
        "pid": os.getpid(),
        "scenario": scenario_name(),
        "tasks": tasks,
        "threads": thread_stacks(),
        "loops": sorted(loops, key=lambda d: int(d["address"], 16)),
        "graph": graph,
        "held_by_computed": held_by_computed,
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
    """What the intact check compares. Not the loops' own queues and timers: they move with
    the program itself (a target that changes on purpose schedules more); its tasks and
    their waits say whether a reader changed it."""
    out = {k: v for k, v in data.items() if k != "warning"}
    if isinstance(out.get("graph"), dict):
        out["graph"] = {k: v for k, v in out["graph"].items() if k != "loop_state"}
    return out


def _without_held_by(data):
    """The oracle without awaiting.held_by: what keeps a future is read from the whole heap,
    where a recomputation's own temporary lists (made while the target state is intact)
    may come first; the decode is compared with the first computation, made before."""
    tasks = []
    for t in data.get("tasks", []):
        aw = t.get("awaiting")
        if aw and "held_by" in aw:
            t = dict(t, awaiting={k: v for k, v in aw.items() if k != "held_by"})
        tasks.append(t)
    return dict(data, tasks=tasks)


def diff(old, new):
    """First difference between two oracles, as one human-readable line."""
    old, new = _strip(_without_held_by(old)), _strip(_without_held_by(new))
    for k in sorted(set(old) | set(new)):
        if k in ("tasks", "threads"):
            continue
        if old.get(k) != new.get(k):
            return _first_diff(old.get(k), new.get(k), k)
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
    ot = {(t["native_id"], t.get("ident")): t for t in old.get("threads", [])}
    nt = {(t["native_id"], t.get("ident")): t for t in new.get("threads", [])}
    if set(ot) != set(nt):
        return "thread set: %s -> %s" % (sorted(ot), sorted(nt))
    for tid in ot:
        if ot[tid] != nt[tid]:
            return "thread %s: %r -> %r" % (tid, ot[tid], nt[tid])
    return None


def _first_diff(a, b, path):
    """Where two JSON values first differ, as "path: old -> new"."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return _first_diff(a.get(k), b.get(k), "%s.%s" % (path, k))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_diff(x, y, "%s[%d]" % (path, i))
    text = "%s: %r -> %r" % (path, a, b)
    return text if len(text) < 2000 else text[:2000] + "..."


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
        _keep.append(tuple(tasks))
        _keep.append(tuple(t._fut_waiter for t in tasks))
        data = compute(loop)
        if not ok:
            data["warning"] = (
                "state not settled after %d polls (all tasks waiting: %s)"
                % (state["polls"], waiting))
        write(data)

    loop.call_soon(poll)


def run(main=None, *, ready=None, setup=None, main_name="main",
        from_running_task=False, loop_factory=None):
    """Create a loop, run main() (a coroutine function, may be None) in a task
    named main_name, write the oracle once everything is stuck, and run the
    loop forever.

    setup(loop) is called before the main task is created (e.g. to install a
    task factory).  ready() is an extra readiness predicate.  loop_factory()
    makes the loop instead of asyncio.new_event_loop() (uvloop's, say).

    from_running_task=True: neither the oracle nor the loop's SIGUSR1 handler
    is set up here; a task of the scenario must call block_here() (after
    `await settle()`), which does both."""
    import asyncio

    oracle_path()
    _old_asyncio()
    loop = (loop_factory or asyncio.new_event_loop)()
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
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("block_here() must run on the main thread")
    loop = asyncio.get_running_loop()
    _running_oracle(loop, asyncio.current_task(loop), sys._getframe(1), ready)
    return value


def _running_oracle(loop, task, frame, ready):
    """Write the oracle with `task` running on the main thread, innermost
    frame `frame`, and install the SIGUSR1 check that recomputes it from the
    same frame."""
    running = (task, frame, threading.get_ident())
    tasks = _pending_tasks(loop)
    waiting = _all_waiting(tasks, task)
    ok = waiting and (ready is None or ready())
    _keep.append(tuple(tasks))
    _keep.append(tuple(t._fut_waiter for t in tasks if t._fut_waiter is not None))
    _keep.append((frame,))

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


def block_below(value, ready=None):
    """Like block_here(), for a blocking call that runs Python frames of its
    own before it blocks in threading's `waiter.acquire()`
    (concurrent.futures.Future.result(), Thread.join(), ...), e.g.

        fut.result(oracle.block_below(None))

    Returns value at once.  A helper thread waits until the main thread is
    parked there and ready() holds, then interrupts it with SIGUSR2; the
    handler runs in the main thread on top of the blocked frame (PEP 475
    resumes the wait afterwards), computes the oracle with the current task
    running down to that frame, and installs the SIGUSR1 check.  The helper
    has ended by then: the oracle's threads are the scenario's own."""
    import asyncio

    if _saved is not None:
        return value
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("block_below() must run on the main thread")
    loop = asyncio.get_running_loop()
    task = asyncio.current_task(loop)
    main = threading.get_ident()
    caller = sys._getframe(1)
    settled = []

    def parked():
        # Parked in a wait the caller's blocking call made (not, say, in
        # Thread.start() below this very function).
        frame = sys._current_frames().get(main)
        if frame is None or not _parked_in_wait(frame):
            return False
        callee = None
        while frame is not None and frame is not caller:
            callee, frame = frame, frame.f_back
        return frame is caller and callee is not None and \
            callee.f_code is not block_below.__code__ and (
                ready is None or ready())

    def watch():
        for _ in range(MAX_POLLS):
            if parked():
                settled.append(True)
                break
            time.sleep(POLL_DELAY)
        signal.pthread_kill(main, signal.SIGUSR2)

    helper = threading.Thread(target=watch, name="oracle-watch", daemon=True)

    def on_signal(signum, frame):
        helper.join()
        _running_oracle(loop, task, frame, lambda: bool(settled))

    signal.signal(signal.SIGUSR2, on_signal)
    helper.start()
    return value


# ---------------------------------------------------------------- helpers


def threads_blocked_in_wait(count):
    """ready() predicate: `count` non-main threads exist and each is blocked
    in threading.Condition.wait at its `waiter.acquire()` line (from there
    on its Python stack never changes)."""

    def ready():
        current = sys._current_frames()
        main_ident = threading.main_thread().ident
        others = [f for i, f in current.items() if i != main_ident]
        return len(others) == count and all(_parked_in_wait(f) for f in others)

    return ready


def thread_parked(thread):
    """Is `thread` blocked in threading.Condition.wait at `waiter.acquire()`?"""
    frame = sys._current_frames().get(thread.ident)
    return frame is not None and _parked_in_wait(frame)


def _parked_in_wait(frame):
    """The innermost frame is threading.Condition.wait, at its
    `waiter.acquire(...)` line (from there on the stack never changes)."""
    import linecache
    code = frame.f_code
    if code.co_name != "wait" or not code.co_filename.endswith("threading.py"):
        return False
    return "waiter.acquire(" in linecache.getline(code.co_filename, frame.f_lineno)
