//! Human-readable await stacks: one block per task, outermost frame first (like a
//! Python traceback), then what the innermost frame waits on.

use super::fold::Entry;
use crate::model::{
    Awaited, CallbackRef, Edge, EdgeKind, Facts, Frame, HeldBy, Id, IdMap, Kind, Label, Object,
    Snapshot, Socket, Task, Thread,
};
use std::fmt::Write;

/// Most related objects named on one line (a gather of 10,000 tasks names a few).
const MAX_NAMED: usize = 8;

/// Objects by id and edges by source, so each task's line is found without scanning.
struct Index<'s> {
    objects: IdMap<&'s Object>,
    /// The edges grouped by source (in their order within a group), and where each
    /// source's group starts and ends: one allocation, not one per node.
    by_source: Vec<&'s Edge>,
    groups: IdMap<(usize, usize)>,
    /// Each thread's name, by `thread_id`.
    thread_names: std::collections::HashMap<u64, Option<&'s str>>,
    /// ANSI styles on ([`Look::colour`]).
    colour: bool,
}

impl<'s> Index<'s> {
    fn new(s: &'s Snapshot, colour: bool) -> Self {
        let mut by_source: Vec<&Edge> = s.edges.iter().collect();
        by_source.sort_by_key(|e| e.from);
        let mut groups: IdMap<(usize, usize)> = IdMap::default();
        for (i, e) in by_source.iter().enumerate() {
            groups.entry(e.from).or_insert((i, i)).1 = i + 1;
        }
        Index {
            objects: s.objects.iter().map(|o| (o.id, o)).collect(),
            by_source,
            groups,
            thread_names: (s.threads.iter())
                .map(|t| (t.thread_id, t.name.as_deref()))
                .collect(),
            colour,
        }
    }

    /// The edges from `id`.
    fn out(&self, id: &Id) -> &[&'s Edge] {
        self.groups
            .get(id)
            .map_or(&[], |&(start, end)| &self.by_source[start..end])
    }
}

/// How the text looks: tasks alike folded into one entry each ([`super::fold`]), and
/// colour (for a terminal: ANSI styles on the lines that matter most).
#[derive(Debug, Clone, Copy, Default)]
pub struct Look {
    pub fold: bool,
    pub colour: bool,
}

/// `text` in `code` (an ANSI SGR code) when colour is on.
fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// ANSI styles of the text.
const BOLD: &str = "1";
const RED: &str = "1;31";
const YELLOW: &str = "33";

pub fn render(s: &Snapshot, look: Look) -> String {
    let mut all = String::new();
    render_in_parts(s, 1, look, &mut |part| all.push_str(part));
    all
}

/// Tasks whose blocks one thread writes at a time, when several write.
const TASKS_PER_PART: usize = 4096;

