"""Is the oracle what the scenario meant? Its tasks, threads, loops and graph section
against the expectations the scenario declares (expect.py), so no check passes vacuously."""

import json
import re

from harness import expect
from harness.env import version_tuple


# ------------------------------------------------- oracle sanity (shapes)


# The "awaiting" of a shape for a task the oracle marks running_on_thread.
RUNNING = expect.RUNNING


def _task_shape(t):
    if t.get("running_on_thread") is not None:
        awaiting = RUNNING
    else:
        awaiting = (t.get("awaiting") or {}).get("type")
    return expect.shape(t["name"], [f["function"] for f in t["frames"]], awaiting,
                        t["type"])


def graph_sanity(scenario, v, oracle):
    """Errors about the oracle's "graph" section."""
    g = oracle.get("graph")
    if g is None:
        return [] if scenario == "no_asyncio" else ["oracle has no graph"]
    errs = []
    cycle = g.get("expect_cycle")
    if bool(cycle) != scenario.startswith(("deadlock_", "wake_")):
        errs.append("expect_cycle %r in scenario %s" % (cycle, scenario))
    # deadlock_*: deadlocked for real (proven, or not provable: "likely");
    # wake_*: a cycle that something outside breaks (it recovers by itself).
    grade = g.get("expect_grade")
    if cycle and grade not in (("deadlock", "likely deadlock")
                               if scenario.startswith("deadlock_")
                               else ("not a deadlock",)):
        errs.append("expect_grade %r in scenario %s" % (grade, scenario))
    names = {t["address"]: t["name"] for t in oracle["tasks"]}
    for r in g.get("resources", []):
        f, n = r["facts"], len(r["waiting"])
        queued = {"queue": None, "barrier": f.get("waiting")}.get(
            r["kind"], f.get("waiters"))
        if r["kind"] == "queue":
            # join() waiters wait on the queue's inner Event, not its deques.
            n = sum(1 for w in r["waiting"] if w["edge"] != "join")
            if f["getters"] + f["putters"] != n:
                errs.append("%s %s: %d waiting tasks, facts %s" % (
                    r["type"], r["address"], n, f))
        elif queued != n:
            errs.append("%s %s: %d waiting tasks, facts %s" % (
                r["type"], r["address"], n, f))
    cg = g.get("call_graph")
    if (cg is None) != (v < (3, 14)):
        errs.append("call_graph is %s on %s" % (
            "missing" if cg is None else "present", ".".join(map(str, v))))
    frames = {t["address"]: [f["function"] for f in t["frames"]]
              for t in oracle["tasks"]}
    for c in cg or []:
        if "refused" in c:
            continue
        # CPython's walk stops at awaitables that are not coroutines (an
        # __await__ generator, an async generator's asend): a prefix.
        mine = frames.get(c["task"], [])
        if not c["functions"] or mine[:len(c["functions"])] != c["functions"]:
            errs.append("capture_call_graph(%s) stack %s is no prefix of "
                        "the oracle's chain %s" % (c["task"], c["functions"],
                                                   mine))
    exp = expect.graph(scenario, v, oracle)
    if exp is None:
        return errs
    counts, holders, waiting = exp
    for sec in ("waits", "resources", "gathers", "taskgroups", "timers",
                "executors", "io", "wait_sets", "threadsafe"):
        if len(g.get(sec, [])) != counts.get(sec, 0):
            errs.append("graph.%s has %d entries, expected %d: %s" % (
                sec, len(g.get(sec, [])), counts.get(sec, 0),
                json.dumps(g.get(sec))[:600]))
    links = {}
    for lk in g.get("links", []):
        links[lk["kind"]] = links.get(lk["kind"], 0) + 1
    if links != counts.get("links", {}):
        errs.append("graph.links by kind %s, expected %s" % (
            links, counts.get("links", {})))
    got = [(r["type"],
            sorted(names.get(h) or h for h in (r["holders"] or [])),
            None if r["wakers"] is None else
            # a waker that is no task (a thread, a timer) is counted as "other"
            sorted(names.get(w) or "other" for w in r["wakers"]))
           for r in g.get("resources", [])]
    want = [(t, sorted(h), w) for t, h, w in holders]
    if got != want:
        errs.append("graph resources (type, holders, wakers) %s, expected %s"
                    % (got, want))
    if waiting is not None and g.get("resources") and \
            len(g["resources"][0]["waiting"]) != waiting:
        errs.append("graph: %d tasks wait on the Event, expected %d" % (
            len(g["resources"][0]["waiting"]), waiting))
    return errs


