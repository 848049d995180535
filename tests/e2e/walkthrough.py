"""The README's walkthrough is what gdb and lldb print today.

Starts docs/walkthrough/transfer.py (a payments service whose two transfers deadlock on
their accounts' locks), waits until awaitwhat sees the deadlock, then runs the walkthrough's
commands in gdb and in lldb attached to it. The README's two session blocks must equal what
they printed, once addresses, ids, paths and sizes are set aside; `--write` puts the new
sessions into the README and redraws docs/walkthrough/deadlock.svg."""

import os
import re
import subprocess
import shutil
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AW = os.path.join(REPO, "target", "release", "awaitwhat")
ROOT = os.environ.get("PYENV_ROOT") or subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
PREFIX = os.path.join(ROOT, "versions", "3.12.1")
PYTHON = os.path.join(PREFIX, "bin", "python3.12")
LLDB = os.environ.get("AWAITWHAT_LLDB", "lldb-22")
PROGRAM = "docs/walkthrough/transfer.py"
SVG = "docs/walkthrough/deadlock.svg"
README = os.path.join(REPO, "README.md")

GDB_COMMANDS = ["py-await-stacks", "py-await-task worker-0", "py-await-graph --svg > deadlock.svg"]
LLDB_COMMANDS = ["awaitwhat stacks --waiting-on lock --depth 2", "awaitwhat loops"]


def gdb_session(pid, where):
    """gdb's session, run in directory `where` (the graph is drawn there)."""
    cmd = ["gdb", "-nx", "-batch", "-iex", "set auto-load off", "-iex", "set debuginfod enabled off",
           "-p", str(pid), "-ex", "source %s" % os.path.join(REPO, "gdb", "awaitwhat.py")]
    for c in GDB_COMMANDS:
        cmd += ["-ex", "echo (gdb) %s\\n" % c, "-ex", c]
    cmd += ["-ex", "detach"]
    out = subprocess.run(cmd, cwd=where, capture_output=True, text=True, timeout=300).stdout
    at = out.find("(gdb) ")
    if at < 0:
        raise RuntimeError("gdb ran none of the commands:\n" + out[-2000:])
    body = out[at:]
    body = body[:body.find("[Inferior 1")] if "[Inferior 1" in body else body
    return "$ gdb -p $(pgrep -f transfer.py)\n(gdb) source gdb/awaitwhat.py\n" + body.rstrip("\n") + "\n"


def lldb_session(pid):
    cmd = [LLDB, "-b", "-O", "settings set symbols.enable-external-lookup false",
           "-o", "command script import lldb/awaitwhat.py", "-o", "process attach -p %d" % pid]
    for c in LLDB_COMMANDS:
        cmd += ["-o", c]
    cmd += ["-o", "process detach"]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300).stdout
    at = out.find("(lldb) " + LLDB_COMMANDS[0])
    if at < 0:
        raise RuntimeError("lldb ran none of the commands:\n" + out[-2000:])
    body = out[at:]
    body = body[:body.find("(lldb) process detach")]
    return "$ lldb -p $(pgrep -f transfer.py)\n(lldb) command script import lldb/awaitwhat.py\n" + \
        body.rstrip("\n") + "\n"


def normal(text):
    """What must not change: addresses, thread and process ids and byte counts may."""
    text = re.sub(r"0x[0-9a-f]{6,}", "0x…", text)
    text = re.sub(r"native id \d+", "native id N", text)
    text = re.sub(r"wrote \d+ bytes", "wrote N bytes", text)
    return text


def shown(text):
    """Paths as the README shows them: the interpreter's and the checkout's directories are
    elided."""
    return text.replace(PREFIX + "/", "…/").replace(REPO + "/", "…/")


def block(name):
    return re.compile(r"(<!-- walkthrough:%s -->\n```\n)(.*?)(```\n<!-- /walkthrough:%s -->)" % (name, name),
                      re.S)


def wait_deadlocked(p):
    """Until awaitwhat sees the cycle (the two transfers take their first locks, then wait)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        if p.poll() is not None:
            raise RuntimeError("%s exited: %s" % (PROGRAM, p.communicate()[1][-500:]))
        r = subprocess.run([AW, "stacks", "--pid", str(p.pid), "--no-source"], capture_output=True, text=True)
        if "deadlock: " in r.stdout:
            return
        time.sleep(0.2)
    raise RuntimeError("%s did not deadlock within 60 s" % PROGRAM)


def main():
    write = "--write" in sys.argv[1:]
    for need in (AW, PYTHON):
        if not os.path.exists(need):
            sys.exit("walkthrough.py: %s is missing (scripts/setup builds and installs it)" % need)
    tmp = tempfile.mkdtemp(prefix="awaitwhat-walkthrough-")
    p = subprocess.Popen([PYTHON, PROGRAM], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_deadlocked(p)
        where = os.path.dirname(os.path.join(REPO, SVG)) if write else tmp
        sessions = {"gdb": shown(gdb_session(p.pid, where)), "lldb": shown(lldb_session(p.pid))}
    finally:
        p.kill()
        p.wait()
    with open(README) as f:
        readme = f.read()
    failed = 0
    for name, text in sessions.items():
        m = block(name).search(readme)
        if m is None:
            sys.exit("walkthrough.py: README.md has no <!-- walkthrough:%s --> block" % name)
        if write:
            readme = readme[:m.start(2)] + text + readme[m.end(2):]
            continue
        same = normal(m.group(2)) == normal(text)
        failed += not same
        print("%s the README's %s session is what %s prints (%d lines)%s" % (
            "ok  " if same else "FAIL", name, name, text.count("\n"),
            "" if same else ":\n--- README\n%s\n--- now\n%s" % (m.group(2), text)))
    svg = os.path.join(where, "deadlock.svg")
    drawn = os.path.exists(svg) and "worker&#45;0" in open(svg).read()
    failed += not drawn
    print("%s gdb drew the wait graph into %s" % ("ok  " if drawn else "FAIL", SVG))
    if write:
        with open(README, "w") as f:
            f.write(readme)
        print("walkthrough.py: wrote both sessions into README.md and %s" % SVG)
        return
    shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (2 + 1 - failed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
