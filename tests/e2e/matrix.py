#!/usr/bin/env python3
"""End-to-end matrix: every scenario x every CPython version x {live, core}.

    python3 tests/e2e/matrix.py [--versions 3.8,3.12] [--scenarios a,b]
                                [--modes live,core] [--jobs 2] [--keep DIR]
                                [--oracle-only] [--timeout SECONDS] [-v]

For each (version, scenario) the scenario program is started with that
interpreter and writes an oracle (tests/scenarios/oracle.py).  Then:

  live  gdb attaches to the running process, runs
        `py-await-stacks --json > WORK/live.json` and
        `py-await-graph > WORK/live.dot`, writes WORK/core with gcore and
        detaches; live.json is compared with the oracle.
  core  gdb opens PYTHON_EXE + WORK/core and runs
        `py-await-stacks --json > WORK/core.json` and
        `py-await-graph > WORK/core.dot`; compared with the oracle.

The comparison covers the tasks (frames, names, what each awaits), the
threads, and the wait graph (objects, edges, cycles) against the oracle's
"graph" section (compare_graph): every edge the oracle knows (gather
children, TaskGroup children, the waiters of each primitive, the holders the
scenario declares, sleep/timeout timers with their exact deadline, shield,
wait, wait_for and executor links), the kind, state and facts of every object
at their ends, no held-by edge to a task the scenario says does not hold the
primitive, a cycle through the EXPECT_CYCLE tasks of the deadlock_*
scenarios and no cycle anywhere else.  Every DOT file must render with
`dot -Tsvg` (graphviz; a missing `dot` fails).

After gdb has detached the scenario gets SIGUSR1 and must print INTACT and
exit 0 (it recomputes its oracle in process: proves the target was not
modified and still runs).  That check belongs to the first gdb cell.

--oracle-only runs no gdb at all: it checks each oracle for sanity (expected
task shapes and graph contents per scenario) and does the SIGUSR1/INTACT
check.

A missing interpreter or gdb fails its cells.  Scenarios declaring
MIN_VERSION above the interpreter's version are reported "n/a" and are not
counted.  The last line is `N passed, M failed`; exit status 1 if anything
failed.
"""

import argparse
import ast
import concurrent.futures
import glob
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
# Overridable for testing the harness itself with a stub gdb script.
GDB_SCRIPT = os.environ.get("AWAITWHAT_GDB_SCRIPT",
                            os.path.join(REPO, "gdb", "awaitwhat.py"))
GDB = os.environ.get("AWAITWHAT_GDB", "/usr/bin/gdb")

ALL_VERSIONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]
ALL_MODES = ["live", "core"]
ORACLE_TIMEOUT = 60.0
INTACT_TIMEOUT = 30.0
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


def run_cmd(argv, work, tag, timeout):
    """Run a command with stdout/stderr in WORK/tag.out, WORK/tag.err.
    Returns (returncode or None on timeout, seconds)."""
    t0 = time.time()
    with open(os.path.join(work, tag + ".out"), "w") as o, \
            open(os.path.join(work, tag + ".err"), "w") as e:
        with open(os.path.join(work, tag + ".cmd"), "w") as c:
            c.write(" ".join(_shquote(a) for a in argv) + "\n")
        p = track(subprocess.Popen(argv, stdout=o, stderr=e,
                                   stdin=subprocess.DEVNULL, cwd=REPO,
                                   env=clean_env()))
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


def gdb_output(work, tag):
    return ("gdb stdout:\n" + indent(tail(os.path.join(work, tag + ".out")))
            + "\ngdb stderr:\n" + indent(tail(os.path.join(work, tag + ".err"))))


# --------------------------------------------------------------- scenario


class Scenario:
    """One running scenario process."""

    def __init__(self, python, name, work):
        self.name = name
        self.work = work
        self.oracle_path = os.path.join(work, "oracle.json")
        self.stdout_path = os.path.join(work, "scenario.out")
        self.stderr_path = os.path.join(work, "scenario.err")
        self._out = open(self.stdout_path, "w")
        self._err = open(self.stderr_path, "w")
        self.proc = track(subprocess.Popen(
            [python, os.path.join(SCENARIOS_DIR, name + ".py"),
             self.oracle_path],
            stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
            cwd=work, start_new_session=True,
            env=clean_env({"PYTHONDONTWRITEBYTECODE": "1"})))
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
        if len(errs) > 20:
            errs.append("(further differences not shown)")
            return errs
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

