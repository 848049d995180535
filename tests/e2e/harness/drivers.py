"""The interpreters (pyenv's, Debian's, the sid chroot's) and the tools that drive a cell:
gdb, lldb and the CLI, live and on cores, and the checks of what each printed."""

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time

from harness.env import (
    CHROOT, CLI, DEB_PYTHONS, GDB, GDB_SCRIPT, LIB_NAME, LLDB, LLDB_SCRIPT, LLDB_SETTINGS,
    PYDEPS_DIR, REPO, SCENARIOS_DIR, SID_ONLY_MODES, SID_PATH, SID_PYTHONS, SID_ROOT, _read,
    clean_env, find_python, indent, out, pyenv_root, tool_output,
)
from harness.compare import compare, compare_graph, render_dot


# ----------------------------------------------------------- interpreters


def host_lib():
    """The libawaitwhat.so the host front ends load, or None."""
    env = os.environ.get("AWAITWHAT_LIB")
    if env:
        return env if os.path.isfile(env) else None
    for build in ("release", "debug"):
        p = os.path.join(REPO, "target", build, LIB_NAME)
        if os.path.isfile(p):
            return p
    return None


PS_SCRIPT = r'''"""CPython's own asyncio view of PID (what `python3 -m asyncio ps PID`
uses), as JSON in OUT.  Read-only: _remote_debugging reads the target's
memory and neither stops nor changes it."""
import json
import os
import sys


def main():
    pid, out = int(sys.argv[1]), sys.argv[2]
    try:
        import _remote_debugging
        info = _remote_debugging.RemoteUnwinder(pid).get_all_awaited_by()
        res = {"ok": True, "threads": []}
        for ai in info:
            tasks = []
            for ti in ai.awaited_by:
                tasks.append({
                    "id": ti.task_id,
                    "name": ti.task_name,
                    "stacks": [[getattr(f, "funcname", None)
                                for f in ci.call_stack]
                               for ci in ti.coroutine_stack],
                    "awaited_by": [ci.task_name for ci in ti.awaited_by],
                })
            res["threads"].append({"thread_id": ai.thread_id,
                                   "tasks": tasks})
    except Exception as e:
        res = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    with open(out + ".tmp", "w") as f:
        json.dump(res, f, indent=1)
    os.rename(out + ".tmp", out)


main()
'''


class SidTree:
    """The harness's directory in the sid chroot (once per run): scenarios,
    gdb/ and lldb/ side by side, libawaitwhat.so next to awaitwhat_ffi.py,
    and the ps script."""

    _lock = threading.Lock()
    _made = None  # (host path, chroot path) or an error string

    @classmethod
    def get(cls):
        with cls._lock:
            if cls._made is None:
                try:
                    cls._made = cls._make()
                except (OSError, shutil.Error) as e:
                    cls._made = "cannot set up %s/tmp: %s" % (SID_ROOT, e)
            return cls._made

    @classmethod
    def _make(cls):
        lib = host_lib()
        if lib is None:
            return ("%s not built (cargo build --release) and AWAITWHAT_LIB "
                    "not set" % LIB_NAME)
        host = tempfile.mkdtemp(prefix="awaitwhat-e2e-",
                                dir=os.path.join(SID_ROOT, "tmp"))
        os.chmod(host, 0o755)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(SCENARIOS_DIR, os.path.join(host, "scenarios"),
                        ignore=ignore)
        shutil.copytree(os.path.dirname(GDB_SCRIPT), os.path.join(host, "gdb"),
                        ignore=ignore)
        shutil.copytree(os.path.dirname(LLDB_SCRIPT),
                        os.path.join(host, "lldb"), ignore=ignore)
        shutil.copy(lib, os.path.join(host, "gdb", LIB_NAME))
        for v in sorted({v for v, _ in SID_PYTHONS.values()}):
            deps = os.path.join(PYDEPS_DIR, v)
            if os.path.isdir(deps):  # else the scenarios that need it say so
                shutil.copytree(deps, os.path.join(host, "pydeps", v),
                                ignore=ignore)
        with open(os.path.join(host, "ps.py"), "w") as f:
            f.write(PS_SCRIPT)
        return host, "/" + os.path.relpath(host, SID_ROOT)

    @classmethod
    def cleanup(cls, keep):
        with cls._lock:
            made = cls._made
        if isinstance(made, tuple):
            if keep:
                out("sid work dirs kept under %s" % made[0])
            else:
                shutil.rmtree(made[0], ignore_errors=True)


