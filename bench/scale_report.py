#!/usr/bin/env python3
"""The table and the target summary of bench/scale.sh, from its raw rows (standard library only).

    python3 bench/scale_report.py ROWS.tsv

Each row (tab-separated): version shape N tool status seconds pause_ms rss_kb shown note.
status is ok, SHORT (fewer tasks listed than the scenario has), refused (CPython's own tool gave
up), TIMEOUT or FAIL(...). Derived here: gdb/lldb time net of attaching alone, µs per task,
"x ps" (how many times faster than `python3.14 -m asyncio ps` on the same process) and "flat"
(µs per task over the N=1,000 row of the same version, shape and tool), and "+µs/task": the
marginal cost, (seconds - seconds at the next smaller N) / (N - that N). At 1,000 tasks the fixed
cost (start-up, debug info, attaching) dominates µs per task, so "flat" falls as N grows even
when the work per task is constant; the marginal cost is what shows work growing faster than N.
"""
import sys
from collections import defaultdict

OURS = ("cli-pid", "cli-pid-whole", "cli-core", "gdb", "lldb")  # awaitwhat's own rows; the rest are anchors
ORDER = ("cli-pid", "cli-pid-whole", "cli-core", "gdb", "gdb-attach", "lldb", "lldb-attach",
         "asyncio-ps", "asyncio-pstree")
SHAPES = ("shared", "passed", "own", "locks", "server")
BIG = 100000  # the targets are stated at 100,000 tasks
BASE = 1000  # and flatness from 1,000


def num(s):
    try:
        return float(s)
    except ValueError:
        return None


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            f_ = line.rstrip("\n").split("\t")
            f_ += [""] * (10 - len(f_))
            v, shape, n, tool, status, secs, pause, rss, shown, note = f_[:10]
            rows.append(dict(version=v, shape=shape, n=int(n), tool=tool, status=status,
                             secs=num(secs), pause=num(pause), rss_mb=(num(rss) or 0) / 1024,
                             shown=shown, note=note))
    return rows


def fmt(x, spec, none="NA"):
    return none if x is None else format(x, spec)


def derive(rows):
    by = {(r["version"], r["shape"], r["n"], r["tool"]): r for r in rows}
    for r in rows:
        ok = r["status"] in ("ok", "SHORT") and r["secs"] is not None
        anchor = r["tool"].endswith("-attach")  # attaching alone: no tasks are read
        r["us"] = r["secs"] * 1e6 / r["n"] if ok and not anchor else None
        r["net"] = None
        if r["tool"] in ("gdb", "lldb") and ok:
            a = by.get((r["version"], r["shape"], r["n"], r["tool"] + "-attach"))
            if a and a["status"] == "ok":
                r["net"] = r["secs"] - a["secs"]
        ps = by.get((r["version"], r["shape"], r["n"], "asyncio-ps"))
        r["xps"] = (ps["secs"] / r["secs"] if ok and ps and ps["status"] == "ok"
                    and r["secs"] > 0 and r["tool"] != "asyncio-ps" and not anchor else None)
        base = by.get((r["version"], r["shape"], BASE, r["tool"]))
        r["flat"] = (r["us"] / base["us"] if r["us"] is not None and base and
                     base.get("us") and r["tool"] in OURS else None)
    for r in rows:  # the marginal cost against the next smaller N of the same series
        smaller = [o for o in rows if (o["version"], o["shape"], o["tool"]) ==
                   (r["version"], r["shape"], r["tool"]) and o["n"] < r["n"]]
        prev = max(smaller, key=lambda o: o["n"]) if smaller else None
        r["prev"] = prev
        r["marg"] = ((r["secs"] - prev["secs"]) * 1e6 / (r["n"] - prev["n"])
                     if prev and r["us"] is not None and prev.get("us") is not None
                     and r["tool"] in OURS else None)
    return by


