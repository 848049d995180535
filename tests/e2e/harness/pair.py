"""One (interpreter, scenario) pair: start the scenario, take its oracle, run every mode
and variant on it, and compare what each said."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from harness import expect
from harness.env import (
    CHROOT, PS_TIMEOUT, PYDEPS_DIR, REPO, SCENARIOS_DIR, SID_PATH, SID_ROOT, Scenario,
    _proc_state, _shquote, clean_env, min_version, run_cmd, tool_output, version_tuple,
)
from harness.compare import compare_parity, compare_ps
from harness.sanity import oracle_sanity
from harness.drivers import Cell, Interp, MODE_NEEDS, SidTree, check_stacks, sfx, start_dot_check


# ------------------------------------------------------------ pair runner


class Pair:
    """All cells of one (interpreter, scenario)."""

    def __init__(self, interp, scenario, opts):
        self.interp = interp
        self.scenario = scenario
        self.opts = opts
        self.modes = interp.modes(opts.modes)
        self.variants = interp.variants(opts.variants)
        if opts.oracle_only:
            self.cells = [Cell(interp.name, scenario, "oracle")]
        else:
            self.cells = []
            for m in self.modes:
                for v in ([None] if m == "ps" else self.variants):
                    self.cells.append(Cell(interp.name, scenario, m, v))
        self.dot_threads = []
        self.session_tags = {}  # mode -> [run tags]
        self.session_of = {}  # (mode, variant) -> (run tag, rc, seconds)
        self.t0 = time.time()
        self.text_phrase = expect.literals(scenario).get("EXPECT_TEXT")

    def cell(self, mode, variant=None):
        for c in self.cells:
            if c.mode == mode and c.variant == variant:
                return c
        return None

    def mode_cells(self, mode):
        return [c for c in self.cells if c.mode == mode]

    def done(self):
        for t in self.dot_threads:
            t.join()
        for c in self.cells:
            if not c.seconds:
                c.seconds = time.time() - self.t0
            c.finish()
        return self.cells

    def fail_all(self, msg, cells=None):
        for c in (self.cells if cells is None else cells):
            c.fail(msg)

    # ----------------------------------------------------------- running

    def run(self):
        mv = min_version(self.scenario)
        if mv is not None and version_tuple(self.interp.version) < mv:
            for c in self.cells:
                c.status = "n/a"
                c.info.append("needs %s" % ".".join(map(str, mv)))
            return self.cells
        problems = self.interp.problems()
        if problems:
            for p in problems:
                self.fail_all(p)
            return self.done()
        self.tools = {}
        if not self.opts.oracle_only:
            tools = self.interp.tools()
            for c in self.cells:
                for role in MODE_NEEDS[c.mode]:
                    tool, problem = tools[role]
                    if problem:
                        c.fail(problem)
            self.tools = {r: t for r, (t, p) in tools.items() if t}
        if self.opts.keep:
            os.makedirs(self.opts.keep, exist_ok=True)
        prefix = "%s-%s-" % (self.interp.name, self.scenario)
        if self.interp.kind == "sid":
            host, inside = SidTree.get()
            self.work = tempfile.mkdtemp(prefix=prefix, dir=host)
            os.chmod(self.work, 0o755)
            self.twork = inside + "/" + os.path.basename(self.work)
        else:
            self.work = tempfile.mkdtemp(prefix=prefix,
                                         dir=self.opts.keep or None)
            self.twork = self.work
        sc = None
        try:
            sc = self.start_scenario()
            self.sc = sc
            self.run_cells(sc)
            return self.done()
        except Exception as e:  # a harness bug must not look like a pass
            import traceback
            self.fail_all("harness error: %s: %s\n%s" % (
                type(e).__name__, e, traceback.format_exc()))
            return self.done()
        finally:
            for t in self.dot_threads:
                t.join()
            if sc is not None:
                sc.close()
            if self.opts.keep:
                for c in self.cells:
                    c.info.append("work dir: %s" % self.work)
            else:
                shutil.rmtree(self.work, ignore_errors=True)

    def start_scenario(self):
        name = self.scenario
        if self.interp.kind == "sid":
            _, inside = SidTree.get()
            argv = [CHROOT, SID_ROOT, self.interp.python,
                    "%s/scenarios/%s.py" % (inside, name),
                    self.twork + "/oracle.json"]
            env = clean_env({"PYTHONDONTWRITEBYTECODE": "1",
                             "PATH": SID_PATH,
                             "PYTHONPATH": "%s/pydeps/%s" % (
                                 inside, self.interp.version)})
        else:
            argv = [self.interp.python,
                    os.path.join(SCENARIOS_DIR, name + ".py"),
                    os.path.join(self.work, "oracle.json")]
            env = clean_env({"PYTHONDONTWRITEBYTECODE": "1",
                             "PYTHONPATH": os.path.join(
                                 PYDEPS_DIR, self.interp.version)})
        return Scenario(argv, name, self.work, env)

    def run_cells(self, sc):
        opts = self.opts
        oracle, err = sc.wait_oracle()
        if err:
            self.fail_all(err)
            return
        sanity = oracle_sanity(self.scenario, self.interp.version, oracle,
                               sc.pid)
        if sanity:
            for e in sanity:
                self.fail_all("oracle: " + e)
            if not opts.oracle_only:
                return
        if opts.oracle_only:
            c = self.cells[0]
            c.info.append("%d tasks, %d threads" % (
                len(oracle["tasks"]), len(oracle.get("threads", []))))
            e = sc.check_intact()
            if e:
                c.fail(e)
            c.seconds = time.time() - self.t0
            return
        self.oracle = oracle
        modes = set(self.modes)
        gdb, lldb = self.tools.get("gdb"), self.tools.get("lldb")
        core_modes = {"gdb-core", "lldb-core", "host-gdb-core",
                      "host-lldb-core", "cli-core", "parity"}
        want_core = bool(modes & core_modes)
        touched = []  # live cells that had the process under a debugger

        # gdb live (and the core for the core cells)
        if gdb is not None and (modes & ({"gdb-live", "ps"} | core_modes)):
            dump = bool(modes & {"gdb-live", "ps"})
            self.live_session("gdb-live", gdb, sc, dump, want_core)
            touched += self.mode_cells("gdb-live")
        # lldb live
        if lldb is not None and "lldb-live" in modes:
            self.live_session("lldb-live", lldb, sc, True, False)
            touched += self.mode_cells("lldb-live")
        # the awaitwhat binary on the live process (it stops it while reading)
        cli = self.tools.get("cli")
        if cli is not None and "cli-live" in modes:
            self.cli_session("cli-live", cli, ["--pid", str(sc.pid)])
            state = self._after_detach(sc.pid)
            for c in self.mode_cells("cli-live"):
                if state:
                    c.fail("after awaitwhat --pid: " + state)
            touched += self.mode_cells("cli-live")
        # CPython's own view
        if "ps" in modes and self.cell("ps").errors == []:
            self.run_ps(sc)
            touched += self.mode_cells("ps")
        e = sc.check_intact()
        if e:
            for c in touched or self.cells[:1]:
                c.fail("target after detach: " + e)

        # cores
        if want_core and not os.path.exists(os.path.join(self.work, "core")):
            msg = "no core file (gcore failed)"
            if "gdb-live" in self.session_tags:
                msg += "\n" + tool_output(self.work, self.session_tags[
                    "gdb-live"][0], gdb.label)
            for m in core_modes:
                self.fail_all(msg, self.mode_cells(m))
            return
        python_t = self.interp.python  # as the chroot's debuggers see it
        core_t = self.twork + "/core"
        if gdb is not None and modes & {"gdb-core", "parity"}:
            self.core_session("gdb-core", gdb, python_t, core_t, self.twork)
        if lldb is not None and modes & {"lldb-core", "parity"}:
            self.core_session("lldb-core", lldb, python_t, core_t, self.twork)
        for mode, role in (("host-gdb-core", "host-gdb"),
                           ("host-lldb-core", "host-lldb")):
            tool = self.tools.get(role)
            if tool is not None and mode in modes:
                self.core_session(mode, tool, SID_ROOT + self.interp.python,
                                  os.path.join(self.work, "core"), self.work)
        if cli is not None and "cli-core" in modes:
            self.cli_session("cli-core", cli,
                             ["--core", os.path.join(self.work, "core")])
        for c in self.mode_cells("parity"):
            if c.errors:
                continue  # a missing debugger
            t = time.time()
            self.parity(c)
            c.seconds = time.time() - t

    def _plan(self, mode):
        """[(tag, [variants])]: one run for all variants, or one per variant
        for a text-phrase scenario (lldb stops at the first error, and each
        variant's messages must be told apart)."""
        vs = self.variants
        if self.text_phrase and len(vs) > 1:
            return [("%s%s" % (mode, sfx(v)), [v]) for v in vs]
        return [(mode, vs)]

    def _note(self, mode, tag, variants, rc, secs):
        self.session_tags.setdefault(mode, []).append(tag)
        for v in variants:
            self.session_of[(mode, v)] = (tag, rc, secs)

    def live_session(self, mode, tool, sc, dump, want_core):
        first = True
        for tag, variants in self._plan(mode):
            cmds = []
            if dump:
                for v in variants:
                    nd = v == "no-dwarf"
                    p = self.twork + "/" + mode + sfx(v)
                    if self.text_phrase:
                        cmds.append(tool.stacks(p + ".txt", no_dwarf=nd))
                    else:
                        cmds.append(tool.stacks(p + ".json", json_=True,
                                                no_dwarf=nd))
                    cmds.append(tool.graph(p + ".dot", no_dwarf=nd))
            if want_core and first:
                cmds.append("gcore " + self.twork + "/core")
            cmds.append(tool.detach())
            first = False
            rc, secs = run_cmd(tool.live(sc.pid, cmds), self.work, tag,
                               self.opts.timeout, tool.env)
            self._note(mode, tag, variants, rc, secs)
            state = self._after_detach(sc.pid)
            for v in variants:
                c = self.cell(mode, v)
                if state and c is not None:
                    c.fail("after %s detached: %s" % (tool.label, state))
            if dump:
                self._check_outputs(mode, variants, tag, tool, rc, secs)

    def cli_session(self, mode, tool, source):
        """cli-live / cli-core: `awaitwhat stacks --json` (live, text-phrase
        scenario: the text form), `graph` and (for a core) `stacks` on SOURCE (--pid PID or --core FILE) for each variant;
        stdout goes to the output file when the command succeeds, every
        command and its stderr to WORK/tag.cmd and .err."""
        outputs = [("stacks", ["--json"], "json"), ("graph", [], "dot")]
        if mode == "cli-core":
            outputs.append(("stacks", [], "txt"))
        elif self.text_phrase:  # like the live debugger runs: the text form
            outputs[0] = ("stacks", [], "txt")
        for tag, variants in self._plan(mode):
            t0, rc = time.time(), 0
            with open(os.path.join(self.work, tag + ".cmd"), "w") as cmd, \
                    open(os.path.join(self.work, tag + ".err"), "w") as err, \
                    open(os.path.join(self.work, tag + ".out"), "w"):
                for v in variants:
                    for verb, flags, ext in outputs:
                        argv = tool.argv + [verb] + source + flags
                        if v == "no-dwarf":
                            argv.append("--no-dwarf")
                        # A live process's files are found through its own root.
                        if tool.sysroot and mode != "cli-live":
                            argv += ["--sysroot", tool.sysroot]
                        cmd.write(" ".join(_shquote(a) for a in argv) + "\n")
                        try:
                            p = subprocess.run(argv, capture_output=True,
                                               text=True, cwd=REPO,
                                               env=clean_env(),
                                               timeout=self.opts.timeout)
                        except subprocess.TimeoutExpired:
                            rc = None
                            break
                        err.write(p.stderr)
                        if p.returncode == 0:
                            path = os.path.join(self.work,
                                                mode + sfx(v) + "." + ext)
                            with open(path, "w") as f:
                                f.write(p.stdout)
                        elif rc is not None:
                            rc = rc or p.returncode
            secs = time.time() - t0
            self._note(mode, tag, variants, rc, secs)
            self._check_outputs(mode, variants, tag, tool, rc, secs)

    def _check_outputs(self, mode, variants, tag, tool, rc, secs):
        """Compare each variant's JSON/text with the oracle and render its
        DOT (in the background), for the cells still without errors."""
        for v in variants:
            c = self.cell(mode, v)
            if c is None or c.errors:
                continue
            c.seconds = secs
            check_stacks(c, self.oracle, self.work, mode + sfx(v),
                         self.text_phrase, rc, tag, tool.label,
                         self.interp.expected_layout(v))
            if mode == "cli-live" and not self.text_phrase and rc is not None:
                self._check_sources(c, mode + sfx(v))
            if rc is not None:
                self.dot_threads.append(start_dot_check(
                    c, self.work, mode + sfx(v), self.text_phrase, tag,
                    tool.label))

    def _check_sources(self, c, prefix):
        """A live read shows the source line of every frame in the scenario's own file,
        read through the process's own root (no --sysroot, even in the sid chroot)."""
        dump = _load_json(os.path.join(self.work, prefix + ".json"))
        if dump is None:
            return
        mine = [f for t in dump.get("tasks", []) for f in t.get("frames", [])
                if f.get("file", "").endswith("/" + self.scenario + ".py")]
        if not mine:
            c.fail("%s: no frame in %s.py to show a source line of" % (prefix, self.scenario))
        missing = [f for f in mine if not f.get("source")]
        if missing:
            c.fail("%s: %d of %d frames of %s.py without a source line, e.g. %s:%s" % (
                prefix, len(missing), len(mine), self.scenario, missing[0].get("file"),
                missing[0].get("line")))

    def _after_detach(self, pid):
        """None, or why the scenario looks still stopped/traced."""
        for _ in range(20):
            state = _proc_state(pid)
            m = re.search(r"State:\s*(\S)", state)
            t = re.search(r"TracerPid:\s*(\d+)", state)
            if state == "gone":
                return "the scenario is gone"
            if m and m.group(1) not in "tT" and t and t.group(1) == "0":
                return None
            time.sleep(0.1)
        return "the scenario is still stopped or traced (%s)" % state

    def core_session(self, mode, tool, python, core, out_dir):
        """gdb-core / lldb-core / host-gdb-core: JSON, DOT and text of each
        variant; out_dir is WORK as that debugger sees it."""
        for tag, variants in self._plan(mode):
            cmds = []
            for v in variants:
                nd = v == "no-dwarf"
                p = out_dir + "/" + mode + sfx(v)
                js = tool.stacks(p + ".json", json_=True, no_dwarf=nd)
                tx = tool.stacks(p + ".txt", no_dwarf=nd)
                gr = tool.graph(p + ".dot", no_dwarf=nd)
                cmds += [tx, js, gr] if self.text_phrase else [js, gr, tx]
            rc, secs = run_cmd(tool.core(python, core, cmds), self.work, tag,
                               self.opts.timeout, tool.env)
            self._note(mode, tag, variants, rc, secs)
            self._check_outputs(mode, variants, tag, tool, rc, secs)

    def parity(self, cell):
        v = cell.variant
        sources = []
        for mode in ("gdb-core", "lldb-core", "host-gdb-core", "host-lldb-core",
                     "cli-core"):
            s = self.session_of.get((mode, v))
            if s is None:
                continue
            tag, rc, _ = s
            if rc is None:
                cell.fail("%s timed out" % mode)
                return
            sources.append((mode, mode + sfx(v), tag))
        if len(sources) < 2:
            cell.fail("parity needs the gdb-core and lldb-core runs; ran: %s"
                      % [s[0] for s in sources])
            return
        for e in compare_parity(self.work, sources):
            cell.fail(e)
        cell.info.append("compared %s" % ", ".join(s[0] for s in sources))

    def run_ps(self, sc):
        cell = self.cell("ps")
        _, inside = SidTree.get()
        argv = [CHROOT, SID_ROOT, self.interp.python, inside + "/ps.py",
                str(sc.pid), self.twork + "/ps.json"]
        rc, secs = run_cmd(argv, self.work, "ps", PS_TIMEOUT,
                           clean_env({"PATH": SID_PATH}))
        cell.seconds = secs
        if rc is None:
            cell.fail("ps script timed out\n" + tool_output(self.work, "ps"))
            return
        try:
            with open(os.path.join(self.work, "ps.json")) as f:
                ps = json.load(f)
        except (OSError, ValueError) as e:
            cell.fail("ps script (rc %s) wrote no result: %s\n%s" % (
                rc, e, tool_output(self.work, "ps")))
            return
        if not ps.get("ok"):
            cell.info.append("ps could not show it: %s" % ps.get("error"))
            return
        dump = None
        if not self.text_phrase:
            for v in self.variants:
                dump = _load_json(os.path.join(self.work, "gdb-live%s.json"
                                               % sfx(v)))
                if dump is not None:
                    break
            if dump is None:
                cell.fail("no gdb-live JSON to compare ps with")
                return
        errs, infos = compare_ps(ps, dump or {}, self.text_phrase)
        for e in errs:
            cell.fail(e)
        cell.info.extend(infos)


def _load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run_pair(interp_name, scenario, opts):
    """All cells of one (interpreter, scenario).  Returns a list of Cells."""
    return Pair(Interp(interp_name), scenario, opts).run()
