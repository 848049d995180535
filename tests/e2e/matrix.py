#!/usr/bin/env python3
"""End-to-end matrix: every scenario x every interpreter x every debugger mode.

    python3 tests/e2e/matrix.py [--versions 3.8,3.12,deb3.11,sid3.14]
                                [--scenarios a,b] [--modes gdb-live,lldb-core]
                                [--variants dwarf,no-dwarf] [--jobs 2]
                                [--keep DIR] [--oracle-only]
                                [--timeout SECONDS]

Interpreters (--versions, default all):

  3.8 ... 3.13  pyenv builds (with DWARF), debugged by the host's gdb
                (/usr/bin/gdb) and lldb (/usr/bin/lldb-22).
  deb3.11       Debian bookworm's stripped /usr/bin/python3.11 with no debug
                package: awaitwhat must use its tables ("layout": "table").
  sid3.14       python3.14 / python3.15 of the Debian sid chroot $AW_SID
  sid3.15       (default /opt/sid, made by scripts/setup-sid).  Scenarios,
                the front ends and libawaitwhat.so are copied into the
                chroot's /tmp; scenarios and the chroot's own gdb and lldb run
                inside the chroot.  Every cell runs twice, as variant "dwarf"
                (sid's -dbg DWARF, "layout": "dwarf") and variant "no-dwarf"
                (the commands get --no-dwarf, "layout": "debug-offsets").

For each (interpreter, scenario) the scenario program is started and writes
an oracle (tests/scenarios/oracle.py).  Then, in this order:

  gdb-live       gdb attaches, runs `py-await-stacks --json > gdb-live.json`
                 and `py-await-graph > gdb-live.dot`, writes WORK/core with
                 gcore and detaches; the JSON is compared with the oracle.
  lldb-live      lldb attaches (`process attach -p PID`), runs
                 `awaitwhat stacks --json > lldb-live.json` and
                 `awaitwhat graph > lldb-live.dot`, detaches; compared the
                 same way.
  cli-live       the awaitwhat binary: `awaitwhat stacks --pid PID --json`
                 and `awaitwhat graph --pid PID` (it stops the process while
                 reading and continues it; on sid with --sysroot $AW_SID);
                 compared the same way.
  ps             (sid only) CPython's own view, read-only:
                 `_remote_debugging.RemoteUnwinder(pid).get_all_awaited_by()`
                 (what `python3 -m asyncio ps PID` prints), run inside the
                 chroot.  Every task it lists must be in awaitwhat's gdb-live
                 JSON with the same name, and for every "T awaited by A" it
                 reports, awaitwhat's edges must lead from A to T (not only
                 through inferred edges).  What awaitwhat shows beyond it is
                 information; if it raises, "ps could not show it".
  gdb-core       gdb opens PYTHON + WORK/core: --json, DOT and the text form.
  lldb-core      `target create --core WORK/core PYTHON` in lldb: the same.
  host-gdb-core  (sid only) the host's gdb and front end on the chroot-made
                 core, with `-iex 'set sysroot $AW_SID'`.
  host-lldb-core (sid only) the host's lldb-22 and front end on the same
                 core, with `platform select host --sysroot $AW_SID`.
  cli-core       `awaitwhat stacks --core WORK/core` (--json and text) and
                 `awaitwhat graph --core WORK/core`.
  parity         the core outputs (gdb-core, lldb-core, cli-core, and on sid
                 host-gdb-core and host-lldb-core) must be byte-identical: text, DOT, and JSON without its
                 "stats" member (read counts may differ between debuggers);
                 when no file was written, the same awaitwhat error messages.

The comparison covers the tasks (frames, names, what each awaits), the
threads, the "layout" where one is required (deb3.11, sid), and the wait
graph (objects, edges, cycles) against the oracle's "graph" section
(compare_graph): every edge the oracle knows (gather children, TaskGroup
children, the waiters of each primitive, the holders the scenario declares,
sleep/timeout timers with their exact deadline, shield, wait, wait_for and
executor links, on 3.14+ every awaited-by relation CPython's own
asyncio.capture_call_graph() reports (as a path of recorded edges), the
file descriptor and selector events of streams and
sockets and the pid of subprocesses), the kind, state and facts of every object at their ends, no
held-by edge to a task the scenario says does not hold the primitive, a cycle
through the EXPECT_CYCLE tasks of the deadlock_* scenarios and no cycle
anywhere else.  Every DOT file must render with `dot -Tsvg` (graphviz; a
missing `dot` fails; byte-identical DOT files are rendered once).

After each live debugger has detached the scenario must be neither stopped
nor traced; after all of them (and ps) the scenario gets SIGUSR1 and must
print INTACT and exit 0 (it recomputes its oracle in process: proves the
target was not modified and still runs).  That check belongs to every live
cell of the pair (the first cell if none was selected).

--oracle-only runs no debugger at all: it checks each oracle for sanity
(expected task shapes and graph contents per scenario) and does the
SIGUSR1/INTACT check.

A missing interpreter, debugger (host gdb, host lldb-22, the chroot's gdb or
lldb), chroot or library fails its cells with the reason.  Scenarios
declaring MIN_VERSION above the interpreter's version are reported "n/a" and
are not counted.  The last line is `N passed, M failed`; exit status 1 if
anything failed.
"""

import argparse
import ast
import concurrent.futures
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCENARIOS_DIR = os.path.join(REPO, "tests", "scenarios")
# Third-party packages of the scenarios (uvloop), one directory per CPython
# version, installed by scripts/setup; on every scenario's PYTHONPATH.
PYDEPS_DIR = os.path.join(REPO, "target", "pydeps")
# Overridable for testing the harness itself with a stub gdb script.
GDB_SCRIPT = os.environ.get("AWAITWHAT_GDB_SCRIPT",
                            os.path.join(REPO, "gdb", "awaitwhat.py"))
LLDB_SCRIPT = os.environ.get("AWAITWHAT_LLDB_SCRIPT",
                             os.path.join(REPO, "lldb", "awaitwhat.py"))
GDB = os.environ.get("AWAITWHAT_GDB", "/usr/bin/gdb")
LLDB = os.environ.get("AWAITWHAT_LLDB", "/usr/bin/lldb-22")
CLI = os.environ.get("AWAITWHAT_CLI",
                     os.path.join(REPO, "target", "release", "awaitwhat"))
# Without it every lldb attach stalls ~5 s looking for a debuginfod server.
LLDB_SETTINGS = "settings set symbols.enable-external-lookup false"
SID_ROOT = os.environ.get("AW_SID", "/opt/sid")
SID_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
LIB_NAME = "libawaitwhat.so"

PYENV_VERSIONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]
DEB_PYTHONS = {"deb3.11": ("3.11", "/usr/bin/python3.11")}
SID_PYTHONS = {"sid3.14": "3.14", "sid3.15": "3.15"}
ALL_VERSIONS = PYENV_VERSIONS + list(DEB_PYTHONS) + list(SID_PYTHONS)
ALL_MODES = ["gdb-live", "lldb-live", "cli-live", "ps", "gdb-core",
             "lldb-core", "host-gdb-core", "host-lldb-core", "cli-core",
             "parity"]
SID_ONLY_MODES = {"ps", "host-gdb-core", "host-lldb-core"}
MODE_ALIASES = {"live": "gdb-live", "core": "gdb-core"}
LIVE_MODES = {"gdb-live", "lldb-live", "cli-live", "ps"}
ALL_VARIANTS = ["dwarf", "no-dwarf"]
ORACLE_TIMEOUT = 60.0
INTACT_TIMEOUT = 30.0
PS_TIMEOUT = 120.0
TEXT_SCENARIOS = {
    "no_tasks": "no asyncio tasks",
    "no_asyncio": "asyncio is not imported",
}

_procs = set()
_procs_lock = threading.Lock()
_print_lock = threading.Lock()
_interrupted = threading.Event()


# ------------------------------------------------------------------ utils


def out(text):
    with _print_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def pyenv_root():
    root = os.environ.get("PYENV_ROOT")
    if root:
        return root
    try:
        r = subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                           timeout=30)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return os.path.expanduser("~/.pyenv")


def find_python(version):
    """Newest pyenv build of `version` (e.g. "3.12"), or None."""
    root = pyenv_root()
    found = []
    for d in glob.glob(os.path.join(root, "versions", version + ".*")):
        rest = os.path.basename(d)[len(version) + 1:]
        if not rest.isdigit():
            continue  # skip e.g. 3.12.1t, 3.12-dev
        exe = os.path.join(d, "bin", "python" + version)
        if os.access(exe, os.X_OK):
            found.append((int(rest), exe))
    return max(found)[1] if found else None


def version_tuple(v):
    return tuple(int(x) for x in v.split("."))


def min_version(scenario):
    """MIN_VERSION = (3, N) at module top of the scenario, or None."""
    path = os.path.join(SCENARIOS_DIR, scenario + ".py")
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "MIN_VERSION"
                for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    return None


def all_scenarios():
    names = []
    for p in sorted(glob.glob(os.path.join(SCENARIOS_DIR, "*.py"))):
        n = os.path.splitext(os.path.basename(p))[0]
        if n != "oracle" and not n.startswith("_"):
            names.append(n)
    return names


def clean_env(extra=None):
    """Environment without the harness's PYTHON* variables (PYTHONPATH,
    PYTHONHOME, ... must not leak into gdb's embedded Python or the
    scenario interpreters).  AWAITWHAT_* variables pass through."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    if extra:
        env.update(extra)
    return env


def track(proc):
    with _procs_lock:
        _procs.add(proc)
    return proc


def untrack(proc):
    with _procs_lock:
        _procs.discard(proc)


def kill(proc):
    """Kill one process we started, by its pid, and reap it."""
    if proc is None:
        return
    if proc.poll() is None:
        try:
            proc.kill()
        except OSError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    untrack(proc)


def kill_all():
    with _procs_lock:
        procs = list(_procs)
    for p in procs:
        kill(p)


def tail(path, n=40):
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return "(no %s)" % os.path.basename(path)
    if len(lines) > n:
        lines = ["..."] + lines[-n:]
    return "\n".join(lines) if lines else "(empty %s)" % os.path.basename(path)


def indent(text, prefix="    "):
    return "\n".join(prefix + line for line in text.splitlines())


def run_cmd(argv, work, tag, timeout, env=None):
    """Run a command with stdout/stderr in WORK/tag.out, WORK/tag.err.
    Returns (returncode or None on timeout, seconds)."""
    t0 = time.time()
    with open(os.path.join(work, tag + ".out"), "w") as o, \
            open(os.path.join(work, tag + ".err"), "w") as e:
        with open(os.path.join(work, tag + ".cmd"), "w") as c:
            c.write(" ".join(_shquote(a) for a in argv) + "\n")
        p = track(subprocess.Popen(argv, stdout=o, stderr=e,
                                   stdin=subprocess.DEVNULL, cwd=REPO,
                                   env=env if env is not None else clean_env()))
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill(p)
            return None, time.time() - t0
        untrack(p)
    return rc, time.time() - t0


def _shquote(s):
    if re.match(r"^[\w@%+=:,./-]+$", s):
        return s
    return "'" + s.replace("'", "'\"'\"'") + "'"


def tool_output(work, tag, name=None):
    """The last lines of a debugger run's stdout and stderr (WORK/tag.*)."""
    name = name or tag.split("-")[0]
    try:
        with open(os.path.join(work, tag + ".cmd")) as f:
            cmd = f.read().strip()
    except OSError:
        cmd = "(unknown)"
    if len(cmd) > 1500:
        cmd = cmd[:1500] + " ..."
    return ("command: %s\n%s stdout:\n%s\n%s stderr:\n%s" % (
        cmd, name, indent(tail(os.path.join(work, tag + ".out"))),
        name, indent(tail(os.path.join(work, tag + ".err")))))


