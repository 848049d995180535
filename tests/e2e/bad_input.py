#!/usr/bin/env python3
"""Bad input under gdb: each case must give a one-line, specific error and leave gdb usable
(a later command still runs). Standard library only; prints `N passed, M failed`."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "gdb", "awaitwhat.py")
ROOT = os.environ.get("PYENV_ROOT") or subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() \
    or os.path.expanduser("~/.pyenv")
ALIVE = "STILL-ALIVE"
# Runs on any Python (2.7 included): says it is ready, then sleeps.
OLD_PROGRAM = """
import sys, time
open(sys.argv[1], "w").close()
time.sleep(3600)
"""
SUPPORTED = r"\(supported: 3\.6, 3\.7, 3\.8, 3\.9, 3\.10, 3\.11, 3\.12, 3\.13, 3\.14, 3\.15\)"


def python(version):
    return os.path.join(ROOT, "versions", version, "bin", "python" + version.rsplit(".", 1)[0])


def gdb(*args, commands=("py-await-stacks",), extra_env=None):
    cmd = ["gdb", "-nx", "-batch", "-iex", "set auto-load off", "-iex", "set debuginfod enabled off", *args,
           "-ex", "source " + SCRIPT]
    for c in commands:
        cmd += ["-ex", c]
    cmd += ["-ex", "echo %s\\n" % ALIVE]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(extra_env or {})
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    return r.stdout + r.stderr


LLDB = os.environ.get("AWAITWHAT_LLDB", "lldb-22")


def lldb(*commands, core=None, exe=None, extra_env=None):
    """Run lldb on a command file sourced with stop-on-error off, so a command after an error
    still runs (the "lldb stays usable" half of each case)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lldb", delete=False) as f:
        f.write("command script import %s\n" % os.path.join(REPO, "lldb", "awaitwhat.py"))
        if core:
            f.write("target create --core %s %s\n" % (core, exe))
        for c in commands:
            f.write(c + "\n")
        f.write('script print("%s")\n' % ALIVE)
        path = f.name
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.update(extra_env or {})
        r = subprocess.run([LLDB, "-b", "-O", "settings set symbols.enable-external-lookup false",
                            "-o", "command source -e false " + path], capture_output=True, text=True,
                           timeout=300, env=env, stdin=subprocess.DEVNULL)
        return r.stdout + r.stderr
    finally:
        os.unlink(path)


def expect_lldb(out, pattern):
    return expect("\n".join(l[len("error: "):] if l.startswith("error: awaitwhat:") else l
                             for l in out.splitlines()), pattern)


def wait_for(path, proc, seconds=60):
    deadline = time.time() + seconds
    while not os.path.exists(path):
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("the target program did not get ready")
        time.sleep(0.05)


def expect(out, pattern):
    lines = [l for l in out.splitlines() if l.startswith("awaitwhat:")]
    if not any(re.search(pattern, l) for l in lines):
        return "expected an 'awaitwhat:' line matching %r, got:\n%s" % (pattern, out[-1500:])
    if ALIVE not in out:
        return "gdb did not run the next command after the error:\n" + out[-1500:]
    return None


def case_no_inferior(_):
    return expect(gdb(), r"no inferior: attach to a process")


def case_not_python(_):
    p = subprocess.Popen(["sleep", "600"])
    try:
        time.sleep(0.2)
        return expect(gdb("-p", str(p.pid)), r"not a Python process: none of its \d+ loaded modules defines _PyRuntime")
    finally:
        p.kill()


def unsupported(version, work):
    exe = python(version)
    if not os.path.exists(exe):
        return "interpreter %s is missing (needed to test an unsupported version)" % exe
    prog = os.path.join(work, "old.py")
    with open(prog, "w") as f:
        f.write(OLD_PROGRAM)
    ready = os.path.join(work, "ready-" + version)
    p = subprocess.Popen([exe, prog, ready])
    try:
        wait_for(ready, p)
        minor = version.rsplit(".", 1)[0]
        return expect(gdb("-p", str(p.pid)), r"Python %s(\.\d+)? is not supported %s" % (re.escape(minor), SUPPORTED))
    finally:
        p.kill()


