#!/usr/bin/env python3
"""The live CLI (`awaitwhat stacks --pid`) holds its target only to check what it read while
the target ran (or, with `--pause whole`, only while reading it), reads it again while
holding it when the memory changed meanwhile, and never leaves it stopped or traced: not
when awaitwhat is SIGKILLed at any moment, not on any error.
Each case must also leave the scenario INTACT (its SIGUSR1 self-check). Standard library
only; needs target/release/awaitwhat and pyenv's CPython 3.12.1. Prints one line per check
and `N passed, M failed`; exits non-zero on any failure."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AW = os.path.join(REPO, "target", "release", "awaitwhat")
SCENARIO = os.path.join(REPO, "tests", "scenarios", "many_tasks.py")
ROOT = os.environ.get("PYENV_ROOT") or subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() \
    or os.path.expanduser("~/.pyenv")
PYTHON = os.path.join(ROOT, "versions", "3.12.1", "bin", "python3.12")
BIG = 100000
# A tracer that only seizes (the target keeps running, traced) until its stdin closes.
SEIZER = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(ctypes.c_long(0x4206), ctypes.c_long(int(sys.argv[1])), None, None) != 0:
    sys.exit("PTRACE_SEIZE failed: errno %d" % ctypes.get_errno())
print("seized", flush=True)
sys.stdin.read()
"""

passed, failed = 0, 0
started = []  # every process we start, killed in the end


def check(name, ok, detail=""):
    global passed, failed
    passed, failed = passed + bool(ok), failed + (not ok)
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, ": " + detail if detail else ""), flush=True)
    return ok


