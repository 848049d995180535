"""`awaitwhat stacks --pid --nonblocking` on a process that makes and finishes thousands of
tasks a second (tests/scenarios/_churn.py): 200 snapshots in a row, none crashes or hangs,
each is an answer or a one-line refusal, the process is never stopped or left traced, and
an answer whose reads changed meanwhile says so."""

import json
import os
import subprocess
import sys
import tempfile
import time

from checks import AW, Checks, require, start_helper

check = Checks()
SNAPSHOTS = 200


def status(pid):
    """(state letter, tracer pid) from /proc/PID/status."""
    fields = dict(line.split(":", 1) for line in open("/proc/%d/status" % pid) if ":" in line)
    return fields["State"].split()[0], int(fields["TracerPid"])


def main():
    require("nonblocking.py")
    with tempfile.TemporaryDirectory() as tmp:
        p = start_helper("_churn", os.path.join(tmp, "ready"), seconds=60)
        try:
            run(p)
        finally:
            p.kill()
            p.wait()
    sys.exit(check.summary())


def run(p):
    answers, refusals, torn, bad, stopped, stuck_seen, slowest = 0, 0, 0, [], [], 0, 0.0
    for i in range(SNAPSHOTS):
        t0 = time.time()
        try:
            r = subprocess.run([AW, "stacks", "--pid", str(p.pid), "--nonblocking", "--no-source", "--json"],
                               capture_output=True, text=True, timeout=20)
        except subprocess.TimeoutExpired:
            bad.append("snapshot %d hung (20 s)" % i)
            continue
        slowest = max(slowest, time.time() - t0)
        if r.returncode < 0 or "panicked" in r.stderr:
            bad.append("snapshot %d crashed (%d): %s" % (i, r.returncode, r.stderr[-300:]))
        elif r.returncode == 0:
            snap = json.loads(r.stdout)
            answers += 1
            torn += any("--nonblocking" in w for w in snap["warnings"])
            names = {t["name"] for t in snap["tasks"]}
            stuck_seen += {"stuck-0", "stuck-1", "stuck-2"} <= names
        elif len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("awaitwhat: "):
            refusals += 1
        else:
            bad.append("snapshot %d: not one line: %s" % (i, r.stderr[-300:]))
        state, tracer = status(p.pid)
        if state in "tT" or tracer != 0:
            stopped.append((i, state, tracer))
    print("   %d answers (%d say they may mix moments, %d name the three stuck tasks), %d refusals, "
          "slowest %.2f s" % (answers, torn, stuck_seen, refusals, slowest))
    check("%d snapshots of a churning process: none crashes or hangs, each an answer or a one-line refusal"
          % SNAPSHOTS, not bad, bad[:3])
    check("the process is never left stopped or traced", not stopped and p.poll() is None, stopped[:3])
    check("most snapshots answer (at least 3 in 4)", answers * 4 >= SNAPSHOTS * 3, (answers, refusals))
    check("the three tasks that wait for ever are in at least 9 answers in 10", stuck_seen * 10 >= answers * 9,
          (stuck_seen, answers))


if __name__ == "__main__":
    main()
