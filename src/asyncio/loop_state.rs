//! An event loop's own state, for `awaitwhat loops`: the callbacks queued to run next, its
//! timers, and the file descriptors its selector watches, with the tasks waiting on each.
//! Read only when asked: a server's loop can hold 100,000 descriptors.

use super::detail::callback_ref;
use super::stdlib::Stdlib;
use super::waits::Clock;
use crate::cpython::Py;
use crate::model::{EventLoop, Facts, Id, LoopDetail, LoopFd, LoopTimer, Object, Task, Thread};
use crate::target::Addr;
use std::collections::HashMap;

/// Ready callbacks listed by name (all are counted).
const MAX_LISTED: usize = 50;
/// Timers and descriptors read at most; what is beyond is said, not read.
const MAX_READ: usize = 200_000;

/// Loops that a thread runs (a `run_forever` frame of asyncio's on its stack) but that no
/// pending task belongs to: a loop kept for `call_soon_threadsafe`, or one whose tasks are
/// all done.
pub fn idle_loops(py: &Py<'_>, threads: &[Thread], stdlib: &Stdlib, loops: &mut Vec<EventLoop>) {
    for t in threads {
        let Some(f) = (t.frames.iter().rev())
            .find(|f| &*f.function == "run_forever" && stdlib.contains(&f.file))
        else {
            continue;
        };
        let Some(lp) = py.frame_local(f.at.0, f.at.1, "self").ok().flatten() else {
            continue;
        };
        if loops.iter().any(|l| l.address.0 == lp) {
            continue;
        }
        loops.push(EventLoop {
            address: Id(lp),
            type_name: py.short_type_name(lp).unwrap_or_else(|_| "?".into()),
            thread_id: super::loops::thread_of(py, lp),
            tasks: 0,
            detail: None,
        });
    }
}

/// Read loop `lp`'s queue, timers and selector. `objects` are the wait graph's nodes: a
/// task waits on a descriptor when its wait's node is a socket or stream of that number.
pub fn detail(
    py: &Py<'_>,
    lp: Addr,
    clock: Option<Clock>,
    tasks: &[Task],
    objects: &HashMap<Id, &Object>,
) -> LoopDetail {
    let mut d = LoopDetail::default();
    let attr = |name: &str| py.attr(lp, name).ok().flatten();
    match attr("_ready") {
        Some(q) => {
            d.ready_count = py.len_of(q).ok().map(|n| n as usize);
            match py.deque(q) {
                Ok(items) => {
                    d.ready = (items.iter().take(MAX_LISTED))
                        .map(|&h| handle_callback(py, h))
                        .collect()
                }
                Err(e) => d.unread.push(format!("the ready queue: {e}")),
            }
        }
        None => d.unread.push(missing(py, lp)),
    }
    if let Some(list) = attr("_scheduled") {
        timers(py, list, clock, &mut d);
    }
    if let Some(sel) = attr("_selector") {
        d.selector = py.short_type_name(sel).ok();
        selector(py, lp, sel, tasks, objects, &mut d);
    }
    d
}

/// Why a loop has none of asyncio's queues to read.
fn missing(py: &Py<'_>, lp: Addr) -> String {
    let class = py.obj_type_name(lp).unwrap_or_else(|_| "?".into());
    let bases = py.type_chain(lp).map(|c| c.to_vec()).unwrap_or_default();
    let uvloop = (bases.iter()).any(|&tp| py.type_name(tp).is_ok_and(|n| n.starts_with("uvloop.")));
    if uvloop {
        format!(
            "uvloop's {class} keeps its queue, timers and descriptors in libuv, not in Python objects"
        )
    } else {
        format!("{class} has no `_ready` queue: not one of asyncio's own loops")
    }
}

fn handle_callback(py: &Py<'_>, h: Addr) -> crate::model::CallbackRef {
    match py.attr(h, "_callback") {
        Ok(Some(cb)) if !py.is_none(cb).unwrap_or(true) => callback_ref(py, cb),
        _ => crate::model::CallbackRef {
            name: format!("<handle at {} without a callback>", Id(h)),
            module: None,
            receiver: None,
        },
    }
}