def case_python_27(work):
    return unsupported("2.7.18", work)


def case_mismatched_core(work):
    """A core made with one libpython, examined with a different file at the same path."""
    prefix = os.path.join(ROOT, "versions", "3.12.1")
    lib = os.path.join(work, "lib")
    os.makedirs(lib)
    copy = os.path.join(lib, "libpython3.12.so.1.0")
    shutil.copy(os.path.join(prefix, "lib", "libpython3.12.so.1.0"), copy)
    oracle = os.path.join(work, "oracle.json")
    env = dict(os.environ, LD_LIBRARY_PATH=lib)
    p = subprocess.Popen([python("3.12.1"), os.path.join(REPO, "tests", "scenarios", "demo.py"), oracle], env=env,
                         stdout=subprocess.DEVNULL)
    core = os.path.join(work, "core")
    try:
        wait_for(oracle, p)
        gdb("-p", str(p.pid), commands=("gcore " + core, "detach"))
    finally:
        p.kill()
    out = subprocess.run(["readelf", "-n", copy], capture_output=True, text=True).stdout
    build_id = bytes.fromhex(re.search(r"Build ID: ([0-9a-f]+)", out).group(1))
    with open(copy, "rb") as f:
        data = bytearray(f.read())
    at = data.index(build_id)
    data[at] ^= 0xFF  # another build of "the same" library
    with open(copy, "wb") as f:
        f.write(data)
    pattern = r"does not match the files on disk: .*libpython3\.12.* build id"
    # lldb refuses to load a library whose build id differs from the core's, so awaitwhat
    # never sees it: the error then says what to check instead.
    lldb_pattern = pattern + r"|not a Python process: .*the ones it was made with"
    return expect(gdb(python("3.12.1"), core), pattern) or \
        expect_lldb(lldb("awaitwhat stacks", core=core, exe=python("3.12.1")), lldb_pattern)


def case_lldb_no_process(_):
    return expect_lldb(lldb("awaitwhat stacks"), r"no process: attach to one")


def case_lldb_not_python(_):
    p = subprocess.Popen(["sleep", "600"])
    try:
        time.sleep(0.2)
        out = lldb("process attach -p %d" % p.pid, "awaitwhat graph", "process detach")
        return expect_lldb(out, r"not a Python process: none of its \d+ loaded modules defines _PyRuntime")
    finally:
        p.kill()


def case_lldb_python_27(work):
    exe = python("2.7.18")
    prog = os.path.join(work, "old.py")
    with open(prog, "w") as f:
        f.write(OLD_PROGRAM)
    ready = os.path.join(work, "ready")
    p = subprocess.Popen([exe, prog, ready])
    try:
        wait_for(ready, p)
        out = lldb("process attach -p %d" % p.pid, "awaitwhat stacks", "process detach")
        return expect_lldb(out, r"Python 2\.7(\.\d+)? is not supported " + SUPPORTED)
    finally:
        p.kill()


def case_lldb_no_asyncio(work):
    oracle = os.path.join(work, "oracle.json")
    p = subprocess.Popen([python("3.12.1"), os.path.join(REPO, "tests", "scenarios", "no_asyncio.py"), oracle],
                         stdout=subprocess.DEVNULL)
    try:
        wait_for(oracle, p)
        out = lldb("process attach -p %d" % p.pid, "awaitwhat stacks", "process detach")
        return expect_lldb(out, r"asyncio is not imported in this process")
    finally:
        p.kill()


def case_lldb_unknown_option(_):
    return expect_lldb(lldb("awaitwhat stacks --bogus"), r"unknown option --bogus")


def case_unknown_option(_):
    return expect(gdb(commands=("py-await-stacks --bogus",)), r"unknown option --bogus")