class Tool:
    """A debugger as the harness starts it: kind "gdb" or "lldb", the argv
    prefix, the front end's path as that debugger sees it, its environment,
    and (host gdb on a chroot's core) a sysroot.  Kind "cli" is the awaitwhat
    binary itself (no front end; its sysroot goes to --sysroot)."""

    def __init__(self, kind, label, argv, script, env=None, sysroot=None):
        self.kind = kind
        self.label = label
        self.argv = argv
        self.script = script
        self.env = env
        self.sysroot = sysroot

    def _gdb_base(self):
        argv = self.argv + ["-nx", "-batch",
                            "-iex", "set auto-load off",
                            "-iex", "set debuginfod enabled off"]
        if self.sysroot:
            argv += ["-iex", "set sysroot " + self.sysroot]
        return argv

    def _argv(self, gdb_target, lldb_target, commands):
        """The debugger's command line: load the target, source the front
        end, run `commands` in order."""
        if self.kind == "gdb":
            # -iex runs before the target is loaded (so auto-load is off
            # while it loads); every -ex runs after, in order.
            argv = self._gdb_base() + gdb_target + ["-ex", "source " + self.script]
            flag = "-ex"
        else:
            argv = self.argv + ["-b", "-O", LLDB_SETTINGS,
                                "-o", "command script import " + self.script]
            if self.sysroot:
                argv += ["-o", "platform select host --sysroot " + self.sysroot]
            argv += ["-o", lldb_target]
            flag = "-o"
        for c in commands:
            argv += [flag, c]
        return argv

    def live(self, pid, commands):
        return self._argv(["-p", str(pid)], "process attach -p %d" % pid,
                          commands)

    def core(self, python, core, commands):
        return self._argv([python, core],
                          "target create --core %s %s" % (core, python),
                          commands)

    def stacks(self, path, json_=False, no_dwarf=False):
        cmd = "py-await-stacks" if self.kind == "gdb" else "awaitwhat stacks"
        return cmd + (" --json" if json_ else "") + (
            " --no-dwarf" if no_dwarf else "") + " > " + path

    def graph(self, path, no_dwarf=False):
        cmd = "py-await-graph" if self.kind == "gdb" else "awaitwhat graph"
        return cmd + (" --no-dwarf" if no_dwarf else "") + " > " + path

    def detach(self):
        return "detach" if self.kind == "gdb" else "process detach"


class Interp:
    """An interpreter of the matrix: where it is, which debuggers and modes
    apply, which layout its dumps must report."""

    def __init__(self, name):
        self.name = name
        if name in DEB_PYTHONS:
            self.kind = "deb"
            self.version, self.python = DEB_PYTHONS[name]
        elif name in SID_PYTHONS:
            self.kind = "sid"
            self.version, self.python = SID_PYTHONS[name]  # in the chroot
        else:
            self.kind = "pyenv"
            self.version = name
            self.python = find_python(name)

    def modes(self, selected):
        return [m for m in selected
                if self.kind == "sid" or m not in SID_ONLY_MODES]

    def variants(self, selected):
        return list(selected) if self.kind == "sid" else [None]

    def expected_layout(self, variant):
        if self.kind == "deb":
            return "table"
        if self.kind == "sid":
            return "debug-offsets" if variant == "no-dwarf" else "dwarf"
        return None

    def problems(self):
        """Why no scenario can run with this interpreter ([] = none)."""
        if self.kind == "pyenv":
            if self.python is None:
                return ["no interpreter for Python %s under %s/versions" % (
                    self.version, pyenv_root())]
            return []
        if self.kind == "deb":
            if not os.access(self.python, os.X_OK):
                return ["%s not found (Debian bookworm's python3.11 package)"
                        % self.python]
            return []
        errs = []
        if not os.path.isdir(SID_ROOT):
            return ["no Debian sid chroot at %s (run scripts/setup-sid)"
                    % SID_ROOT]
        if not os.access(SID_ROOT + self.python, os.X_OK):
            errs.append("no %s in the sid chroot %s (run scripts/setup-sid)"
                        % (self.python, SID_ROOT))
        if not os.path.ismount(os.path.join(SID_ROOT, "proc")):
            errs.append("%s/proc is not mounted (scripts/setup-sid mounts it)"
                        % SID_ROOT)
        if not os.access(CHROOT, os.X_OK):
            errs.append("no chroot command (%s)" % CHROOT)
        elif os.geteuid() != 0:
            errs.append("the sid cells need root for chroot")
        if not errs:
            made = SidTree.get()
            if isinstance(made, str):
                errs.append(made)
        return errs

    def tools(self):
        """{role: (Tool or None, problem or None)} for gdb, lldb, host-gdb,
        host-lldb and cli (the awaitwhat binary: the sysroot is where it
        finds a sid target's files)."""
        tools = {}
        if not os.access(CLI, os.X_OK):
            tools["cli"] = (None, "%s not built (cargo build --release)" % CLI)
        else:
            tools["cli"] = (Tool("cli", "awaitwhat", [CLI], None,
                                 sysroot=SID_ROOT if self.kind == "sid" else None),
                            None)
        if self.kind != "sid":
            for role, exe, script, hint in (
                    ("gdb", GDB, GDB_SCRIPT, ""),
                    ("lldb", LLDB, LLDB_SCRIPT,
                     " (apt-get install lldb-22 python3-lldb-22)")):
                if not os.access(exe, os.X_OK):
                    tools[role] = (None, "%s not found at %s%s" % (
                        role, exe, hint))
                elif not os.path.exists(script):
                    tools[role] = (None, "missing %s" % script)
                else:
                    tools[role] = (Tool(role, role, [exe], script), None)
            return tools
        host, inside = SidTree.get()
        env = clean_env({"PATH": SID_PATH,
                         "AWAITWHAT_LIB": inside + "/gdb/" + LIB_NAME})
        for role, exe, script in (
                ("gdb", "/usr/bin/gdb", inside + "/gdb/awaitwhat.py"),
                ("lldb", "/usr/bin/lldb", inside + "/lldb/awaitwhat.py")):
            if not os.access(SID_ROOT + exe, os.X_OK):
                tools[role] = (None, "no %s in the sid chroot %s (run "
                               "scripts/setup-sid)" % (exe, SID_ROOT))
            else:
                tools[role] = (Tool(role, "sid " + role,
                                    [CHROOT, SID_ROOT, exe], script, env),
                               None)
        if not os.access(GDB, os.X_OK):
            tools["host-gdb"] = (None, "host gdb not found at %s" % GDB)
        elif not os.path.exists(GDB_SCRIPT):
            tools["host-gdb"] = (None, "missing %s" % GDB_SCRIPT)
        else:
            tools["host-gdb"] = (Tool("gdb", "host gdb", [GDB], GDB_SCRIPT,
                                      sysroot=SID_ROOT), None)
        if not os.access(LLDB, os.X_OK):
            tools["host-lldb"] = (None, "host lldb not found at %s" % LLDB)
        else:
            tools["host-lldb"] = (Tool("lldb", "host lldb", [LLDB],
                                       LLDB_SCRIPT, sysroot=SID_ROOT), None)
        return tools


