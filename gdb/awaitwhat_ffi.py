"""The debugger-neutral half of awaitwhat's front ends: load libawaitwhat.so, call its C ABI
with a memory reader and the mapped files, parse command options, write output.

Both gdb/awaitwhat.py and lldb/awaitwhat.py use this file; it imports no debugger module
and holds no CPython knowledge."""

import ctypes
import json
import os
import re
import shlex
import shutil
import subprocess

_HERE = os.path.dirname(os.path.abspath(__file__))
_LIB_NAME = "libawaitwhat.so"

READ_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint8),
                           ctypes.c_size_t)

OPTIONS = {
    "--json": "the JSON form (schema: docs/json.md in the awaitwhat repository)",
    "--no-dwarf": "ignore DWARF debug info; use awaitwhat's built-in layout tables",
    "--no-source": "do not read source files to show source lines",
    "--stats": "also print what the decode cost (memory reads, bytes)",
    "--all": "show every task on its own (above 20 tasks, tasks alike are otherwise folded)",
    "--locals": "show every frame's local variables (plain values, container lengths, types)",
    "--svg": "the graph as SVG, drawn by Graphviz's dot (which must be on PATH)",
    "--short-paths": "files without the standard library's and site-packages' directories",
}

# Options of `stacks` that take a value: what part of the answer is shown.
VIEW_OPTIONS = {
    "--task": "task",  # a name, an address (0x...) or a regular expression on names
    "--waiting-on": "waiting_on",  # a kind: lock, event, timer, socket, future, task...
    "--contains": "contains",  # a function in the chain
    "--depth": "depth",  # the innermost N frames of each chain
}

# Help paragraphs are single lines: gdb prints them as they are, lldb wraps them itself.
STACKS_HELP = (
    "Show every pending asyncio task's await chain, outermost frame first, down to what it waits on "
    "(a Lock and who holds it, an Event, a Queue, a timer, a socket, another task...).\n\n"
    "Options: --json, --no-dwarf, --no-source, --stats, --all (every task on its own: above 20 tasks, "
    "tasks with the same stack and the same kind of wait are otherwise shown once, with a count), "
    "--task NAME|ADDRESS|REGEX, --waiting-on KIND (lock, event, semaphore, queue, timer, socket, future, "
    "task, executor...), --contains FUNCTION, --depth N (the innermost N frames), --locals (every frame's "
    "local variables), --limit NAME=N,... (raise a bound: depth, tasks, objects, string, items, bytes, "
    "seconds), --short-paths (asyncio/locks.py, aiohttp/client.py: no standard library or "
    "site-packages directories), "
    "and `> FILE` to write to FILE.\n\n"
    "Works on a live process and on a core file. Reads memory only: nothing is written to the target "
    "and no code runs in it."
)

TASK_HELP = (
    "Show one task in depth: its await chain with every frame's local variables, what it awaits and who "
    "awaits it, the locks it holds, its pending cancellation's message, its done-callbacks, and where it "
    "was created (recorded in asyncio's debug mode).\n\n"
    "Usage: NAME|ADDRESS|REGEX [--json] [--no-dwarf] [--no-source] [--stats] [> FILE]."
)

LOOPS_HELP = (
    "Show each event loop: the thread running it and its running task, the callbacks queued to run next, "
    "its timers and the next to fire (and for whom), and the file descriptors its selector watches with "
    "the tasks waiting on each; then every thread's Python stack.\n\n"
    "Options: --json, --no-dwarf, --no-source, --stats, and `> FILE`."
)

GRAPH_HELP = (
    "Show the asyncio wait graph as Graphviz DOT: tasks (with their frames), what each waits on, "
    "gather/shield/wait/TaskGroup links, inferred lock holders, and wait cycles in red.\n\n"
    "Options: --json (objects, edges, cycles), --svg (drawn by Graphviz's dot), --no-dwarf, --stats, and "
    "`> FILE`, e.g. `> g.dot` (render with `dot -Tsvg g.dot -o g.svg`) or `--svg > g.svg`."
)


class AwaitwhatError(Exception):
    """A one-line reason, shown to the user as the command's error."""


