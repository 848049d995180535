#!/usr/bin/env python3
"""The first screen of `awaitwhat stacks` (text), against the scenarios' in-process oracles:
- 10,000 tasks alike (scale.py, one shared Event) are one entry with the count 10000, and
  every entry's count is the number of tasks the oracle gives that chain; `--all` shows
  every task of the oracle on its own;
- a loop whose thread is inside a running task (running_task.py, time.sleep in a task) is
  the summary's first line, naming that task and thread;
- a lock deadlock (deadlock_locks.py): within the first 20 lines, the cycle through both
  tasks and the count of tasks waiting on locks, as the oracle's resources say;
- a recursive chain (recursive_chain.py) folds its repeated frame as Python's tracebacks do;
- the filters (--waiting-on, --task by name, address and pattern, --contains, --depth) show
  exactly the tasks and frames the oracle says;
- --locals shows each sleeping frame's `delay` with the value the oracle read;
- `awaitwhat task` shows the creation traceback asyncio's debug mode recorded, as the
  oracle reads it.
Live targets (`--pid`) of pyenv's CPython 3.12.1. Standard library only. Prints one line per
check and `N passed, M failed`; exits non-zero on any failure."""

import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AW = os.path.join(REPO, "target", "release", "awaitwhat")
SCENARIOS = os.path.join(REPO, "tests", "scenarios")
ROOT = os.environ.get("PYENV_ROOT") or subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() \
    or os.path.expanduser("~/.pyenv")
PYTHON = os.path.join(ROOT, "versions", "3.12.1", "bin", "python3.12")

passed, failed = 0, 0
started = []


def check(name, ok, detail=""):
    global passed, failed
    passed, failed = passed + bool(ok), failed + (not ok)
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, ": " + detail if detail and not ok else ""), flush=True)
    return ok


