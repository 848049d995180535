#!/usr/bin/env python3
"""End-to-end matrix: every scenario x every interpreter x every debugger mode.

    python3 tests/e2e/matrix.py [--versions 3.8,3.12,deb3.11,sid3.14]
                                [--scenarios a,b] [--modes gdb-live,lldb-core]
                                [--variants dwarf,no-dwarf] [--jobs 2]
                                [--keep DIR] [--oracle-only]
                                [--timeout SECONDS]

Interpreters (--versions, default all):

  3.6 ... 3.13  pyenv builds (with DWARF), debugged by the host's gdb
                (/usr/bin/gdb) and lldb (/usr/bin/lldb-22).
  deb3.11       Debian bookworm's stripped /usr/bin/python3.11 with no debug
                package: awaitwhat must use its tables ("layout": "table").
  sid3.14       python3.14 / python3.15 of the Debian sid chroot $AW_SID
  sid3.15       (default /opt/sid, made by scripts/setup-sid).  Scenarios,
                the front ends and libawaitwhat.so are copied into the
                chroot's /tmp; scenarios and the chroot's own gdb and lldb run
                inside the chroot.  Every cell runs twice, as variant "dwarf"
                (sid's -dbg DWARF, "layout": "dwarf") and variant "no-dwarf"
                (the commands get --no-dwarf, "layout": "debug-offsets").
  sid3.14d      the same for sid's debug interpreters python3.14d and
  sid3.15d      python3.15d (python3.X-dbg, built with Py_DEBUG; since 3.8
                they load the release builds' extension modules).

For each (interpreter, scenario) the scenario program is started and writes
an oracle (tests/scenarios/oracle.py).  Then, in this order:

  gdb-live       gdb attaches, runs `py-await-stacks --json > gdb-live.json`
                 and `py-await-graph > gdb-live.dot`, writes WORK/core with
                 gcore and detaches; the JSON is compared with the oracle.
  lldb-live      lldb attaches (`process attach -p PID`), runs
                 `awaitwhat stacks --json > lldb-live.json` and
                 `awaitwhat graph > lldb-live.dot`, detaches; compared the
                 same way.
  cli-live       the awaitwhat binary: `awaitwhat stacks --pid PID --json`
                 and `awaitwhat graph --pid PID` (it stops the process while
                 reading and continues it; on sid with --sysroot $AW_SID);
                 compared the same way.
  ps             (sid only) CPython's own view, read-only:
                 `_remote_debugging.RemoteUnwinder(pid).get_all_awaited_by()`
                 (what `python3 -m asyncio ps PID` prints), run inside the
                 chroot.  Every task it lists must be in awaitwhat's gdb-live
                 JSON with the same name, and for every "T awaited by A" it
                 reports, awaitwhat's edges must lead from A to T (not only
                 through inferred edges).  What awaitwhat shows beyond it is
                 information; if it raises, "ps could not show it".
  gdb-core       gdb opens PYTHON + WORK/core: --json, DOT and the text form.
  lldb-core      `target create --core WORK/core PYTHON` in lldb: the same.
  host-gdb-core  (sid only) the host's gdb and front end on the chroot-made
                 core, with `-iex 'set sysroot $AW_SID'`.
  host-lldb-core (sid only) the host's lldb-22 and front end on the same
                 core, with `platform select host --sysroot $AW_SID`.
  cli-core       `awaitwhat stacks --core WORK/core` (--json and text) and
                 `awaitwhat graph --core WORK/core`.
  parity         the core outputs (gdb-core, lldb-core, cli-core, and on sid
                 host-gdb-core and host-lldb-core) must be byte-identical: text, DOT, and JSON without its
                 "stats" member (read counts may differ between debuggers);
                 when no file was written, the same awaitwhat error messages.

The comparison covers the tasks (frames, names, what each awaits), the
threads, the "layout" where one is required (deb3.11, sid), and the wait
graph (objects, edges, cycles) against the oracle's "graph" section
(compare_graph): every edge the oracle knows (gather children, TaskGroup
children, the waiters of each primitive, the holders the scenario declares,
sleep/timeout timers with their exact deadline, shield, wait, wait_for and
executor links, on 3.14+ every awaited-by relation CPython's own
asyncio.capture_call_graph() reports (as a path of recorded edges), the
file descriptor and selector events of streams and
sockets and the pid of subprocesses), the kind, state and facts of every object at their ends, no
held-by edge to a task the scenario says does not hold the primitive, a cycle
through the EXPECT_CYCLE tasks of the deadlock_* scenarios and no cycle
anywhere else.  Every DOT file must render with `dot -Tsvg` (graphviz; a
missing `dot` fails; byte-identical DOT files are rendered once).

After each live debugger has detached the scenario must be neither stopped
nor traced; after all of them (and ps) the scenario gets SIGUSR1 and must
print INTACT and exit 0 (it recomputes its oracle in process: proves the
target was not modified and still runs).  That check belongs to every live
cell of the pair (the first cell if none was selected).

--oracle-only runs no debugger at all: it checks each oracle for sanity
(the task shapes, threads, loops and graph contents each scenario declares in
its EXPECT_* literals) and does the SIGUSR1/INTACT check.

This file only parses the options and runs the pairs; the harness is the
package beside it: harness/expect.py reads what each scenario expects from the
scenario itself, env.py knows the machine, drivers.py drives gdb, lldb and the
CLI, compare.py compares their answers, sanity.py checks the oracles, and
pair.py runs every cell of one (interpreter, scenario).

A missing interpreter, debugger (host gdb, host lldb-22, the chroot's gdb or
lldb), chroot or library fails its cells with the reason.  Scenarios
declaring MIN_VERSION above the interpreter's version are reported "n/a" and
are not counted.  The last line is `N passed, M failed`; exit status 1 if
anything failed.
"""

