"""What each scenario expects, declared next to it: the EXPECT_* literals at the top of
tests/scenarios/NAME.py (read with `ast`, never imported: a scenario is a program for the
interpreter under test). A dict keyed by version tuples means "from this version on"."""

import ast
import os

# This file is tests/e2e/harness/expect.py.
SCENARIOS_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "..", "..", "scenarios"))
# What a running task "awaits" in a task shape.
RUNNING = "<running>"

_cache = {}


def literals(scenario):
    """Every top-level NAME = literal of the scenario file whose name is upper case."""
    if scenario not in _cache:
        path = os.path.join(SCENARIOS_DIR, scenario + ".py")
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        found = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper():
                try:
                    found[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    pass  # computed at run time (a path, an environment knob): not an expectation
        _cache[scenario] = found
    return _cache[scenario]


def at(value, v):
    """`value` for version `v`: the entry of the latest version not after `v` when it is
    keyed by versions, else `value` itself."""
    if isinstance(value, dict) and value and all(isinstance(k, tuple) for k in value):
        keys = [k for k in value if k <= v]
        return value[max(keys)] if keys else None
    return value


def get(scenario, name, v, default=None):
    value = at(literals(scenario).get(name, default), v)
    return default if value is None else value


def min_version(scenario):
    """MIN_VERSION = (3, N) of the scenario, or None."""
    mv = literals(scenario).get("MIN_VERSION")
    return tuple(mv) if mv is not None else None


def shape(name, functions, awaiting, task_type="Task"):
    return (name, tuple(functions), awaiting, task_type)


def shapes(scenario, v, oracle):
    """Expected multiset of task shapes (name, frame functions, awaiting type, task type)
    for the scenario on version v, or None when it declares none. An entry counted "rest"
    stands for every task the others leave."""
    declared = get(scenario, "EXPECT_SHAPES", v)
    if declared is None:
        return None
    out, rest = [], None
    for entry in declared:
        entry = list(entry)
        count = entry.pop(4) if len(entry) > 4 else 1
        if count == "rest":
            rest = shape(*entry)
        else:
            out.extend([shape(*entry)] * count)
    if rest is not None:
        out.extend([rest] * max(len(oracle.get("tasks", [])) - len(out), 0))
    return out


def graph(scenario, v, oracle):
    """What the oracle's "graph" section must hold (so that no graph check passes
    vacuously): (entries per section with links per kind, the registered primitives'
    (type, holders, wakers), how many tasks wait on the first primitive or None), or None
    when the scenario declares nothing."""
    counts = get(scenario, "EXPECT_GRAPH", v)
    if counts is None:
        return None
    primitives = [(t, list(h), None if w is None else list(w))
                  for t, h, w in get(scenario, "EXPECT_PRIMITIVES", v, [])]
    waiting = len(oracle.get("tasks", [])) if get(scenario, "EXPECT_ALL_WAIT_ON_FIRST", v) else None
    return counts, primitives, waiting


def thread_errors(scenario, v, threads):
    """Errors about the oracle's threads (besides the main one) against EXPECT_THREADS
    (none expected when it is absent); threads named with IGNORE_THREADS are not checked."""
    ignore = get(scenario, "IGNORE_THREADS", v)
    threads = [t for t in threads if not (ignore and ignore in (t.get("name") or ""))]
    want = [(n, list(fns)) for n, fns in get(scenario, "EXPECT_THREADS", v, [])]

    def fits(thread, expected):
        name, fns = expected
        got = [f.get("function") for f in thread.get("frames") or []]
        inner = got[len(got) - len(fns):] if len(got) >= len(fns) else None
        return (name is None or thread.get("name") == name) and inner is not None and all(
            g in (f if isinstance(f, list) else [f]) for g, f in zip(inner, fns))

    errs, left = [], list(want)
    for t in threads:
        match = next((w for w in left if fits(t, w)), None)
        if match is None:
            errs.append("unexpected thread %r, innermost functions %s" % (
                t.get("name"), [f.get("function") for f in (t.get("frames") or [])][-4:]))
            continue
        left.remove(match)
        if not isinstance(t.get("native_id"), int) and v >= (3, 8):  # threading's from 3.8
            errs.append("thread without native_id: %r" % t.get("name"))
    for name, fns in left:
        errs.append("no thread %s with innermost functions %s" % (
            "named %r" % name if name else "", fns))
    return errs