def spawn(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    started.append(p)
    return p


def scenario(tmp, tasks, tick=0):
    """Start many_tasks.py with `tasks` tasks (and a loop callback every `tick` s); return it
    once its oracle is written."""
    oracle = os.path.join(tmp, "oracle-%d-%d.json" % (tasks, len(started)))
    p = spawn([PYTHON, SCENARIO, oracle], env=dict(os.environ, AW_TASKS=str(tasks), AW_TICK=str(tick)),
              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not os.path.exists(oracle):
        if p.poll() is not None or time.time() > deadline:
            raise RuntimeError("the scenario did not get ready: %s" % p.communicate(timeout=5)[1][-500:])
        time.sleep(0.05)
    p.oracle = oracle
    return p


def stat_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def tracers(pid):
    """TracerPid of every thread of pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                out[int(tid)] = int(re.search(r"^TracerPid:\s*(\d+)", f.read(), re.M).group(1))
        except OSError:
            pass
    return out


def free(pid, within=1.0, stopped=False):
    """Wait up to `within` s for pid to be untraced and (not) stopped; return a problem or ''."""
    deadline = time.time() + within
    while True:
        state, traced = stat_state(pid), {t: q for t, q in tracers(pid).items() if q}
        problem = ""
        if (state in ("T", "t")) != stopped:
            problem = "state %s" % state
        if traced:
            problem += " traced: %s" % traced
        if not problem or time.time() > deadline:
            return problem.strip()
        time.sleep(0.01)


def intact(p):
    """The scenario's own check that nothing changed; it exits afterwards."""
    p.send_signal(signal.SIGUSR1)
    out, err = p.communicate(timeout=120)
    return p.returncode == 0 and "INTACT" in out, (out.strip() or err.strip()[-300:])


def awaitwhat(*args, prefix=()):
    return subprocess.run([*prefix, AW, *args], capture_output=True, text=True, timeout=300)


def one_line_error(r, pattern):
    """'' if r failed with exactly one stderr line matching pattern, else what was wrong."""
    lines = r.stderr.splitlines()
    if r.returncode == 0:
        return "exit 0"
    if len(lines) != 1 or not re.search(pattern, lines[0]):
        return "stderr %r" % r.stderr[-500:]
    return ""


def untouched(name, p):
    problem = free(p.pid)
    ok, said = intact(p)
    check(name + ": target running, untraced, intact", not problem and ok, problem or said)


PAUSE = re.compile(r"target paused ([\d.]+) ms of ([\d.]+) ms total, from ([\d.]+) ms: (.*)")


def kill_mid_read(tmp):
    p = scenario(tmp, BIG)
    r = awaitwhat("stacks", "--pid", str(p.pid), "--stats", "--pause", "whole")
    m = PAUSE.search(r.stderr)
    if not check("a. one full read of %d tasks with --stats --pause whole" % BIG, r.returncode == 0 and m,
                 m.group(0) if m else r.stderr.strip()[-300:]):
        return
    pause, start = float(m.group(1)) / 1e3, float(m.group(3)) / 1e3
    # Kill times from where the pause started, spread over its first 70%, fixed and random.
    delays = [start + pause * f for f in (0.05, 0.2, 0.35, 0.5, 0.7)]
    delays += [start + random.uniform(0.05, 0.7) * pause for _ in range(2)]
    held = 0
    for delay in delays:
        held += kill_after(p, delay, "whole")
    check("a. at least half the kills landed while the target was held", held * 2 >= len(delays),
          "%d of %d" % (held, len(delays)))
    # The default: read while it runs, held only for the check at the end. Kill anywhere.
    r = awaitwhat("stacks", "--pid", str(p.pid), "--stats")
    m = PAUSE.search(r.stderr)
    if check("a. the default read holds it only to check", r.returncode == 0 and m and "unchanged" in m.group(4),
             m.group(0) if m else r.stderr.strip()[-300:]):
        total, start = float(m.group(2)) / 1e3, float(m.group(3)) / 1e3
        for delay in [total * f for f in (0.3, 0.6)] + [start + 0.01] + [random.uniform(0, total)]:
            kill_after(p, delay, "check")
    ok, said = intact(p)
    check("a. target intact after the kills", ok, said)


def kill_after(p, delay, pause):
    """SIGKILL an `awaitwhat stacks --pause PAUSE` on p after delay s: p must be running and
    untraced within 1 s. True if awaitwhat held p just before the kill."""
    aw = spawn([AW, "stacks", "--pid", str(p.pid), "--pause", pause], stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
    time.sleep(delay)
    during = aw.pid in tracers(p.pid).values()  # sampled just before the kill
    aw.kill()
    aw.wait()
    problem = free(p.pid)
    check("a. --pause %s, SIGKILL after %.3f s (%s): running and untraced within 1 s"
          % (pause, delay, "while holding the target" if during else "not holding it"), not problem, problem)
    return during


def tasks_read(r, p):
    """'' if r printed exactly the oracle's tasks (each on its own: --all), else what differs."""
    with open(p.oracle) as f:
        want = {int(t["address"], 16) for t in json.load(f)["tasks"]}
    got = {int(a, 16) for a in re.findall(r"^Task .* (0x[0-9a-f]+) \[", r.stdout, re.M)}
    if r.returncode == 0 and got == want:
        return ""
    return "exit %d, %d of %d tasks; %s" % (r.returncode, len(got & want), len(want), r.stderr.strip()[-300:])


def read_case(p, what, how):
    """stacks --pid --stats on p prints the oracle's tasks, read the way `how` starts."""
    r = awaitwhat("stacks", "--pid", str(p.pid), "--stats", "--all")
    problem = tasks_read(r, p)
    check("b. %s: every task" % what, not problem, problem)
    m = PAUSE.search(r.stderr)
    check("b. %s: %s" % (what, how), m and m.group(4).startswith(how), r.stderr.strip()[-300:])
    untouched("b. %s" % what, p)


def normal_read(tmp):
    read_case(scenario(tmp, 100), "an idle target of 100 tasks", "read while running, then")


def changing_read(tmp):
    """A loop callback every millisecond changes the timer heap the decode reads: the check
    must notice, and the answer must be read again while the target is held."""
    read_case(scenario(tmp, 20000, tick=0.001), "a target that changes while read",
              "read again while stopped (memory at 0x")


def threads_agree(tmp):
    """Decoding on several threads changes nothing: a core of 6,000 tasks gives the same
    text, and the same JSON but for what the reads cost (`stats`: each thread reads through
    its own cache), with --threads 1, 2 and 3; a live read on 2 threads lists the oracle's
    tasks."""

    def answer(r, fmt):
        if not fmt or r.returncode != 0:
            return r.stdout
        doc = json.loads(r.stdout)
        doc.pop("stats", None)
        return doc

    p = scenario(tmp, 6000)
    prefix = os.path.join(tmp, "threads-core")
    g = subprocess.run(["gcore", "-o", prefix, str(p.pid)], capture_output=True, text=True, timeout=300)
    core = "%s.%d" % (prefix, p.pid)
    made = g.returncode == 0 and os.path.exists(core)
    if not check("b. gcore of 6,000 tasks", made, "" if made else g.stderr[-300:]):
        return
    outs = {}
    for n in (1, 2, 3):
        for fmt in ((), ("--json",)):
            r = awaitwhat("stacks", "--core", core, "--threads", str(n), *(fmt or ("--all",)))
            outs[(n, fmt)] = r
    problem = tasks_read(outs[(1, ())], p)
    check("b. --core --threads 1: every task", not problem, problem)
    for n in (2, 3):
        for fmt in ((), ("--json",)):
            a, b = outs[(1, fmt)], outs[(n, fmt)]
            same = a.returncode == b.returncode == 0 and answer(a, fmt) == answer(b, fmt)
            check("b. --core --threads %d%s: the same answer as one thread" % (n, " --json" if fmt else ""), same,
                  "" if same else "exit %d; %s" % (b.returncode, b.stderr.strip()[-300:]))
    r = awaitwhat("stacks", "--pid", str(p.pid), "--threads", "2", "--all")
    problem = tasks_read(r, p)
    check("b. --pid --threads 2: every task", not problem, problem)
    os.remove(core)
    untouched("b. --threads", p)


def already_traced(tmp):
    p = scenario(tmp, 100)
    seizer = spawn([sys.executable, "-c", SEIZER, str(p.pid)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                   text=True)
    check("c. helper seized the target", seizer.stdout.readline().strip() == "seized")
    r = awaitwhat("stacks", "--pid", str(p.pid))
    problem = one_line_error(r, r"already traced by PID %d \(python" % seizer.pid)
    check("c. already traced: one line naming the tracer", not problem, problem or r.stderr.strip())
    seizer.stdin.close()
    seizer.wait(timeout=10)
    untouched("c. already traced", p)


def no_permission(tmp):
    p = scenario(tmp, 100)
    r = awaitwhat("stacks", "--pid", str(p.pid), prefix=(
        "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"))
    problem = one_line_error(r, r"no permission to trace process %d: it runs as uid 0" % p.pid)
    check("c. as user nobody: one line naming the owner", not problem, problem or r.stderr.strip())
    untouched("c. no permission", p)


def no_such_pid():
    gone = subprocess.Popen(["true"])
    gone.wait()
    if not check("c. pid %d is free" % gone.pid, not os.path.exists("/proc/%d" % gone.pid)):
        return
    r = awaitwhat("stacks", "--pid", str(gone.pid))
    problem = one_line_error(r, r"no process %d" % gone.pid)
    check("c. no such pid: one line", not problem, problem or r.stderr.strip())


def exits_during_read(tmp):
    p = scenario(tmp, BIG)
    delay = 0.1
    for attempt in range(8):
        aw = spawn([AW, "stacks", "--pid", str(p.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   text=True)
        time.sleep(delay)
        p.kill()
        err = aw.communicate(timeout=300)[1]
        p.wait(timeout=30)
        if aw.returncode != 0 or attempt == 7:
            break
        print("     the read finished within %.3f s; again, sooner" % delay, flush=True)
        delay /= 2
        p = scenario(tmp, BIG)
    lines = err.splitlines()
    ok = aw.returncode != 0 and len(lines) == 1 and lines[0].endswith("process %d exited while being read" % p.pid)
    check("c. target killed %.3f s into the read: one line saying it exited" % delay, ok,
          "exit %d, stderr %r" % (aw.returncode, err[-500:]))


def already_stopped(tmp):
    p = scenario(tmp, 100)
    p.send_signal(signal.SIGSTOP)
    problem = free(p.pid, within=5, stopped=True)
    check("c. target stopped with SIGSTOP", not problem, problem)
    r = awaitwhat("stacks", "--pid", str(p.pid))
    check("c. stacks --pid on a stopped target succeeds", r.returncode == 0 and "Task " in r.stdout,
          r.stderr.strip()[-300:])
    time.sleep(0.3)  # a wrongly resumed target would be running by now
    problem = free(p.pid, within=0, stopped=True)
    check("c. the stopped target is still stopped and untraced", not problem, problem)
    p.send_signal(signal.SIGCONT)
    untouched("c. stopped, then continued", p)


def main():
    for path, what in ((AW, "cargo build --release"), (PYTHON, "pyenv install 3.12.1")):
        if not os.access(path, os.X_OK):
            print("FAIL %s is missing (%s)" % (path, what))
            return 1
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for case in (kill_mid_read, normal_read, changing_read, threads_agree, already_traced, no_permission, exits_during_read,
                         already_stopped):
                try:
                    case(tmp)
                except Exception as e:  # a broken case is a failure, and the next ones still run
                    check("%s raised" % case.__name__, False, repr(e))
            no_such_pid()
        finally:
            # Tracers before their targets: a killed traced process is reaped only once its
            # tracer lets go.
            for p in reversed(started):
                if p.poll() is None:
                    p.kill()
            for p in started:
                p.wait()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
