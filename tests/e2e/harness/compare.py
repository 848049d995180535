"""Comparisons of awaitwhat's answers: tasks and chains with the oracle, the wait graph
with the oracle's graph section, the front ends with each other (parity), and with
CPython's own `python3 -m asyncio ps`/`pstree` view."""

import json
import os
import re
import shutil
import subprocess

from harness.env import CLI, _read, clean_env, kill, tail, track, untrack


# ------------------------------------------------------------ comparison


def _fkey(f):
    return (f.get("function"), f.get("file"), f.get("line"))


def _ffmt(f):
    if f is None:
        return "(none)"
    return "%s %s:%s" % (f.get("function"), f.get("file"), f.get("line"))


def _ref(r):
    """An object named by address and class, addresses compared as numbers."""
    return None if r is None else (_addr(r.get("address")), r.get("type"))


def _addr(a):
    try:
        return int(a, 16) if isinstance(a, str) else int(a)
    except (TypeError, ValueError):
        return None


def _frames_diff(exp, got):
    """None if equal on (function, file, line), else a description of the
    first mismatching frame (index counted from the outermost frame)."""
    ek = [_fkey(f) for f in exp]
    gk = [_fkey(f) for f in got]
    if ek == gk:
        return None
    for i in range(max(len(exp), len(got))):
        e = exp[i] if i < len(exp) else None
        g = got[i] if i < len(got) else None
        if e is None or g is None or _fkey(e) != _fkey(g):
            return ("frame #%d (outermost = #0; expected %d frames, got %d):\n"
                    "      expected: %s\n      got:      %s\n"
                    "      expected chain: %s\n      got chain:      %s" % (
                        i, len(exp), len(got), _ffmt(e), _ffmt(g),
                        " -> ".join(str(f.get("function")) for f in exp),
                        " -> ".join(str(f.get("function")) for f in got)))
    return None


