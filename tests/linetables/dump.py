"""Print, for many real functions of this interpreter, the raw line table and the line
CPython itself gives each instruction (dis.findlinestarts ≤3.9, co_lines() 3.10,
co_positions() 3.11+). Used by tests/linetables.rs; standard library only."""

import dis
import importlib
import json
import sys
import types

MODULES = ["asyncio.base_events", "asyncio.tasks", "asyncio.locks", "asyncio.queues", "json.decoder",
           "email.message", "argparse", "dataclasses", "typing", "inspect", "pathlib", "difflib", "textwrap",
           "tarfile", "subprocess"]


def codes(co):
    yield co
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            yield from codes(c)


def expected(co):
    if sys.version_info >= (3, 11):
        return [p[0] for p in co.co_positions()]  # one per code unit
    if sys.version_info >= (3, 10):
        lines = [None] * len(co.co_code)  # per byte
        for start, end, line in co.co_lines():
            for b in range(start, end):
                lines[b] = line
        return lines[::2]  # per instruction (even byte offsets)
    starts = dict(dis.findlinestarts(co))
    out, line = [], co.co_firstlineno
    for off in range(0, len(co.co_code), 2):
        line = starts.get(off, line)
        out.append(line)
    return out


def table(co):
    return co.co_linetable if sys.version_info >= (3, 10) else co.co_lnotab


out = []
for name in MODULES:
    if name == "dataclasses" and sys.version_info < (3, 7):
        continue  # new in 3.7
    mod = importlib.import_module(name)
    with open(mod.__file__, encoding="utf-8") as f:
        top = compile(f.read(), mod.__file__, "exec")
    for co in codes(top):
        out.append({"name": co.co_name, "first": co.co_firstlineno, "table": table(co).hex(), "lines": expected(co)})
json.dump({"version": list(sys.version_info[:2]), "functions": out}, sys.stdout)