import argparse
import concurrent.futures
import os
import re
import sys
import time

from harness.env import (
    ALL_MODES, ALL_VARIANTS, ALL_VERSIONS, DEB_PYTHONS, MODE_ALIASES, SCENARIOS_DIR,
    SID_PYTHONS, _interrupted, all_scenarios, kill_all, out,
)
from harness.drivers import SidTree
from harness.pair import run_pair


# ------------------------------------------------------------------- main


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--versions", default=",".join(ALL_VERSIONS),
                    help="interpreters, comma-separated (default: %s)"
                    % ",".join(ALL_VERSIONS))
    ap.add_argument("--scenarios", default=None,
                    help="comma-separated (default: all in tests/scenarios)")
    ap.add_argument("--modes", default=",".join(ALL_MODES),
                    help="comma-separated (default: %s; live = gdb-live, "
                    "core = gdb-core)" % ",".join(ALL_MODES))
    ap.add_argument("--variants", default=",".join(ALL_VARIANTS),
                    help="sid variants, comma-separated (default: %s)"
                    % ",".join(ALL_VARIANTS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", metavar="DIR", default=None,
                    help="create work dirs under DIR and keep them (sid work "
                    "dirs stay in the chroot's /tmp)")
    ap.add_argument("--oracle-only", action="store_true",
                    help="no debugger: check oracles and the SIGUSR1 INTACT "
                    "path")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="timeout of each debugger run in seconds")
    opts = ap.parse_args(argv)
    opts.versions = [v for v in opts.versions.split(",") if v]
    opts.scenarios = ([s for s in opts.scenarios.split(",") if s]
                      if opts.scenarios else all_scenarios())
    modes = [MODE_ALIASES.get(m, m) for m in opts.modes.split(",") if m]
    for m in modes:
        if m not in ALL_MODES:
            ap.error("unknown mode %r (modes: %s)" % (m, ", ".join(ALL_MODES)))
    opts.modes = [m for m in ALL_MODES if m in modes]
    opts.variants = [v for v in opts.variants.split(",") if v]
    for v in opts.variants:
        if v not in ALL_VARIANTS:
            ap.error("unknown variant %r (variants: %s)" % (
                v, ", ".join(ALL_VARIANTS)))
    if not opts.variants:
        ap.error("no variant")
    for s in opts.scenarios:
        if not os.path.exists(os.path.join(SCENARIOS_DIR, s + ".py")):
            ap.error("unknown scenario %r" % s)
    for v in opts.versions:
        if v not in ALL_VERSIONS and not re.match(r"^3\.\d+$", v):
            ap.error("bad version %r (want e.g. 3.12, %s)" % (
                v, ", ".join(list(DEB_PYTHONS) + list(SID_PYTHONS))))
    if opts.keep:
        opts.keep = os.path.abspath(opts.keep)
    return opts


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    pairs = [(v, s) for v in opts.versions for s in opts.scenarios]
    passed = failed = 0
    t0 = time.time()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs))
    try:
        futs = [pool.submit(run_pair, v, s, opts) for v, s in pairs]
        for fut in concurrent.futures.as_completed(futs):
            for cell in fut.result():
                out(cell.report())
                if cell.status == "pass":
                    passed += 1
                elif cell.status == "fail":
                    failed += 1
    except KeyboardInterrupt:
        _interrupted.set()
        out("interrupted")
        failed += 1
        pool.shutdown(wait=False, cancel_futures=True)
        kill_all()
    finally:
        kill_all()
        pool.shutdown(wait=True, cancel_futures=True)
        kill_all()
        SidTree.cleanup(opts.keep)
    out("(%.0f s)" % (time.time() - t0))
    out("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
