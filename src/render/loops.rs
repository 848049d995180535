//! The loops view (`awaitwhat loops`): each event loop, the thread running it and its
//! running task, the callbacks queued on it, its next timer, and the file descriptors its
//! selector watches with the tasks waiting on each; then every thread's stack.

use super::text::{callback, threads_text};
use crate::model::{EventLoop, IdMap, LoopDetail, Snapshot};
use std::fmt::Write;

/// Ready callbacks shown by name (the count says how many more there are).
const READY_SHOWN: usize = 10;

pub fn render(s: &Snapshot, colour: bool) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut out = format!(
        "Python {} ({} layout): {}, {}, {}\n",
        s.python,
        s.layout,
        plural(s.loops.len(), "event loop"),
        plural(s.tasks.len(), "pending task"),
        plural(s.threads.len(), "thread")
    );
    let names: IdMap<String> = (s.tasks.iter())
        .map(|t| {
            (
                t.address,
                format!("{} {}", t.type_name, t.name_and_address()),
            )
        })
        .collect();
    for l in &s.loops {
        out.push('\n');
        head(&mut out, s, l, &plural);
        for t in s.tasks.iter().filter(|t| {
            t.event_loop == Some(l.address)
                && t.running_on_thread.is_some()
                && t.running_on_thread == l.thread_id
        }) {
            let _ = writeln!(
                out,
                "  running: {} (the loop runs nothing else until it awaits)",
                names[&t.address]
            );
        }
        if let Some(d) = &l.detail {
            detail(&mut out, s, d, &names, &plural);
        }
    }
    out.push_str(&threads_text(s, colour));
    if !s.warnings.is_empty() {
        out.push_str("\nwarnings:\n");
        for w in &s.warnings {
            let _ = writeln!(out, "  - {w}");
        }
    }
    out
}

fn head(out: &mut String, s: &Snapshot, l: &EventLoop, plural: &dyn Fn(usize, &str) -> String) {
    let _ = write!(out, "Event loop {} {}", l.type_name, l.address);
    match l.thread_id {
        Some(tid) => {
            let _ = write!(out, " on thread {tid:#x}");
            let thread = s.threads.iter().find(|t| t.thread_id == tid);
            if let Some(n) = thread.and_then(|t| t.name.as_deref()) {
                let _ = write!(out, " '{n}'");
            }
        }
        None => out.push_str(" (no thread is known to run it)"),
    }
    let _ = writeln!(out, ", {}", plural(l.tasks, "pending task"));
}

fn detail(
    out: &mut String,
    s: &Snapshot,
    d: &LoopDetail,
    names: &IdMap<String>,
    plural: &dyn Fn(usize, &str) -> String,
) {
    if let Some(n) = d.ready_count {
        let _ = write!(out, "  ready: {}", plural(n, "callback"));
        if d.ready.is_empty() {
            out.push('\n');
        } else {
            out.push_str(", in the order they will run:\n");
            for c in d.ready.iter().take(READY_SHOWN) {
                let _ = writeln!(out, "    {}", callback(c));
            }
            if n > READY_SHOWN {
                let _ = writeln!(out, "    and {} more", n - READY_SHOWN);
            }
        }
    }
    let Some(timers) = d.timers else {
        return unread(out, d);
    };
    let _ = write!(out, "  timers: {timers}");
    if d.cancelled_timers > 0 {
        let _ = write!(out, " ({} cancelled)", d.cancelled_timers);
    }
    match &d.next_timer {
        Some(t) => {
            let when = match t.remaining {
                Some(r) if r < 0.0 => format!("overdue by {:.1}s", -r),
                Some(r) => format!("in {r:.1}s"),
                None => format!("at loop time {:.1}", t.when),
            };
            let _ = write!(
                out,
                "; next {when}: {} (handle {})",
                callback(&t.callback),
                t.handle
            );
            // The tasks it wakes: a sleep's or a timeout's edge into the timer.
            let woken: Vec<&str> = (s.edges.iter())
                .filter(|e| e.to == t.handle)
                .filter_map(|e| names.get(&e.from).map(String::as_str))
                .collect();
            if !woken.is_empty() {
                let _ = write!(out, ", for {}", woken.join(", "));
            }
            out.push('\n');
        }
        None => out.push('\n'),
    }
    if let Some(sel) = &d.selector {
        let _ = writeln!(
            out,
            "  selector {sel}: {}",
            plural(d.fds.len(), "file descriptor")
        );
    }
    for f in &d.fds {
        let watched = match f.events {
            1 => "read",
            2 => "write",
            3 => "read+write",
            _ => "none",
        };
        let _ = write!(out, "    fd {:<4} {watched:<10}", f.fd);
        let runs: Vec<String> = [&f.reader, &f.writer]
            .into_iter()
            .flatten()
            .map(callback)
            .collect();
        out.push_str(&runs.join(", "));
        if !f.tasks.is_empty() {
            let waiting: Vec<&str> = (f.tasks.iter())
                .map(|id| names.get(id).map_or("?", String::as_str))
                .collect();
            let _ = write!(out, "; waited on by {}", waiting.join(", "));
        }
        out.push('\n');
    }
    unread(out, d);
}

fn unread(out: &mut String, d: &LoopDetail) {
    for why in &d.unread {
        let _ = writeln!(out, "  not read: {why}");
    }
}
