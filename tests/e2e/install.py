#!/usr/bin/env python3
"""The installed awaitwhat: scripts/wheel builds the wheel, pip installs it into a fresh
virtual environment of pyenv's CPython 3.12.1 (nothing else from the checkout), and on a
stuck program (tests/scenarios/demo.py) the installed `awaitwhat stacks --pid`, and gdb and
lldb loaded by exactly the lines `awaitwhat init gdb|lldb` prints, each list the oracle's
tasks. Standard library only. Prints one line per check and `N passed, M failed`; exits
non-zero on any failure."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOT = os.environ.get("PYENV_ROOT") or subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() \
    or os.path.expanduser("~/.pyenv")
PYTHON = os.path.join(ROOT, "versions", "3.12.1", "bin", "python3.12")
LLDB = os.environ.get("AWAITWHAT_LLDB", "lldb-22")
TASK = re.compile(r"^\S+ '.*' (0x[0-9a-f]+) \[", re.M)

passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    passed, failed = passed + bool(ok), failed + (not ok)
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, ": " + detail if detail and not ok else ""), flush=True)
    return ok


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


def main():
    for need in (PYTHON,):
        if not os.path.exists(need):
            sys.exit("install.py: %s is missing (scripts/setup installs it)" % need)
    built = run([os.path.join(REPO, "scripts", "wheel")])
    if not check("scripts/wheel builds the wheel", built.returncode == 0, built.stderr[-500:]):
        return
    wheel = built.stdout.strip().splitlines()[-1]
    with tempfile.TemporaryDirectory() as tmp:
        venv = os.path.join(tmp, "venv")
        made = run([PYTHON, "-m", "venv", venv])
        pip = run([os.path.join(venv, "bin", "pip"), "install", "--no-index", "-q", wheel])
        if not check("pip installs it into a fresh venv", made.returncode == 0 and pip.returncode == 0,
                     made.stderr[-300:] + pip.stderr[-300:]):
            return
        aw = os.path.join(venv, "bin", "awaitwhat")
        # Nothing of the checkout is on the way: the installed files only.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWAITWHAT"))}
        oracle_path = os.path.join(tmp, "oracle.json")
        p = subprocess.Popen([PYTHON, os.path.join(REPO, "tests", "scenarios", "demo.py"), oracle_path],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 120
            while not (os.path.exists(oracle_path) and os.path.getsize(oracle_path)):
                if p.poll() is not None or time.time() > deadline:
                    check("the stuck program gets ready", False)
                    return
                time.sleep(0.05)
            time.sleep(0.2)
            with open(oracle_path) as f:
                want = sorted(t["address"] for t in json.load(f)["tasks"])

            def listed(what, out):
                got = sorted(TASK.findall(out))
                check("%s lists the oracle's %d tasks" % (what, len(want)), got == want,
                      "got %s\n%s" % (got, out[-800:]))

            r = run([aw, "stacks", "--pid", str(p.pid), "--all"], env=env, cwd=tmp)
            listed("the installed `awaitwhat stacks --pid`", r.stdout + r.stderr)
            for debugger in ("gdb", "lldb"):
                init = run([aw, "init", debugger], env=env)
                lines = [line for line in init.stdout.splitlines() if line and not line.startswith("#")]
                if not check("`awaitwhat init %s` prints the lines to load it" % debugger,
                             init.returncode == 0 and lines, init.stdout + init.stderr):
                    continue
                if debugger == "gdb":
                    cmd = ["gdb", "-nx", "-batch", "-iex", "set auto-load off", "-iex", "set debuginfod enabled off"]
                    for line in lines:
                        cmd += ["-ex", line]
                    cmd += ["-p", str(p.pid), "-ex", "py-await-stacks --all", "-ex", "detach"]
                else:
                    cmd = [LLDB, "-b"]
                    for line in lines:
                        cmd += ["-O", line]
                    cmd += ["-o", "process attach -p %d" % p.pid, "-o", "awaitwhat stacks --all",
                            "-o", "process detach"]
                r = run(cmd, env=env, cwd=tmp)
                listed("%s loaded by those lines" % debugger, r.stdout + r.stderr)
        finally:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