def view_errors(work, run):
    """The filters of `stacks` on a live demo: each error is one specific line, and the
    debugger goes on (`run(pid, command)` returns that debugger's complaint or None)."""
    oracle = os.path.join(work, "oracle.json")
    p = subprocess.Popen([python("3.12.1"), os.path.join(REPO, "tests", "scenarios", "demo.py"), oracle],
                         stdout=subprocess.DEVNULL)
    try:
        wait_for(oracle, p)
        cases = [
            ("--task '('", r"--task '\(': not a name or a regular expression \(unclosed group\)"),
            ("--task nobody-has-this-name", r"no task matches --task 'nobody-has-this-name' \(of \d+ tasks\)"),
            ("--task 0x10", r"--task 0x10: no pending task is at that address"),
            ("--waiting-on lok", r"--waiting-on lok: not a kind of wait \(one of: task, future, .*lock"),
            ("--depth many", r"--depth many: not a number of frames"),
            ("--task", r"option --task needs a value"),
        ]
        for args, pattern in cases:
            problem = run(p.pid, "stacks " + args, pattern)
            if problem:
                return "stacks %s: %s" % (args, problem)
        return None
    finally:
        p.kill()


def case_view_errors(work):
    return view_errors(work, lambda pid, c, pattern: expect(
        gdb("-p", str(pid), commands=("py-await-" + c, "detach")), pattern))


def case_lldb_view_errors(work):
    return view_errors(work, lambda pid, c, pattern: expect_lldb(
        lldb("process attach -p %d" % pid, "awaitwhat " + c, "process detach"), pattern))


def panic_reported(work, run):
    """A panic inside the library (made on purpose by AWAITWHAT_TEST_PANIC=once: the first
    decode panics) is one line naming it and where, with no Rust report on stderr; the same
    command then answers in the same session."""
    oracle = os.path.join(work, "oracle.json")
    p = subprocess.Popen([python("3.12.1"), os.path.join(REPO, "tests", "scenarios", "demo.py"), oracle],
                         stdout=subprocess.DEVNULL)
    try:
        wait_for(oracle, p)
        out = run(p.pid)
    finally:
        p.kill()
    problem = expect(out, r"^awaitwhat: internal error: the decoder panicked \(AWAITWHAT_TEST_PANIC=once asked for "
                          r"this panic at src/ffi\.rs:\d+\); please report this")
    if problem:
        return problem
    noise = [l for l in out.splitlines() if "panicked" in l and not l.startswith("awaitwhat:")]
    if noise:
        return "the panic was also reported outside the one line: %r" % noise
    with open(oracle) as f:
        names = [t["name"] for t in json.load(f)["tasks"]]
    if not names or not all(("'%s'" % n) in out for n in names):
        return "the second decode in the same session did not show the tasks %s:\n%s" % (names, out[-1500:])
    return None


def case_panic(work):
    return panic_reported(work, lambda pid: gdb("-p", str(pid), extra_env={"AWAITWHAT_TEST_PANIC": "once"},
                                                commands=("py-await-stacks", "py-await-stacks", "detach")))


def case_lldb_panic(work):
    return panic_reported(work, lambda pid: "\n".join(
        l[len("error: "):] if l.startswith("error: awaitwhat:") else l
        for l in lldb("process attach -p %d" % pid, "awaitwhat stacks", "awaitwhat stacks", "process detach",
                      extra_env={"AWAITWHAT_TEST_PANIC": "once"}).splitlines()))


def case_help(_):
    out = gdb(commands=("help py-await-stacks",))
    return None if ("--json" in out and "> FILE" in out and ALIVE in out) else "help text lacks the options:\n" + out


def main():
    cases = [(n[5:], f) for n, f in sorted(globals().items()) if n.startswith("case_")]
    passed = failed = 0
    for name, fn in cases:
        work = tempfile.mkdtemp(prefix="awaitwhat-bad-")
        try:
            err = fn(work)
        except Exception as e:  # a broken case is a failure, with its reason
            err = "%s: %s" % (type(e).__name__, e)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if err:
            failed += 1
            print("FAIL bad-input/%s: %s" % (name, err))
        else:
            passed += 1
            print("PASS bad-input/%s" % name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
