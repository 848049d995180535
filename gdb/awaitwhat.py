"""awaitwhat for gdb: every asyncio task's await chain, from a paused process or a core.

Load with `source gdb/awaitwhat.py` (or `gdb -x gdb/awaitwhat.py`). All CPython knowledge
lives in the awaitwhat library (libawaitwhat.so); this file only hands it gdb's memory
reader and the list of mapped files, then prints what it returns.
"""

import ctypes
import json
import os
import re

import gdb

_HERE = os.path.dirname(os.path.abspath(__file__))
_LIB_NAME = "libawaitwhat.so"


def _candidates():
    env = os.environ.get("AWAITWHAT_LIB")
    if env:
        yield env
    yield os.path.join(_HERE, _LIB_NAME)
    for build in ("release", "debug"):
        yield os.path.join(_HERE, "..", "target", build, _LIB_NAME)


_READ_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t)


class _Target(ctypes.Structure):
    _fields_ = [("ctx", ctypes.c_void_p), ("read", _READ_FN)]


class _Module(ctypes.Structure):
    _fields_ = [("path", ctypes.c_char_p), ("base", ctypes.c_uint64)]


_lib = None


def _library():
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
            lib.aw_snapshot_free.argtypes = [ctypes.c_void_p]
            lib.aw_string_free.argtypes = [ctypes.c_void_p]
            _lib = lib
            return lib
        tried.append(os.path.normpath(path))
    raise gdb.GdbError("awaitwhat: %s not found (looked at $AWAITWHAT_LIB, %s); build it with `cargo build --release` "
                       "in the awaitwhat checkout or set AWAITWHAT_LIB" % (_LIB_NAME, ", ".join(tried)))


def _modules():
    """(path, address of file offset 0) of every file mapped in the inferior."""
    try:
        text = gdb.execute("info proc mappings", to_string=True)
    except gdb.error as e:
        raise gdb.GdbError("awaitwhat: cannot list the inferior's mappings (%s)" % e)
    bases = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or not fields[0].startswith("0x") or not fields[-1].startswith("/"):
            continue
        start, offset, path = int(fields[0], 16), int(fields[3], 16), fields[-1]
        if offset == 0 and (path not in bases or start < bases[path]):
            bases[path] = start
    return list(bases.items())


def _string(lib, ptr):
    try:
        return ctypes.string_at(ptr).decode("utf-8", "replace")
    finally:
        lib.aw_string_free(ptr)


def snapshot_render(formats, options):
    """Decode the selected inferior and render it in each format; raises gdb.GdbError with a
    one-line reason."""
    inferior = gdb.selected_inferior()
    if inferior is None or inferior.pid == 0:
        raise gdb.GdbError("awaitwhat: no inferior: attach to a process (`attach PID`) or open a core (`core-file FILE`)")
    lib = _library()

    def read(_ctx, addr, buf, length):
        try:
            data = inferior.read_memory(addr, length)
        except (gdb.MemoryError, gdb.error, OverflowError, ValueError):
            return 1
        ctypes.memmove(buf, bytes(data), length)
        return 0

    callback = _READ_FN(read)
    target = _Target(None, callback)
    mods = _modules()
    keep = [p.encode() for p, _ in mods]
    array = (_Module * max(1, len(mods)))(*[_Module(k, b) for k, (_, b) in zip(keep, mods)])
    err = ctypes.c_void_p()
    snap = lib.aw_snapshot_take(ctypes.byref(target), array, len(mods), json.dumps(options).encode(), ctypes.byref(err))
    if not snap:
        raise gdb.GdbError("awaitwhat: " + (_string(lib, err.value) if err.value else "unknown error"))
    try:
        rendered = []
        for fmt in formats:
            out = lib.aw_snapshot_render(snap, fmt.encode())
            if not out:
                raise gdb.GdbError("awaitwhat: cannot render format %r" % fmt)
            rendered.append(_string(lib, out))
        return rendered
    finally:
        lib.aw_snapshot_free(snap)


def parse_args(arg, allowed):
    """Split `--flag ... > FILE` into (flags, file)."""
    target = None
    m = re.search(r">\s*(\S+)\s*$", arg)
    if m:
        target, arg = m.group(1), arg[: m.start()]
    flags = arg.split()
    for f in flags:
        if f not in allowed:
            raise gdb.GdbError("awaitwhat: unknown option %s (options: %s, > FILE)" % (f, ", ".join(sorted(allowed))))
    return flags, target


def emit(text, target):
    if target is None:
        gdb.write(text)
        return
    with open(os.path.expanduser(target), "w") as f:
        f.write(text)
    gdb.write("awaitwhat: wrote %d bytes to %s\n" % (len(text), target))


class PyAwaitStacks(gdb.Command):
    """Show every pending asyncio task's await chain, outermost frame first.

Usage: py-await-stacks [--json] [--no-dwarf] [--no-source] [--stats] [> FILE]

  --json       the JSON form (schema: docs/json.md in the awaitwhat repository)
  --no-dwarf   ignore DWARF debug info; use awaitwhat's built-in layout tables
  --no-source  do not read source files to show source lines
  --stats      also print what the decode cost (memory reads, bytes)
  > FILE      write to FILE instead of the terminal

Works on a live attached process and on a core file. Reads memory only: nothing is
written to the target and no code runs in it."""

    def __init__(self):
        super().__init__("py-await-stacks", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        flags, target = parse_args(arg, {"--json", "--no-dwarf", "--no-source", "--stats"})
        options = dict(_live_option(), no_dwarf="--no-dwarf" in flags, no_source="--no-source" in flags)
        out = snapshot_render(["json" if "--json" in flags else "text", "stats"], options)
        emit(out[0], target)
        if "--stats" in flags:
            gdb.write(out[1])


class PyAwaitGraph(gdb.Command):
    """Show the asyncio wait graph as Graphviz DOT: tasks, what each waits on, and cycles.

Usage: py-await-graph [--json] [--no-dwarf] [--stats] [> FILE]

  --json       the JSON form (objects, edges, cycles; docs/json.md)
  --no-dwarf   ignore DWARF debug info; use awaitwhat's built-in layout tables
  --stats      also print what the decode cost (memory reads, bytes)
  > FILE      write to FILE instead of the terminal, e.g. py-await-graph > g.dot

Render with: dot -Tsvg g.dot -o g.svg. Tasks are notes with their frames; edges point from
a waiter to what it waits on, dashed when inferred, red when part of a wait cycle."""

    def __init__(self):
        super().__init__("py-await-graph", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        flags, target = parse_args(arg, {"--json", "--no-dwarf", "--stats"})
        options = dict(_live_option(), no_dwarf="--no-dwarf" in flags, no_source=True)
        out = snapshot_render(["json" if "--json" in flags else "dot", "stats"], options)
        emit(out[0], target)
        if "--stats" in flags:
            gdb.write(out[1])


def _live_option():
    """A live process (not a core) lets awaitwhat use this machine's clock for timers."""
    inferior = gdb.selected_inferior()
    conn = getattr(inferior, "connection", None)
    return {"live": bool(conn is not None and getattr(conn, "type", "") == "native")}


PyAwaitStacks()
PyAwaitGraph()