def table(rows):
    head = ("version", "shape", "tasks", "tool", "status", "seconds", "net s", "pause ms",
            "RSS MB", "µs/task", "+µs/task", "x ps", "flat", "listed", "note")
    out = []
    key = lambda r: (r["version"], SHAPES.index(r["shape"]) if r["shape"] in SHAPES else 9,
                     r["n"], ORDER.index(r["tool"]) if r["tool"] in ORDER else 99)
    for r in sorted(rows, key=key):
        out.append((r["version"], r["shape"], str(r["n"]), r["tool"], r["status"],
                    fmt(r["secs"], ".3f"), fmt(r["net"], ".3f", "-"),
                    fmt(r["pause"], ".1f", "NA" if r["tool"].startswith("cli-pid") else "-"),
                    fmt(r["rss_mb"], ".0f"), fmt(r["us"], ".1f", "-"), fmt(r["marg"], ".1f", "-"),
                    fmt(r["xps"], ".1f", "-"), fmt(r["flat"], ".2f", "-"),
                    "-" if r["tool"].endswith("-attach") else r["shown"], r["note"]))
    widths = [max(len(h), *(len(o[i]) for o in out)) if out else len(h)
              for i, h in enumerate(head)]
    right = {2, 5, 6, 7, 8, 9, 10, 11, 12, 13}

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    print(line(head))
    print("  ".join("-" * w for w in widths))
    prev = None
    for o in out:
        if prev and o[:3] != prev[:3]:
            print()
        print(line(o))
        prev = o


def where(r):
    return "%s %s %d %s" % (r["version"], r["shape"], r["n"], r["tool"])


def bad(r):
    return r["status"] != "ok"


def verdict(label, checked, worst_text, missed, coverage):
    state = "not measured" if not checked else ("MISSED" if missed else "met")
    text = "  %-66s %-12s" % (label, state)
    if checked:
        text += " " + worst_text
    if coverage:
        text += "  [" + coverage + "]"
    print(text.rstrip())
    for m in missed[:6]:
        print("      " + m)
    if len(missed) > 6:
        print("      ... and %d more" % (len(missed) - 6))


def coverage(rows):
    """Which (version, shape) pairs a 100,000-task target was measured on."""
    pairs = sorted({(r["version"], r["shape"]) for r in rows})
    allpairs = {(v, s) for v in {r["version"] for r in rows} for s in SHAPES}
    if set(pairs) >= allpairs:
        return "every shape of %s" % ", ".join(sorted({v for v, _ in pairs}))
    return "only " + ", ".join("%s %s" % p for p in pairs)


def limit_target(label, rows, tools, field, limit, unit):
    """Every row of `tools` at N=100,000 has `field` below `limit` (a failed row misses)."""
    sel = [r for r in rows if r["n"] == BIG and r["tool"] in tools]
    missed, worst = [], None
    for r in sel:
        val = r[field]
        if bad(r) or val is None:
            missed.append("%s: %s%s" % (where(r), r["status"],
                                         " (no value)" if val is None else ""))
            continue
        if worst is None or val > worst[0]:
            worst = (val, r)
        if val >= limit:
            missed.append("%s: %.2f %s" % (where(r), val, unit))
    wt = "worst %.2f %s (%s)" % (worst[0], unit, where(worst[1])) if worst else ""
    verdict(label, sel, wt, missed, coverage(sel) if sel else "")


def flat_target(rows, by):
    # Only rows with an N=1,000 row of the same run to compare with: none is "not measured".
    sel = [r for r in rows if r["tool"] in OURS and r["n"] > BASE
           and by.get((r["version"], r["shape"], BASE, r["tool"])) is not None]
    missed, worst = [], None
    for r in sel:
        base = by[(r["version"], r["shape"], BASE, r["tool"])]
        if bad(r) or bad(base) or r["flat"] is None:
            missed.append("%s: %s (baseline %s)" % (where(r), r["status"], base["status"]))
            continue
        dev = abs(r["flat"] - 1)
        if worst is None or dev > worst[0]:
            worst = (dev, r)
        if r["flat"] > 1.3:
            missed.append("%s: %.2fx the µs/task at %d (%.1f vs %.1f): grows with N"
                          % (where(r), r["flat"], BASE, r["us"], base["us"]))
        elif r["flat"] < 0.7:
            missed.append("%s: %.2fx the µs/task at %d (%.1f vs %.1f): falls with N "
                          "(the fixed start-up cost dominates at %d)"
                          % (where(r), r["flat"], BASE, r["us"], base["us"], BASE))
    missed.sort(key=lambda m: "grows" not in m)  # work growing faster than N first
    top = max((r["n"] for r in sel), default=0)
    wt = ("worst %.2fx (%s)" % (worst[1]["flat"], where(worst[1])) if worst else "")
    cov = "" if not sel else ("N up to %d" % top + ("" if top >= BIG else ", not 100,000"))
    verdict("µs/task flat within ±30% from 1,000 to 100,000 (CLI, gdb, lldb)",
            sel, wt, missed, cov)
    # Not a target, a diagnosis: does the marginal cost per task grow from one size to the next?
    steps = [(r["marg"] / r["prev"]["marg"], r) for r in rows
             if r.get("marg") and r["prev"] and r["prev"].get("marg") and r["prev"]["marg"] > 0]
    if steps:
        g, r = max(steps, key=lambda x: x[0])
        print("      (information: the marginal µs/task grows at most %.2fx from one size to the "
              "next: %s, %.1f after %.1f)" % (g, where(r), r["marg"], r["prev"]["marg"]))