OBJECT_KINDS = {
    "task", "future", "gather", "shield", "wait", "wait_for", "timeout",
    "taskgroup", "lock", "event", "semaphore", "condition", "queue",
    "barrier", "timer", "executor", "as_completed", "object",
    "thread",  # listed in src/model.rs
    "stream", "socket", "subprocess",
}
EDGE_KINDS = {
    "acquire", "wait", "get", "put", "sleep", "awaits", "gather", "shield",
    "wait_for", "taskgroup", "executor", "held-by", "could-wake", "timeout",
    "as_completed", "awaited-by",  # listed in src/model.rs
    "read", "write",
}
INFERRED_EDGES = {"held-by", "could-wake"}
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
        if o.get("kind") not in OBJECT_KINDS:
            errs.append("object %s has unknown kind %r" % (oid, o.get("kind")))
        if not isinstance(o.get("details"), dict):
            errs.append("object %s details is not an object" % oid)
    edges = {}
    out_edges = {}
    for e in dump["edges"]:
        k = (_addr(e.get("from")), _addr(e.get("to")), e.get("kind"))
        edges[k] = e
        out_edges.setdefault(k[0], []).append(e)
        if e.get("kind") not in EDGE_KINDS:
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
        edge(t["task"], t["address"], t["edge"], what)

    # ---- asyncio's bookkeeping links (shield, wait, wait_for, executor)
    for lk in g.get("links", []):
        what = "%s link %s -> %s" % (lk["kind"], lk["from"], who(lk["to"]))
        edge(lk["from"], lk["to"], lk["kind"], what)
        if lk["kind"] != "executor":
            obj(lk["from"], lk["kind"], what + ", the %s future" % lk["kind"])
    for ex in g.get("executors", []):
        what = "executor job %s" % ex["address"]
        o = obj(ex["address"], "executor", what)
        if o is not None:
            detail(o, "state", ex["state"], what)
            if ex.get("thread") is not None:
                detail(o, "thread", ex["thread"], what)

    # ---- cycles
    expect = g.get("expect_cycle") or []
    described = ["%s [tasks %s]" % (c.get("description"), sorted(
        _cycle_names(c, objs))) for c in dump["cycles"]]
    if expect:
        if not any(set(expect) <= _cycle_names(c, objs)
                   for c in dump["cycles"]):
            errs.append("expected a cycle through tasks %s; decoded cycles: %s"
                        % (expect, described or "none"))
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
        return [S("main", ["main", "__aexit__"], "Future")] + \
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
        "locks": dict(gathers=1, resources=4, timers=1, waits=1),
        "many_tasks": dict(resources=1),
        "no_tasks": dict(),
        "pure_python_task": dict(gathers=1, timers=1, waits=2),
        "running_task": dict(gathers=1, resources=1, waits=1),
        "shield": dict(timers=1, waits=1, links={"shield": 1}),
        "task_chain": dict(waits=3),
        "task_subclass": dict(gathers=1, timers=3, waits=1),
        "taskgroup": dict(resources=1, taskgroups=1),
        "wait_for": (dict(resources=1, timers=1) if v >= (3, 12) else
                     dict(resources=1, waits=1, links={"wait_for": 1})),
        "semaphore": dict(gathers=1, resources=3, waits=1),
        "condition": dict(gathers=1, resources=2, waits=1),
        "barrier": dict(gathers=1, resources=1, waits=1),
        "asyncio_wait": dict(resources=1, timers=1, waits=1,
                             links={"wait": 3}),
        "timeout": dict(resources=1, timers=3),
        "sleep": dict(gathers=1, timers=3, waits=1),
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
    if bool(cycle) != scenario.startswith("deadlock_"):
        errs.append("expect_cycle %r in scenario %s" % (cycle, scenario))
    names = {t["address"]: t["name"] for t in oracle["tasks"]}
    for r in g.get("resources", []):
        f, n = r["facts"], len(r["waiting"])
        queued = {"queue": None, "barrier": f.get("waiting")}.get(
            r["kind"], f.get("waiters"))
        if r["kind"] == "queue":
            if f["getters"] + f["putters"] != n:
                errs.append("%s %s: %d waiting tasks, facts %s" % (
                    r["type"], r["address"], n, f))
        elif queued != n:
            errs.append("%s %s: %d waiting tasks, facts %s" % (
                r["type"], r["address"], n, f))
    exp = expected_graph(scenario, v, oracle)
    if exp is None:
        return errs
    counts, holders, waiting = exp
    for sec in ("waits", "resources", "gathers", "taskgroups", "timers",
                "executors"):
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
            sorted(names.get(w) or w for w in r["wakers"]))
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
    elif scenario == "io_waits":
        # ≤3.11's child watcher waits for the subprocess in a thread of its own.
        others = [t.get("name") for t in threads if "waitpid" not in (t.get("name") or "")]
        if others:
            errs.append("unexpected threads: %s" % others)
    elif threads:
        errs.append("unexpected threads: %s" % [t.get("name") for t in threads])
    if scenario == "no_asyncio" and oracle.get("no_asyncio") is not True:
        errs.append("no_asyncio oracle lacks no_asyncio: true")
    errs.extend(graph_sanity(scenario, v, oracle))
    return errs