def scenario(tmp, name, **env):
    """Start tests/scenarios/NAME.py; return (process, oracle) once its oracle is written."""
    path = os.path.join(tmp, "%s-%d.json" % (name, len(started)))
    p = subprocess.Popen([PYTHON, os.path.join(SCENARIOS, name + ".py"), path],
                         env=dict(os.environ, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started.append(p)
    deadline = time.time() + 300
    while not os.path.exists(path) or not os.path.getsize(path):
        if p.poll() is not None or time.time() > deadline:
            raise RuntimeError("%s did not get ready: %s" % (name, p.communicate(timeout=5)[1][-500:]))
        time.sleep(0.05)
    time.sleep(0.2)  # the oracle is written whole before the scenario goes on waiting
    with open(path) as f:
        return p, json.load(f)


def stacks(p, *args):
    r = subprocess.run([AW, "stacks", "--pid", str(p.pid), "--no-source"] + list(args),
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("awaitwhat failed (%d): %s" % (r.returncode, r.stderr[-500:]))
    return r.stdout


TASK_LINE = re.compile(r"^\S+ '.*' 0x[0-9a-f]+ \[")
GROUP_LINE = re.compile(r"^(\d+) tasks with this stack: ")


def entries(text):
    """Each entry of the text: (count, first task's address)."""
    out, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        m = GROUP_LINE.match(line)
        if m:
            out.append((int(m.group(1)), lines[i + 1].split()[2]))
        elif TASK_LINE.match(line) and not (i and GROUP_LINE.match(lines[i - 1])):
            out.append((1, line.split()[2]))
    return out


def fold_checks(tmp):
    p, oracle = scenario(tmp, "scale", AW_SHAPE="shared", AW_TASKS="10000", AW_BENCH="1")
    tasks = oracle["tasks"]
    # The oracle's groups: the same type, frames (function, file, line) and awaited type.
    chain = {}
    for t in tasks:
        frames = tuple((f["function"], f["file"], f["line"]) for f in t["frames"])
        chain[t["address"]] = (t["type"], frames, (t.get("awaiting") or {}).get("type"))
    sizes = collections.Counter(chain.values())
    text = stacks(p)
    got = entries(text)
    check("a. 10,000 tasks alike are one entry with the count 10000",
          sum(1 for n, _ in got if n == 10000) == 1 and max(sizes.values()) == 10000,
          "entries %s, oracle groups %s" % (sorted(n for n, _ in got)[-3:], sorted(sizes.values())[-3:]))
    wrong = [(n, a) for n, a in got if n > 1 and sizes.get(chain.get(a)) != n]
    check("a. every entry's count is the oracle's number of tasks with that chain", got and not wrong,
          "%s" % wrong[:3])
    check("a. the entries cover every task once", sum(n for n, _ in got) == len(tasks),
          "%d in entries, %d tasks" % (sum(n for n, _ in got), len(tasks)))
    head = text.splitlines()[:20]
    check("a. the summary names the largest group in the first 20 lines",
          any(line.startswith("Largest groups: 10000 in ") for line in head), "\n".join(head[:6]))
    every = stacks(p, "--all")
    shown = [line.split()[2] for line in every.splitlines() if TASK_LINE.match(line)]
    check("a. --all shows each of the oracle's tasks on its own",
          sorted(shown) == sorted(t["address"] for t in tasks), "%d shown, %d tasks" % (len(shown), len(tasks)))
    p.kill()


def busy_loop_checks(tmp):
    p, oracle = scenario(tmp, "running_task")
    running = [t for t in oracle["tasks"] if t.get("running_on_thread")]
    lines = stacks(p).splitlines()
    first = lines[1] if len(lines) > 1 else ""
    ok = len(running) == 1 and first.startswith("The event loop ") and \
        ("task '%s' %s" % (running[0]["name"], running[0]["address"])) in first and \
        ("thread %#x" % running[0]["running_on_thread"]) in first
    check("b. a loop inside its own running task is the summary's first line", ok, first)
    p.kill()


def deadlock_checks(tmp):
    p, oracle = scenario(tmp, "deadlock_locks")
    names = oracle["graph"]["expect_cycle"]
    locks = [r for r in oracle["graph"]["resources"] if r["kind"] == "lock"]
    waiting = sum(len(r["waiting"]) for r in locks)
    head = stacks(p).splitlines()[:20]
    cycle = [line for line in head if line.startswith("deadlock:")]
    check("c. the deadlock cycle through %s is in the first 20 lines" % names,
          len(cycle) == 1 and all("Task '%s'" % n in cycle[0] for n in names), "\n".join(head[:5]))
    want = "%d tasks on %d locks" % (waiting, len(locks))
    check("c. the summary counts the tasks waiting on locks: %s" % want,
          any(line.startswith("Waiting: ") and want in line for line in head), "\n".join(head[:5]))
    p.kill()


def shown_tasks(text):
    """The addresses of the tasks a text shows, and each one's frame lines."""
    out, current = {}, None
    for line in text.splitlines():
        if TASK_LINE.match(line):
            current = line.split()[2]
            out[current] = []
        elif not line.strip() or not line.startswith("  "):
            current = None
        elif current and line.startswith('  File "'):
            out[current].append(line.split(", in ")[0])
    return out


def filter_checks(tmp):
    p, oracle = scenario(tmp, "deadlock_locks")
    tasks = oracle["tasks"]
    by_name = {t["name"]: t for t in tasks if t["name"]}
    on_locks = {w["task"] for r in oracle["graph"]["resources"] if r["kind"] == "lock" for w in r["waiting"]}
    got = set(shown_tasks(stacks(p, "--waiting-on", "lock")))
    check("e. --waiting-on lock shows exactly the tasks the oracle has waiting on locks",
          got == on_locks and on_locks, "%s, oracle %s" % (sorted(got), sorted(on_locks)))
    a = by_name["A"]
    for arg, want in (("A", {a["address"]}), (a["address"], {a["address"]}),
                      ("A|B", {by_name["A"]["address"], by_name["B"]["address"]})):
        got = set(shown_tasks(stacks(p, "--task", arg)))
        check("e. --task %s shows exactly the oracle's %s" % (arg, sorted(want)), got == want, "%s" % sorted(got))
    with_fn = {t["address"] for t in tasks if any(f["function"] == "take_both" for f in t["frames"])}
    got = set(shown_tasks(stacks(p, "--contains", "take_both")))
    check("e. --contains take_both shows exactly the oracle's tasks with that frame", got == with_fn and with_fn,
          "%s" % sorted(got))
    plain, coloured = stacks(p), stacks(p, "--color", "always")
    check("e. --color always styles the text and changes nothing else; into a pipe there is none",
          "\x1b[" in coloured and "\x1b[" not in plain and re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain,
          coloured[:300])
    drawn = subprocess.run([AW, "graph", "--pid", str(p.pid), "--svg"], capture_output=True, text=True, timeout=300)
    check("e. graph --svg draws every task of the oracle as SVG",
          drawn.returncode == 0 and "<svg" in drawn.stdout and all(t["address"] in drawn.stdout for t in tasks),
          drawn.stderr[-300:] or drawn.stdout[:300])
    inner = {t["address"]: ['  File "%s", line %d' % (t["frames"][-1]["file"], t["frames"][-1]["line"])]
             for t in tasks if t["frames"]}
    got = shown_tasks(stacks(p, "--depth", "1"))
    check("e. --depth 1 shows each task's innermost frame, as the oracle has it", got == inner,
          "%s" % {k: v for k, v in got.items() if inner.get(k) != v})
    # The oracle's files, the interpreter's library directory dropped (the scenario's own stay whole).
    stdlib = os.path.join(ROOT, "versions", "3.12.1", "lib", "python3.12") + "/"
    short = {t["address"]: ['  File "%s", line %d' % (f["file"].replace(stdlib, ""), f["line"]) for f in t["frames"]]
             for t in tasks}
    got = shown_tasks(stacks(p, "--short-paths"))
    check("e. --short-paths shows the oracle's frames without the standard library's directory",
          got == short and any(stdlib in f["file"] for t in tasks for f in t["frames"]),
          "%s" % {k: v for k, v in got.items() if short.get(k) != v})
    p.kill()


def locals_checks(tmp):
    p, oracle = scenario(tmp, "sleep")
    sleeps = {t["task"]: t["delay"] for t in oracle["graph"]["timers"] if t["edge"] == "sleep"}
    text = stacks(p, "--locals", "--all").splitlines()
    seen = {}
    current, in_sleep = None, False
    for line in text:
        if TASK_LINE.match(line):
            current, in_sleep = line.split()[2], False
        elif line.startswith('  File "'):
            in_sleep = line.endswith(", in sleep")
        elif in_sleep and line.startswith("      delay = "):
            seen[current] = float(line.split(" = ", 1)[1])
    check("f. --locals shows each sleeping frame's delay as the oracle has it (%d sleeps)" % len(sleeps),
          sleeps and seen == sleeps, "%s, oracle %s" % (seen, sleeps))
    p.kill()


def task_view_checks(tmp):
    p, oracle = scenario(tmp, "demo", PYTHONASYNCIODEBUG="1")
    recorded = [t for t in oracle["tasks"] if t.get("created")]
    bad = []
    for t in recorded:
        lines = subprocess.run([AW, "task", "--pid", str(p.pid), t["address"], "--no-source"],
                               capture_output=True, text=True, timeout=300).stdout.splitlines()
        at = lines.index("  created at:") if "  created at:" in lines else len(lines)
        got = [line for line in lines[at + 1:] if line.startswith('    File "')]
        want = ['    File "%s", line %d, in %s' % (f, n, name) for f, n, name in t["created"]]
        if got != want:
            bad.append((t["address"], got[:3], want[:3]))
    check("g. the task view shows each task's creation traceback as the oracle has it (%d tasks, debug mode)"
          % len(recorded), recorded and not bad, "%s" % bad[:2])
    p.kill()


def recursion_checks(tmp):
    p, oracle = scenario(tmp, "recursive_chain")
    deep = next(t for t in oracle["tasks"] if t["name"] == "deep")
    # The oracle's runs of one frame (the same function at the same line), in order.
    runs = []
    for f in deep["frames"]:
        key = (f["file"], f["line"], f["function"])
        if runs and runs[-1][0] == key:
            runs[-1][1] += 1
        else:
            runs.append([key, 1])
    want = []
    for (path, line, _), n in runs:
        want += ['  File "%s", line %d' % (path, line)] * min(n, 3)
        if n > 3:
            want.append("  [Previous line repeated %d more time%s]" % (n - 3, "" if n == 4 else "s"))
    text = stacks(p).splitlines()
    start = next(i for i, line in enumerate(text) if line.startswith("Task 'deep' "))
    got = [line.split(", in ")[0] for line in text[start + 1:start + 1 + len(want)]]
    check("d. a recursion of %d frames is shown as Python's tracebacks show it" % len(deep["frames"]),
          got == want and max(n for _, n in runs) > 3, "\n".join(got))
    p.kill()


LOOP_SCENARIOS = ("io_waits", "sleep", "deadlock_threadsafe", "two_loops", "timeout", "uvloop_loop")
LLDB = os.environ.get("AWAITWHAT_LLDB", "lldb-22")


def loops_json(p, *debugger):
    """`awaitwhat loops --json` of process p: from the CLI, or from gdb or lldb attached."""
    out = os.path.join(os.path.dirname(p.args[2]), "loops-%d-%s.json" % (p.pid, debugger[0] if debugger else "cli"))
    if not debugger:
        r = subprocess.run([AW, "loops", "--pid", str(p.pid), "--json", "--no-source"],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError("awaitwhat loops failed: %s" % r.stderr[-500:])
        return json.loads(r.stdout)["loops"]
    if debugger[0] == "gdb":
        cmd = ["gdb", "-nx", "-batch", "-iex", "set auto-load off", "-iex", "set debuginfod enabled off",
               "-ex", "source %s" % os.path.join(REPO, "gdb", "awaitwhat.py"), "-p", str(p.pid),
               "-ex", "py-await-loops --json --no-source > %s" % out, "-ex", "detach"]
    else:
        cmd = [LLDB, "-b", "-o", "command script import %s" % os.path.join(REPO, "lldb", "awaitwhat.py"),
               "-o", "process attach -p %d" % p.pid, "-o", "awaitwhat loops --json --no-source > %s" % out,
               "-o", "process detach"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if not os.path.exists(out):
        raise RuntimeError("%s wrote no loops: %s" % (debugger[0], (r.stdout + r.stderr)[-800:]))
    with open(out) as f:
        return json.load(f)["loops"]


def loop_differences(oracle, loops):
    """How `awaitwhat loops --json` differs from the oracle's loop_state, loop by loop."""
    got = {lp["address"]: lp for lp in loops}
    loop_of = {t["address"]: t["loop"] for t in oracle["tasks"]}
    bad = []
    for want in oracle["graph"]["loop_state"]:
        lp = got.get(want["address"])
        if lp is None:
            bad.append("loop %s not shown" % want["address"])
            continue
        d = lp.get("detail") or {}
        ref = lambda c: None if c is None else {  # noqa: E731
            "name": c["name"], "module": c.get("module"), "receiver": c.get("receiver")}
        mine = {"address": lp["address"], "thread_id": lp["thread_id"]}
        if "ready" in want:
            mine.update(ready=[ref(c) for c in d.get("ready", [])], timers=d.get("timers"),
                        cancelled_timers=d.get("cancelled_timers"),
                        next_when=(d.get("next_timer") or {}).get("when"),
                        fds=[{"fd": f["fd"], "events": f["events"], "reader": ref(f.get("reader")),
                              "writer": ref(f.get("writer"))} for f in d.get("fds", [])])
        if mine != want:
            bad.append("loop %s: got %s, oracle %s" % (want["address"], json.dumps(mine), json.dumps(want)))
        # Who waits on each descriptor: the oracle's io_wait()s of this loop.
        for f in d.get("fds", []):
            waiting = sorted(e["task"] for e in oracle["graph"]["io"]
                             if e["facts"].get("fd") == f["fd"] and loop_of.get(e["task"]) == lp["address"])
            if sorted(f["tasks"]) != waiting:
                bad.append("fd %d: waited on by %s, oracle %s" % (f["fd"], f["tasks"], waiting))
    return bad


def loops_checks(tmp):
    # uvloop comes from the wheels scripts/setup installs for this interpreter.
    deps = os.path.join(REPO, "target", "pydeps", "3.12")
    for name in LOOP_SCENARIOS:
        p, oracle = scenario(tmp, name, PYTHONPATH=deps)
        bad = loop_differences(oracle, loops_json(p))
        state = oracle["graph"]["loop_state"]
        check("h. `awaitwhat loops` of %s: each loop's thread, ready callbacks, timers and next deadline, "
              "descriptors and who waits on each, as the oracle has them (%d loops, %d descriptors)"
              % (name, len(state), sum(len(s.get("fds", [])) for s in state)), not bad, "\n".join(bad))
        if name == "deadlock_threadsafe":
            text = subprocess.run([AW, "loops", "--pid", str(p.pid), "--no-source"], capture_output=True,
                                  text=True, timeout=300).stdout
            running = ["  running: %s '%s' %s (the loop runs nothing else until it awaits)"
                       % (t["type"], t["name"], t["address"]) for t in oracle["tasks"] if t.get("running_on_thread")]
            check("h. the loops view names the task blocking its loop", running and
                  all(line in text.splitlines() for line in running), text[:1500])
        if name == "io_waits":
            for debugger in ("gdb", "lldb"):
                bad = loop_differences(oracle, loops_json(p, debugger))
                check("h. %s's loops command shows the oracle's loops" % debugger, not bad, "\n".join(bad))
        p.kill()


def main():
    for need in (AW, PYTHON):
        if not os.path.exists(need):
            sys.exit("first_screen.py: %s is missing (scripts/setup builds and installs it)" % need)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            fold_checks(tmp)
            busy_loop_checks(tmp)
            deadlock_checks(tmp)
            recursion_checks(tmp)
            filter_checks(tmp)
            locals_checks(tmp)
            task_view_checks(tmp)
            loops_checks(tmp)
        finally:
            for p in started:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