def ps_target(rows):
    # Only where asyncio ps ran on the same process: none is "not measured".
    ran = {(p["shape"], p["n"]) for p in rows
           if p["tool"] == "asyncio-ps" and p["version"] == "3.14"}
    sel = [r for r in rows if r["version"] == "3.14" and r["tool"] == "cli-pid"
           and (r["shape"], r["n"]) in ran]
    missed, worst, refused = [], None, []
    for r in sel:
        ps = next((p for p in rows if p["tool"] == "asyncio-ps" and p["version"] == "3.14"
                   and p["shape"] == r["shape"] and p["n"] == r["n"]), None)
        if bad(r):
            missed.append("%s: %s" % (where(r), r["status"]))
        elif ps is not None and ps["status"] == "refused":
            # Nothing to be faster than: said below the verdict, neither met nor missed.
            refused.append("%s: asyncio ps refused after %.2f s (%s); awaitwhat listed %s tasks"
                           % (where(r), ps["secs"], ps["note"], r["shown"]))
        elif r["xps"] is None:
            missed.append("%s: no ratio (asyncio ps: %s)" % (
                where(r), "%s %s" % (ps["status"], ps["note"]) if ps else "not run"))
        else:
            if worst is None or r["xps"] < worst[0]:
                worst = (r["xps"], r)
            if r["xps"] < 5:
                missed.append("%s: only %.1fx faster" % (where(r), r["xps"]))
    wt = "worst %.1fx (%s)" % (worst[0], where(worst[1])) if worst else ""
    sizes = sorted({r["n"] for r in sel})
    verdict(">= 5x faster than `asyncio ps` on 3.14 at every N (CLI --pid)", sel, wt, missed,
            ("N = " + ", ".join(map(str, sizes))) if sel else "")
    for line in refused:
        print("      (no ratio: %s)" % line)


def summary(rows, by):
    print()
    print("Targets of the issue (a failed command or a short task list misses its target; "
          "\"not measured\": no such rows in this run):")
    limit_target("CLI --pid < 1 s at 100,000 tasks, every shape", rows, ("cli-pid",),
                 "secs", 1.0, "s")
    limit_target("CLI --core < 1 s at 100,000 tasks, every shape", rows, ("cli-core",),
                 "secs", 1.0, "s")
    limit_target("gdb py-await-stacks < 3 s at 100,000 tasks (with attach)", rows, ("gdb",),
                 "secs", 3.0, "s")
    limit_target("lldb awaitwhat stacks < 5 s at 100,000 tasks (with attach)", rows,
                 ("lldb",), "secs", 5.0, "s")
    limit_target("target paused < 0.5 s at 100,000 tasks (CLI --pid)", rows, ("cli-pid",),
                 "pause_s", 0.5, "s")
    limit_target("CLI peak RSS < 300 MB at 100,000 tasks (--pid and --core)", rows,
                 ("cli-pid", "cli-core"), "rss_mb", 300, "MB")
    flat_target(rows, by)
    ps_target(rows)
    problems = [r for r in rows if r["status"] not in ("ok", "refused")]
    if problems:
        print()
        print("Failed or short rows:")
        for r in problems:
            print("  %s: %s %s" % (where(r), r["status"], r["note"]))


def main():
    rows = load(sys.argv[1])
    if not rows:
        print("no rows")
        return
    for r in rows:
        r["pause_s"] = r["pause"] / 1000 if r["pause"] is not None else None
    by = derive(rows)
    table(rows)
    summary(rows, by)


if __name__ == "__main__":
    main()