# --------------------------------------------------------------- scenario


class Scenario:
    """One running scenario process.  argv runs `SCRIPT ORACLE_PATH` (paths
    as the process sees them: inside a chroot for sid); the oracle is read
    from WORK/oracle.json on this side."""

    def __init__(self, argv, name, work, env):
        self.name = name
        self.work = work
        self.oracle_path = os.path.join(work, "oracle.json")
        self.stdout_path = os.path.join(work, "scenario.out")
        self.stderr_path = os.path.join(work, "scenario.err")
        self._out = open(self.stdout_path, "w")
        self._err = open(self.stderr_path, "w")
        with open(os.path.join(work, "scenario.cmd"), "w") as c:
            c.write(" ".join(_shquote(a) for a in argv) + "\n")
        self.proc = track(subprocess.Popen(
            argv, stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
            cwd=work, start_new_session=True, env=env))
        self.pid = self.proc.pid

    def stderr(self):
        return tail(self.stderr_path)

    def wait_oracle(self, timeout=ORACLE_TIMEOUT):
        """Returns (oracle dict, None) or (None, error text)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(self.oracle_path):
                try:
                    with open(self.oracle_path) as f:
                        return json.load(f), None
                except (OSError, ValueError) as e:
                    return None, "unreadable oracle: %s" % e
            rc = self.proc.poll()
            if rc is not None:
                return None, ("scenario exited with %s before writing the "
                              "oracle; stderr:\n%s" % (rc, indent(self.stderr())))
            if _interrupted.is_set():
                return None, "interrupted"
            time.sleep(0.05)
        return None, ("no oracle after %.0f s; stderr:\n%s"
                      % (timeout, indent(self.stderr())))

    def check_intact(self, timeout=INTACT_TIMEOUT):
        """SIGUSR1 -> expect "INTACT" on stdout and exit code 0.
        Returns None or an error text."""
        rc = self.proc.poll()
        if rc is not None:
            return "scenario already exited (%s) before SIGUSR1; stderr:\n%s" % (
                rc, indent(self.stderr()))
        try:
            os.kill(self.pid, signal.SIGUSR1)
        except OSError as e:
            return "cannot signal scenario: %s" % e
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            state = _proc_state(self.pid)
            return ("scenario did not answer SIGUSR1 within %.0f s "
                    "(process state: %s)" % (timeout, state))
        self._out.flush()
        with open(self.stdout_path, errors="replace") as f:
            text = f.read().strip()
        if rc == 0 and text.splitlines()[-1:] == ["INTACT"]:
            return None
        return "after SIGUSR1: exit code %s, stdout %r; stderr:\n%s" % (
            rc, text[-2000:], indent(self.stderr()))

    def close(self):
        kill(self.proc)
        # The scenario leads its own process group (start_new_session): end
        # what it started too (io_waits' child process), by that group's id.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        self._out.close()
        self._err.close()


def _proc_state(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return "; ".join(l.strip() for l in f
                             if l.startswith(("State:", "TracerPid:")))
    except OSError:
        return "gone"


# ------------------------------------------------------------ comparison


def _fkey(f):
    return (f.get("function"), f.get("file"), f.get("line"))


def _ffmt(f):
    if f is None:
        return "(none)"
    return "%s %s:%s" % (f.get("function"), f.get("file"), f.get("line"))


def _addr(a):
    try:
        return int(a, 16) if isinstance(a, str) else int(a)
    except (TypeError, ValueError):
        return None


def _frames_diff(exp, got):
    """None if equal on (function, file, line), else a description of the
    first mismatching frame (index counted from the outermost frame)."""
    ek = [_fkey(f) for f in exp]
    gk = [_fkey(f) for f in got]
    if ek == gk:
        return None
    for i in range(max(len(exp), len(got))):
        e = exp[i] if i < len(exp) else None
        g = got[i] if i < len(got) else None
        if e is None or g is None or _fkey(e) != _fkey(g):
            return ("frame #%d (outermost = #0; expected %d frames, got %d):\n"
                    "      expected: %s\n      got:      %s\n"
                    "      expected chain: %s\n      got chain:      %s" % (
                        i, len(exp), len(got), _ffmt(e), _ffmt(g),
                        " -> ".join(str(f.get("function")) for f in exp),
                        " -> ".join(str(f.get("function")) for f in got)))
    return None


def compare(oracle, dump):
    """Compare a decoded py-await-stacks --json dump with the oracle.
    Returns a list of error strings (empty = match).

    A task the oracle marks "running_on_thread" (running_task) must be
    decoded as running on that thread (a thread_id of the dump's threads),
    awaiting null; every other task must have running_on_thread null."""
    errs = []
    if not isinstance(dump, dict):
        return ["dump is not a JSON object"]
    if dump.get("python") != oracle.get("python"):
        errs.append("python: expected %r, got %r" % (
            oracle.get("python"), dump.get("python")))
    # Two layout sources describing one field (DWARF or a table, and the interpreter's
    # own _Py_DebugOffsets) must agree: awaitwhat warns, naming the field, when not.
    for w in dump.get("warnings") or []:
        if "debug offsets say" in w:
            errs.append("layout sources disagree: %s" % w)
    otasks = {_addr(t["address"]): t for t in oracle["tasks"]}
    dtasks = {}
    for t in dump.get("tasks") or []:
        if t.get("state", "pending") == "pending":
            dtasks[_addr(t.get("address"))] = t
    missing = sorted(set(otasks) - set(dtasks))
    extra = sorted(set(dtasks) - set(otasks))
    if missing or extra:
        errs.append("pending task set differs: %d expected, %d got; "
                    "missing %s; unexpected %s" % (
                        len(otasks), len(dtasks),
                        _addr_list(missing, otasks), _addr_list(extra, dtasks)))
    for a in sorted(set(otasks) & set(dtasks)):
        o, d = otasks[a], dtasks[a]
        label = "task %s (%s)" % (o["address"], o["name"] or "unnamed")
        fd = _frames_diff(o["frames"], d.get("frames") or [])
        if fd:
            errs.append("%s %s" % (label, fd))
        if o["name"] is not None:
            if d.get("name") != o["name"]:
                errs.append("%s name: expected %r, got %r" % (
                    label, o["name"], d.get("name")))
        elif not re.match(r"^Task-\d+$", str(d.get("name"))):
            errs.append("%s name: expected Task-<n>, got %r" % (
                label, d.get("name")))
        running = o.get("running_on_thread")
        if running is not None:
            # A task executing right now: its frames come from the stack of
            # the thread it runs on; it awaits nothing.
            drun = d.get("running_on_thread")
            if drun != running:
                errs.append("%s running_on_thread: expected %r, got %r" % (
                    label, running, drun))
            elif not any(th.get("thread_id") == running
                         for th in dump.get("threads") or []):
                errs.append("%s running_on_thread %r is no thread_id in the "
                            "dump's threads" % (label, running))
            if d.get("awaiting") is not None:
                errs.append("%s is running but the dump has it awaiting %r"
                            % (label, d.get("awaiting")))
        elif d.get("running_on_thread") is not None:
            errs.append("%s is suspended but the dump has it "
                        "running_on_thread %r" % (
                            label, d.get("running_on_thread")))
        if o.get("awaiting"):
            da = d.get("awaiting") or {}
            if (da.get("type") != o["awaiting"]["type"]
                    or _addr(da.get("address")) != _addr(o["awaiting"]["address"])):
                errs.append("%s awaiting: expected %s %s, got %s %s" % (
                    label, o["awaiting"]["type"], o["awaiting"]["address"],
                    da.get("type"), da.get("address")))
        if _addr(d.get("loop")) != _addr(o["loop"]):
            errs.append("%s loop: expected %s, got %s" % (
                label, o["loop"], d.get("loop")))
        if len(errs) > 20:
            errs.append("(further differences not shown)")
            return errs
    dloops = {_addr(lp.get("address")): lp for lp in dump.get("loops") or []}
    if set(dloops) != {_addr(lp["address"]) for lp in oracle["loops"]}:
        errs.append("loops: expected %s, got %s" % (
            [lp["address"] for lp in oracle["loops"]],
            [lp.get("address") for lp in dump.get("loops") or []]))
    for ol in oracle["loops"]:
        dl = dloops.get(_addr(ol["address"]))
        if dl is not None and dl.get("thread_id") != ol["thread_id"]:
            errs.append("loop %s thread_id: expected %r, got %r" % (
                ol["address"], ol["thread_id"], dl.get("thread_id")))
        n = sum(1 for t in oracle["tasks"] if t["loop"] == ol["address"])
        if dl is not None and dl.get("tasks") != n:
            errs.append("loop %s: %d tasks expected, got %r" % (
                ol["address"], n, dl.get("tasks")))
    dthreads = {t.get("native_id"): t for t in dump.get("threads") or []}
    for ot in oracle.get("threads", []):
        label = "thread %s (%s)" % (ot["native_id"], ot["name"])
        dt = dthreads.get(ot["native_id"])
        if dt is None:
            errs.append("%s missing from dump (dump has native_ids %s)" % (
                label, sorted(k for k in dthreads if k is not None)))
            continue
        exp, got = ot["frames"], dt.get("frames") or []
        fd = _frames_diff(exp, got)
        if fd:
            ek, gk = [_fkey(f) for f in exp], [_fkey(f) for f in got]
            note = ""
            if len(gk) >= len(ek) and gk[len(gk) - len(ek):] == ek:
                note = " [dump has %d extra outer frames; innermost match]" % (
                    len(gk) - len(ek))
            elif len(ek) >= len(gk) and ek[len(ek) - len(gk):] == gk:
                note = " [dump lacks %d outer frames; innermost match]" % (
                    len(ek) - len(gk))
            errs.append("%s%s %s" % (label, note, fd))
    return errs


def _addr_list(addrs, tasks):
    shown = []
    for a in addrs[:5]:
        t = tasks[a]
        fr = t.get("frames") or []
        shown.append("%s(%s: %s)" % (hex(a) if a is not None else a,
                                     t.get("name"),
                                     " -> ".join(str(f.get("function"))
                                                 for f in fr)))
    if len(addrs) > 5:
        shown.append("... %d more" % (len(addrs) - 5))
    return "[" + ", ".join(shown) + "]"


# ------------------------------------------------------ wait graph checks

_VOCABULARY = {}


def vocabulary(field):
    """The closed vocabulary of a JSON field ("objects[].kind", "edges[].kind",
    "cycles[].grade", ...), as awaitwhat itself lists it: one list, in Rust."""
    if not _VOCABULARY:
        out = subprocess.run([CLI, "vocabulary"], capture_output=True,
                             text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("%s vocabulary failed: %s" % (CLI, out.stderr))
        _VOCABULARY.update(json.loads(out.stdout))
    return set(_VOCABULARY[field])


# The first words of a cycle's line, by grade: only a proven deadlock says "deadlock:".
GRADE_PREFIX = {"deadlock": "deadlock: ", "likely deadlock": "likely deadlock: ",
                "not a deadlock": "wait cycle, not a deadlock: "}
INFERRED_EDGES = {"held-by", "could-wake"}
# Object kinds that only an instance of one of asyncio's own classes may have.
PRIMITIVE_KINDS = {"lock", "event", "condition", "semaphore", "queue", "barrier", "taskgroup"}
DOT_TIMEOUT = 900.0  # a graph of thousands of nodes takes dot minutes
MAX_GRAPH_ERRORS = 25
_TASK_LABEL = re.compile(r"^Task '(.*)'$", re.S)


def _edge_fmt(e):
    return "%s -%s-> %s%s" % (e.get("from"), e.get("kind"), e.get("to"),
                             " (inferred)" if e.get("inferred") else "")


def compare_graph(oracle, dump):
    """Compare the wait graph of a dump (objects, edges, cycles) with the
    oracle's "graph" section.  Returns a list of error strings.

    Every oracle edge must be decoded with its kind; every object the oracle
    describes must be there with the right kind, state and facts.  Extra
    decoded edges are fine unless they are wrong: a held-by edge from a
    primitive to a task the scenario says does not hold it.  Cycles: the
    EXPECT_CYCLE task names must all be labels of one decoded cycle; a
    scenario expecting none must have none."""
    g = oracle.get("graph")
    if g is None:
        return []
    errs = []
    if not isinstance(dump, dict):
        return ["dump is not a JSON object"]
    for key in ("objects", "edges", "cycles"):
        if not isinstance(dump.get(key), list):
            return ["dump has no %r array" % key]
    names = {_addr(t["address"]): t.get("name") for t in oracle["tasks"]}

    def who(a):
        n = names.get(_addr(a))
        return "%s (%s)" % (a, n) if n else str(a)

    # ---- structure (docs: objects/edges/cycles)
    objs = {}
    for o in dump["objects"]:
        oid = o.get("id")
        if not isinstance(oid, str) or not re.match(r"^0x[0-9a-f]+$", oid):
            errs.append("object id %r is not lowercase hex" % (oid,))
            continue
        if _addr(oid) in objs:
            errs.append("object %s listed twice" % oid)
        objs[_addr(oid)] = o
        if o.get("kind") not in vocabulary("objects[].kind"):
            errs.append("object %s has unknown kind %r" % (oid, o.get("kind")))
        if not isinstance(o.get("details"), dict):
            errs.append("object %s details is not an object" % oid)
    edges = {}
    out_edges = {}
    for e in dump["edges"]:
        k = (_addr(e.get("from")), _addr(e.get("to")), e.get("kind"))
        edges[k] = e
        out_edges.setdefault(k[0], []).append(e)
        if e.get("kind") not in vocabulary("edges[].kind"):
            errs.append("edge %s has unknown kind" % _edge_fmt(e))
        if k[0] not in objs or k[1] not in objs:
            errs.append("edge %s names an object not in objects[]"
                        % _edge_fmt(e))
        if e.get("inferred") is not (e.get("kind") in INFERRED_EDGES):
            errs.append("edge %s: inferred is %r" % (_edge_fmt(e),
                                                     e.get("inferred")))
        site = e.get("site")
        if site is not None and not re.match(r"^.+:\d+$", str(site)):
            errs.append("edge %s: bad site %r" % (_edge_fmt(e), site))
    for c in dump["cycles"]:
        bad = [n for n in c.get("nodes") or [] if _addr(n) not in objs]
        if not c.get("nodes") or bad:
            errs.append("cycle %r names unknown objects %s" % (
                c.get("description"), bad))
        grade = c.get("grade")
        if grade not in vocabulary("cycles[].grade"):
            errs.append("cycle %r has unknown grade %r" % (
                c.get("description"), grade))
        elif not str(c.get("description")).startswith(GRADE_PREFIX[grade]):
            errs.append("cycle graded %r is described %r" % (
                grade, c.get("description")))
        if grade in ("likely deadlock", "not a deadlock") and not c.get("breakers"):
            errs.append("cycle graded %r names nothing that breaks it or was "
                        "not ruled out: %s" % (grade, c.get("description")))
        steps = c.get("steps")
        if not isinstance(steps, list) or len(steps) != len(c.get("nodes") or []):
            errs.append("cycle %r: %r steps for %d nodes" % (
                c.get("description"), steps, len(c.get("nodes") or [])))
        else:
            for k, st in enumerate(steps):
                frm = (c["nodes"] or [])[k]
                nxt = c["nodes"][(k + 1) % len(c["nodes"])]
                if (_addr(frm), _addr(nxt), st.get("kind")) not in edges:
                    errs.append("cycle %r: step %d %s -%s-> %s is no edge" % (
                        c.get("description"), k, frm, st.get("kind"), nxt))
                for w in st.get("wakers") or []:
                    if (_addr(frm), _addr(w), "could-wake") not in edges:
                        errs.append("cycle %r: waker %s of %s has no "
                                    "could-wake edge" % (
                                        c.get("description"), w, frm))

    def obj(addr, kind, what):
        o = objs.get(_addr(addr))
        if o is None:
            errs.append("%s: no object %s in objects[]" % (what, addr))
            return None
        if o.get("kind") != kind:
            errs.append("%s: object %s kind expected %r, got %r (label %r)"
                        % (what, addr, kind, o.get("kind"), o.get("label")))
        return o

    def edge(frm, to, kind, what):
        if (_addr(frm), _addr(to), kind) in edges:
            return True
        got = [_edge_fmt(e) for e in out_edges.get(_addr(frm), [])]
        errs.append("%s: missing edge %s -%s-> %s; edges from %s: %s" % (
            what, who(frm), kind, who(to), frm, ", ".join(got) or "none"))
        return False

    def detail(o, key, exp, what):
        got = (o.get("details") or {}).get(key)
        if isinstance(exp, str) and exp.startswith("0x"):
            same = _addr(got) == _addr(exp)
        else:
            same = got == exp and type(got) is type(exp)
        if not same:
            errs.append("%s: details.%s expected %r, got %r" % (
                what, key, exp, got))

    # ---- tasks are objects
    for t in oracle["tasks"]:
        o = obj(t["address"], "task", "task %s" % who(t["address"]))
        if o is None:
            continue
        if o.get("state") != "pending":
            errs.append("task %s: state expected 'pending', got %r" % (
                who(t["address"]), o.get("state")))
        if t.get("name") is not None and o.get("label") != "Task '%s'" % t["name"]:
            errs.append("task %s: label expected %r, got %r" % (
                who(t["address"]), "Task '%s'" % t["name"], o.get("label")))

    # ---- plain awaits: task -> task/gather/shield/wait/wait_for/future
    for w in g.get("waits", []):
        what = "task %s awaiting %s" % (who(w["task"]), w["to"])
        edge(w["task"], w["to"], "awaits", what)
        o = obj(w["to"], w["to_kind"], what + ", the awaited")
        if o is not None and o.get("state") != w["to_state"]:
            errs.append("%s: state expected %r, got %r" % (
                what, w["to_state"], o.get("state")))

    # ---- nothing typed as one of asyncio's primitives unless CPython says it is one
    if "primitives" in g:
        prims = {_addr(p["address"]): p["kind"] for p in g["primitives"]}
        for a, o in sorted(objs.items()):
            kind = o.get("kind")
            if kind in PRIMITIVE_KINDS and prims.get(a) != kind:
                errs.append("object %s typed %r (%s), but CPython says it is %s" % (
                    o.get("id"), kind, o.get("label"),
                    "a %s" % prims[a] if a in prims else "no asyncio primitive"))

    # ---- gathers
    for ga in g.get("gathers", []):
        what = "gather %s" % ga["address"]
        o = obj(ga["address"], "gather", what)
        if o is not None:
            if o.get("state") != "pending":
                errs.append("%s: state expected 'pending', got %r" % (
                    what, o.get("state")))
            detail(o, "children", len(ga["children"]), what)
            detail(o, "done", ga["done"], what)
        if ga["waiter"] is not None:
            edge(ga["waiter"], ga["address"], "awaits", what + " waiter")
        for c in ga["children"]:
            edge(ga["address"], c, "gather", what + " child")

    # ---- task groups
    for tg in g.get("taskgroups", []):
        what = "taskgroup %s" % tg["address"]
        o = obj(tg["address"], "taskgroup", what)
        if o is not None:
            detail(o, "tasks", len(tg["tasks"]), what)
            detail(o, "parent", tg["parent"], what)
        for c in tg["tasks"]:
            edge(tg["address"], c, "taskgroup", what + " child")
        for t in tg["waiting"]:
            edge(t, tg["address"], "wait", what + " (in __aexit__)")

    # ---- primitives: facts, waiters, holders, wakers
    for r in g.get("resources", []):
        what = "%s %s" % (r["type"], r["address"])
        required = r["waiting"] or r["holders"] or r["wakers"]
        if _addr(r["address"]) in objs or required:
            o = obj(r["address"], r["kind"], what)
            if o is not None:
                for k, v in sorted(r["facts"].items()):
                    detail(o, k, v, what)
        for w in r["waiting"]:
            edge(w["task"], r["address"], w["edge"], what + " waiter")
        held = sorted(e.get("to") for e in out_edges.get(_addr(r["address"]), [])
                      if e.get("kind") == "held-by")
        if r["holders"] is not None:
            want = {_addr(h) for h in r["holders"]}
            for h in r["holders"]:
                edge(r["address"], h, "held-by", what + " holder")
            for h in held:
                if _addr(h) not in want:
                    errs.append("%s: held-by edge to %s, which does not hold "
                                "it (holders: %s)" % (
                                    what, who(h),
                                    [who(x) for x in r["holders"]] or "none"))
        for wk in r["wakers"] or []:
            edge(r["address"], wk, "could-wake", what + " waker")

    # ---- timers (asyncio.sleep, asyncio.timeout)
    for t in g.get("timers", []):
        what = "%s %s of task %s" % (t["kind"], t["address"], who(t["task"]))
        o = obj(t["address"], t["kind"], what)
        if o is not None:
            d = o.get("details") or {}
            if d.get("when") != t["when"]:
                errs.append("%s: details.when expected %r (TimerHandle._when), "
                            "got %r" % (what, t["when"], d.get("when")))
            detail(o, "cancelled", t["cancelled"], what)
            if "delay" in t:
                detail(o, "delay", t["delay"], what)
        edge(t["task"], t["address"], t["edge"], what)

    # ---- asyncio's bookkeeping links (shield, wait, wait_for, executor)
    for lk in g.get("links", []):
        what = "%s link %s -> %s" % (lk["kind"], lk["from"], who(lk["to"]))
        edge(lk["from"], lk["to"], lk["kind"], what)
        if lk["kind"] != "executor":
            obj(lk["from"], lk["kind"], what + ", the %s future" % lk["kind"])
    for ws in g.get("wait_sets", []):
        what = "asyncio.wait %s" % ws["address"]
        o = obj(ws["address"], "wait", what)
        if o is not None:
            detail(o, "return_when", ws["return_when"], what)
            detail(o, "watched", ws["watched"], what)
    for ex in g.get("executors", []):
        what = "executor job %s" % ex["address"]
        o = obj(ex["address"], "executor", what)
        if o is not None:
            detail(o, "state", ex["state"], what)
            if ex.get("thread") is not None:
                detail(o, "thread", ex["thread"], what)

    # ---- streams, sockets, subprocesses: task -> future -> the resource
    for io in g.get("io", []):
        what = "%s %s of task %s" % (io["kind"], io["address"], who(io["task"]))
        edge(io["task"], io["future"], "awaits", what + ", the task's future")
        o = obj(io["address"], io["kind"], what)
        if o is not None:
            for k, v in sorted(io["facts"].items()):
                detail(o, k, v, what)
        edge(io["future"], io["address"], io["edge"], what)

    # ---- run_coroutine_threadsafe: who blocks in Future.result(), and what
    # completes that future (a task, or a loop its coroutine is queued on).
    for ts in g.get("threadsafe", []):
        what = "concurrent future %s of %s" % (ts["future"], who(ts["waiter"]))
        if _addr(ts["waiter"]) not in names:
            obj(ts["waiter"], "thread", what + ", the waiting thread")
        edge(ts["waiter"], ts["future"], "result", what)
        o = obj(ts["future"], "concurrent_future", what)
        if o is not None:
            detail(o, "state", ts["state"], what)
        if ts["task"] is not None:
            edge(ts["future"], ts["task"], "threadsafe", what + ", its task")
        if ts["loop"] is not None:
            obj(ts["loop"], "loop", what + ", the loop it is queued on")
            edge(ts["future"], ts["loop"], "scheduled", what + ", queued")
        if ts["blocked_by"] is not None:
            edge(ts["loop"], ts["blocked_by"], "blocked-by",
                 what + ", the loop's blocked thread")

    # ---- CPython's own capture_call_graph (3.14+): every "T is awaited by
    # A" it reports must be a path A -> ... -> T of recorded (not inferred)
    # edges.
    strict = None
    for c in g.get("call_graph") or []:
        for aw in c.get("awaited_by", []):
            if strict is None:
                strict = _adjacency(dump, inferred=False)
            if _path(strict, _addr(aw), _addr(c["task"])) is None:
                errs.append("capture_call_graph: task %s is awaited by %s, "
                            "but no edge path leads there" % (
                                who(c["task"]), who(aw)))

    # ---- cycles and their grades: "deadlock" only where the scenario is one
    expect = g.get("expect_cycle") or []
    grade = g.get("expect_grade")
    described = ["%s [tasks %s]" % (c.get("description"), sorted(
        _cycle_names(c, objs))) for c in dump["cycles"]]
    for c in dump["cycles"]:
        if c.get("grade") == "deadlock" and grade != "deadlock":
            errs.append("cycle claimed a deadlock, which the scenario is not "
                        "(%s): %s" % (grade or "no cycle", c.get("description")))
    if expect:
        mine = [c for c in dump["cycles"]
                if set(expect) <= _cycle_names(c, objs)]
        if not mine:
            errs.append("expected a cycle through tasks %s; decoded cycles: %s"
                        % (expect, described or "none"))
        elif not any(c.get("grade") == grade for c in mine):
            errs.append("cycle through tasks %s: grade expected %r, got %s"
                        % (expect, grade, [c.get("description") for c in mine]))
    elif dump["cycles"]:
        errs.append("no cycle expected, decoded %d: %s" % (
            len(described), "; ".join(described)))
    if len(errs) > MAX_GRAPH_ERRORS:
        errs = errs[:MAX_GRAPH_ERRORS] + [
            "(%d further graph differences not shown)"
            % (len(errs) - MAX_GRAPH_ERRORS)]
    return ["graph: " + e for e in errs]


def _cycle_names(cycle, objs):
    """Task names of a decoded cycle (from its nodes' "Task 'NAME'" labels)."""
    out = set()
    for n in cycle.get("nodes") or []:
        o = objs.get(_addr(n))
        m = _TASK_LABEL.match(str((o or {}).get("label", "")))
        if o is not None and o.get("kind") == "task" and m:
            out.add(m.group(1))
    return out


def render_dot(path):
    """dot -Tsvg PATH -o PATH.svg: None, or what went wrong."""
    dot = shutil.which("dot")
    if dot is None:
        return "graphviz `dot` not found on PATH (scripts/setup installs it)"
    if not os.path.exists(path):
        return "no %s" % os.path.basename(path)
    if os.path.getsize(path) == 0:
        return "%s is empty" % os.path.basename(path)
    svg = os.path.splitext(path)[0] + ".svg"
    err = os.path.splitext(path)[0] + ".dot-err"
    with open(err, "w") as e:
        p = track(subprocess.Popen([dot, "-Tsvg", path, "-o", svg],
                                   stdout=e, stderr=e,
                                   stdin=subprocess.DEVNULL, env=clean_env()))
        try:
            rc = p.wait(timeout=DOT_TIMEOUT)
        except subprocess.TimeoutExpired:
            kill(p)
            return "dot -Tsvg %s timed out after %.0f s" % (
                os.path.basename(path), DOT_TIMEOUT)
        untrack(p)
    if rc != 0:
        return "dot -Tsvg %s exited %d: %s" % (
            os.path.basename(path), rc, tail(err, 20))
    if not os.path.exists(svg) or os.path.getsize(svg) == 0:
        return "dot -Tsvg %s wrote no svg" % os.path.basename(path)
    return None


# ------------------------------------------------- oracle sanity (shapes)


# The "awaiting" of a shape for a task the oracle marks running_on_thread.
RUNNING = "<running>"


def _shape(name, functions, awaiting, task_type="Task"):
    return (name, tuple(functions), awaiting, task_type)


def _task_shape(t):
    if t.get("running_on_thread") is not None:
        awaiting = RUNNING
    else:
        awaiting = (t.get("awaiting") or {}).get("type")
    return _shape(t["name"], [f["function"] for f in t["frames"]], awaiting,
                  t["type"])


def expected_shapes(scenario, v, oracle):
    """Expected multiset of (name, frame functions, awaiting type, task type)
    for the scenario on version v, or None when not described here."""
    S = _shape
    if scenario == "gather_chain":
        chain = ["job", "foo", "bar", "baz", "leaf", "sleep"]
        return [S("main", ["main"], "_GatheringFuture")] + \
            [S(None, chain, "Future")] * 3 + \
            [S(None, ["waits_future"], "Future")]
    if scenario == "deadlock_threadsafe":
        return [S("main", ["main"], "Task"),
                S(None, ["remote", "wait"], "Future"),
                S("blocker", ["blocker", "result", "wait"], RUNNING)]
    if scenario == "queue_join":
        return [S("main", ["main"], "_GatheringFuture"),
                S("worker", ["work", "wait"], "Future"),
                S("joiner", ["join", "join", "wait"], "Future")]
    if scenario == "two_loops":
        return [S("main", ["main"], "Task"),
                S("fg-sleep", ["nap", "sleep"], "Future"),
                S("bg-event", ["wait_event", "wait"], "Future"),
                S("bg-sleep", ["nap", "sleep"], "Future")]
    if scenario == "uvloop_loop":
        return [S("main", ["main"], "_GatheringFuture"),
                S("get", ["get_item", "get"], "Future"),
                S("holder", ["hold_lock", "sleep"], "Future"),
                S("lock", ["want_lock", "__aenter__", "acquire"], "Future"),
                S("event", ["wait_event", "wait"], "Future"),
                S("awaiter", ["await_task"], "Task")]
    if scenario == "io_waits":
        return [S("main", ["main"], "_GatheringFuture"),
                S("stream", ["read_line", "readline", "readuntil",
                             "_wait_for_data"], "Future"),
                S("socket", ["recv", "sock_recv"], "Future"),
                S("send", ["send", "sock_sendall"], "Future"),
                S("child", ["wait_child", "wait", "_wait"], "Future")]
    if scenario == "task_chain":
        return [S("A", ["a_body"], "Task"), S("B", ["b_body"], "Task"),
                S("C", ["c_body", "level1", "level2"], "Future")]
    if scenario == "shield":
        return [S("main", ["main"], "Future"),
                S("inner", ["inner_sleep", "sleep"], "Future")]
    if scenario == "wait_for":
        if v >= (3, 12):
            return [S("main", ["main", "wait_for", "slow", "wait"], "Future")]
        return [S("main", ["main", "wait_for"], "Future"),
                S(None, ["slow", "wait"], "Future")]
    if scenario == "taskgroup":
        # 3.14 moved TaskGroup.__aexit__'s body into TaskGroup._aexit.
        aexit = ["__aexit__", "_aexit"] if v >= (3, 14) else ["__aexit__"]
        return [S("main", ["main"] + aexit, "Future")] + \
            [S("child-%d" % i, ["child", "wait"], "Future") for i in range(3)]
    if scenario == "custom_await":
        return [S("main", ["main"], "_GatheringFuture"),
                S("future", ["use", "__await__"], "Future"),
                S("sleep", ["use", "__await__", "sleep"], "Future"),
                S("wrapper", ["use", "wrapped_sleep", "sleep"], "Future")]
    if scenario == "async_gen":
        return [S("main", ["consume", "agen", "sleep"], "Future")]
    if scenario == "locks":
        return [S("main", ["main"], "_GatheringFuture"),
                S("holder", ["hold_lock", "sleep"], "Future"),
                S("lock", ["want_lock", "__aenter__", "acquire"], "Future"),
                S("event", ["wait_event", "wait"], "Future"),
                S("get", ["get_item", "get"], "Future"),
                S("put", ["put_item", "put"], "Future")]
    if scenario == "executor":
        shapes = [S("main", ["main"], "_GatheringFuture"),
                  S("executor", ["in_executor"], "Future")]
        if v >= (3, 9):
            shapes.append(S("to_thread", ["in_to_thread", "to_thread"],
                            "Future"))
        return shapes
    if scenario == "pure_python_task":
        return [S("main", ["main"], "_GatheringFuture"),
                S("py-task", ["py_task_body", "sleep"], "Future"),
                S("c-task-py-future", ["await_py_future", "__await__"],
                  "Future")]
    if scenario == "task_subclass":
        return [S("main", ["main"], "_GatheringFuture", "MyTask"),
                S("via-factory", ["sleeper", "sleep"], "Future", "MyTask"),
                S("direct", ["sleeper", "sleep"], "Future", "MyTask"),
                S("py-subclass", ["sleeper", "sleep"], "Future", "MyPyTask")]
    if scenario == "eager_task":
        return [S("main", ["main"], "_GatheringFuture"),
                S("eager-1", ["wait_on"], "Future"),
                S("eager-2", ["wait_on"], "Future"),
                S(None, ["wait_on"], "Future")]
    if scenario == "many_tasks":
        n = len(oracle["tasks"]) - 1
        return [S("main", ["main", "wait"], "Future")] + \
            [S(None, ["worker", "step", "wait"], "Future")] * max(n, 0)
    if scenario == "running_task":
        return [S("main", ["main"], "_GatheringFuture"),
                S("waiter", ["wait_event", "wait"], "Future"),
                S("blocker", ["blocker", "compute", "crunch"], RUNNING)]
    if scenario == "semaphore":
        return [S("main", ["main"], "_GatheringFuture")] + \
            [S(n, ["hold", "wait"], "Future")
             for n in ("hold-1", "hold-2", "bhold")] + \
            [S(n, ["want", "__aenter__", "acquire"], "Future")
             for n in ("want-1", "want-2", "bwant")]
    if scenario == "condition":
        return [S("main", ["main"], "_GatheringFuture"),
                S("holder", ["hold", "wait"], "Future")] + \
            [S("waiter-%d" % i, ["waiter", "wait"], "Future")
             for i in range(3)]
    if scenario == "barrier":
        return [S("main", ["main"], "_GatheringFuture")] + \
            [S("party-%d" % i, ["party", "wait", "_wait", "wait_for", "wait"],
               "Future") for i in range(3)]
    if scenario == "asyncio_wait":
        return [S("main", ["main", "wait", "_wait"], "Future"),
                S("sleeper", ["sleeper", "sleep"], "Future"),
                S("waiter", ["wait_event", "wait"], "Future")]
    if scenario == "timeout":
        return [S("main", ["main", "wait"], "Future"),
                S("nested", ["nested", "sleep"], "Future")]
    if scenario == "sleep":
        return [S("main", ["main"], "_GatheringFuture"),
                S("hour", ["nap", "sleep"], "Future"),
                S("day", ["deep", "nap", "sleep"], "Future"),
                S("direct", ["sleep"], "Future")]
    if scenario == "deadlock_locks":
        return [S("main", ["main"], "_GatheringFuture")] + \
            [S(n, ["take_both", "__aenter__", "acquire"], "Future")
             for n in "AB"]
    if scenario == "deadlock_tasks":
        return [S("main", ["main"], "_GatheringFuture"),
                S("A", ["wait_for_other"], "Task"),
                S("B", ["wait_for_other"], "Task")]
    if scenario == "deadlock_three":
        return [S("main", ["main"], "_GatheringFuture"),
                S("A", ["a", "wait"], "Future"),
                S("B", ["b", "get"], "Future"),
                S("C", ["c", "__aenter__", "acquire"], "Future")]
    if scenario in ("no_tasks", "no_asyncio"):
        return []
    return None


def expected_graph(scenario, v, oracle):
    """What the oracle's "graph" section must contain for the scenario on
    version v (so that a graph check can never pass vacuously): the number
    of entries of each section (links counted per kind), and the holders and
    wakers (task names) of the registered primitives, by type, in
    registration order.  None when not described here."""
    n_tasks = len(oracle.get("tasks", []))
    counts = {
        "async_gen": dict(timers=1),
        "custom_await": dict(gathers=1, timers=2, waits=2),
        "deadlock_locks": dict(gathers=1, resources=2, waits=1),
        "deadlock_tasks": dict(gathers=1, waits=3),
        "deadlock_three": dict(gathers=1, resources=3, waits=1),
        "demo": dict(gathers=1, resources=3, waits=1),
        "eager_task": dict(gathers=1, waits=4),
        "executor": dict(gathers=1, waits=3 if v >= (3, 9) else 2,
                         executors=2 if v >= (3, 9) else 1,
                         links={"executor": 2 if v >= (3, 9) else 1}),
        "gather_chain": dict(gathers=1, timers=3, waits=2),
        "io_waits": dict(gathers=1, waits=5, io=4),
        "locks": dict(gathers=1, resources=4, timers=1, waits=1),
        "many_tasks": dict(resources=1),
        "no_tasks": dict(),
        "pure_python_task": dict(gathers=1, timers=1, waits=2),
        "running_task": dict(gathers=1, resources=1, waits=1),
        "shield": dict(timers=1, waits=1, links={"shield": 1}),
        "task_chain": dict(waits=3),
        "uvloop_loop": dict(gathers=1, resources=3, timers=1, waits=2),
        "two_loops": dict(resources=1, timers=2, waits=1),
        "queue_join": dict(gathers=1, resources=2, waits=1),
        "deadlock_threadsafe": dict(resources=1, waits=1, threadsafe=2),
        "task_subclass": dict(gathers=1, timers=3, waits=1),
        "taskgroup": dict(resources=1, taskgroups=1),
        "wait_for": (dict(resources=1, timers=1) if v >= (3, 12) else
                     dict(resources=1, waits=1, links={"wait_for": 1})),
        "semaphore": dict(gathers=1, resources=3, waits=1),
        "condition": dict(gathers=1, resources=2, waits=1),
        "barrier": dict(gathers=1, resources=1, waits=1),
        "asyncio_wait": dict(resources=1, timers=1, waits=1,
                             links={"wait": 3}, wait_sets=1),
        "timeout": dict(resources=1, timers=3),
        "sleep": dict(gathers=1, timers=3, waits=1),
        "deadlock_unproven": dict(gathers=1, resources=2, timers=1, waits=1),
        "wake_sleeper": dict(gathers=1, resources=2, timers=1, waits=1),
        "wake_timer": dict(gathers=1, resources=2, waits=1),
        "wake_thread": dict(gathers=1, resources=2, waits=1),
        "wake_callback": dict(gathers=1, resources=2, waits=1),
        "wake_executor": dict(gathers=1, resources=2, waits=2, executors=1,
                              links={"executor": 1}),
        # wait_for: ≤3.11 a task of its own for the inner wait, 3.12+ a timeout
        "wake_timeout": (dict(gathers=1, resources=2, timers=1, waits=1)
                         if v >= (3, 12) else
                         dict(gathers=1, resources=2, waits=2,
                              links={"wait_for": 1})),
    }.get(scenario)
    if counts is None:
        return None
    holders = {
        "locks": [("Lock", ["holder"], None), ("Event", [], None),
                  ("Queue", [], None), ("Queue", [], None)],
        "demo": [("Lock", ["fetcher"], None), ("Event", [], None),
                 ("Queue", [], None)],
        "deadlock_locks": [("Lock", ["A"], None), ("Lock", ["B"], None)],
        "deadlock_three": [("Lock", ["A"], None), ("Event", [], ["B"]),
                           ("Queue", [], ["C"])],
        "semaphore": [("Event", [], None),
                      ("Semaphore", ["hold-1", "hold-2"], None),
                      ("BoundedSemaphore", ["bhold"], None)],
        "condition": [("Event", [], None), ("Condition", ["holder"], None)],
        "barrier": [("Barrier", [], None)],
        "queue_join": [("Queue", [], ["worker"]), ("Event", [], None)],
        "uvloop_loop": [("Lock", ["holder"], None), ("Event", [], None),
                        ("Queue", [], None)],
        "deadlock_unproven": [("Lock", ["A"], None), ("Event", [], ["B"])],
        "wake_sleeper": [("Lock", ["A"], None), ("Event", [], ["B", "C"])],
        "wake_timer": [("Lock", ["A"], None), ("Event", [], ["B", "other"])],
        "wake_thread": [("Lock", ["A"], None), ("Event", [], ["B", "other"])],
        "wake_callback": [("Lock", ["A"], None),
                          ("Event", [], ["B", "other"])],
        "wake_executor": [("Lock", ["A"], None),
                          ("Event", [], ["B", "other"])],
        "wake_timeout": [("Lock", ["A"], None), ("Event", [], ["B"])],
    }.get(scenario)
    if holders is None and counts.get("resources"):
        holders = [("Event", [], None)] * counts["resources"]
    waiting = {"many_tasks": n_tasks}.get(scenario)
    return counts, holders or [], waiting


def graph_sanity(scenario, v, oracle):
    """Errors about the oracle's "graph" section."""
    g = oracle.get("graph")
    if g is None:
        return [] if scenario == "no_asyncio" else ["oracle has no graph"]
    errs = []
    cycle = g.get("expect_cycle")
    if bool(cycle) != scenario.startswith(("deadlock_", "wake_")):
        errs.append("expect_cycle %r in scenario %s" % (cycle, scenario))
    # deadlock_*: deadlocked for real (proven, or not provable: "likely");
    # wake_*: a cycle that something outside breaks (it recovers by itself).
    grade = g.get("expect_grade")
    if cycle and grade not in (("deadlock", "likely deadlock")
                               if scenario.startswith("deadlock_")
                               else ("not a deadlock",)):
        errs.append("expect_grade %r in scenario %s" % (grade, scenario))
    names = {t["address"]: t["name"] for t in oracle["tasks"]}
    for r in g.get("resources", []):
        f, n = r["facts"], len(r["waiting"])
        queued = {"queue": None, "barrier": f.get("waiting")}.get(
            r["kind"], f.get("waiters"))
        if r["kind"] == "queue":
            # join() waiters wait on the queue's inner Event, not its deques.
            n = sum(1 for w in r["waiting"] if w["edge"] != "join")
            if f["getters"] + f["putters"] != n:
                errs.append("%s %s: %d waiting tasks, facts %s" % (
                    r["type"], r["address"], n, f))
        elif queued != n:
            errs.append("%s %s: %d waiting tasks, facts %s" % (
                r["type"], r["address"], n, f))
    cg = g.get("call_graph")
    if (cg is None) != (v < (3, 14)):
        errs.append("call_graph is %s on %s" % (
            "missing" if cg is None else "present", ".".join(map(str, v))))
    frames = {t["address"]: [f["function"] for f in t["frames"]]
              for t in oracle["tasks"]}
    for c in cg or []:
        if "refused" in c:
            continue
        # CPython's walk stops at awaitables that are not coroutines (an
        # __await__ generator, an async generator's asend): a prefix.
        mine = frames.get(c["task"], [])
        if not c["functions"] or mine[:len(c["functions"])] != c["functions"]:
            errs.append("capture_call_graph(%s) stack %s is no prefix of "
                        "the oracle's chain %s" % (c["task"], c["functions"],
                                                   mine))
    exp = expected_graph(scenario, v, oracle)
    if exp is None:
        return errs
    counts, holders, waiting = exp
    for sec in ("waits", "resources", "gathers", "taskgroups", "timers",
                "executors", "io", "wait_sets", "threadsafe"):
        if len(g.get(sec, [])) != counts.get(sec, 0):
            errs.append("graph.%s has %d entries, expected %d: %s" % (
                sec, len(g.get(sec, [])), counts.get(sec, 0),
                json.dumps(g.get(sec))[:600]))
    links = {}
    for lk in g.get("links", []):
        links[lk["kind"]] = links.get(lk["kind"], 0) + 1
    if links != counts.get("links", {}):
        errs.append("graph.links by kind %s, expected %s" % (
            links, counts.get("links", {})))
    got = [(r["type"],
            sorted(names.get(h) or h for h in (r["holders"] or [])),
            None if r["wakers"] is None else
            # a waker that is no task (a thread, a timer) is counted as "other"
            sorted(names.get(w) or "other" for w in r["wakers"]))
           for r in g.get("resources", [])]
    want = [(t, sorted(h), w) for t, h, w in holders]
    if got != want:
        errs.append("graph resources (type, holders, wakers) %s, expected %s"
                    % (got, want))
    if waiting is not None and g.get("resources") and \
            len(g["resources"][0]["waiting"]) != waiting:
        errs.append("graph: %d tasks wait on the Event, expected %d" % (
            len(g["resources"][0]["waiting"]), waiting))
    return errs


def oracle_sanity(scenario, version, oracle, pid):
    """Returns a list of error strings about the oracle itself."""
    errs = []
    v = version_tuple(version)
    if oracle.get("warning"):
        errs.append("oracle warning: %s" % oracle["warning"])
    py = str(oracle.get("python", ""))
    if version_tuple(".".join(py.split(".")[:2]) or "0") != v:
        errs.append("oracle python %r is not %s" % (py, version))
    if oracle.get("pid") != pid:
        errs.append("oracle pid %r != process pid %d" % (oracle.get("pid"), pid))
    if oracle.get("scenario") != scenario:
        errs.append("oracle scenario %r != %r" % (oracle.get("scenario"),
                                                   scenario))
    tasks = oracle.get("tasks")
    if not isinstance(tasks, list):
        return errs + ["oracle has no task list"]
    for t in tasks:
        if not re.match(r"^0x[0-9a-f]+$", t.get("address", "")):
            errs.append("bad task address %r" % t.get("address"))
        if t.get("state") != "pending":
            errs.append("task %s state %r" % (t.get("address"), t.get("state")))
        if not t.get("frames"):
            errs.append("task %s has no frames" % t.get("address"))
        if "running_on_thread" in t:
            # Running right now (running_task): awaits nothing, runs on a
            # thread given by its threading.get_ident().
            if not isinstance(t["running_on_thread"], int) or isinstance(
                    t["running_on_thread"], bool) or t["running_on_thread"] <= 0:
                errs.append("task %s bad running_on_thread %r" % (
                    t.get("address"), t["running_on_thread"]))
            if t.get("awaiting") is not None:
                errs.append("running task %s awaits %r" % (
                    t.get("address"), t.get("awaiting")))
        elif not t.get("awaiting"):
            errs.append("task %s awaits nothing" % t.get("address"))
        for f in t.get("frames", []):
            if not (f.get("function") and f.get("file")
                    and isinstance(f.get("line"), int) and f["line"] > 0):
                errs.append("task %s bad frame %r" % (t.get("address"), f))
                break
    exp = expected_shapes(scenario, v, oracle)
    if exp is not None:
        got = sorted((_task_shape(t) for t in tasks), key=repr)
        exp = sorted(exp, key=repr)
        if got != exp:
            missing = [s for s in exp if s not in got]
            extra = [s for s in got if s not in exp]
            errs.append("task shapes differ (name, functions, awaiting, "
                        "type):\n      expected but absent: %s\n"
                        "      present but unexpected: %s" % (
                            _shapes_fmt(missing), _shapes_fmt(extra)))
    if scenario == "many_tasks" and len(tasks) < 2:
        errs.append("many_tasks has only %d tasks" % len(tasks))
    threads = oracle.get("threads", [])
    if scenario == "executor":
        want = 2 if v >= (3, 9) else 1
        fns = sorted(tuple(f["function"] for f in th["frames"][-3:])
                     for th in threads)
        exp_fns = sorted([("blocking_fn", "wait", "wait"),
                          ("other_blocking_fn", "wait", "wait")][:want])
        if fns != exp_fns:
            errs.append("executor threads' innermost frames: expected %s, "
                        "got %s" % (exp_fns, fns))
        for th in threads:
            if not isinstance(th.get("native_id"), int):
                errs.append("thread without native_id: %r" % th.get("name"))
    elif scenario == "deadlock_threadsafe":
        got = [(t.get("name"), [f.get("function") for f in t.get("frames") or []][-2:])
               for t in threads]
        if got != [("worker", ["result", "wait"])]:
            errs.append("threads (name, innermost functions): expected "
                        "[('worker', ['result', 'wait'])], got %s" % got)
    elif scenario == "two_loops":
        # The second loop's thread, parked in its selector.
        got = [(t.get("name"), (t.get("frames") or [{}])[-1].get("function"))
               for t in threads]
        if len(got) != 1 or got[0][0] != "loop-thread" or \
                got[0][1] not in ("select", "poll"):
            errs.append("threads (name, innermost function): expected "
                        "[('loop-thread', 'select' or 'poll')], got %s" % got)
    elif scenario in ("wake_thread", "wake_executor"):
        # The thread that will wake the event, asleep in its own function.
        want = "wake_later" if scenario == "wake_thread" else "job"
        got = [(t.get("name"), (t.get("frames") or [{}])[-1].get("function"))
               for t in threads]
        if len(got) != 1 or got[0][1] != want or (
                scenario == "wake_thread" and got[0][0] != "waker"):
            errs.append("threads (name, innermost function): expected one "
                        "in %r, got %s" % (want, got))
    elif scenario == "io_waits":
        # ≤3.11's child watcher waits for the subprocess in a thread of its own.
        others = [t.get("name") for t in threads if "waitpid" not in (t.get("name") or "")]
        if others:
            errs.append("unexpected threads: %s" % others)
    elif threads:
        errs.append("unexpected threads: %s" % [t.get("name") for t in threads])
    if scenario == "no_asyncio" and oracle.get("no_asyncio") is not True:
        errs.append("no_asyncio oracle lacks no_asyncio: true")
    loops = oracle.get("loops")
    if loops is not None:
        want = 2 if scenario == "two_loops" else min(1, len(tasks))
        if len(loops) != want or any(not isinstance(lp["thread_id"], int)
                                     for lp in loops if scenario == "two_loops"):
            errs.append("loops: expected %d (running), got %s" % (want, loops))
    errs.extend(graph_sanity(scenario, v, oracle))
    return errs


def _shapes_fmt(shapes):
    if not shapes:
        return "[]"
    return "".join("\n        %s %s awaiting %s [%s]" % (
        s[0], " -> ".join(s[1]), s[2], s[3]) for s in shapes[:8]) + (
        "\n        ... %d more" % (len(shapes) - 8) if len(shapes) > 8 else "")


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
        for v in SID_PYTHONS.values():
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
            self.version = SID_PYTHONS[name]
            self.python = "/usr/bin/python" + self.version  # in the chroot
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


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None


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


# ---------------------------------------------------------------- parity

_STATS = re.compile(r'\n  "stats": \{[^{}]*\}')
_AW_MESSAGE = re.compile(r"^(?:error: )?(awaitwhat: .*?)\s*$")


def strip_stats(text):
    """The JSON text without its top-level "stats" member (the pretty form
    the tool writes: two-space indent, flat stats object), or None."""
    stripped, n = _STATS.subn("", text)
    return stripped if n == 1 else None


def _first_line_diff(a, b):
    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else "(end of file)"
        y = lb[i] if i < len(lb) else "(end of file)"
        if x != y:
            return "first difference at line %d:\n      %r\n      %r" % (
                i + 1, x[:300], y[:300])
    return "(differ only in line endings)"


def aw_messages(work, tag):
    """The awaitwhat error messages a debugger run printed (gdb prints
    `awaitwhat: ...`, lldb `error: awaitwhat: ...`), without the "wrote N
    bytes" notes."""
    msgs = set()
    for ext in (".out", ".err"):
        for line in (_read(os.path.join(work, tag + ext)) or "").splitlines():
            m = _AW_MESSAGE.match(line)
            if m and not re.match(r"^awaitwhat: wrote \d+ bytes to ",
                                  m.group(1)):
                msgs.add(m.group(1))
    return msgs


def compare_parity(work, sources):
    """sources: [(label, file prefix, run tag)] of core runs on one core.
    Returns error strings: every pair must have written the same files with
    the same bytes (JSON without "stats") and, where no file was written,
    the same awaitwhat messages."""
    errs = []
    (rlabel, rprefix, rtag), others = sources[0], sources[1:]
    for ext in ("json", "dot", "txt"):
        ref = _read(os.path.join(work, rprefix + "." + ext))
        for label, prefix, tag in others:
            got = _read(os.path.join(work, prefix + "." + ext))
            if ref is None and got is None:
                continue
            if ref is None or got is None:
                has, lacks = ((rlabel, label) if ref is not None
                              else (label, rlabel))
                errs.append("%s wrote its .%s, %s did not" % (has, ext, lacks))
                continue
            a, b = ref, got
            if ext == "json":
                a, b = strip_stats(ref), strip_stats(got)
                if a is None or b is None:
                    errs.append("%s JSON: no single top-level \"stats\" "
                                "member to drop" % (
                                    rlabel if a is None else label))
                    continue
            if a != b:
                errs.append("%s.%s (%s) and %s.%s (%s) differ%s; %s" % (
                    rprefix, ext, rlabel, prefix, ext, label,
                    " (outside \"stats\")" if ext == "json" else "",
                    _first_line_diff(a, b)))
    for label, prefix, tag in others:
        if all(_read(os.path.join(work, p + "." + e)) is None
               for p in (rprefix, prefix) for e in ("json", "dot", "txt")):
            ma, mb = aw_messages(work, rtag), aw_messages(work, tag)
            if ma != mb:
                errs.append("no output files; awaitwhat messages differ: "
                            "%s %s, %s %s" % (rlabel, sorted(ma), label,
                                              sorted(mb)))
    return errs


# -------------------------------------------------------------------- ps


def _adjacency(dump, inferred):
    adj = {}
    for e in dump.get("edges") or []:
        if e.get("inferred") and not inferred:
            continue
        adj.setdefault(_addr(e.get("from")), []).append(_addr(e.get("to")))
    return adj


def _path(adj, frm, to, limit=200000):
    """A path frm -> ... -> to (list of addresses) or None."""
    prev = {frm: None}
    todo = [frm]
    while todo and len(prev) < limit:
        nxt = []
        for n in todo:
            if n == to:
                path = []
                while n is not None:
                    path.append(n)
                    n = prev[n]
                return path[::-1]
            for m in adj.get(n, ()):
                if m not in prev:
                    prev[m] = n
                    nxt.append(m)
        todo = nxt
    return None


def compare_ps(ps, dump, text_phrase):
    """CPython's get_all_awaited_by() view (ps.py's JSON) against a dump.
    Returns (errors, infos)."""
    errs, infos = [], []
    pst = {}
    for th in ps.get("threads", []):
        for t in th.get("tasks", []):
            pst[t["id"]] = dict(t, thread_id=th.get("thread_id"))
    if text_phrase:
        if pst:
            errs.append("ps lists %d tasks where awaitwhat says %r" % (
                len(pst), text_phrase))
        else:
            infos.append("ps lists no tasks")
        return errs, infos
    ours = {_addr(t.get("address")): t for t in dump.get("tasks") or []}
    objs = {_addr(o.get("id")): o for o in dump.get("objects") or []}
    strict = _adjacency(dump, inferred=False)
    loose = None

    def who(a):
        t = ours.get(a)
        return "%#x (%s)" % (a, t.get("name") if t else
                             (objs.get(a) or {}).get("label", "?"))

    nrel = 0
    for tid, t in sorted(pst.items()):
        mine = ours.get(tid)
        if mine is None:
            o = objs.get(tid)
            errs.append("ps lists task %#x %r, not in awaitwhat's tasks[]%s"
                        % (tid, t["name"], "" if o is None else
                           " (objects[] has it: %s, state %s)" % (
                               o.get("label"), o.get("state"))))
            continue
        if mine.get("name") != t["name"]:
            errs.append("task %#x: ps names it %r, awaitwhat %r" % (
                tid, t["name"], mine.get("name")))
        for aw in t.get("awaited_by", []):
            nrel += 1
            if not isinstance(aw, int):
                errs.append("ps: task %s awaited by %r (not a task id)" % (
                    who(tid), aw))
                continue
            if _path(strict, aw, tid) is not None:
                continue
            if loose is None:
                loose = _adjacency(dump, inferred=True)
            via = _path(loose, aw, tid)
            errs.append("ps: task %s is awaited by %s, but awaitwhat's edges "
                        "have no path %#x -> %#x%s" % (
                            who(tid), who(aw), aw, tid,
                            "" if via is None else
                            " (only through inferred edges: %s)" % " -> ".join(
                                "%#x" % n for n in via)))
    omitted = sorted(set(ours) - set(pst))
    if omitted:
        infos.append("awaitwhat shows %d pending task(s) ps omits: %s" % (
            len(omitted), ", ".join(who(a) for a in omitted[:8]) + (
                " ..." if len(omitted) > 8 else "")))
    # Task -> task waits awaitwhat shows (through non-task objects, real
    # edges only) that ps does not report.
    if len(ours) <= 2000:
        extra = []
        for a in sorted(ours):
            seen, todo = {a}, [a]
            while todo:
                n = todo.pop()
                for m in strict.get(n, ()):
                    if m in seen:
                        continue
                    seen.add(m)
                    if m in ours:
                        if m in pst and a not in pst[m].get("awaited_by", []):
                            extra.append((a, m))
                    else:
                        todo.append(m)
        if extra:
            infos.append("awaitwhat shows %d task->task wait(s) ps does not "
                         "report: %s" % (len(extra), "; ".join(
                             "%s waits for %s" % (who(x), who(y))
                             for x, y in extra[:6]) + (
                                 " ..." if len(extra) > 6 else "")))
    infos.append("ps: %d tasks, %d awaited-by relations" % (len(pst), nrel))
    return errs, infos


# ------------------------------------------------------------ pair runner


class Pair:
    """All cells of one (interpreter, scenario)."""

    def __init__(self, interp, scenario, opts):
        self.interp = interp
        self.scenario = scenario
        self.opts = opts
        self.modes = interp.modes(opts.modes)
        self.variants = interp.variants(opts.variants)
        if opts.oracle_only:
            self.cells = [Cell(interp.name, scenario, "oracle")]
        else:
            self.cells = []
            for m in self.modes:
                for v in ([None] if m == "ps" else self.variants):
                    self.cells.append(Cell(interp.name, scenario, m, v))
        self.dot_threads = []
        self.session_tags = {}  # mode -> [run tags]
        self.session_of = {}  # (mode, variant) -> (run tag, rc, seconds)
        self.t0 = time.time()
        self.text_phrase = TEXT_SCENARIOS.get(scenario)

    def cell(self, mode, variant=None):
        for c in self.cells:
            if c.mode == mode and c.variant == variant:
                return c
        return None

    def mode_cells(self, mode):
        return [c for c in self.cells if c.mode == mode]

    def done(self):
        for t in self.dot_threads:
            t.join()
        for c in self.cells:
            if not c.seconds:
                c.seconds = time.time() - self.t0
            c.finish()
        return self.cells

    def fail_all(self, msg, cells=None):
        for c in (self.cells if cells is None else cells):
            c.fail(msg)

    # ----------------------------------------------------------- running

    def run(self):
        mv = min_version(self.scenario)
        if mv is not None and version_tuple(self.interp.version) < mv:
            for c in self.cells:
                c.status = "n/a"
                c.info.append("needs %s" % ".".join(map(str, mv)))
            return self.cells
        problems = self.interp.problems()
        if problems:
            for p in problems:
                self.fail_all(p)
            return self.done()
        self.tools = {}
        if not self.opts.oracle_only:
            tools = self.interp.tools()
            for c in self.cells:
                for role in MODE_NEEDS[c.mode]:
                    tool, problem = tools[role]
                    if problem:
                        c.fail(problem)
            self.tools = {r: t for r, (t, p) in tools.items() if t}
        if self.opts.keep:
            os.makedirs(self.opts.keep, exist_ok=True)
        prefix = "%s-%s-" % (self.interp.name, self.scenario)
        if self.interp.kind == "sid":
            host, inside = SidTree.get()
            self.work = tempfile.mkdtemp(prefix=prefix, dir=host)
            os.chmod(self.work, 0o755)
            self.twork = inside + "/" + os.path.basename(self.work)
        else:
            self.work = tempfile.mkdtemp(prefix=prefix,
                                         dir=self.opts.keep or None)
            self.twork = self.work
        sc = None
        try:
            sc = self.start_scenario()
            self.sc = sc
            self.run_cells(sc)
            return self.done()
        except Exception as e:  # a harness bug must not look like a pass
            import traceback
            self.fail_all("harness error: %s: %s\n%s" % (
                type(e).__name__, e, traceback.format_exc()))
            return self.done()
        finally:
            for t in self.dot_threads:
                t.join()
            if sc is not None:
                sc.close()
            if self.opts.keep:
                for c in self.cells:
                    c.info.append("work dir: %s" % self.work)
            else:
                shutil.rmtree(self.work, ignore_errors=True)

    def start_scenario(self):
        name = self.scenario
        if self.interp.kind == "sid":
            _, inside = SidTree.get()
            argv = [CHROOT, SID_ROOT, self.interp.python,
                    "%s/scenarios/%s.py" % (inside, name),
                    self.twork + "/oracle.json"]
            env = clean_env({"PYTHONDONTWRITEBYTECODE": "1",
                             "PATH": SID_PATH,
                             "PYTHONPATH": "%s/pydeps/%s" % (
                                 inside, self.interp.version)})
        else:
            argv = [self.interp.python,
                    os.path.join(SCENARIOS_DIR, name + ".py"),
                    os.path.join(self.work, "oracle.json")]
            env = clean_env({"PYTHONDONTWRITEBYTECODE": "1",
                             "PYTHONPATH": os.path.join(
                                 PYDEPS_DIR, self.interp.version)})
        return Scenario(argv, name, self.work, env)

    def run_cells(self, sc):
        opts = self.opts
        oracle, err = sc.wait_oracle()
        if err:
            self.fail_all(err)
            return
        sanity = oracle_sanity(self.scenario, self.interp.version, oracle,
                               sc.pid)
        if sanity:
            for e in sanity:
                self.fail_all("oracle: " + e)
            if not opts.oracle_only:
                return
        if opts.oracle_only:
            c = self.cells[0]
            c.info.append("%d tasks, %d threads" % (
                len(oracle["tasks"]), len(oracle.get("threads", []))))
            e = sc.check_intact()
            if e:
                c.fail(e)
            c.seconds = time.time() - self.t0
            return
        self.oracle = oracle
        modes = set(self.modes)
        gdb, lldb = self.tools.get("gdb"), self.tools.get("lldb")
        core_modes = {"gdb-core", "lldb-core", "host-gdb-core",
                      "host-lldb-core", "cli-core", "parity"}
        want_core = bool(modes & core_modes)
        touched = []  # live cells that had the process under a debugger

        # gdb live (and the core for the core cells)
        if gdb is not None and (modes & ({"gdb-live", "ps"} | core_modes)):
            dump = bool(modes & {"gdb-live", "ps"})
            self.live_session("gdb-live", gdb, sc, dump, want_core)
            touched += self.mode_cells("gdb-live")
        # lldb live
        if lldb is not None and "lldb-live" in modes:
            self.live_session("lldb-live", lldb, sc, True, False)
            touched += self.mode_cells("lldb-live")
        # the awaitwhat binary on the live process (it stops it while reading)
        cli = self.tools.get("cli")
        if cli is not None and "cli-live" in modes:
            self.cli_session("cli-live", cli, ["--pid", str(sc.pid)])
            state = self._after_detach(sc.pid)
            for c in self.mode_cells("cli-live"):
                if state:
                    c.fail("after awaitwhat --pid: " + state)
            touched += self.mode_cells("cli-live")
        # CPython's own view
        if "ps" in modes and self.cell("ps").errors == []:
            self.run_ps(sc)
            touched += self.mode_cells("ps")
        e = sc.check_intact()
        if e:
            for c in touched or self.cells[:1]:
                c.fail("target after detach: " + e)

        # cores
        if want_core and not os.path.exists(os.path.join(self.work, "core")):
            msg = "no core file (gcore failed)"
            if "gdb-live" in self.session_tags:
                msg += "\n" + tool_output(self.work, self.session_tags[
                    "gdb-live"][0], gdb.label)
            for m in core_modes:
                self.fail_all(msg, self.mode_cells(m))
            return
        python_t = self.interp.python  # as the chroot's debuggers see it
        core_t = self.twork + "/core"
        if gdb is not None and modes & {"gdb-core", "parity"}:
            self.core_session("gdb-core", gdb, python_t, core_t, self.twork)
        if lldb is not None and modes & {"lldb-core", "parity"}:
            self.core_session("lldb-core", lldb, python_t, core_t, self.twork)
        for mode, role in (("host-gdb-core", "host-gdb"),
                           ("host-lldb-core", "host-lldb")):
            tool = self.tools.get(role)
            if tool is not None and mode in modes:
                self.core_session(mode, tool, SID_ROOT + self.interp.python,
                                  os.path.join(self.work, "core"), self.work)
        if cli is not None and "cli-core" in modes:
            self.cli_session("cli-core", cli,
                             ["--core", os.path.join(self.work, "core")])
        for c in self.mode_cells("parity"):
            if c.errors:
                continue  # a missing debugger
            t = time.time()
            self.parity(c)
            c.seconds = time.time() - t

    def _plan(self, mode):
        """[(tag, [variants])]: one run for all variants, or one per variant
        for a text-phrase scenario (lldb stops at the first error, and each
        variant's messages must be told apart)."""
        vs = self.variants
        if self.text_phrase and len(vs) > 1:
            return [("%s%s" % (mode, sfx(v)), [v]) for v in vs]
        return [(mode, vs)]

    def _note(self, mode, tag, variants, rc, secs):
        self.session_tags.setdefault(mode, []).append(tag)
        for v in variants:
            self.session_of[(mode, v)] = (tag, rc, secs)

    def live_session(self, mode, tool, sc, dump, want_core):
        first = True
        for tag, variants in self._plan(mode):
            cmds = []
            if dump:
                for v in variants:
                    nd = v == "no-dwarf"
                    p = self.twork + "/" + mode + sfx(v)
                    if self.text_phrase:
                        cmds.append(tool.stacks(p + ".txt", no_dwarf=nd))
                    else:
                        cmds.append(tool.stacks(p + ".json", json_=True,
                                                no_dwarf=nd))
                    cmds.append(tool.graph(p + ".dot", no_dwarf=nd))
            if want_core and first:
                cmds.append("gcore " + self.twork + "/core")
            cmds.append(tool.detach())
            first = False
            rc, secs = run_cmd(tool.live(sc.pid, cmds), self.work, tag,
                               self.opts.timeout, tool.env)
            self._note(mode, tag, variants, rc, secs)
            state = self._after_detach(sc.pid)
            for v in variants:
                c = self.cell(mode, v)
                if state and c is not None:
                    c.fail("after %s detached: %s" % (tool.label, state))
            if dump:
                self._check_outputs(mode, variants, tag, tool, rc, secs)

    def cli_session(self, mode, tool, source):
        """cli-live / cli-core: `awaitwhat stacks --json` (live, text-phrase
        scenario: the text form), `graph` and (for a core) `stacks` on SOURCE (--pid PID or --core FILE) for each variant;
        stdout goes to the output file when the command succeeds, every
        command and its stderr to WORK/tag.cmd and .err."""
        outputs = [("stacks", ["--json"], "json"), ("graph", [], "dot")]
        if mode == "cli-core":
            outputs.append(("stacks", [], "txt"))
        elif self.text_phrase:  # like the live debugger runs: the text form
            outputs[0] = ("stacks", [], "txt")
        for tag, variants in self._plan(mode):
            t0, rc = time.time(), 0
            with open(os.path.join(self.work, tag + ".cmd"), "w") as cmd, \
                    open(os.path.join(self.work, tag + ".err"), "w") as err, \
                    open(os.path.join(self.work, tag + ".out"), "w"):
                for v in variants:
                    for verb, flags, ext in outputs:
                        argv = tool.argv + [verb] + source + flags
                        if v == "no-dwarf":
                            argv.append("--no-dwarf")
                        if tool.sysroot:
                            argv += ["--sysroot", tool.sysroot]
                        cmd.write(" ".join(_shquote(a) for a in argv) + "\n")
                        try:
                            p = subprocess.run(argv, capture_output=True,
                                               text=True, cwd=REPO,
                                               env=clean_env(),
                                               timeout=self.opts.timeout)
                        except subprocess.TimeoutExpired:
                            rc = None
                            break
                        err.write(p.stderr)
                        if p.returncode == 0:
                            path = os.path.join(self.work,
                                                mode + sfx(v) + "." + ext)
                            with open(path, "w") as f:
                                f.write(p.stdout)
                        elif rc is not None:
                            rc = rc or p.returncode
            secs = time.time() - t0
            self._note(mode, tag, variants, rc, secs)
            self._check_outputs(mode, variants, tag, tool, rc, secs)

    def _check_outputs(self, mode, variants, tag, tool, rc, secs):
        """Compare each variant's JSON/text with the oracle and render its
        DOT (in the background), for the cells still without errors."""
        for v in variants:
            c = self.cell(mode, v)
            if c is None or c.errors:
                continue
            c.seconds = secs
            check_stacks(c, self.oracle, self.work, mode + sfx(v),
                         self.text_phrase, rc, tag, tool.label,
                         self.interp.expected_layout(v))
            if rc is not None:
                self.dot_threads.append(start_dot_check(
                    c, self.work, mode + sfx(v), self.text_phrase, tag,
                    tool.label))

    def _after_detach(self, pid):
        """None, or why the scenario looks still stopped/traced."""
        for _ in range(20):
            state = _proc_state(pid)
            m = re.search(r"State:\s*(\S)", state)
            t = re.search(r"TracerPid:\s*(\d+)", state)
            if state == "gone":
                return "the scenario is gone"
            if m and m.group(1) not in "tT" and t and t.group(1) == "0":
                return None
            time.sleep(0.1)
        return "the scenario is still stopped or traced (%s)" % state

    def core_session(self, mode, tool, python, core, out_dir):
        """gdb-core / lldb-core / host-gdb-core: JSON, DOT and text of each
        variant; out_dir is WORK as that debugger sees it."""
        for tag, variants in self._plan(mode):
            cmds = []
            for v in variants:
                nd = v == "no-dwarf"
                p = out_dir + "/" + mode + sfx(v)
                js = tool.stacks(p + ".json", json_=True, no_dwarf=nd)
                tx = tool.stacks(p + ".txt", no_dwarf=nd)
                gr = tool.graph(p + ".dot", no_dwarf=nd)
                cmds += [tx, js, gr] if self.text_phrase else [js, gr, tx]
            rc, secs = run_cmd(tool.core(python, core, cmds), self.work, tag,
                               self.opts.timeout, tool.env)
            self._note(mode, tag, variants, rc, secs)
            self._check_outputs(mode, variants, tag, tool, rc, secs)

    def parity(self, cell):
        v = cell.variant
        sources = []
        for mode in ("gdb-core", "lldb-core", "host-gdb-core", "host-lldb-core",
                     "cli-core"):
            s = self.session_of.get((mode, v))
            if s is None:
                continue
            tag, rc, _ = s
            if rc is None:
                cell.fail("%s timed out" % mode)
                return
            sources.append((mode, mode + sfx(v), tag))
        if len(sources) < 2:
            cell.fail("parity needs the gdb-core and lldb-core runs; ran: %s"
                      % [s[0] for s in sources])
            return
        for e in compare_parity(self.work, sources):
            cell.fail(e)
        cell.info.append("compared %s" % ", ".join(s[0] for s in sources))

    def run_ps(self, sc):
        cell = self.cell("ps")
        _, inside = SidTree.get()
        argv = [CHROOT, SID_ROOT, self.interp.python, inside + "/ps.py",
                str(sc.pid), self.twork + "/ps.json"]
        rc, secs = run_cmd(argv, self.work, "ps", PS_TIMEOUT,
                           clean_env({"PATH": SID_PATH}))
        cell.seconds = secs
        if rc is None:
            cell.fail("ps script timed out\n" + tool_output(self.work, "ps"))
            return
        try:
            with open(os.path.join(self.work, "ps.json")) as f:
                ps = json.load(f)
        except (OSError, ValueError) as e:
            cell.fail("ps script (rc %s) wrote no result: %s\n%s" % (
                rc, e, tool_output(self.work, "ps")))
            return
        if not ps.get("ok"):
            cell.info.append("ps could not show it: %s" % ps.get("error"))
            return
        dump = None
        if not self.text_phrase:
            for v in self.variants:
                dump = _load_json(os.path.join(self.work, "gdb-live%s.json"
                                               % sfx(v)))
                if dump is not None:
                    break
            if dump is None:
                cell.fail("no gdb-live JSON to compare ps with")
                return
        errs, infos = compare_ps(ps, dump or {}, self.text_phrase)
        for e in errs:
            cell.fail(e)
        cell.info.extend(infos)


def _load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run_pair(interp_name, scenario, opts):
    """All cells of one (interpreter, scenario).  Returns a list of Cells."""
    return Pair(Interp(interp_name), scenario, opts).run()


# ------------------------------------------------------------------- main


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--versions", default=",".join(ALL_VERSIONS),
                    help="interpreters, comma-separated (default: %s)"
                    % ",".join(ALL_VERSIONS))
    ap.add_argument("--scenarios", default=None,
                    help="comma-separated (default: all in tests/scenarios)")
    ap.add_argument("--modes", default=",".join(ALL_MODES),
                    help="comma-separated (default: %s; live = gdb-live, "
                    "core = gdb-core)" % ",".join(ALL_MODES))
    ap.add_argument("--variants", default=",".join(ALL_VARIANTS),
                    help="sid variants, comma-separated (default: %s)"
                    % ",".join(ALL_VARIANTS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", metavar="DIR", default=None,
                    help="create work dirs under DIR and keep them (sid work "
                    "dirs stay in the chroot's /tmp)")
    ap.add_argument("--oracle-only", action="store_true",
                    help="no debugger: check oracles and the SIGUSR1 INTACT "
                    "path")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="timeout of each debugger run in seconds")
    opts = ap.parse_args(argv)
    opts.versions = [v for v in opts.versions.split(",") if v]
    opts.scenarios = ([s for s in opts.scenarios.split(",") if s]
                      if opts.scenarios else all_scenarios())
    modes = [MODE_ALIASES.get(m, m) for m in opts.modes.split(",") if m]
    for m in modes:
        if m not in ALL_MODES:
            ap.error("unknown mode %r (modes: %s)" % (m, ", ".join(ALL_MODES)))
    opts.modes = [m for m in ALL_MODES if m in modes]
    opts.variants = [v for v in opts.variants.split(",") if v]
    for v in opts.variants:
        if v not in ALL_VARIANTS:
            ap.error("unknown variant %r (variants: %s)" % (
                v, ", ".join(ALL_VARIANTS)))
    if not opts.variants:
        ap.error("no variant")
    for s in opts.scenarios:
        if not os.path.exists(os.path.join(SCENARIOS_DIR, s + ".py")):
            ap.error("unknown scenario %r" % s)
    for v in opts.versions:
        if v not in ALL_VERSIONS and not re.match(r"^3\.\d+$", v):
            ap.error("bad version %r (want e.g. 3.12, %s)" % (
                v, ", ".join(list(DEB_PYTHONS) + list(SID_PYTHONS))))
    if opts.keep:
        opts.keep = os.path.abspath(opts.keep)
    return opts


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    pairs = [(v, s) for v in opts.versions for s in opts.scenarios]
    passed = failed = 0
    t0 = time.time()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs))
    try:
        futs = [pool.submit(run_pair, v, s, opts) for v, s in pairs]
        for fut in concurrent.futures.as_completed(futs):
            for cell in fut.result():
                out(cell.report())
                if cell.status == "pass":
                    passed += 1
                elif cell.status == "fail":
                    failed += 1
    except KeyboardInterrupt:
        _interrupted.set()
        out("interrupted")
        failed += 1
        pool.shutdown(wait=False, cancel_futures=True)
        kill_all()
    finally:
        kill_all()
        pool.shutdown(wait=True, cancel_futures=True)
        kill_all()
        SidTree.cleanup(opts.keep)
    out("(%.0f s)" % (time.time() - t0))
    out("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
