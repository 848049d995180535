"""What the standalone end-to-end scripts share (bounds.py, nonblocking.py): where the
checkout, the CLI and the 3.12 interpreter are, and a pass/fail count."""

import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AW = os.path.join(REPO, "target", "release", "awaitwhat")
ROOT = os.environ.get("PYENV_ROOT") or subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
PYTHON = os.path.join(ROOT, "versions", "3.12.1", "bin", "python3.12")
LLDB = os.environ.get("AWAITWHAT_LLDB", "lldb-22")


class Checks:
    """Named checks, each printed as it is made; `failed` says how the script exits."""

    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, name, ok, detail=""):
        self.passed, self.failed = self.passed + bool(ok), self.failed + (not ok)
        print("%s %s%s" % ("ok  " if ok else "FAIL", name, ": " + str(detail)[:1500] if detail and not ok else ""),
              flush=True)

    def summary(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


def require(script):
    """Exit with one line when the CLI or the interpreter is missing."""
    import sys
    for need in (AW, PYTHON):
        if not os.path.exists(need):
            sys.exit("%s: %s is missing (scripts/setup builds and installs it)" % (script, need))


def start_helper(name, path, seconds=120):
    """Start tests/scenarios/NAME.py PATH; return the process once it has written PATH."""
    import sys
    import time
    p = subprocess.Popen([PYTHON, os.path.join(REPO, "tests", "scenarios", name + ".py"), path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + seconds
    while not os.path.exists(path) or not os.path.getsize(path):
        if p.poll() is not None or time.time() > deadline:
            p.kill()
            sys.exit("%s.py did not get ready: %s" % (name, p.communicate(timeout=5)[1][-500:]))
        time.sleep(0.05)
    return p