def _shapes_fmt(shapes):
    if not shapes:
        return "[]"
    return "".join("\n        %s %s awaiting %s [%s]" % (
        s[0], " -> ".join(s[1]), s[2], s[3]) for s in shapes[:8]) + (
        "\n        ... %d more" % (len(shapes) - 8) if len(shapes) > 8 else "")


# ------------------------------------------------------------------ cells


class Cell:
    def __init__(self, version, scenario, mode):
        self.id = "%s/%s/%s" % (version, scenario, mode)
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


def gdb_live(sc, work, want_dump, want_core, text_phrase, timeout):
    argv = [GDB, "-nx", "-batch",
            "-iex", "set auto-load off",
            "-iex", "set debuginfod enabled off",
            "-p", str(sc.pid)]
    if want_dump:
        argv += ["-ex", "source " + GDB_SCRIPT]
        if text_phrase:
            argv += ["-ex", "py-await-stacks > " + os.path.join(work, "live.txt")]
        else:
            argv += ["-ex", "py-await-stacks --json > "
                     + os.path.join(work, "live.json")]
        argv += ["-ex", "py-await-graph > " + os.path.join(work, "live.dot")]
    if want_core:
        argv += ["-ex", "gcore " + os.path.join(work, "core")]
    argv += ["-ex", "detach"]
    return run_cmd(argv, work, "gdb-live", timeout)


def gdb_core(python, work, text_phrase, timeout):
    # -iex runs before the executable/core are loaded (so auto-load is off
    # while they load); every -ex runs after loading, in order.
    argv = [GDB, "-nx", "-batch",
            "-iex", "set auto-load off",
            "-iex", "set debuginfod enabled off",
            python, os.path.join(work, "core"),
            "-ex", "source " + GDB_SCRIPT]
    if text_phrase:
        argv += ["-ex", "py-await-stacks > " + os.path.join(work, "core.txt")]
    else:
        argv += ["-ex", "py-await-stacks --json > "
                 + os.path.join(work, "core.json")]
    argv += ["-ex", "py-await-graph > " + os.path.join(work, "core.dot")]
    return run_cmd(argv, work, "gdb-core", timeout)


def check_output(cell, oracle, work, mode, text_phrase, rc, tag):
    if rc is None:
        cell.fail("gdb timed out\n" + gdb_output(work, tag))
        return
    _check_stacks(cell, oracle, work, mode, text_phrase, rc, tag)


def start_dot_check(cell, work, mode, text_phrase, tag):
    """check_dot in a thread (rendering a big graph takes minutes: it runs
    while the next gdb does).  Returns the thread; join it before the cell
    is finished."""
    def run():
        t0 = time.time()
        try:
            check_dot(cell, work, mode, text_phrase, tag)
        except Exception as e:  # a harness bug must not look like a pass
            cell.fail("harness error in DOT check: %s: %s" % (
                type(e).__name__, e))
        took = time.time() - t0
        if took >= 5:
            cell.info.append("dot -Tsvg took %.0f s" % took)
    t = threading.Thread(target=run, name="dot-" + cell.id, daemon=True)
    t.start()
    return t