class _Target(ctypes.Structure):
    _fields_ = [("ctx", ctypes.c_void_p), ("read", READ_FN)]


class _Module(ctypes.Structure):
    _fields_ = [("path", ctypes.c_char_p), ("base", ctypes.c_uint64)]


def _candidates():
    env = os.environ.get("AWAITWHAT_LIB")
    if env:
        yield env
    yield os.path.join(_HERE, _LIB_NAME)
    for build in ("release", "debug"):
        yield os.path.join(_HERE, "..", "target", build, _LIB_NAME)


_lib = None


def library():
    global _lib
    if _lib is not None:
        return _lib
    tried = []
    for path in _candidates():
        if os.path.isfile(path):
            lib = ctypes.CDLL(os.path.abspath(path))
            lib.aw_snapshot_take.restype = ctypes.c_void_p
            lib.aw_snapshot_take.argtypes = [ctypes.POINTER(_Target), ctypes.POINTER(_Module), ctypes.c_size_t,
                                             ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
            lib.aw_snapshot_render.restype = ctypes.c_void_p
            lib.aw_snapshot_render.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.aw_snapshot_render_view.restype = ctypes.c_void_p
            lib.aw_snapshot_render_view.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                                    ctypes.POINTER(ctypes.c_void_p)]
            lib.aw_snapshot_free.argtypes = [ctypes.c_void_p]
            lib.aw_string_free.argtypes = [ctypes.c_void_p]
            lib.aw_version.restype = ctypes.c_char_p
            _lib = lib
            return lib
        tried.append(os.path.normpath(path))
    raise AwaitwhatError("%s not found (looked at $AWAITWHAT_LIB, %s); build it with `cargo build --release` in the "
                         "awaitwhat checkout or set AWAITWHAT_LIB" % (_LIB_NAME, ", ".join(tried)))


def version():
    return library().aw_version().decode()


def _string(lib, ptr):
    try:
        return ctypes.string_at(ptr).decode("utf-8", "replace")
    finally:
        lib.aw_string_free(ptr)


def render(read, modules, formats, options, view=None):
    """Decode the target once and render it in each format (the first one as `view` shows it).

    read(addr, length) returns bytes or None when unreadable; modules is a list of
    (path, address of file offset 0)."""
    lib = library()

    def callback(_ctx, addr, buf, length):
        try:
            data = read(addr, length)
        except Exception:  # the debugger's reader failing is "unreadable", never a crash
            data = None
        if data is None or len(data) != length:
            return 1
        ctypes.memmove(buf, data, length)
        return 0

    keep_callback = READ_FN(callback)
    target = _Target(None, keep_callback)
    paths = [p.encode() for p, _ in modules]
    array = (_Module * max(1, len(modules)))(*[_Module(p, b) for p, (_, b) in zip(paths, modules)])
    err = ctypes.c_void_p()
    snap = lib.aw_snapshot_take(ctypes.byref(target), array, len(modules), json.dumps(options).encode(),
                                ctypes.byref(err))
    if not snap:
        raise AwaitwhatError(_string(lib, err.value) if err.value else "unknown error")
    try:
        out = []
        for i, fmt in enumerate(formats):
            shown = json.dumps(view if view and i == 0 else {}).encode()
            err = ctypes.c_void_p()
            text = lib.aw_snapshot_render_view(snap, fmt.encode(), shown, ctypes.byref(err))
            if not text:
                raise AwaitwhatError(_string(lib, err.value) if err.value else "cannot render format %r" % fmt)
            out.append(_string(lib, text))
        return out
    finally:
        lib.aw_snapshot_free(snap)


def parse_args(arg, allowed, valued=(), positional=None):
    """Split `--flag ... --option VALUE ... > FILE` into (flags, {option: value}, file); words
    that are no option go to the list `positional` when one is given."""
    target = None
    m = re.search(r">\s*(\S+)\s*$", arg)
    if m:
        target, arg = m.group(1), arg[: m.start()]
    try:
        words = shlex.split(arg)
    except ValueError as e:
        raise AwaitwhatError("cannot read the options %r: %s" % (arg.strip(), e))
    flags, values = [], {}
    names = ", ".join(sorted(allowed) + ["%s VALUE" % v for v in sorted(valued)])
    while words:
        w = words.pop(0)
        if w in valued:
            if not words:
                raise AwaitwhatError("option %s needs a value" % w)
            values[w] = words.pop(0)
        elif w in allowed:
            flags.append(w)
        elif positional is not None and not w.startswith("--"):
            positional.append(w)
        else:
            raise AwaitwhatError("unknown option %s (options: %s, > FILE)" % (w, names))
    if "--depth" in values and not values["--depth"].isdigit():
        raise AwaitwhatError("--depth %s: not a number of frames" % values["--depth"])
    return flags, values, target