fn cancelled(py: &Py<'_>, h: Addr) -> bool {
    (py.attr(h, "_cancelled").ok().flatten()).is_some_and(|c| py.truthy(c).unwrap_or(false))
}

/// Count the timers and find the earliest live one (the heap's first may be cancelled).
fn timers(py: &Py<'_>, list: Addr, clock: Option<Clock>, d: &mut LoopDetail) {
    let handles = match py.list(list) {
        Ok(h) => h,
        Err(e) => return d.unread.push(format!("the timers: {e}")),
    };
    d.timers = Some(handles.len());
    if handles.len() > MAX_READ {
        d.unread.push(format!(
            "{} timers beyond the first {MAX_READ} not read",
            handles.len() - MAX_READ
        ));
    }
    let mut next: Option<(f64, Addr)> = None;
    for &h in handles.iter().take(MAX_READ) {
        if cancelled(py, h) {
            d.cancelled_timers += 1;
            continue;
        }
        let Some(when) = (py.attr(h, "_when").ok().flatten()).and_then(|w| py.float(w).ok()) else {
            continue;
        };
        if next.is_none_or(|(w, _)| when < w) {
            next = Some((when, h));
        }
    }
    d.next_timer = next.map(|(when, h)| LoopTimer {
        handle: Id(h),
        when,
        remaining: clock.map(|c| when - c.now),
        callback: handle_callback(py, h),
    });
}

/// The selector's descriptors (`_fd_to_key`: fd -> SelectorKey(fileobj, fd, events,
/// (reader handle, writer handle))) and the loop's tasks waiting on each.
fn selector(
    py: &Py<'_>,
    lp: Addr,
    sel: Addr,
    tasks: &[Task],
    objects: &HashMap<Id, &Object>,
    d: &mut LoopDetail,
) {
    let Some(map) = py.attr(sel, "_fd_to_key").ok().flatten() else {
        return d.unread.push(format!(
            "the selector {} keeps no `_fd_to_key` map",
            py.obj_type_name(sel).unwrap_or_else(|_| "?".into())
        ));
    };
    let items = match py.dict_items(map) {
        Ok(items) => items,
        Err(e) => return d.unread.push(format!("the selector's descriptors: {e}")),
    };
    if items.len() > MAX_READ {
        d.unread.push(format!(
            "{} descriptors beyond the first {MAX_READ} not read",
            items.len() - MAX_READ
        ));
    }
    let mut waiting: HashMap<i64, Vec<Id>> = HashMap::new();
    for t in tasks.iter().filter(|t| t.event_loop == Some(Id(lp))) {
        let on = (t.awaiting.as_ref()).and_then(|a| objects.get(&a.resource?));
        if let Some(Facts::Fd { fd: Some(fd), .. }) = on.map(|o| &o.label.facts) {
            waiting.entry(*fd).or_default().push(t.address);
        }
    }
    for (_, key) in items.into_iter().take(MAX_READ) {
        // A named tuple: (fileobj, fd, events, data).
        let Ok(fields) = py.tuple(key) else { continue };
        let int = |i: usize| fields.get(i).and_then(|&v| py.int(v).ok());
        let (Some(fd), Some(events)) = (int(1), int(2)) else {
            continue;
        };
        let handles = (fields.get(3)).and_then(|&data| py.tuple(data).ok());
        let handle = |i: usize| {
            let h = *handles.as_ref()?.get(i)?;
            (!py.is_none(h).unwrap_or(true)).then(|| handle_callback(py, h))
        };
        d.fds.push(LoopFd {
            fd,
            events,
            reader: handle(0),
            writer: handle(1),
            tasks: waiting.remove(&fd).unwrap_or_default(),
        });
    }
    d.fds.sort_by_key(|f| f.fd);
}