def oracle_sanity(scenario, version, oracle, pid):
    """Returns a list of error strings about the oracle itself."""
    errs = []
    v = version_tuple(version)
    if oracle.get("warning"):
        errs.append("oracle warning: %s" % oracle["warning"])
    py = str(oracle.get("python", ""))
    if version_tuple(".".join(py.split(".")[:2]) or "0") != v:
        errs.append("oracle python %r is not %s" % (py, version))
    if oracle.get("pid") != pid:
        errs.append("oracle pid %r != process pid %d" % (oracle.get("pid"), pid))
    if oracle.get("scenario") != scenario:
        errs.append("oracle scenario %r != %r" % (oracle.get("scenario"),
                                                   scenario))
    tasks = oracle.get("tasks")
    if not isinstance(tasks, list):
        return errs + ["oracle has no task list"]
    for t in tasks:
        if not re.match(r"^0x[0-9a-f]+$", t.get("address", "")):
            errs.append("bad task address %r" % t.get("address"))
        if t.get("state") != "pending":
            errs.append("task %s state %r" % (t.get("address"), t.get("state")))
        if not t.get("frames"):
            errs.append("task %s has no frames" % t.get("address"))
        if "running_on_thread" in t:
            # Running right now (running_task): awaits nothing, runs on a
            # thread given by its threading.get_ident().
            if not isinstance(t["running_on_thread"], int) or isinstance(
                    t["running_on_thread"], bool) or t["running_on_thread"] <= 0:
                errs.append("task %s bad running_on_thread %r" % (
                    t.get("address"), t["running_on_thread"]))
            if t.get("awaiting") is not None:
                errs.append("running task %s awaits %r" % (
                    t.get("address"), t.get("awaiting")))
        elif not t.get("awaiting"):
            errs.append("task %s awaits nothing" % t.get("address"))
        for f in t.get("frames", []):
            if not (f.get("function") and f.get("file")
                    and isinstance(f.get("line"), int) and f["line"] > 0):
                errs.append("task %s bad frame %r" % (t.get("address"), f))
                break
    exp = expect.shapes(scenario, v, oracle)
    if exp is not None:
        got = sorted((_task_shape(t) for t in tasks), key=repr)
        exp = sorted(exp, key=repr)
        if got != exp:
            missing = [s for s in exp if s not in got]
            extra = [s for s in got if s not in exp]
            errs.append("task shapes differ (name, functions, awaiting, "
                        "type):\n      expected but absent: %s\n"
                        "      present but unexpected: %s" % (
                            _shapes_fmt(missing), _shapes_fmt(extra)))
    least = expect.get(scenario, "EXPECT_MIN_TASKS", v)
    if least is not None and len(tasks) < least:
        errs.append("%s has only %d tasks, expected at least %d" % (scenario, len(tasks), least))
    errs.extend(expect.thread_errors(scenario, v, oracle.get("threads", [])))
    if expect.get(scenario, "EXPECT_TEXT", v) == "asyncio is not imported" and \
            oracle.get("no_asyncio") is not True:
        errs.append("%s oracle lacks no_asyncio: true" % scenario)
    loops = oracle.get("loops")
    if loops is not None:
        many = expect.get(scenario, "EXPECT_LOOPS", v)
        want = many if many is not None else min(1, len(tasks))
        if len(loops) != want or any(not isinstance(lp["thread_id"], int)
                                     for lp in loops if many is not None):
            errs.append("loops: expected %d (running), got %s" % (want, loops))
    errs.extend(graph_sanity(scenario, v, oracle))
    return errs


def _shapes_fmt(shapes):
    if not shapes:
        return "[]"
    return "".join("\n        %s %s awaiting %s [%s]" % (
        s[0], " -> ".join(s[1]), s[2], s[3]) for s in shapes[:8]) + (
        "\n        ... %d more" % (len(shapes) - 8) if len(shapes) > 8 else "")
