//! The event loops of the pending tasks (and the thread running each), and the loops' "now".

use super::waits::Clock;
use crate::cpython::Py;
use crate::cpython::thread::ThreadStack;
use crate::model::{EventLoop, Task};
use crate::target::Addr;
use std::collections::HashMap;

/// The tasks' event loops, in order of first appearance, and the thread running each
/// (`loop._thread_id`) by loop address.
pub fn event_loops(py: &Py<'_>, tasks: &[Task]) -> (Vec<EventLoop>, HashMap<Addr, Option<u64>>) {
    let mut out: Vec<EventLoop> = Vec::new();
    let mut threads: HashMap<Addr, Option<u64>> = HashMap::new();
    for id in tasks.iter().filter_map(|t| t.event_loop) {
        let lp = id.0;
        if let Some(l) = out.iter_mut().find(|l| l.address == id) {
            l.tasks += 1;
            continue;
        }
        let thread_id = thread_of(py, lp);
        threads.insert(lp, thread_id);
        out.push(EventLoop {
            address: id,
            type_name: py.short_type_name(lp).unwrap_or_else(|_| "?".into()),
            thread_id,
            tasks: 1,
            detail: None,
        });
    }
    (out, threads)
}

/// `threading.get_ident()` of the thread running loop `lp` (`loop._thread_id`), if any.
pub fn thread_of(py: &Py<'_>, lp: Addr) -> Option<u64> {
    (py.attr(lp, "_thread_id").ok().flatten())
        .and_then(|t| py.int(t).ok())
        .and_then(|t| u64::try_from(t).ok())
}

/// The loop's "now": this machine's monotonic clock for a live target (asyncio's default
/// loop time is `time.monotonic()`); for a core, the value the loop computed before it went
/// to sleep in select() (`_run_once`'s `when - timeout`), if it is there. Never invented.
pub fn clock(py: &Py<'_>, live: bool, stacks: &[ThreadStack]) -> Option<Clock> {
    if live {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec we own.
        if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } == 0 {
            return Some(Clock {
                now: ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9,
                live: true,
            });
        }
    }
    // Every loop computed the time before it slept; asyncio's loops share the monotonic
    // clock, so the latest of them is closest to the moment of the dump.
    let mut latest: Option<f64> = None;
    for (_, frames) in stacks {
        for (frame, code, fi) in frames {
            if &*fi.function != "_run_once" || !fi.file.ends_with("base_events.py") {
                continue;
            }
            let local = |name: &str| {
                py.frame_local(*frame, *code, name)
                    .ok()
                    .flatten()
                    .and_then(|v| py.float(v).ok())
            };
            if let (Some(when), Some(timeout)) = (local("when"), local("timeout")) {
                // select() was given the time left until the next timer, capped at one day.
                if timeout > 0.0 && timeout < 86400.0 {
                    let now = when - timeout;
                    latest = Some(latest.map_or(now, |l| l.max(now)));
                }
            }
        }
    }
    latest.map(|now| Clock { now, live: false })
}
