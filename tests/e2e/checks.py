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
