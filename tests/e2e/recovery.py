#!/usr/bin/env python3
"""The wake_* scenarios are no deadlocks: with their outside waker's delay shortened
($AW_WAKE_DELAY) each one recovers by itself and exits saying RECOVERED, under every CPython
the matrix uses (pyenv 3.8-3.13, Debian sid's 3.14 and 3.15 in the chroot). The matrix checks
that awaitwhat grades their cycles "not a deadlock" while they wait; this proves that the
oracle's claim is true. A scenario runs from its MIN_VERSION on, with the libraries
scripts/setup installed for that version (target/pydeps/X.Y) on its path. Standard library
only; prints one line per run and `N passed, M failed`; exits non-zero on any failure (a
missing interpreter is a failure)."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from harness import expect

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = os.path.join(REPO, "tests", "scenarios")
PYDEPS = os.path.join(REPO, "target", "pydeps")
PYENV_ROOT = os.environ.get("PYENV_ROOT") or subprocess.run(
    ["pyenv", "root"], capture_output=True, text=True).stdout.strip() or os.path.expanduser("~/.pyenv")
PYENV = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]
SID_ROOT = os.environ.get("AW_SID", "/opt/sid")
SID = ["3.14", "3.15"]
DELAY = "0.3"
TIMEOUT = 60


def pyenv_python(v):
    found = sorted(glob.glob(os.path.join(PYENV_ROOT, "versions", v + ".*", "bin", "python" + v)))
    return found[-1] if found else None


def wanted(name, v):
    """Does scenario `name` run under CPython `v` (its MIN_VERSION)?"""
    low = expect.min_version(name)
    return low is None or tuple(int(x) for x in v.split(".")) >= tuple(low)


def run(label, cmd, env):
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        out = p.stdout + p.stderr
        ok = p.returncode == 0 and "RECOVERED" in p.stdout
        return label, ok, "" if ok else "rc %s: %s" % (p.returncode, out.strip()[-400:])
    except subprocess.TimeoutExpired:
        return label, False, "still waiting after %d s: it did not recover" % TIMEOUT


def main():
    names = sorted(os.path.splitext(os.path.basename(p))[0]
                   for p in glob.glob(os.path.join(SCENARIOS, "wake_*.py")))
    if not names:
        print("FAIL no wake_* scenarios in %s" % SCENARIOS)
        return 1
    env = dict(os.environ, AW_WAKE_DELAY=DELAY)
    for k in [k for k in env if k.startswith("PYTHON")]:
        del env[k]
    jobs, failures = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for v in PYENV:
            py = pyenv_python(v)
            if py is None:
                failures.append("CPython %s not found under %s/versions" % (v, PYENV_ROOT))
                continue
            deps = dict(env, PYTHONPATH=os.path.join(PYDEPS, v))
            for n in (n for n in names if wanted(n, v)):
                jobs.append(("%s/%s" % (v, n),
                             [py, os.path.join(SCENARIOS, n + ".py"), os.path.join(tmp, v + n + ".json")],
                             deps))
        # The chroot sees the scenarios in a copy under its /tmp.
        inside = tempfile.mkdtemp(prefix="aw-recovery-", dir=os.path.join(SID_ROOT, "tmp"))
        try:
            for f in glob.glob(os.path.join(SCENARIOS, "*.py")):
                shutil.copy(f, inside)
            rel = "/tmp/" + os.path.basename(inside)
            for v in SID:
                if os.path.isdir(os.path.join(PYDEPS, v)):  # else the scenarios that need it say so
                    shutil.copytree(os.path.join(PYDEPS, v), os.path.join(inside, "pydeps", v))
            for v in SID:
                if not os.path.exists(os.path.join(SID_ROOT, "usr", "bin", "python" + v)):
                    failures.append("sid's python%s not found in %s" % (v, SID_ROOT))
                    continue
                deps = dict(env, PYTHONPATH="%s/pydeps/%s" % (rel, v))
                for n in (n for n in names if wanted(n, v)):
                    jobs.append(("sid%s/%s" % (v, n),
                                 ["chroot", SID_ROOT, "/usr/bin/python" + v, "%s/%s.py" % (rel, n),
                                  "%s/%s%s.json" % (rel, v, n)], deps))
            with ThreadPoolExecutor(max_workers=int(os.environ.get("AW_JOBS", "2"))) as pool:
                results = list(pool.map(lambda j: run(*j), jobs))
        finally:
            shutil.rmtree(inside, ignore_errors=True)
    passed = 0
    for label, ok, why in results:
        print("%s %s%s" % ("ok  " if ok else "FAIL", label, ": " + why if why else ""))
        passed += ok
    for f in failures:
        print("FAIL " + f)
    failed = len(results) - passed + len(failures)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