def compare(oracle, dump):
    """Compare a decoded py-await-stacks --json dump with the oracle.
    Returns a list of error strings (empty = match).

    A task the oracle marks "running_on_thread" (running_task) must be
    decoded as running on that thread (a thread_id of the dump's threads),
    awaiting null; every other task must have running_on_thread null."""
    errs = []
    if not isinstance(dump, dict):
        return ["dump is not a JSON object"]
    if dump.get("python") != oracle.get("python"):
        errs.append("python: expected %r, got %r" % (
            oracle.get("python"), dump.get("python")))
    # Two layout sources describing one field (DWARF or a table, and the interpreter's
    # own _Py_DebugOffsets) must agree: awaitwhat warns, naming the field, when not.
    for w in dump.get("warnings") or []:
        if "debug offsets say" in w:
            errs.append("layout sources disagree: %s" % w)
    otasks = {_addr(t["address"]): t for t in oracle["tasks"]}
    dtasks = {}
    for t in dump.get("tasks") or []:
        if t.get("state", "pending") == "pending":
            dtasks[_addr(t.get("address"))] = t
    missing = sorted(set(otasks) - set(dtasks))
    extra = sorted(set(dtasks) - set(otasks))
    if missing or extra:
        errs.append("pending task set differs: %d expected, %d got; "
                    "missing %s; unexpected %s" % (
                        len(otasks), len(dtasks),
                        _addr_list(missing, otasks), _addr_list(extra, dtasks)))
    for a in sorted(set(otasks) & set(dtasks)):
        o, d = otasks[a], dtasks[a]
        label = "task %s (%s)" % (o["address"], o["name"] or "unnamed")
        fd = _frames_diff(o["frames"], d.get("frames") or [])
        if fd:
            errs.append("%s %s" % (label, fd))
        if o.get("nameless"):
            # ≤3.7: the oracle's name is the scenario's label; the task has none.
            if d.get("name") is not None:
                errs.append("%s name: expected none (tasks have names from 3.8), got %r" % (
                    label, d.get("name")))
        elif o["name"] is not None:
            if d.get("name") != o["name"]:
                errs.append("%s name: expected %r, got %r" % (
                    label, o["name"], d.get("name")))
        elif not re.match(r"^Task-\d+$", str(d.get("name"))):
            errs.append("%s name: expected Task-<n>, got %r" % (
                label, d.get("name")))
        running = o.get("running_on_thread")
        if running is not None:
            # A task executing right now: its frames come from the stack of
            # the thread it runs on; it awaits nothing.
            drun = d.get("running_on_thread")
            if drun != running:
                errs.append("%s running_on_thread: expected %r, got %r" % (
                    label, running, drun))
            elif not any(th.get("thread_id") == running
                         for th in dump.get("threads") or []):
                errs.append("%s running_on_thread %r is no thread_id in the "
                            "dump's threads" % (label, running))
            if d.get("awaiting") is not None:
                errs.append("%s is running but the dump has it awaiting %r"
                            % (label, d.get("awaiting")))
        elif d.get("running_on_thread") is not None:
            errs.append("%s is suspended but the dump has it "
                        "running_on_thread %r" % (
                            label, d.get("running_on_thread")))
        if o.get("awaiting"):
            da = d.get("awaiting") or {}
            if (da.get("type") != o["awaiting"]["type"]
                    or _addr(da.get("address")) != _addr(o["awaiting"]["address"])):
                errs.append("%s awaiting: expected %s %s, got %s %s" % (
                    label, o["awaiting"]["type"], o["awaiting"]["address"],
                    da.get("type"), da.get("address")))
            # What a bare Future belongs to: the same object and class, or none on both sides.
            want, got = o["awaiting"].get("owner"), da.get("owner")
            if (want is None) != (got is None) or (want and (
                    _addr(want["address"]) != _addr(got.get("address"))
                    or want["type"] != got.get("type")
                    or want.get("socket") != got.get("socket")
                    or _ref(want.get("socket_of")) != _ref(got.get("socket_of")))):
                errs.append("%s awaiting: owner expected %s, got %s" % (label, want, got))
            # What keeps a bare future nothing else explains (awaitwhat looks only where it
            # typed no wait: a typed one says what it waits on), or none on both sides.
            if da.get("resource") is None and oracle.get("held_by_computed", True):
                want, got = o["awaiting"].get("held_by"), da.get("held_by")
                if (want is None) != (got is None) or (want and (
                        _addr(want["address"]) != _addr(got.get("address"))
                        or want["type"] != got.get("type")
                        or want.get("module") != got.get("module")
                        or want["path"] != got.get("path"))):
                    errs.append("%s awaiting: held by expected %s, got %s" % (label, want, got))
            # The thread whose frames hold it (a library's worker), or none on both sides.
            if o["awaiting"].get("thread") != da.get("thread"):
                errs.append("%s awaiting: held by thread expected %r, got %r" % (
                    label, o["awaiting"].get("thread"), da.get("thread")))
        if _addr(d.get("loop")) != _addr(o["loop"]):
            errs.append("%s loop: expected %s, got %s" % (
                label, o["loop"], d.get("loop")))
        if len(errs) > 20:
            errs.append("(further differences not shown)")
            return errs
    dloops = {_addr(lp.get("address")): lp for lp in dump.get("loops") or []}
    if set(dloops) != {_addr(lp["address"]) for lp in oracle["loops"]}:
        errs.append("loops: expected %s, got %s" % (
            [lp["address"] for lp in oracle["loops"]],
            [lp.get("address") for lp in dump.get("loops") or []]))
    for ol in oracle["loops"]:
        dl = dloops.get(_addr(ol["address"]))
        if dl is not None and dl.get("thread_id") != ol["thread_id"]:
            errs.append("loop %s thread_id: expected %r, got %r" % (
                ol["address"], ol["thread_id"], dl.get("thread_id")))
        n = sum(1 for t in oracle["tasks"] if t["loop"] == ol["address"])
        if dl is not None and dl.get("tasks") != n:
            errs.append("loop %s: %d tasks expected, got %r" % (
                ol["address"], n, dl.get("tasks")))
    dthreads = {t.get("native_id"): t for t in dump.get("threads") or []}
    by_ident = {t.get("thread_id"): t for t in dump.get("threads") or []}
    for ot in oracle.get("threads", []):
        label = "thread %s (%s)" % (ot["native_id"], ot["name"])
        # ≤3.7 Python does not know its threads' OS ids: they are matched by ident.
        dt = dthreads.get(ot["native_id"]) if ot["native_id"] is not None else by_ident.get(ot.get("ident"))
        if dt is None:
            errs.append("%s missing from dump (dump has native_ids %s)" % (
                label, sorted(k for k in dthreads if k is not None)))
            continue
        exp, got = ot["frames"], dt.get("frames") or []
        fd = _frames_diff(exp, got)
        if fd:
            ek, gk = [_fkey(f) for f in exp], [_fkey(f) for f in got]
            note = ""
            if len(gk) >= len(ek) and gk[len(gk) - len(ek):] == ek:
                note = " [dump has %d extra outer frames; innermost match]" % (
                    len(gk) - len(ek))
            elif len(ek) >= len(gk) and ek[len(ek) - len(gk):] == gk:
                note = " [dump lacks %d outer frames; innermost match]" % (
                    len(ek) - len(gk))
            errs.append("%s%s %s" % (label, note, fd))
    return errs


