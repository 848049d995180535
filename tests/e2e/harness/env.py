"""The machine a cell runs on: paths, interpreters, debuggers, versions and modes, and
the processes a run starts (tracked, so that every one is killed at the end)."""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

from harness import expect


# This file is tests/e2e/harness/env.py.
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
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

PYENV_VERSIONS = ["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]
DEB_PYTHONS = {"deb3.11": ("3.11", "/usr/bin/python3.11")}
# name: (version, interpreter in the chroot); the "d" ones are Debian's debug interpreters
# (python3.X-dbg: built with Py_DEBUG).
SID_PYTHONS = {
    "sid3.14": ("3.14", "/usr/bin/python3.14"),
    "sid3.15": ("3.15", "/usr/bin/python3.15"),
    "sid3.14d": ("3.14", "/usr/bin/python3.14d"),
    "sid3.15d": ("3.15", "/usr/bin/python3.15d"),
}
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
    return expect.min_version(scenario)


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


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None
