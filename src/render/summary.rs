//! The first lines of the text, before any stack: what most likely explains a hang. Every
//! line states what the snapshot shows, nothing inferred beyond it: a loop whose thread is
//! inside one of its tasks (the most common hang: a call that is not an await), what the
//! tasks wait on with counts, the largest groups of tasks alike, timers past their
//! deadline, and the other threads.

use super::fold::Entry;
use crate::model::{Deadline, Facts, Frame, Id, IdMap, Kind, Object, Snapshot, Thread};
use std::fmt::Write;

/// Kinds of wait, groups and threads named at most.
const TOP: usize = 5;

/// The summary lines for `s` (its `entries`, as the text shows them).
/// (The busy loops come first of all, before the cycles: [`busy_loops`].)
pub fn summary(out: &mut String, s: &Snapshot, objects: &IdMap<&Object>, entries: &[Entry<'_>]) {
    waiting(out, s, objects);
    groups(out, entries);
    overdue(out, s);
    others(out, s);
}

/// Where a frame is, as a traceback names it: `function (file:line)`.
fn at(f: &Frame) -> String {
    match f.line {
        Some(l) => format!("{} ({}:{l})", f.function, f.file),
        None => format!("{} ({})", f.function, f.file),
    }
}

fn thread_of(s: &Snapshot, tid: u64) -> Option<&Thread> {
    s.threads.iter().find(|t| t.thread_id == tid)
}

fn thread_name(t: Option<&Thread>, tid: u64) -> String {
    match t.and_then(|t| t.name.as_deref()) {
        Some(n) => format!("thread {tid:#x} '{n}'"),
        None => format!("thread {tid:#x}"),
    }
}

/// A task the snapshot caught running: its loop's thread is inside it, so that loop runs
/// nothing else until the call it is in returns to the loop.
pub fn busy_loops(out: &mut String, s: &Snapshot) {
    for t in &s.tasks {
        let Some(tid) = t.running_on_thread else {
            continue;
        };
        let th = thread_of(s, tid);
        let inner = th.and_then(|th| th.frames.last()).or(t.frames.last());
        let lp = t.event_loop.map_or(String::new(), |l| format!(" {l}"));
        let _ = write!(
            out,
            "The event loop{lp} runs nothing else: its {} is inside task {}",
            thread_name(th, tid),
            t.name_and_address()
        );
        if let Some(f) = inner {
            let _ = write!(out, ", in {}", at(f));
        }
        out.push_str(", a call that has not returned to the loop\n");
    }
}

/// How many tasks wait on what, by kind: the object itself when one is shared by all.
fn waiting(out: &mut String, s: &Snapshot, objects: &IdMap<&Object>) {
    // Kind → (tasks, the objects they wait on).
    let mut by_kind: Vec<(Kind, usize, Vec<Id>)> = Vec::new();
    for t in &s.tasks {
        let Some(a) = &t.awaiting else { continue };
        let (kind, id) = match a.resource.and_then(|id| objects.get(&id)) {
            Some(r) => (r.kind, r.id),
            None => (
                objects.get(&a.address).map_or(Kind::Future, |o| o.kind),
                a.address,
            ),
        };
        match by_kind.iter_mut().find(|(k, _, _)| *k == kind) {
            Some((_, n, ids)) => {
                *n += 1;
                ids.push(id);
            }
            None => by_kind.push((kind, 1, vec![id])),
        }
    }
    if by_kind.is_empty() {
        return;
    }
    by_kind.sort_by_key(|k| std::cmp::Reverse(k.1));
    let mut parts = Vec::new();
    for (kind, n, mut ids) in by_kind.iter().take(TOP).cloned() {
        ids.sort_unstable();
        ids.dedup();
        let tasks = if n == 1 {
            "1 task".into()
        } else {
            format!("{n} tasks")
        };
        parts.push(match (ids.as_slice(), objects.get(&ids[0])) {
            ([_], Some(o)) => format!("{tasks} on {} {}", o.label, o.id),
            _ => format!("{tasks} on {} {kind}s", ids.len()),
        });
    }
    if by_kind.len() > TOP {
        parts.push(format!("{} more kinds", by_kind.len() - TOP));
    }
    let _ = writeln!(out, "Waiting: {}", parts.join("; "));
}

/// The largest groups of tasks alike, by their chain of functions.
fn groups(out: &mut String, entries: &[Entry<'_>]) {
    let mut big: Vec<&Entry<'_>> = entries.iter().filter(|e| e.tasks.len() > 1).collect();
    if big.is_empty() {
        return;
    }
    big.sort_by_key(|e| std::cmp::Reverse(e.tasks.len()));
    let parts: Vec<String> = (big.iter().take(TOP))
        .map(|e| {
            let chain: Vec<&str> = e.tasks[0].frames.iter().map(|f| &*f.function).collect();
            format!("{} in {}", e.tasks.len(), chain.join(" → "))
        })
        .collect();
    let _ = writeln!(out, "Largest groups: {}", parts.join("; "));
}

/// Timers whose deadline had passed when the target stopped: the loop did not run them.
fn overdue(out: &mut String, s: &Snapshot) {
    let late: Vec<(f64, &Object)> = (s.objects.iter())
        .filter(|o| o.kind == Kind::Timer)
        .filter_map(|o| match o.label.facts {
            Facts::Timer {
                deadline: Deadline::In { left, .. },
                ..
            } if left < 0.0 => Some((-left, o)),
            _ => None,
        })
        .collect();
    let Some((most, o)) = late.iter().max_by(|a, b| a.0.total_cmp(&b.0)) else {
        return;
    };
    let _ = writeln!(
        out,
        "Overdue: {} timer{} past their deadline, the loop has not run them (the latest: {} overdue by {most:.1}s)",
        late.len(),
        if late.len() == 1 { "" } else { "s" },
        o.id
    );
}

/// Threads that run no event loop, where each is.
fn others(out: &mut String, s: &Snapshot) {
    let loop_threads: Vec<u64> = s.loops.iter().filter_map(|l| l.thread_id).collect();
    let rest: Vec<&Thread> = (s.threads.iter())
        .filter(|t| !loop_threads.contains(&t.thread_id) && !t.frames.is_empty())
        .collect();
    if rest.is_empty() {
        return;
    }
    let parts: Vec<String> = (rest.iter().take(TOP))
        .filter_map(|t| {
            let f = t.frames.last()?;
            Some(format!(
                "{} in {}",
                thread_name(Some(t), t.thread_id),
                at(f)
            ))
        })
        .collect();
    let more = rest.len().saturating_sub(TOP);
    let _ = write!(out, "Other threads: {}", parts.join("; "));
    if more > 0 {
        let _ = write!(out, "; {more} more");
    }
    out.push('\n');
}