/// The same text, handed to `emit` in parts as it is made: a 100,000-task answer is
/// written out as it goes instead of being held whole. Up to `threads` threads write the
/// tasks' blocks, a few thousand each in turn; the parts come out in order.
pub fn render_in_parts(s: &Snapshot, threads: usize, look: Look, emit: &mut dyn FnMut(&str)) {
    let mut out = String::new();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let _ = write!(
        out,
        "Python {} ({} layout): {}, {}",
        s.python,
        s.layout,
        plural(s.tasks.len(), "pending task"),
        plural(s.threads.len(), "thread")
    );
    // One loop is the usual case and goes unsaid; several are listed, and each task
    // names its own.
    let many_loops = s.loops.len() > 1;
    if many_loops {
        let _ = write!(out, ", {}", plural(s.loops.len(), "event loop"));
    }
    out.push('\n');
    let index = Index::new(s, look.colour);
    let entries = super::fold::entries(s, &index.objects, look.fold);
    let mut busy = String::new();
    super::summary::busy_loops(&mut busy, s);
    for line in busy.lines() {
        let _ = writeln!(out, "{}", paint(look.colour, RED, line));
    }
    let say = super::cycles::Sentences::new(&s.objects);
    for c in &s.cycles {
        let _ = writeln!(out, "{}", paint(look.colour, RED, &say.line(c)));
    }
    super::summary::summary(&mut out, s, &index.objects, &entries);
    if entries.len() < s.tasks.len() {
        let _ = writeln!(
            out,
            "({} tasks in {} entries: tasks with the same stack and the same kind of wait are shown once, with a count; --all shows each)",
            s.tasks.len(),
            entries.len()
        );
    }
    if many_loops {
        for l in &s.loops {
            let _ = write!(
                out,
                "Event loop {} ({}, {})",
                l.address,
                l.type_name,
                plural(l.tasks, "task")
            );
            match l.thread_id {
                Some(tid) => {
                    let _ = write!(out, " running on thread {tid:#x}");
                    if let Some(n) = s
                        .threads
                        .iter()
                        .find(|t| t.thread_id == tid)
                        .and_then(|t| t.name.as_deref())
                    {
                        let _ = write!(out, " '{n}'");
                    }
                    out.push('\n');
                }
                None => out.push_str(" (its thread is not known)\n"),
            }
        }
    }
    if s.tasks.is_empty() {
        let _ = writeln!(
            out,
            "no asyncio tasks ({})",
            plural(s.threads.len(), "thread")
        );
    }
    let blocks = |entries: &[Entry<'_>]| {
        let mut out = String::new();
        for e in entries {
            out.push('\n');
            entry(&mut out, &index, e, many_loops);
        }
        out
    };
    emit(&out);
    out.clear();
    let parts: Vec<&[Entry<'_>]> = entries.chunks(TASKS_PER_PART).collect();
    for round in parts.chunks(threads.max(1)) {
        let texts: Vec<String> = std::thread::scope(|scope| {
            let helpers: Vec<_> = (round[1..].iter())
                .map(|&part| scope.spawn(move || blocks(part)))
                .collect();
            let mut texts = vec![blocks(round[0])];
            // A helper cannot fail but by a bug: its part is then written here.
            for (h, part) in helpers.into_iter().zip(&round[1..]) {
                texts.push(h.join().unwrap_or_else(|_| blocks(part)));
            }
            texts
        });
        for t in &texts {
            emit(t);
        }
    }
    thread_blocks(&mut out, &index, &s.threads);
    if !s.warnings.is_empty() {
        out.push_str("\nwarnings:\n");
        for w in &s.warnings {
            let _ = writeln!(out, "  - {w}");
        }
    }
    emit(&out);
}

/// Each thread's block: its ids and name, its Python stack, and what it blocks in.
fn thread_blocks(out: &mut String, index: &Index<'_>, threads: &[Thread]) {
    for th in threads {
        let _ = write!(out, "\nThread {:#x}", th.thread_id);
        if let Some(n) = &th.name {
            let _ = write!(out, " '{n}'");
        }
        if let Some(id) = th.native_id {
            let _ = write!(out, " (native id {id})");
        }
        out.push('\n');
        match &th.cut {
            Some(why) => {
                let _ = writeln!(out, "  (older frames could not be read: {why})");
            }
            None if th.frames.is_empty() => out.push_str("  (no Python frames)\n"),
            None => {}
        }
        frames(out, &th.frames);
        blocked_in_result(out, index, Id(th.thread_id));
    }
}

/// The threads' blocks alone (the loops view ends with them).
pub(super) fn threads_text(s: &Snapshot, colour: bool) -> String {
    let mut out = String::new();
    thread_blocks(&mut out, &Index::new(s, colour), &s.threads);
    out
}

/// A callback as `module.qualname of 0x…` (the object a method is bound to).
pub(super) fn callback(c: &CallbackRef) -> String {
    let mut out = match &c.module {
        Some(m) if !m.is_empty() => format!("{m}.{}", c.name),
        _ => c.name.clone(),
    };
    if let Some(r) = c.receiver {
        let _ = write!(out, " of {r}");
    }
    out
}

/// A task, or a group of tasks alike: how many, a few of their names, then the first one's
/// block, and what they wait on said once.
fn entry(out: &mut String, index: &Index<'_>, e: &Entry<'_>, many_loops: bool) {
    let t = e.tasks[0];
    if e.tasks.len() > 1 {
        let names: Vec<String> = (e.tasks.iter().skip(1).take(SAMPLE))
            .map(|t| t.name_and_address())
            .collect();
        let more = e.tasks.len() - 1 - names.len();
        let count = format!("{} tasks with this stack:", e.tasks.len());
        let _ = write!(
            out,
            "{} the first below, then {}",
            paint(index.colour, BOLD, &count),
            names.join(", ")
        );
        if more > 0 {
            let _ = write!(out, " and {more} more");
        }
        out.push('\n');
    }
    task(out, index, t, many_loops);
    if e.tasks.len() > 1
        && let Some(w) = super::fold::shared_wait(&e.tasks)
    {
        let _ = writeln!(out, "  ({w})");
    }
}

/// The task view (`awaitwhat task`): each task read in depth, whole: its block with every
/// frame's locals, then who awaits it, its cancellation, its callbacks, and where it was
/// created (asyncio's debug mode).
pub fn render_detail(s: &Snapshot, colour: bool) -> String {
    let index = Index::new(s, colour);
    let many_loops = s.loops.len() > 1;
    let mut out = String::new();
    // The edges into each node, indexed once: a pattern may name thousands of tasks.
    let mut into: IdMap<Vec<&Edge>> = IdMap::default();
    for e in &s.edges {
        into.entry(e.to).or_default().push(e);
    }
    for t in &s.tasks {
        let Some(d) = &t.detail else { continue };
        if !out.is_empty() {
            out.push('\n');
        }
        task(&mut out, &index, t, many_loops);
        // Edges into the task: what waits on it, and what it holds (a lock's `held-by`).
        let (held, by): (Vec<&Edge>, Vec<&Edge>) =
            (into.get(&t.address).into_iter().flatten()).partition(|e| e.kind == EdgeKind::HeldBy);
        for (what, edges) in [("awaited by", by), ("holds", held)] {
            let said: Vec<String> = (edges.iter())
                .filter_map(|e| index.objects.get(&e.from))
                .map(|o| format!("{} {}", o.label, o.id))
                .collect();
            if !said.is_empty() {
                let _ = writeln!(out, "  {what}: {}", said.join(", "));
            }
        }
        if let Some(m) = &d.cancel_message {
            let _ = writeln!(out, "  cancel message: {}", super::label::value(m));
        }
        if d.callbacks.is_empty() {
            out.push_str("  callbacks: none\n");
        } else {
            out.push_str("  callbacks:\n");
            for c in &d.callbacks {
                let _ = writeln!(out, "    {}", callback(c));
            }
        }
        if d.created.is_empty() {
            out.push_str("  created at: not recorded (asyncio's debug mode records it)\n");
        } else {
            out.push_str("  created at:\n");
            let mut lines = String::new();
            frames(&mut lines, &d.created);
            for line in lines.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    out
}

/// Other tasks of a group named in its first line.
const SAMPLE: usize = 3;

fn task(out: &mut String, index: &Index<'_>, t: &Task, many_loops: bool) {
    let head = match &t.name {
        Some(name) => format!("{} '{name}'", t.type_name),
        None => t.type_name.to_string(),
    };
    let _ = write!(
        out,
        "{} {} [{}",
        paint(index.colour, BOLD, &head),
        t.address,
        t.state
    );
    if let Some(n) = t.cancel_requests.filter(|&n| n > 0) {
        let _ = write!(out, ", {n} cancel request{}", if n == 1 { "" } else { "s" });
    }
    if let Some(n) = t.name_length {
        let _ = write!(out, ", name cut: {n} characters");
    }
    out.push(']');
    if let Some(l) = t.event_loop.filter(|_| many_loops) {
        let _ = write!(out, " on loop {l}");
    }
    out.push('\n');
    if let Some(tid) = t.running_on_thread {
        let _ = writeln!(out, "  running on thread {tid:#x}");
    }
    if t.frames_cut > 0 {
        let n = t.frames_cut;
        let _ = writeln!(
            out,
            "  ({n} outer frame{} not shown)",
            if n == 1 { "" } else { "s" }
        );
    }
    frames(out, &t.frames);
    if let Some(a) = &t.awaiting {
        match a.resource.and_then(|id| index.objects.get(&id)) {
            Some(r) => {
                let _ = writeln!(
                    out,
                    "  {} {} {}{}",
                    paint(index.colour, YELLOW, "awaiting"),
                    r.label,
                    r.id,
                    related(index, r.id)
                );
            }
            None => {
                // A future with a role in asyncio's helpers: say which helper it serves.
                let role = index
                    .objects
                    .get(&a.address)
                    .filter(|o| matches!(o.kind, Kind::Shield | Kind::Wait | Kind::WaitFor))
                    .map_or(String::new(), |o| format!("{} ", o.label));
                let owner = a.owner.as_ref().map_or(String::new(), |o| {
                    let me = &o.object;
                    let mut s = format!(" of <{} object at {}>", me.type_name, me.address);
                    if let Some(c) = &o.socket_of {
                        let _ = write!(s, " in <{} object at {}>", c.type_name, c.address);
                    }
                    if let Some(sock) = &o.socket {
                        s.push_str(&socket(sock));
                    }
                    s
                });
                let mut held = a.thread.map_or(String::new(), |tid| {
                    match index.thread_names.get(&tid).copied().flatten() {
                        Some(name) => format!(", held by thread {tid:#x} '{name}'"),
                        None => format!(", held by thread {tid:#x}"),
                    }
                });
                if let Some(h) = &a.held_by {
                    let _ = write!(held, ", held by {}", held_by(h));
                }
                let _ = writeln!(
                    out,
                    "  {} {role}{}{owner}{held}{}",
                    paint(index.colour, YELLOW, "awaiting"),
                    awaited(a),
                    related(index, a.address)
                );
            }
        }
    }
    // The deadlines it is under (asyncio.timeout, wait_for): whether the wait ends by itself.
    for e in (index.out(&t.address).iter()).filter(|e| e.kind == EdgeKind::Timeout) {
        if let Some(o) = index.objects.get(&e.to) {
            let _ = writeln!(out, "  under {} {}", o.label, o.id);
        }
    }
    blocked_in_result(out, index, t.address);
    if let Some(e) = &t.error {
        let _ = writeln!(out, "  (incomplete: {e})");
    }
}

/// A task or thread blocked in `concurrent.futures.Future.result()`: on what, and who
/// would complete it.
fn blocked_in_result(out: &mut String, index: &Index<'_>, id: Id) {
    let edges = index.out(&id);
    for e in edges.iter().filter(|e| e.kind == EdgeKind::Result) {
        if let Some(o) = index.objects.get(&e.to) {
            let _ = writeln!(
                out,
                "  blocked in Future.result() on {} {}{}",
                o.label,
                o.id,
                related(index, o.id)
            );
        }
    }
}

/// What keeps a bare future: `app.PENDING['req-1']`, `<app.Client object at 0x…>.waiters[0]`,
/// or a container nothing names, `<builtins.dict object at 0x…>['req-1']`.
fn held_by(h: &HeldBy) -> String {
    let o = &h.object;
    match &h.module {
        Some(m) => format!("{m}.{}", h.path),
        None if h.path.starts_with(['[', '{']) => {
            format!("<{} object at {}>{}", o.type_name, o.address, h.path)
        }
        None => format!("<{} object at {}>.{}", o.type_name, o.address, h.path),
    }
}

/// A socket under a future's owner, as a socket node is labelled, and its addresses:
/// ` → socket [fd 7, watched for reading] 127.0.0.1:53122 → 127.0.0.1:8080`.
fn socket(s: &Socket) -> String {
    let facts = Facts::Fd {
        fd: s.fd,
        watched: s.selector_events,
    };
    let mut out = format!(" → {}", Label::with("socket", facts));
    if let Some(local) = &s.sockname {
        let _ = write!(out, " {local}");
    }
    if let Some(peer) = &s.peername {
        let _ = write!(out, " → {peer}");
    }
    out
}

fn awaited(a: &Awaited) -> String {
    match (&a.name, &a.state) {
        (Some(name), _) => format!("{} '{}' {}", a.type_name, name, a.address),
        (None, Some(state)) => format!("<{} {}> {}", a.type_name, state, a.address),
        (None, None) => format!("<{}> {}", a.type_name, a.address),
    }
}

/// `  File "…", line N, in qualname` and the source line, as a traceback says them
/// (pieces pushed, not formatted: a 100,000-task answer has 300,000 of them).
/// A run of the same frame (a recursion) is shown this many times, then counted, as
/// Python's own tracebacks do.
const REPEATS_SHOWN: usize = 3;

fn frames(out: &mut String, fs: &[Frame]) {
    let same =
        |a: &Frame, b: &Frame| a.file == b.file && a.line == b.line && a.qualname == b.qualname;
    let mut i = 0;
    while i < fs.len() {
        let run = fs[i..].iter().take_while(|f| same(f, &fs[i])).count();
        for f in &fs[i..i + run.min(REPEATS_SHOWN)] {
            frame(out, f);
        }
        if run > REPEATS_SHOWN {
            let more = run - REPEATS_SHOWN;
            let s = if more == 1 { "" } else { "s" };
            let _ = writeln!(out, "  [Previous line repeated {more} more time{s}]");
        }
        i += run;
    }
}

fn frame(out: &mut String, f: &Frame) {
    out.push_str("  File \"");
    out.push_str(&f.file);
    out.push_str("\", line ");
    match f.line {
        Some(l) => {
            let _ = write!(out, "{l}");
        }
        None => out.push('?'),
    }
    out.push_str(", in ");
    out.push_str(&f.qualname);
    out.push('\n');
    if let Some(src) = &f.source {
        out.push_str("    ");
        out.push_str(src);
        out.push('\n');
    }
    for l in f.locals.iter().flatten() {
        let _ = writeln!(out, "      {} = {}", l.name, super::label::value(&l.value));
    }
}

/// Up to `MAX_NAMED` labels, then how many more.
fn names(index: &Index<'_>, ids: &[Id]) -> String {
    let mut shown: Vec<String> = ids
        .iter()
        .take(MAX_NAMED)
        .map(|id| {
            index
                .objects
                .get(id)
                .map_or(id.to_string(), |o| o.label.to_string())
        })
        .collect();
    if ids.len() > MAX_NAMED {
        shown.push(format!("and {} more", ids.len() - MAX_NAMED));
    }
    shown.join(", ")
}

/// What the graph knows about an object: who holds it, what a gather/wait/TaskGroup holds.
fn related(index: &Index<'_>, id: Id) -> String {
    let edges = index.out(&id);
    let pick = |f: &dyn Fn(EdgeKind) -> bool| -> Vec<Id> {
        edges.iter().filter(|e| f(e.kind)).map(|e| e.to).collect()
    };
    let mut parts = Vec::new();
    let holders = pick(&|k| k == EdgeKind::HeldBy);
    if !holders.is_empty() {
        parts.push(format!("held by {} (inferred)", names(index, &holders)));
    }
    let children = pick(&|k| {
        use EdgeKind::*;
        matches!(
            k,
            Gather | Shield | Wait | WaitFor | TaskGroup | Executor | Threadsafe
        )
    });
    let queued = pick(&|k| k == EdgeKind::Scheduled);
    if !queued.is_empty() {
        parts.push(format!(
            "→ its coroutine is still queued on {}",
            names(index, &queued)
        ));
    }
    if !children.is_empty() {
        parts.push(format!("→ {}", names(index, &children)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" {}", parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::State;

    #[test]
    fn threads_write_the_same_text_in_the_same_order() {
        let task = |i: u64| Task {
            address: Id(0x1000 + i * 0x40),
            name: Some(format!("Task-{i}").into()),
            name_length: None,
            state: State::Pending,
            type_name: "Task".into(),
            cancel_requests: None,
            frames: vec![Frame {
                function: "handler".into(),
                qualname: "handler".into(),
                file: "/srv/app.py".into(),
                line: Some(i as i32 % 50 + 1),
                source: None,
                locals: None,
                at: (0, 0),
            }],
            awaiting: None,
            running_on_thread: None,
            error: None,
            event_loop: None,
            waiter: None,
            frames_cut: 0,
            detail: None,
        };
        let snap = Snapshot {
            python: "3.12.1".into(),
            layout: "dwarf".into(),
            tasks: (0..3 * TASKS_PER_PART as u64 + 7).map(task).collect(),
            threads: Vec::new(),
            loops: Vec::new(),
            objects: Vec::new(),
            edges: Vec::new(),
            cycles: Vec::new(),
            warnings: vec!["a warning".into()],
            stats: Default::default(),
        };
        for fold in [true, false] {
            let look = Look {
                fold,
                colour: false,
            };
            let one = render(&snap, look);
            for threads in [2, 3, 8] {
                let mut many = String::new();
                render_in_parts(&snap, threads, look, &mut |part| many.push_str(part));
                assert_eq!(one, many, "{threads} threads");
            }
        }
        let one = render(&snap, Look::default());
        // In task order, every task once.
        let names: Vec<&str> = one.lines().filter(|l| l.starts_with("Task ")).collect();
        assert_eq!(names.len(), snap.tasks.len());
        assert!(names[TASKS_PER_PART].contains(&format!("'Task-{TASKS_PER_PART}'")));
    }
}
