//! Human-readable await stacks: one block per task, outermost frame first (like a
//! Python traceback), then what the innermost frame waits on.

use crate::model::{Awaited, Frame, Snapshot, Task};
use std::fmt::Write;

pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        out,
        "Python {} ({} layout): {}, {}",
        s.python,
        s.layout,
        plural(s.tasks.len(), "pending task"),
        plural(s.threads.len(), "thread")
    );
    for c in &s.cycles {
        let _ = writeln!(out, "{}", c.description);
    }
    if s.tasks.is_empty() {
        let _ = writeln!(
            out,
            "no asyncio tasks ({})",
            plural(s.threads.len(), "thread")
        );
    }
    for t in &s.tasks {
        out.push('\n');
        task(&mut out, s, t);
    }
    for th in &s.threads {
        let _ = write!(out, "\nThread {:#x}", th.thread_id);
        if let Some(n) = &th.name {
            let _ = write!(out, " '{n}'");
        }
        if let Some(id) = th.native_id {
            let _ = write!(out, " (native id {id})");
        }
        out.push('\n');
        if th.frames.is_empty() {
            out.push_str("  (no Python frames)\n");
        }
        frames(&mut out, &th.frames);
    }
    if !s.warnings.is_empty() {
        out.push_str("\nwarnings:\n");
        for w in &s.warnings {
            let _ = writeln!(out, "  - {w}");
        }
    }
    out
}

fn task(out: &mut String, s: &Snapshot, t: &Task) {
    let name = t.name.as_deref().unwrap_or("?");
    let _ = write!(out, "{} '{}' {} [{}", t.type_name, name, t.address, t.state);
    if let Some(n) = t.cancel_requests.filter(|&n| n > 0) {
        let _ = write!(out, ", {n} cancel request{}", if n == 1 { "" } else { "s" });
    }
    out.push_str("]\n");
    if let Some(tid) = t.running_on_thread {
        let _ = writeln!(out, "  running on thread {tid:#x}");
    }
    frames(out, &t.frames);
    if let Some(a) = &t.awaiting {
        match a
            .resource
            .as_deref()
            .and_then(|id| s.objects.iter().find(|o| o.id == id))
        {
            Some(r) => {
                let _ = writeln!(out, "  awaiting {} {}{}", r.label, r.id, related(s, &r.id));
            }
            None => {
                let _ = writeln!(out, "  awaiting {}{}", awaited(a), related(s, &a.address));
            }
        }
    }
    if let Some(e) = &t.error {
        let _ = writeln!(out, "  (incomplete: {e})");
    }
}

fn awaited(a: &Awaited) -> String {
    match (&a.name, &a.state) {
        (Some(name), _) => format!("{} '{}' {}", a.type_name, name, a.address),
        (None, Some(state)) => format!("<{} {}> {}", a.type_name, state, a.address),
        (None, None) => format!("<{}> {}", a.type_name, a.address),
    }
}

fn frames(out: &mut String, fs: &[Frame]) {
    for f in fs {
        let line = f.line.map_or("?".to_string(), |l| l.to_string());
        let _ = writeln!(
            out,
            "  File \"{}\", line {}, in {}",
            f.file, line, f.qualname
        );
        if let Some(src) = &f.source {
            let _ = writeln!(out, "    {src}");
        }
    }
}

/// What the graph knows about an object: who holds it, what a gather/wait/TaskGroup holds.
fn related(s: &Snapshot, id: &str) -> String {
    let label = |oid: &str| {
        s.objects
            .iter()
            .find(|o| o.id == oid)
            .map_or(oid.to_string(), |o| o.label.clone())
    };
    let mut parts = Vec::new();
    let holders: Vec<String> = s
        .edges
        .iter()
        .filter(|e| e.from == id && e.kind == "held-by")
        .map(|e| label(&e.to))
        .collect();
    if !holders.is_empty() {
        parts.push(format!("held by {} (inferred)", holders.join(", ")));
    }
    let children: Vec<String> = s
        .edges
        .iter()
        .filter(|e| {
            e.from == id
                && matches!(
                    e.kind.as_str(),
                    "gather" | "shield" | "wait" | "wait_for" | "taskgroup" | "executor"
                )
        })
        .map(|e| label(&e.to))
        .collect();
    if !children.is_empty() {
        parts.push(format!("→ {}", children.join(", ")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" {}", parts.join("; "))
    }
}