# Options of every command that take a value and are no view: `--limit depth=5000,string=1000000`.
DECODE_OPTIONS = ("--limit",)


def check_args(verb, arg):
    """Parse a command's arguments, before anything else is looked at."""
    if verb == "task":
        named = []
        flags, values, target = parse_args(arg, {"--json", "--no-dwarf", "--no-source", "--stats"}, DECODE_OPTIONS,
                                           named)
        if len(named) != 1:
            raise AwaitwhatError("name one task: its name, its address (0x...) or a regular expression on names")
        values["--task"] = named[0]
        return flags, values, target
    if verb == "loops":
        return parse_args(arg, {"--json", "--no-dwarf", "--no-source", "--stats"}, DECODE_OPTIONS)
    allowed = set(OPTIONS) - ({"--no-source", "--all", "--locals", "--short-paths"} if verb == "graph" else {"--svg"})
    flags, values, target = parse_args(arg, allowed, DECODE_OPTIONS + (() if verb == "graph" else tuple(VIEW_OPTIONS)))
    if "--svg" in flags and shutil.which("dot") is None:
        raise AwaitwhatError("--svg needs Graphviz's `dot` on PATH (e.g. apt-get install graphviz); "
                             "without --svg the DOT can be drawn elsewhere")
    return flags, values, target


def wants_colour(styled):
    """Colour the text: the debugger styles its own output (`styled`), the terminal is one,
    and NO_COLOR is not set."""
    return bool(styled) and os.isatty(1) and not os.environ.get("NO_COLOR")


def run(verb, arg, read, modules, live, sysroot="", core_file="", colour=False):
    """Run `stacks`, `graph`, `task` or `loops` with the user's arguments; returns (output, file or None,
    stats). `sysroot`: where the target's files are on this machine, if not at / (a chroot);
    `colour`: style the text (never what goes to a file)."""
    flags, values, target = check_args(verb, arg)
    options = {"no_dwarf": "--no-dwarf" in flags, "no_source": verb == "graph" or "--no-source" in flags,
               "live": live, "sysroot": sysroot, "core_file": core_file, "locals": "--locals" in flags}
    if "--limit" in values:
        options["limits"] = values.pop("--limit")
    view = {VIEW_OPTIONS[k]: (int(v) if k == "--depth" else v) for k, v in values.items() if k in VIEW_OPTIONS}
    if verb == "task":
        options["detail"] = values["--task"]
    options["loops"] = verb == "loops"
    if "--short-paths" in flags:
        view["short_paths"] = True
    if colour and target is None:
        view["colour"] = True
    own = {"graph": "dot", "task": "task", "loops": "loops"}
    main = "json" if "--json" in flags else own.get(verb, "text-all" if "--all" in flags else "text")
    out, stats = render(read, modules, [main, "stats"], options, view)
    if "--svg" in flags:
        drawn = subprocess.run(["dot", "-Tsvg"], input=out, capture_output=True, text=True)
        if drawn.returncode != 0:
            raise AwaitwhatError("Graphviz's dot failed: %s" % drawn.stderr.strip()[-300:])
        out = drawn.stdout
    return out, target, (stats if "--stats" in flags else None)


def write_file(target, text):
    """Write UTF-8 whatever the debugger's locale; a failure is a one-line error."""
    data = text.encode("utf-8")
    try:
        with open(os.path.expanduser(target), "wb") as f:
            f.write(data)
    except OSError as e:
        raise AwaitwhatError("cannot write %s: %s" % (target, e.strerror or e))
    return "awaitwhat: wrote %d bytes to %s\n" % (len(data), target)
