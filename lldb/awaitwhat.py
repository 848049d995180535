"""awaitwhat for lldb: every asyncio task's await chain and the wait graph, from a paused
process or a core.

Load with `command script import lldb/awaitwhat.py`; then `awaitwhat stacks`,
`awaitwhat graph`, `awaitwhat version` (`help awaitwhat`). Start lldb with
`-O 'settings set symbols.enable-external-lookup false'` on machines that cannot reach a
debuginfod server, or every attach stalls for seconds. All CPython knowledge lives in
libawaitwhat.so, shared with the gdb front end."""

import os
import sys

import lldb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gdb"))
import awaitwhat_ffi as ffi  # noqa: E402

_INVALID = 0xFFFFFFFFFFFFFFFF

HELP = """awaitwhat: asyncio await stacks and wait graphs.

Usage:
  awaitwhat stacks [--json] [--all] [--locals] [--short-paths] [--task T] [--waiting-on KIND] [--contains F] [--depth N]
                   [--no-dwarf] [--no-source] [--stats] [> FILE]
  awaitwhat graph [--json] [--svg] [--no-dwarf] [--stats] [> FILE]
  awaitwhat task NAME|ADDRESS|REGEX [--json] [--no-dwarf] [--no-source] [--stats] [> FILE]
  awaitwhat loops [--json] [--no-dwarf] [--no-source] [--stats] [> FILE]
  awaitwhat version

stacks: """ + ffi.STACKS_HELP + "\n\ngraph: " + ffi.GRAPH_HELP + "\n\ntask: " + ffi.TASK_HELP + \
    "\n\nloops: " + ffi.LOOPS_HELP


def _modules(target):
    """(path, load address of the file's ELF header) for every resolved module."""
    out = []
    for module in target.module_iter():
        path = module.GetFileSpec().fullpath
        base = module.GetObjectFileHeaderAddress().GetLoadAddress(target)
        if path and path.startswith("/") and base not in (_INVALID, 0):
            out.append((path, base))
    return out


def _sysroot(debugger):
    """The selected platform's sysroot (`platform select host --sysroot DIR`, e.g. the
    chroot a core came from): the target's files are there. The SB API has no getter for
    it, so it is read from `platform status`."""
    status = lldb.SBCommandReturnObject()
    debugger.GetCommandInterpreter().HandleCommand("platform status", status)
    for line in (status.GetOutput() or "").splitlines():
        key, _, value = line.strip().partition(":")
        if key == "Sysroot":
            return value.strip()
    return ""


def _reader(process, live):
    """read(addr, length) -> bytes or None, and a function that releases it.

    lldb reads a live process through lldb-server's remote protocol, about 45 MB/s the
    first time a page is read; the stopped process's /proc/PID/mem gives the same bytes
    at memory speed. It is used when this user may open it, with lldb as the fallback for
    every read it cannot serve."""

    def through_lldb(addr, length):
        error = lldb.SBError()
        data = process.ReadMemory(addr, length, error)
        return data if error.Success() else None

    if not live:
        return through_lldb, lambda: None
    try:
        fd = os.open("/proc/%d/mem" % process.GetProcessID(), os.O_RDONLY)
    except OSError:
        return through_lldb, lambda: None

    def read(addr, length):
        try:
            data = os.pread(fd, length, addr)
            if len(data) == length:
                return data
        except OSError:
            pass
        return through_lldb(addr, length)

    return read, lambda: os.close(fd)


def _awaitwhat(command, exe_ctx, result):
    verb, _, rest = command.strip().partition(" ")
    try:
        if verb == "version":
            result.AppendMessage("awaitwhat %s" % ffi.version())
            return
        if verb not in ("stacks", "graph", "task", "loops"):
            raise ffi.AwaitwhatError("unknown subcommand %r (stacks, graph, task, loops, version; see `help awaitwhat`)"
                                     % verb)
        ffi.check_args(verb, rest)
        process = exe_ctx.GetProcess()
        if not process or not process.IsValid():
            raise ffi.AwaitwhatError("no process: attach to one (`process attach -p PID`) or open a core "
                                     "(`target create -c CORE`)")

        live = process.GetPluginName() != "elf-core"
        read, done = _reader(process, live)
        lldb_target = exe_ctx.GetTarget()
        sysroot = _sysroot(lldb_target.GetDebugger())
        # lldb lists only the modules its loader resolved; the core's own list completes it.
        core_file = "" if live else (process.GetCoreFile().fullpath or "")
        try:
            colour = ffi.wants_colour(lldb_target.GetDebugger().GetUseColor())
            out, target, stats = ffi.run(verb, rest, read, _modules(lldb_target), live, sysroot, core_file,
                                         colour=colour)
        finally:
            done()
        result.AppendMessage((ffi.write_file(target, out) if target else out).rstrip("\n"))
        if stats:
            result.AppendMessage(stats.rstrip("\n"))
    except ffi.AwaitwhatError as e:
        result.SetError("awaitwhat: %s" % e)


class AwaitwhatCommand:
    """`awaitwhat stacks|graph|task|loops|version`; `help awaitwhat` shows HELP."""

    def __init__(self, debugger, internal_dict):
        pass

    def __call__(self, debugger, command, exe_ctx, result):
        _awaitwhat(command, exe_ctx, result)

    def get_short_help(self):
        return "asyncio await stacks and wait graphs: awaitwhat stacks|graph|task|loops|version"

    def get_long_help(self):
        return HELP


def __lldb_init_module(debugger, internal_dict):
    debugger.HandleCommand("command script add -o -c %s.AwaitwhatCommand awaitwhat" % __name__)
