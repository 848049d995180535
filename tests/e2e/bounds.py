"""Every bound a target can push the decode past is hit once, and costs only what it bounds.

tests/scenarios/_bounds.py runs a task with a 200,000-character name, one 2,000 coroutine
frames deep, and a gather of 100 children. Against its oracle: by default the name is cut
(and says so) while that task is shown whole, the deep chain is shown to the depth limit and
says why; `--limit` raises each limit and the field comes back whole; a collection past the
items limit costs that collection alone; a byte or time budget spent gives a partial answer
or a one-line error naming it. Each limit hit is named in a warning. The same in gdb."""

import json
import os
import subprocess
import sys
import tempfile
import time

from checks import AW, REPO, Checks, require, start_helper

check = Checks()
LONG_LEN = 200000


def decode(pid, *args):
    r = subprocess.run([AW, "stacks", "--pid", str(pid), "--no-source", "--json"] + list(args),
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("awaitwhat %s failed: %s" % (" ".join(args), r.stderr[-500:]))
    return json.loads(r.stdout)


def frames(fs):
    return [(f["function"], f["file"], f["line"]) for f in fs]


def by_name(tasks):
    return {t["name"]: t for t in tasks}


def limit_warnings(snap):
    return sorted(w.split(":")[1].strip() for w in snap["warnings"] if w.startswith("limit hit:"))


def main():
    require("bounds.py")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "oracle.json")
        p = start_helper("_bounds", path)
        try:
            time.sleep(0.2)
            with open(path) as f:
                oracle = json.load(f)
            run_checks(p.pid, oracle)
        finally:
            p.kill()
            p.wait()
    sys.exit(check.summary())


def run_checks(pid, oracle):
    want = {t["address"]: t for t in oracle["tasks"]}
    long_task = next(t for t in oracle["tasks"] if (t["name"] or "").startswith("long-"))
    deep = next(t for t in oracle["tasks"] if t["name"] == "deep")
    check("the oracle has the long name, the deep chain and the gather", len(long_task["name"]) == LONG_LEN and
          len(deep["frames"]) > 1024 and len(want) == 103, [len(long_task["name"]), len(deep["frames"]), len(want)])

    snap = decode(pid)
    got = {t["address"]: t for t in snap["tasks"]}
    mine = got.get(long_task["address"], {})
    check("string: the 200,000-character name is cut to the limit, ends in … and says its length",
          mine.get("name") == long_task["name"][:65536] + "…" and mine.get("name_length") == LONG_LEN,
          [len(mine.get("name") or ""), mine.get("name_length")])
    check("string: that task is shown whole: its frames and its wait as the oracle has them",
          frames(mine.get("frames", [])) == frames(long_task["frames"]) and mine.get("error") is None and
          (mine.get("awaiting") or {}).get("address") == (long_task["awaiting"] or {}).get("address"),
          mine.get("error"))
    mine = got.get(deep["address"], {})
    check("depth: the 2,001-frame chain is shown to the depth limit (its outer 1024 frames) and says why",
          frames(mine.get("frames", [])) == frames(deep["frames"])[:1024] and "depth" in (mine.get("error") or ""),
          [len(mine.get("frames", [])), mine.get("error")])
    others = [a for a in want if a not in (long_task["address"], deep["address"])]
    check("the other %d tasks are whole" % len(others),
          all(frames(got.get(a, {}).get("frames", [])) == frames(want[a]["frames"]) for a in others))
    check("each limit hit is named in a warning (string, depth)", limit_warnings(snap) == ["depth=1024", "string=65536"],
          snap["warnings"])

    snap = decode(pid, "--limit", "string=300000,depth=5000")
    got = by_name(snap["tasks"])
    check("--limit string=300000,depth=5000: the name and the chain whole, no limit hit",
          long_task["name"] in got and "name_length" not in got[long_task["name"]] and
          frames(got.get("deep", {}).get("frames", [])) == frames(deep["frames"]) and got["deep"]["error"] is None and
          not limit_warnings(snap), snap["warnings"])

    snap = decode(pid, "--limit", "items=60")
    got = {t["address"]: t for t in snap["tasks"]}
    gathers = [w for w in snap["warnings"] if w.startswith("gather ") and "children" in w]
    check("items=60: the gather of 100 children is left unread, said in one warning, and named as the limit",
          len(gathers) == 1 and "items=60" in limit_warnings(snap), snap["warnings"])
    check("items=60: every task is still there with its frames",
          sorted(got) == sorted(want) and
          all(frames(got[a]["frames"]) == frames(want[a]["frames"]) for a in others), sorted(set(want) - set(got)))

    snap = decode(pid, "--limit", "bytes=4000000")
    check("bytes=4000000 (of some 10 MB): an answer, partial, naming the limit", "bytes=4000000" in limit_warnings(snap),
          snap["warnings"][-3:])
    r = subprocess.run([AW, "stacks", "--pid", str(pid), "--no-source", "--json", "--limit", "seconds=0.000001"],
                       capture_output=True, text=True, timeout=300)
    said = (r.returncode == 0 and "seconds=1e-06" in limit_warnings(json.loads(r.stdout))) or \
        (r.returncode != 0 and "--limit seconds" in r.stderr and len(r.stderr.strip().splitlines()) == 1)
    check("seconds: a spent time budget gives a partial answer or a one-line error naming it", said,
          r.stderr[-300:] or r.stdout[-300:])
    r = subprocess.run([AW, "stacks", "--pid", str(pid), "--limit", "colour=3"], capture_output=True, text=True)
    check("an unknown limit is refused before the target is read", r.returncode != 0 and "no such limit" in r.stderr,
          r.stderr)

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".bounds-gdb.json")
    cmd = ["gdb", "-nx", "-batch", "-iex", "set auto-load off", "-iex", "set debuginfod enabled off",
           "-ex", "source %s" % os.path.join(REPO, "gdb", "awaitwhat.py"), "-p", str(pid),
           "-ex", "py-await-stacks --limit colour=3",
           "-ex", "py-await-stacks --json --no-source --limit depth=5000 > %s" % out, "-ex", "detach"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    try:
        with open(out) as f:
            got = by_name(json.load(f)["tasks"])
        os.unlink(out)
    except (OSError, ValueError):
        got = {}
    check("gdb: a bad --limit is one error and the session goes on; --limit depth=5000 shows the chain whole",
          "no such limit" in r.stderr and frames(got.get("deep", {}).get("frames", [])) == frames(deep["frames"]),
          r.stderr[-600:])


if __name__ == "__main__":
    main()