# Debugger roles each mode needs (gdb: the live gdb run writes the core).
MODE_NEEDS = {
    "gdb-live": ["gdb"],
    "lldb-live": ["lldb"],
    "ps": ["gdb"],
    "gdb-core": ["gdb"],
    "lldb-core": ["gdb", "lldb"],
    "host-gdb-core": ["gdb", "host-gdb"],
    "host-lldb-core": ["gdb", "host-lldb"],
    "cli-live": ["cli"],
    "cli-core": ["gdb", "cli"],
    "parity": ["gdb", "lldb"],
}


# ------------------------------------------------------------------ cells


class Cell:
    def __init__(self, interp, scenario, mode, variant=None):
        self.id = "%s/%s/%s%s" % (interp, scenario, mode,
                                  ":" + variant if variant else "")
        self.mode = mode
        self.variant = variant
        self.status = None  # "pass" | "fail" | "n/a"
        self.errors = []
        self.info = []
        self.seconds = 0.0

    def fail(self, msg):
        self.errors.append(msg)

    def finish(self):
        if self.status is None:
            self.status = "fail" if self.errors else "pass"

    def report(self):
        if self.status == "n/a":
            return "n/a  %s (%s)" % (self.id, "; ".join(self.info))
        head = "%s %s (%.1fs)" % ("PASS" if self.status == "pass" else "FAIL",
                                  self.id, self.seconds)
        lines = [head] + [indent(i) for i in self.info]
        for e in self.errors:
            lines.append(indent(e, "  - "))
        return "\n".join(lines)


def sfx(variant):
    """File name suffix of a variant: "" (with DWARF) or "-nd"."""
    return "-nd" if variant == "no-dwarf" else ""


class DotRenders:
    """dot -Tsvg once per distinct DOT text (live and core, gdb and lldb
    usually write the same bytes).  Thread-safe; waits for a render of the
    same text in progress."""

    _lock = threading.Lock()
    _results = {}  # sha256 -> [threading.Event, result, first path]

    @classmethod
    def render(cls, path):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return render_dot(path), False
        if not data:
            return render_dot(path), False
        key = hashlib.sha256(data).hexdigest()
        with cls._lock:
            entry = cls._results.get(key)
            owner = entry is None
            if owner:
                entry = cls._results[key] = [threading.Event(), None, path]
        if owner:
            try:
                entry[1] = render_dot(path)
            finally:
                entry[0].set()
            return entry[1], False
        entry[0].wait()
        return entry[1], True


