//! Waits that cross threads. A thread blocked in `concurrent.futures.Future.result()` on
//! the future of `asyncio.run_coroutine_threadsafe` waits for a coroutine that some event
//! loop must run: as a task (the task's `_chain_future` callback completes the future) or,
//! before the loop got to it, as a callback still queued in the loop's `_ready`. A loop
//! cannot run anything while a task of its own blocks its thread, so when that thread is
//! the one waiting, the graph closes into the classic cycle:
//! task → concurrent future → loop → the same task.

use super::Builder;
use crate::cpython::callable::Callable;
use crate::cpython::thread::ThreadStack;
use crate::model::{Details, EdgeKind, Facts, Kind, Label, Site, Task};
use crate::target::Addr;
use std::collections::HashMap;
use std::sync::Arc;

/// Most queued callbacks read from one loop's `_ready` deque.
const MAX_READY: usize = 10_000;

/// Link every thread blocked in `Future.result()` to whatever must complete that future.
/// `names`: thread id → thread name; `loops`: loop address → the thread id running it.
pub(super) fn link(
    b: &mut Builder<'_, '_>,
    tasks: &[Task],
    threads: &[ThreadStack],
    names: &HashMap<u64, String>,
    loops: &HashMap<Addr, Option<u64>>,
) {
    let py = b.py;
    let running: HashMap<u64, Addr> = tasks
        .iter()
        .filter_map(|t| t.running_on_thread.map(|tid| (tid, t.address.0)))
        .collect();
    // The node that stands for a thread: the task running on it, else the thread itself.
    let blocker = |b: &mut Builder<'_, '_>, tid: u64| -> Addr {
        if let Some(&task) = running.get(&tid) {
            return task;
        }
        let name = names.get(&tid).map_or("?", String::as_str);
        b.add(
            tid,
            Kind::Thread,
            Label::named("Thread", name),
            None,
            Details::new(),
        );
        tid
    };
    let mut blocked_threads = Vec::new();
    // Loops that something waits to be run on.
    let mut queued = Vec::new();
    for (tid, frames) in threads {
        // Innermost first: the innermost Future.result() and the frame that called it.
        let Some(k) = frames.iter().position(|(_, _, fi)| {
            &*fi.function == "result" && fi.file.ends_with("concurrent/futures/_base.py")
        }) else {
            continue;
        };
        let (frame, code, _) = &frames[k];
        let Some(cf) = py.frame_local(*frame, *code, "self").ok().flatten() else {
            continue;
        };
        let site = frames.get(k + 1).map(|(_, _, fi)| Site {
            file: fi.file.clone(),
            line: fi.line.unwrap_or(0),
        });
        let from = blocker(b, *tid);
        concurrent_future(b, cf);
        b.edge(from, cf, EdgeKind::Result, site, false);
        blocked_threads.push(*tid);
        queued.extend(completer(b, cf, tasks, loops));
    }
    // A loop something is queued on is blocked while its thread runs a task, or waits.
    for lp in queued {
        let Some(Some(tid)) = loops.get(&lp) else {
            continue;
        };
        if running.contains_key(tid) || blocked_threads.contains(tid) {
            let by = blocker(b, *tid);
            b.edge(lp, by, EdgeKind::BlockedBy, None, false);
        }
    }
}

/// A `concurrent.futures.Future` as a node, with its state.
fn concurrent_future(b: &mut Builder<'_, '_>, cf: Addr) {
    let py = b.py;
    let state = py
        .attr(cf, "_state")
        .ok()
        .flatten()
        .and_then(|s| py.str(s).ok());
    let mut d = Details::new();
    d.insert("state", state.clone());
    let label = Label::with(
        "concurrent Future",
        Facts::Concurrent(state.as_deref().map(Arc::from)),
    );
    b.add(cf, Kind::ConcurrentFuture, label, None, d);
}

/// What completes `cf`: the task (or future) `_chain_future` ties it to, or the coroutine
/// still queued in a loop's ready queue. Returns the loop that must run it next, if any.
fn completer(
    b: &mut Builder<'_, '_>,
    cf: Addr,
    tasks: &[Task],
    loops: &HashMap<Addr, Option<u64>>,
) -> Option<Addr> {
    let py = b.py;
    let callbacks = py
        .attr(cf, "_done_callbacks")
        .ok()
        .flatten()
        .and_then(|l| py.list(l).ok())
        .unwrap_or_default();
    for cb in callbacks {
        let Ok(c @ Callable::Function { func, .. }) = py.callable(cb) else {
            continue;
        };
        if !c.defined_as(
            "asyncio.futures",
            &["_chain_future.<locals>._call_check_cancel"],
        ) {
            continue;
        }
        let Some(source) = py.closure_var(func, "source").ok().flatten() else {
            continue;
        };
        b.future(source, None);
        b.edge(cf, source, EdgeKind::Threadsafe, None, false);
        // A task that is neither suspended nor running waits for its loop to step it.
        let t = tasks.iter().find(|t| t.address.0 == source)?;
        let lp = t.event_loop?.0;
        if t.awaiting.is_some() || t.running_on_thread.is_some() {
            return None;
        }
        loop_node(b, lp, loops);
        b.edge(source, lp, EdgeKind::Scheduled, None, false);
        return Some(lp);
    }
    let lp = loops.keys().copied().find(|&lp| queued_on(b, lp, cf))?;
    loop_node(b, lp, loops);
    b.edge(cf, lp, EdgeKind::Scheduled, None, false);
    Some(lp)
}

/// Is `run_coroutine_threadsafe`'s callback for `cf` waiting in the loop's `_ready` queue?
fn queued_on(b: &Builder<'_, '_>, lp: Addr, cf: Addr) -> bool {
    let py = b.py;
    let Some(ready) = py.attr(lp, "_ready").ok().flatten() else {
        return false;
    };
    let handles = py.deque(ready).unwrap_or_default();
    handles.iter().take(MAX_READY).any(|&h| {
        let Some(cb) = py.attr(h, "_callback").ok().flatten() else {
            return false;
        };
        matches!(py.callable(cb), Ok(c @ Callable::Function { func, .. })
            if c.defined_as("asyncio.tasks", &["run_coroutine_threadsafe.<locals>.callback"])
                && py.closure_var(func, "future").ok().flatten() == Some(cf))
    })
}

fn loop_node(b: &mut Builder<'_, '_>, lp: Addr, loops: &HashMap<Addr, Option<u64>>) {
    let py = b.py;
    let type_name = py.short_type_name(lp).unwrap_or_else(|_| "?".into());
    let mut d = Details::new();
    d.insert("type", type_name.clone());
    d.insert("thread", loops.get(&lp).copied().flatten());
    b.add(
        lp,
        Kind::Loop,
        Label::with("event loop", Facts::Class(type_name)),
        None,
        d,
    );
}