def check_dot(cell, work, mode, text_phrase, tag):
    """`py-await-graph > WORK/MODE.dot` must render with dot -Tsvg.  A
    scenario with a text phrase (no asyncio) may instead have no DOT at all
    if gdb's output says why."""
    path = os.path.join(work, mode + ".dot")
    if text_phrase and not os.path.exists(path):
        said = False
        for t in (tag + ".out", tag + ".err"):
            try:
                with open(os.path.join(work, t), errors="replace") as f:
                    said = said or text_phrase in f.read().lower()
            except OSError:
                pass
        if said:
            cell.info.append("py-await-graph wrote no DOT (%r)" % text_phrase)
            return
    e = render_dot(path)
    if e:
        cell.fail("py-await-graph DOT: %s\n%s" % (e, gdb_output(work, tag)))


def _check_stacks(cell, oracle, work, mode, text_phrase, rc, tag):
    if text_phrase:
        # The phrase may be written to the file, or (if the tool reports it
        # as a gdb error/message) to gdb's own stdout/stderr: accept both,
        # but say where it was found.
        path = os.path.join(work, mode + ".txt")
        places = [(os.path.basename(path), path),
                  ("gdb stdout", os.path.join(work, tag + ".out")),
                  ("gdb stderr", os.path.join(work, tag + ".err"))]
        texts = []
        for where, p in places:
            try:
                with open(p, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            texts.append((where, text))
            if text_phrase in text.lower():
                if where != places[0][0]:
                    cell.info.append("%r found in %s, not in %s" % (
                        text_phrase, where, places[0][0]))
                return
        cell.fail("gdb (rc %s): expected %r in %s or gdb's output\n%s" % (
            rc, text_phrase, os.path.basename(path), gdb_output(work, tag)))
        return
    path = os.path.join(work, mode + ".json")
    try:
        with open(path) as f:
            dump = json.load(f)
    except OSError:
        cell.fail("gdb (rc %s) produced no %s\n%s" % (
            rc, os.path.basename(path), gdb_output(work, tag)))
        return
    except ValueError as e:
        cell.fail("%s is not valid JSON: %s" % (os.path.basename(path), e))
        return
    for e in compare(oracle, dump):
        cell.fail(e)
    for e in compare_graph(oracle, dump):
        cell.fail(e)
    warns = dump.get("warnings") if isinstance(dump, dict) else None
    if warns:
        cell.info.append("dump warnings: %s" % "; ".join(map(str, warns[:5])))


def run_pair(version, scenario, modes, opts):
    """All cells of one (version, scenario).  Returns a list of Cells."""
    cell_modes = ["oracle"] if opts.oracle_only else modes
    cells = [Cell(version, scenario, m) for m in cell_modes]
    t0 = time.time()
    dot_threads = []

    def done():
        for t in dot_threads:
            t.join()
        for c in cells:
            if not c.seconds:
                c.seconds = time.time() - t0
            c.finish()
        return cells

    mv = min_version(scenario)
    if mv is not None and version_tuple(version) < mv:
        for c in cells:
            c.status = "n/a"
            c.info.append("needs %s" % ".".join(map(str, mv)))
        return cells
    python = find_python(version)
    if python is None:
        for c in cells:
            c.fail("no interpreter for Python %s under %s/versions" % (
                version, pyenv_root()))
        return done()
    if not opts.oracle_only:
        problems = []
        if not os.access(GDB, os.X_OK):
            problems.append("gdb not found at %s" % GDB)
        if not os.path.exists(GDB_SCRIPT):
            problems.append("missing %s" % GDB_SCRIPT)
        if problems:
            for c in cells:
                for p in problems:
                    c.fail(p)
            return done()

    if opts.keep:
        os.makedirs(opts.keep, exist_ok=True)
    work = tempfile.mkdtemp(prefix="%s-%s-" % (version, scenario),
                            dir=opts.keep or None)
    sc = None
    try:
        sc = Scenario(python, scenario, work)
        oracle, err = sc.wait_oracle()
        if err:
            for c in cells:
                c.fail(err)
            return done()
        sanity = oracle_sanity(scenario, version, oracle, sc.pid)
        if sanity:
            for c in cells:
                for e in sanity:
                    c.fail("oracle: " + e)
            if not opts.oracle_only:
                return done()
        text_phrase = TEXT_SCENARIOS.get(scenario)
        intact_cell = cells[0]
        if opts.oracle_only:
            c = cells[0]
            c.info.append("%d tasks, %d threads" % (
                len(oracle["tasks"]), len(oracle.get("threads", []))))
            e = sc.check_intact()
            if e:
                c.fail(e)
            c.seconds = time.time() - t0
            return done()

        # live (and the core file for the core cell) in one gdb run
        t1 = time.time()
        live = next((c for c in cells if c.id.endswith("/live")), None)
        core = next((c for c in cells if c.id.endswith("/core")), None)
        rc, _ = gdb_live(sc, work, want_dump=live is not None,
                         want_core=core is not None, text_phrase=text_phrase,
                         timeout=opts.timeout)
        if live is not None:
            check_output(live, oracle, work, "live", text_phrase, rc,
                         "gdb-live")
            if rc is not None:
                dot_threads.append(start_dot_check(
                    live, work, "live", text_phrase, "gdb-live"))
        elif rc != 0:
            core.fail("gdb gcore run failed (rc %s)\n%s" % (
                rc, gdb_output(work, "gdb-live")))
        e = sc.check_intact()
        if e:
            intact_cell.fail("target after detach: " + e)
        if live is not None:
            live.seconds = time.time() - t1
        if core is not None:
            t2 = time.time()
            if not os.path.exists(os.path.join(work, "core")):
                core.fail("no core file (gcore failed)\n"
                          + gdb_output(work, "gdb-live"))
            else:
                rc, _ = gdb_core(python, work, text_phrase, opts.timeout)
                check_output(core, oracle, work, "core", text_phrase, rc,
                             "gdb-core")
                if rc is not None:
                    dot_threads.append(start_dot_check(
                        core, work, "core", text_phrase, "gdb-core"))
            core.seconds = time.time() - t2
        return done()
    except Exception as e:  # a harness bug must not look like a pass
        for c in cells:
            c.fail("harness error: %s: %s" % (type(e).__name__, e))
        return done()
    finally:
        for t in dot_threads:
            t.join()
        if sc is not None:
            sc.close()
        if opts.keep:
            for c in cells:
                c.info.append("work dir: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------- main


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--versions", default=",".join(ALL_VERSIONS))
    ap.add_argument("--scenarios", default=None,
                    help="comma-separated (default: all in tests/scenarios)")
    ap.add_argument("--modes", default=",".join(ALL_MODES))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", metavar="DIR", default=None,
                    help="create work dirs under DIR and keep them")
    ap.add_argument("--oracle-only", action="store_true",
                    help="no gdb: check oracles and the SIGUSR1 INTACT path")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="timeout of each gdb run in seconds")
    opts = ap.parse_args(argv)
    opts.versions = [v for v in opts.versions.split(",") if v]
    opts.scenarios = ([s for s in opts.scenarios.split(",") if s]
                      if opts.scenarios else all_scenarios())
    opts.modes = [m for m in opts.modes.split(",") if m]
    for m in opts.modes:
        if m not in ALL_MODES:
            ap.error("unknown mode %r" % m)
    for s in opts.scenarios:
        if not os.path.exists(os.path.join(SCENARIOS_DIR, s + ".py")):
            ap.error("unknown scenario %r" % s)
    for v in opts.versions:
        if not re.match(r"^3\.\d+$", v):
            ap.error("bad version %r (want e.g. 3.12)" % v)
    if opts.keep:
        opts.keep = os.path.abspath(opts.keep)
    return opts


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    pairs = [(v, s) for v in opts.versions for s in opts.scenarios]
    passed = failed = 0
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs))
    try:
        futs = [pool.submit(run_pair, v, s, opts.modes, opts) for v, s in pairs]
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
    out("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