def _addr_list(addrs, tasks):
    shown = []
    for a in addrs[:5]:
        t = tasks[a]
        fr = t.get("frames") or []
        shown.append("%s(%s: %s)" % (hex(a) if a is not None else a,
                                     t.get("name"),
                                     " -> ".join(str(f.get("function"))
                                                 for f in fr)))
    if len(addrs) > 5:
        shown.append("... %d more" % (len(addrs) - 5))
    return "[" + ", ".join(shown) + "]"


# ------------------------------------------------------ wait graph checks

_VOCABULARY = {}


def vocabulary(field):
    """The closed vocabulary of a JSON field ("objects[].kind", "edges[].kind",
    "cycles[].grade", ...), as awaitwhat itself lists it: one list, in Rust."""
    if not _VOCABULARY:
        out = subprocess.run([CLI, "vocabulary"], capture_output=True,
                             text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("%s vocabulary failed: %s" % (CLI, out.stderr))
        _VOCABULARY.update(json.loads(out.stdout))
        # The harness's own groupings must be words of the vocabulary: a renamed kind
        # fails here, not silently in every check.
        for words, of in ((INFERRED_EDGES, "edges[].kind"), (PRIMITIVE_KINDS, "objects[].kind"),
                          (set(GRADE_PREFIX), "cycles[].grade")):
            unknown = words - set(_VOCABULARY[of])
            if unknown:
                raise RuntimeError("%s: %s not in awaitwhat's vocabulary" % (of, sorted(unknown)))
    return set(_VOCABULARY[field])


# The first words of a cycle's line, by grade: only a proven deadlock says "deadlock:".
GRADE_PREFIX = {"deadlock": "deadlock: ", "likely deadlock": "likely deadlock: ",
                "not a deadlock": "wait cycle, not a deadlock: "}
INFERRED_EDGES = {"held-by", "could-wake"}
# Object kinds that only an instance of one of asyncio's own classes may have.
PRIMITIVE_KINDS = {"lock", "event", "condition", "semaphore", "queue", "barrier", "taskgroup"}
DOT_TIMEOUT = 900.0  # a graph of thousands of nodes takes dot minutes
MAX_GRAPH_ERRORS = 25
_TASK_LABEL = re.compile(r"^Task '(.*)'$", re.S)


def _edge_fmt(e):
    return "%s -%s-> %s%s" % (e.get("from"), e.get("kind"), e.get("to"),
                             " (inferred)" if e.get("inferred") else "")


def compare_graph(oracle, dump):
    """Compare the wait graph of a dump (objects, edges, cycles) with the
    oracle's "graph" section.  Returns a list of error strings.

    Every oracle edge must be decoded with its kind; every object the oracle
    describes must be there with the right kind, state and facts.  Extra
    decoded edges are fine unless they are wrong: a held-by edge from a
    primitive to a task the scenario says does not hold it.  Cycles: the
    EXPECT_CYCLE task names must all be labels of one decoded cycle; a
    scenario expecting none must have none."""
    g = oracle.get("graph")
    if g is None:
        return []
    errs = []
    if not isinstance(dump, dict):
        return ["dump is not a JSON object"]
    for key in ("objects", "edges", "cycles"):
        if not isinstance(dump.get(key), list):
            return ["dump has no %r array" % key]
    names = {_addr(t["address"]): t.get("name") for t in oracle["tasks"]}

    def who(a):
        n = names.get(_addr(a))
        return "%s (%s)" % (a, n) if n else str(a)

    # ---- structure (docs: objects/edges/cycles)
    objs = {}
    for o in dump["objects"]:
        oid = o.get("id")
        if not isinstance(oid, str) or not re.match(r"^0x[0-9a-f]+$", oid):
            errs.append("object id %r is not lowercase hex" % (oid,))
            continue
        if _addr(oid) in objs:
            errs.append("object %s listed twice" % oid)
        objs[_addr(oid)] = o
        if o.get("kind") not in vocabulary("objects[].kind"):
            errs.append("object %s has unknown kind %r" % (oid, o.get("kind")))
        if not isinstance(o.get("details"), dict):
            errs.append("object %s details is not an object" % oid)
    edges = {}
    out_edges = {}
    for e in dump["edges"]:
        k = (_addr(e.get("from")), _addr(e.get("to")), e.get("kind"))
        edges[k] = e
        out_edges.setdefault(k[0], []).append(e)
        if e.get("kind") not in vocabulary("edges[].kind"):
            errs.append("edge %s has unknown kind" % _edge_fmt(e))
        if k[0] not in objs or k[1] not in objs:
            errs.append("edge %s names an object not in objects[]"
                        % _edge_fmt(e))
        if e.get("inferred") is not (e.get("kind") in INFERRED_EDGES):
            errs.append("edge %s: inferred is %r" % (_edge_fmt(e),
                                                     e.get("inferred")))
        site = e.get("site")
        if site is not None and not re.match(r"^.+:\d+$", str(site)):
            errs.append("edge %s: bad site %r" % (_edge_fmt(e), site))
    for c in dump["cycles"]:
        bad = [n for n in c.get("nodes") or [] if _addr(n) not in objs]
        if not c.get("nodes") or bad:
            errs.append("cycle %r names unknown objects %s" % (
                c.get("description"), bad))
        grade = c.get("grade")
        if grade not in vocabulary("cycles[].grade"):
            errs.append("cycle %r has unknown grade %r" % (
                c.get("description"), grade))
        elif not str(c.get("description")).startswith(GRADE_PREFIX[grade]):
            errs.append("cycle graded %r is described %r" % (
                grade, c.get("description")))
        if grade in ("likely deadlock", "not a deadlock") and not c.get("breakers"):
            errs.append("cycle graded %r names nothing that breaks it or was "
                        "not ruled out: %s" % (grade, c.get("description")))
        steps = c.get("steps")
        if not isinstance(steps, list) or len(steps) != len(c.get("nodes") or []):
            errs.append("cycle %r: %r steps for %d nodes" % (
                c.get("description"), steps, len(c.get("nodes") or [])))
        else:
            for k, st in enumerate(steps):
                frm = (c["nodes"] or [])[k]
                nxt = c["nodes"][(k + 1) % len(c["nodes"])]
                if (_addr(frm), _addr(nxt), st.get("kind")) not in edges:
                    errs.append("cycle %r: step %d %s -%s-> %s is no edge" % (
                        c.get("description"), k, frm, st.get("kind"), nxt))
                for w in st.get("wakers") or []:
                    if (_addr(frm), _addr(w), "could-wake") not in edges:
                        errs.append("cycle %r: waker %s of %s has no "
                                    "could-wake edge" % (
                                        c.get("description"), w, frm))

    def obj(addr, kind, what):
        o = objs.get(_addr(addr))
        if o is None:
            errs.append("%s: no object %s in objects[]" % (what, addr))
            return None
        if o.get("kind") != kind:
            errs.append("%s: object %s kind expected %r, got %r (label %r)"
                        % (what, addr, kind, o.get("kind"), o.get("label")))
        return o

    def edge(frm, to, kind, what):
        if (_addr(frm), _addr(to), kind) in edges:
            return True
        got = [_edge_fmt(e) for e in out_edges.get(_addr(frm), [])]
        errs.append("%s: missing edge %s -%s-> %s; edges from %s: %s" % (
            what, who(frm), kind, who(to), frm, ", ".join(got) or "none"))
        return False

    def detail(o, key, exp, what):
        got = (o.get("details") or {}).get(key)
        if isinstance(exp, str) and exp.startswith("0x"):
            same = _addr(got) == _addr(exp)
        else:
            same = got == exp and type(got) is type(exp)
        if not same:
            errs.append("%s: details.%s expected %r, got %r" % (
                what, key, exp, got))

    # ---- tasks are objects
    for t in oracle["tasks"]:
        o = obj(t["address"], "task", "task %s" % who(t["address"]))
        if o is None:
            continue
        if o.get("state") != "pending":
            errs.append("task %s: state expected 'pending', got %r" % (
                who(t["address"]), o.get("state")))
        want = "Task %s" % t["address"] if t.get("nameless") else \
            None if t.get("name") is None else "Task '%s'" % t["name"]
        if want is not None and o.get("label") != want:
            errs.append("task %s: label expected %r, got %r" % (
                who(t["address"]), want, o.get("label")))

    # ---- plain awaits: task -> task/gather/shield/wait/wait_for/future
    for w in g.get("waits", []):
        what = "task %s awaiting %s" % (who(w["task"]), w["to"])
        edge(w["task"], w["to"], "awaits", what)
        o = obj(w["to"], w["to_kind"], what + ", the awaited")
        if o is not None and o.get("state") != w["to_state"]:
            errs.append("%s: state expected %r, got %r" % (
                what, w["to_state"], o.get("state")))

    # ---- nothing typed as one of asyncio's primitives unless CPython says it is one
    if "primitives" in g:
        prims = {_addr(p["address"]): p["kind"] for p in g["primitives"]}
        for a, o in sorted(objs.items()):
            kind = o.get("kind")
            if kind in PRIMITIVE_KINDS and prims.get(a) != kind:
                errs.append("object %s typed %r (%s), but CPython says it is %s" % (
                    o.get("id"), kind, o.get("label"),
                    "a %s" % prims[a] if a in prims else "no asyncio primitive"))

    # ---- gathers
    for ga in g.get("gathers", []):
        what = "gather %s" % ga["address"]
        o = obj(ga["address"], "gather", what)
        if o is not None:
            if o.get("state") != "pending":
                errs.append("%s: state expected 'pending', got %r" % (
                    what, o.get("state")))
            detail(o, "children", len(ga["children"]), what)
            detail(o, "done", ga["done"], what)
        if ga["waiter"] is not None:
            edge(ga["waiter"], ga["address"], "awaits", what + " waiter")
        for c in ga["children"]:
            edge(ga["address"], c, "gather", what + " child")

    # ---- task groups
    for tg in g.get("taskgroups", []):
        what = "taskgroup %s" % tg["address"]
        o = obj(tg["address"], "taskgroup", what)
        if o is not None:
            detail(o, "tasks", len(tg["tasks"]), what)
            detail(o, "parent", tg["parent"], what)
        for c in tg["tasks"]:
            edge(tg["address"], c, "taskgroup", what + " child")
        for t in tg["waiting"]:
            edge(t, tg["address"], "wait", what + " (in __aexit__)")

    # ---- primitives: facts, waiters, holders, wakers
    for r in g.get("resources", []):
        what = "%s %s" % (r["type"], r["address"])
        required = r["waiting"] or r["holders"] or r["wakers"]
        if _addr(r["address"]) in objs or required:
            o = obj(r["address"], r["kind"], what)
            if o is not None:
                for k, v in sorted(r["facts"].items()):
                    detail(o, k, v, what)
        for w in r["waiting"]:
            edge(w["task"], r["address"], w["edge"], what + " waiter")
        held = sorted(e.get("to") for e in out_edges.get(_addr(r["address"]), [])
                      if e.get("kind") == "held-by")
        if r["holders"] is not None:
            want = {_addr(h) for h in r["holders"]}
            for h in r["holders"]:
                edge(r["address"], h, "held-by", what + " holder")
            for h in held:
                if _addr(h) not in want:
                    errs.append("%s: held-by edge to %s, which does not hold "
                                "it (holders: %s)" % (
                                    what, who(h),
                                    [who(x) for x in r["holders"]] or "none"))
        for wk in r["wakers"] or []:
            edge(r["address"], wk, "could-wake", what + " waker")

    # ---- timers (asyncio.sleep, asyncio.timeout)
    for t in g.get("timers", []):
        what = "%s %s of task %s" % (t["kind"], t["address"], who(t["task"]))
        o = obj(t["address"], t["kind"], what)
        if o is not None:
            d = o.get("details") or {}
            if d.get("when") != t["when"]:
                errs.append("%s: details.when expected %r (TimerHandle._when), "
                            "got %r" % (what, t["when"], d.get("when")))
            detail(o, "cancelled", t["cancelled"], what)
            if "delay" in t:
                detail(o, "delay", t["delay"], what)
        edge(t["task"], t["address"], t["edge"], what)

    # ---- asyncio's bookkeeping links (shield, wait, wait_for, executor)
    for lk in g.get("links", []):
        what = "%s link %s -> %s" % (lk["kind"], lk["from"], who(lk["to"]))
        edge(lk["from"], lk["to"], lk["kind"], what)
        if lk["kind"] != "executor":
            obj(lk["from"], lk["kind"], what + ", the %s future" % lk["kind"])
    for ws in g.get("wait_sets", []):
        what = "asyncio.wait %s" % ws["address"]
        o = obj(ws["address"], "wait", what)
        if o is not None:
            detail(o, "return_when", ws["return_when"], what)
            detail(o, "watched", ws["watched"], what)
    for ex in g.get("executors", []):
        what = "executor job %s" % ex["address"]
        o = obj(ex["address"], "executor", what)
        if o is not None:
            detail(o, "state", ex["state"], what)
            if ex.get("thread") is not None:
                detail(o, "thread", ex["thread"], what)

    # ---- streams, sockets, subprocesses: task -> future -> the resource
    for io in g.get("io", []):
        what = "%s %s of task %s" % (io["kind"], io["address"], who(io["task"]))
        edge(io["task"], io["future"], "awaits", what + ", the task's future")
        o = obj(io["address"], io["kind"], what)
        if o is not None:
            for k, v in sorted(io["facts"].items()):
                detail(o, k, v, what)
        edge(io["future"], io["address"], io["edge"], what)

    # ---- run_coroutine_threadsafe: who blocks in Future.result(), and what
    # completes that future (a task, or a loop its coroutine is queued on).
    for ts in g.get("threadsafe", []):
        what = "concurrent future %s of %s" % (ts["future"], who(ts["waiter"]))
        if _addr(ts["waiter"]) not in names:
            obj(ts["waiter"], "thread", what + ", the waiting thread")
        edge(ts["waiter"], ts["future"], "result", what)
        o = obj(ts["future"], "concurrent_future", what)
        if o is not None:
            detail(o, "state", ts["state"], what)
        if ts["task"] is not None:
            edge(ts["future"], ts["task"], "threadsafe", what + ", its task")
        if ts["loop"] is not None:
            obj(ts["loop"], "loop", what + ", the loop it is queued on")
            edge(ts["future"], ts["loop"], "scheduled", what + ", queued")
        if ts["blocked_by"] is not None:
            edge(ts["loop"], ts["blocked_by"], "blocked-by",
                 what + ", the loop's blocked thread")

    # ---- CPython's own capture_call_graph (3.14+): every "T is awaited by
    # A" it reports must be a path A -> ... -> T of recorded (not inferred)
    # edges.
    strict = None
    for c in g.get("call_graph") or []:
        for aw in c.get("awaited_by", []):
            if strict is None:
                strict = _adjacency(dump, inferred=False)
            if _path(strict, _addr(aw), _addr(c["task"])) is None:
                errs.append("capture_call_graph: task %s is awaited by %s, "
                            "but no edge path leads there" % (
                                who(c["task"]), who(aw)))

    # ---- cycles and their grades: "deadlock" only where the scenario is one
    expect = g.get("expect_cycle") or []
    grade = g.get("expect_grade")
    described = ["%s [tasks %s]" % (c.get("description"), sorted(
        _cycle_names(c, objs, names))) for c in dump["cycles"]]
    for c in dump["cycles"]:
        if c.get("grade") == "deadlock" and grade != "deadlock":
            errs.append("cycle claimed a deadlock, which the scenario is not "
                        "(%s): %s" % (grade or "no cycle", c.get("description")))
    if expect:
        mine = [c for c in dump["cycles"]
                if set(expect) <= _cycle_names(c, objs, names)]
        if not mine:
            errs.append("expected a cycle through tasks %s; decoded cycles: %s"
                        % (expect, described or "none"))
        elif not any(c.get("grade") == grade for c in mine):
            errs.append("cycle through tasks %s: grade expected %r, got %s"
                        % (expect, grade, [c.get("description") for c in mine]))
    elif dump["cycles"]:
        errs.append("no cycle expected, decoded %d: %s" % (
            len(described), "; ".join(described)))
    if len(errs) > MAX_GRAPH_ERRORS:
        errs = errs[:MAX_GRAPH_ERRORS] + [
            "(%d further graph differences not shown)"
            % (len(errs) - MAX_GRAPH_ERRORS)]
    return ["graph: " + e for e in errs]


def _cycle_names(cycle, objs, names):
    """Task names of a decoded cycle (from its nodes' "Task 'NAME'" labels; a task
    without a name, ≤3.7, by the oracle's label of its address)."""
    out = set()
    for n in cycle.get("nodes") or []:
        o = objs.get(_addr(n))
        if o is None or o.get("kind") != "task":
            continue
        m = _TASK_LABEL.match(str(o.get("label", "")))
        if m:
            out.add(m.group(1))
        elif names.get(_addr(n)):
            out.add(names[_addr(n)])
    return out


def render_dot(path):
    """dot -Tsvg PATH -o PATH.svg: None, or what went wrong."""
    dot = shutil.which("dot")
    if dot is None:
        return "graphviz `dot` not found on PATH (scripts/setup installs it)"
    if not os.path.exists(path):
        return "no %s" % os.path.basename(path)
    if os.path.getsize(path) == 0:
        return "%s is empty" % os.path.basename(path)
    svg = os.path.splitext(path)[0] + ".svg"
    err = os.path.splitext(path)[0] + ".dot-err"
    with open(err, "w") as e:
        p = track(subprocess.Popen([dot, "-Tsvg", path, "-o", svg],
                                   stdout=e, stderr=e,
                                   stdin=subprocess.DEVNULL, env=clean_env()))
        try:
            rc = p.wait(timeout=DOT_TIMEOUT)
        except subprocess.TimeoutExpired:
            kill(p)
            return "dot -Tsvg %s timed out after %.0f s" % (
                os.path.basename(path), DOT_TIMEOUT)
        untrack(p)
    if rc != 0:
        return "dot -Tsvg %s exited %d: %s" % (
            os.path.basename(path), rc, tail(err, 20))
    if not os.path.exists(svg) or os.path.getsize(svg) == 0:
        return "dot -Tsvg %s wrote no svg" % os.path.basename(path)
    return None


# ---------------------------------------------------------------- parity

_STATS = re.compile(r'\n  "stats": \{[^{}]*\}')
_AW_MESSAGE = re.compile(r"^(?:error: )?(awaitwhat: .*?)\s*$")


def strip_stats(text):
    """The JSON text without its top-level "stats" member (the pretty form
    the tool writes: two-space indent, flat stats object), or None."""
    stripped, n = _STATS.subn("", text)
    return stripped if n == 1 else None


def _first_line_diff(a, b):
    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else "(end of file)"
        y = lb[i] if i < len(lb) else "(end of file)"
        if x != y:
            return "first difference at line %d:\n      %r\n      %r" % (
                i + 1, x[:300], y[:300])
    return "(differ only in line endings)"


def aw_messages(work, tag):
    """The awaitwhat error messages a debugger run printed (gdb prints
    `awaitwhat: ...`, lldb `error: awaitwhat: ...`), without the "wrote N
    bytes" notes."""
    msgs = set()
    for ext in (".out", ".err"):
        for line in (_read(os.path.join(work, tag + ext)) or "").splitlines():
            m = _AW_MESSAGE.match(line)
            if m and not re.match(r"^awaitwhat: wrote \d+ bytes to ",
                                  m.group(1)):
                msgs.add(m.group(1))
    return msgs


def compare_parity(work, sources):
    """sources: [(label, file prefix, run tag)] of core runs on one core.
    Returns error strings: every pair must have written the same files with
    the same bytes (JSON without "stats") and, where no file was written,
    the same awaitwhat messages."""
    errs = []
    (rlabel, rprefix, rtag), others = sources[0], sources[1:]
    for ext in ("json", "dot", "txt"):
        ref = _read(os.path.join(work, rprefix + "." + ext))
        for label, prefix, tag in others:
            got = _read(os.path.join(work, prefix + "." + ext))
            if ref is None and got is None:
                continue
            if ref is None or got is None:
                has, lacks = ((rlabel, label) if ref is not None
                              else (label, rlabel))
                errs.append("%s wrote its .%s, %s did not" % (has, ext, lacks))
                continue
            a, b = ref, got
            if ext == "json":
                a, b = strip_stats(ref), strip_stats(got)
                if a is None or b is None:
                    errs.append("%s JSON: no single top-level \"stats\" "
                                "member to drop" % (
                                    rlabel if a is None else label))
                    continue
            if a != b:
                errs.append("%s.%s (%s) and %s.%s (%s) differ%s; %s" % (
                    rprefix, ext, rlabel, prefix, ext, label,
                    " (outside \"stats\")" if ext == "json" else "",
                    _first_line_diff(a, b)))
    for label, prefix, tag in others:
        if all(_read(os.path.join(work, p + "." + e)) is None
               for p in (rprefix, prefix) for e in ("json", "dot", "txt")):
            ma, mb = aw_messages(work, rtag), aw_messages(work, tag)
            if ma != mb:
                errs.append("no output files; awaitwhat messages differ: "
                            "%s %s, %s %s" % (rlabel, sorted(ma), label,
                                              sorted(mb)))
    return errs


# -------------------------------------------------------------------- ps


def _adjacency(dump, inferred):
    adj = {}
    for e in dump.get("edges") or []:
        if e.get("inferred") and not inferred:
            continue
        adj.setdefault(_addr(e.get("from")), []).append(_addr(e.get("to")))
    return adj


def _path(adj, frm, to, limit=200000):
    """A path frm -> ... -> to (list of addresses) or None."""
    prev = {frm: None}
    todo = [frm]
    while todo and len(prev) < limit:
        nxt = []
        for n in todo:
            if n == to:
                path = []
                while n is not None:
                    path.append(n)
                    n = prev[n]
                return path[::-1]
            for m in adj.get(n, ()):
                if m not in prev:
                    prev[m] = n
                    nxt.append(m)
        todo = nxt
    return None


def compare_ps(ps, dump, text_phrase):
    """CPython's get_all_awaited_by() view (ps.py's JSON) against a dump.
    Returns (errors, infos)."""
    errs, infos = [], []
    pst = {}
    for th in ps.get("threads", []):
        for t in th.get("tasks", []):
            pst[t["id"]] = dict(t, thread_id=th.get("thread_id"))
    if text_phrase:
        if pst:
            errs.append("ps lists %d tasks where awaitwhat says %r" % (
                len(pst), text_phrase))
        else:
            infos.append("ps lists no tasks")
        return errs, infos
    ours = {_addr(t.get("address")): t for t in dump.get("tasks") or []}
    objs = {_addr(o.get("id")): o for o in dump.get("objects") or []}
    strict = _adjacency(dump, inferred=False)
    loose = None

    def who(a):
        t = ours.get(a)
        return "%#x (%s)" % (a, t.get("name") if t else
                             (objs.get(a) or {}).get("label", "?"))

    nrel = 0
    for tid, t in sorted(pst.items()):
        mine = ours.get(tid)
        if mine is None:
            o = objs.get(tid)
            errs.append("ps lists task %#x %r, not in awaitwhat's tasks[]%s"
                        % (tid, t["name"], "" if o is None else
                           " (objects[] has it: %s, state %s)" % (
                               o.get("label"), o.get("state"))))
            continue
        if mine.get("name") != t["name"]:
            errs.append("task %#x: ps names it %r, awaitwhat %r" % (
                tid, t["name"], mine.get("name")))
        for aw in t.get("awaited_by", []):
            nrel += 1
            if not isinstance(aw, int):
                errs.append("ps: task %s awaited by %r (not a task id)" % (
                    who(tid), aw))
                continue
            if _path(strict, aw, tid) is not None:
                continue
            if loose is None:
                loose = _adjacency(dump, inferred=True)
            via = _path(loose, aw, tid)
            errs.append("ps: task %s is awaited by %s, but awaitwhat's edges "
                        "have no path %#x -> %#x%s" % (
                            who(tid), who(aw), aw, tid,
                            "" if via is None else
                            " (only through inferred edges: %s)" % " -> ".join(
                                "%#x" % n for n in via)))
    omitted = sorted(set(ours) - set(pst))
    if omitted:
        infos.append("awaitwhat shows %d pending task(s) ps omits: %s" % (
            len(omitted), ", ".join(who(a) for a in omitted[:8]) + (
                " ..." if len(omitted) > 8 else "")))
    # Task -> task waits awaitwhat shows (through non-task objects, real
    # edges only) that ps does not report.
    if len(ours) <= 2000:
        extra = []
        for a in sorted(ours):
            seen, todo = {a}, [a]
            while todo:
                n = todo.pop()
                for m in strict.get(n, ()):
                    if m in seen:
                        continue
                    seen.add(m)
                    if m in ours:
                        if m in pst and a not in pst[m].get("awaited_by", []):
                            extra.append((a, m))
                    else:
                        todo.append(m)
        if extra:
            infos.append("awaitwhat shows %d task->task wait(s) ps does not "
                         "report: %s" % (len(extra), "; ".join(
                             "%s waits for %s" % (who(x), who(y))
                             for x, y in extra[:6]) + (
                                 " ..." if len(extra) > 6 else "")))
    infos.append("ps: %d tasks, %d awaited-by relations" % (len(pst), nrel))
    return errs, infos