def start_dot_check(cell, work, prefix, text_phrase, tag, name):
    """check_dot in a thread (rendering a big graph takes minutes: it runs
    while the next debugger does).  Returns the thread; join it before the
    cell is finished."""
    def run():
        t0 = time.time()
        try:
            check_dot(cell, work, prefix, text_phrase, tag, name)
        except Exception as e:  # a harness bug must not look like a pass
            cell.fail("harness error in DOT check: %s: %s" % (
                type(e).__name__, e))
        took = time.time() - t0
        if took >= 5:
            cell.info.append("dot -Tsvg took %.0f s" % took)
    t = threading.Thread(target=run, name="dot-" + cell.id, daemon=True)
    t.start()
    return t


def _said(work, tag, phrase):
    for t in (tag + ".out", tag + ".err"):
        try:
            with open(os.path.join(work, t), errors="replace") as f:
                if phrase in f.read().lower():
                    return True
        except OSError:
            pass
    return False


def check_dot(cell, work, prefix, text_phrase, tag, name):
    """The graph command's `> WORK/PREFIX.dot` must render with dot -Tsvg.
    A scenario with a text phrase (no asyncio) may instead have no DOT at
    all if the debugger's output says why."""
    path = os.path.join(work, prefix + ".dot")
    if text_phrase and not os.path.exists(path) and _said(work, tag,
                                                          text_phrase):
        cell.info.append("the graph command wrote no DOT (%r)" % text_phrase)
        return
    e, _ = DotRenders.render(path)
    if e:
        cell.fail("graph DOT: %s\n%s" % (e, tool_output(work, tag, name)))


def _text_layout(text):
    m = re.match(r"^Python \S+ \(([\w-]+) layout\)", text or "")
    return m.group(1) if m else None


def check_stacks(cell, oracle, work, prefix, text_phrase, rc, tag, name,
                 layout):
    """Check WORK/PREFIX.json (or, for a text-phrase scenario, the phrase in
    PREFIX.txt or the debugger's output) against the oracle, and the layout
    if one is required."""
    if rc is None:
        cell.fail("%s timed out\n%s" % (name, tool_output(work, tag, name)))
        return
    jpath = os.path.join(work, prefix + ".json")
    seen_layout = None
    if text_phrase:
        # The phrase may be written to the file, or (if the tool reports it
        # as an error/message) to the debugger's stdout/stderr: accept both,
        # but say where it was found.
        path = os.path.join(work, prefix + ".txt")
        places = [(os.path.basename(path), path),
                  ("%s stdout" % name, os.path.join(work, tag + ".out")),
                  ("%s stderr" % name, os.path.join(work, tag + ".err"))]
        found = None
        for where, p in places:
            text = _read(p)
            if text is None:
                continue
            if where == places[0][0]:
                seen_layout = _text_layout(text)
            if text_phrase in text.lower():
                found = where
                break
        if found is None:
            cell.fail("%s (rc %s): expected %r in %s or %s's output\n%s" % (
                name, rc, text_phrase, os.path.basename(path), name,
                tool_output(work, tag, name)))
            return
        if found != places[0][0]:
            cell.info.append("%r found in %s, not in %s" % (
                text_phrase, found, places[0][0]))
        if os.path.exists(jpath):  # core runs also write the JSON
            try:
                with open(jpath) as f:
                    dump = json.load(f)
            except ValueError as e:
                cell.fail("%s is not valid JSON: %s" % (
                    os.path.basename(jpath), e))
                return
            seen_layout = dump.get("layout")
            for e in compare(oracle, dump) + compare_graph(oracle, dump):
                cell.fail(e)
        if layout and seen_layout is not None and seen_layout != layout:
            cell.fail("layout: expected %r, got %r" % (layout, seen_layout))
        return
    try:
        with open(jpath) as f:
            dump = json.load(f)
    except OSError:
        cell.fail("%s (rc %s) produced no %s\n%s" % (
            name, rc, os.path.basename(jpath), tool_output(work, tag, name)))
        return
    except ValueError as e:
        cell.fail("%s is not valid JSON: %s" % (os.path.basename(jpath), e))
        return
    if layout and dump.get("layout") != layout:
        cell.fail("layout: expected %r, got %r" % (layout, dump.get("layout")))
    for e in compare(oracle, dump):
        cell.fail(e)
    for e in compare_graph(oracle, dump):
        cell.fail(e)
    warns = dump.get("warnings") if isinstance(dump, dict) else None
    if warns:
        cell.info.append("dump warnings: %s" % "; ".join(map(str, warns[:5])))
