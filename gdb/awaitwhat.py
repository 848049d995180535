"""awaitwhat for gdb: every asyncio task's await chain and the wait graph, from a paused
process or a core.

Load with `source gdb/awaitwhat.py` (or `gdb -x gdb/awaitwhat.py`). Commands:
`py-await-stacks`, `py-await-graph`, `py-await-task`, `py-await-loops`, and the same as
`awaitwhat stacks|graph|task|loops|version`.
All CPython knowledge lives in libawaitwhat.so; this file hands it gdb's memory reader and
the mapped files, then prints what it returns."""

import os
import sys

import gdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import awaitwhat_ffi as ffi  # noqa: E402


def _modules():
    """(path, address of file offset 0) of every file mapped in the inferior."""
    try:
        text = gdb.execute("info proc mappings", to_string=True)
    except gdb.error as e:
        raise ffi.AwaitwhatError("cannot list the inferior's mappings (%s)" % e)
    bases = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or not fields[0].startswith("0x") or not fields[-1].startswith("/"):
            continue
        start, offset, path = int(fields[0], 16), int(fields[3], 16), fields[-1]
        if offset == 0 and (path not in bases or start < bases[path]):
            bases[path] = start
    return list(bases.items())


def _sysroot():
    """gdb's `set sysroot DIR` (e.g. a chroot the core came from): the target's files are there."""
    try:
        root = gdb.parameter("sysroot") or ""
    except (gdb.error, RuntimeError):
        return ""
    return "" if root.startswith("target:") or root in ("", "/") else root


def _colour():
    """gdb's own styling is on (`set style enabled`) and the output is a terminal."""
    try:
        styled = gdb.parameter("style enabled")
    except RuntimeError:
        styled = False
    return ffi.wants_colour(styled)


def _run(verb, arg):
    try:
        ffi.check_args(verb, arg)
    except ffi.AwaitwhatError as e:
        raise gdb.GdbError("awaitwhat: %s" % e)
    inferior = gdb.selected_inferior()
    if inferior is None or inferior.pid == 0:
        raise gdb.GdbError("awaitwhat: no inferior: attach to a process (`attach PID`) or open a core "
                           "(`core-file FILE`)")

    def read(addr, length):
        try:
            return bytes(inferior.read_memory(addr, length))
        except (gdb.MemoryError, gdb.error, OverflowError, ValueError):
            return None

    conn = getattr(inferior, "connection", None)
    live = conn is not None and getattr(conn, "type", "") == "native"
    try:
        out, target, stats = ffi.run(verb, arg, read, _modules(), live, _sysroot(), colour=_colour())
        written = ffi.write_file(target, out) if target else out
    except ffi.AwaitwhatError as e:
        raise gdb.GdbError("awaitwhat: %s" % e)
    gdb.write(written)
    if stats:
        gdb.write(stats)


class _Verb(gdb.Command):
    """A command that runs one awaitwhat verb (`stacks`, `graph`, `task` or `loops`)."""

    def __init__(self, name, verb, usage, help_text):
        self.__doc__ = "Usage: %s %s\n\n%s" % (name, usage, help_text)
        super().__init__(name, gdb.COMMAND_STACK)
        self._verb = verb

    def invoke(self, arg, from_tty):
        _run(self._verb, arg)


class Awaitwhat(gdb.Command):
    """awaitwhat: asyncio await stacks and wait graphs. Subcommands: stacks, graph, task, loops, version."""

    def __init__(self):
        super().__init__("awaitwhat", gdb.COMMAND_STACK, prefix=True)


class AwaitwhatVersion(gdb.Command):
    """Print the version of the awaitwhat library in use."""

    def __init__(self):
        super().__init__("awaitwhat version", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        try:
            gdb.write("awaitwhat %s\n" % ffi.version())
        except ffi.AwaitwhatError as e:
            raise gdb.GdbError("awaitwhat: %s" % e)


_STACKS_USAGE = ("[--json] [--all] [--locals] [--short-paths] [--task T] [--waiting-on KIND] [--contains F] "
                 "[--depth N] [--no-dwarf] [--no-source] [--stats] [> FILE]")
_GRAPH_USAGE = "[--json] [--svg] [--no-dwarf] [--stats] [> FILE]"
_TASK_USAGE = "NAME|ADDRESS|REGEX [--json] [--no-dwarf] [--no-source] [--stats] [> FILE]"
_LOOPS_USAGE = "[--json] [--no-dwarf] [--no-source] [--stats] [> FILE]"
Awaitwhat()
AwaitwhatVersion()
for _name, _verb, _usage, _help in (
    ("py-await-stacks", "stacks", _STACKS_USAGE, ffi.STACKS_HELP),
    ("py-await-graph", "graph", _GRAPH_USAGE, ffi.GRAPH_HELP),
    ("awaitwhat stacks", "stacks", _STACKS_USAGE, ffi.STACKS_HELP),
    ("awaitwhat graph", "graph", _GRAPH_USAGE, ffi.GRAPH_HELP),
    ("py-await-task", "task", _TASK_USAGE, ffi.TASK_HELP),
    ("awaitwhat task", "task", _TASK_USAGE, ffi.TASK_HELP),
    ("py-await-loops", "loops", _LOOPS_USAGE, ffi.LOOPS_HELP),
    ("awaitwhat loops", "loops", _LOOPS_USAGE, ffi.LOOPS_HELP),
):
    _Verb(_name, _verb, _usage, _help)
