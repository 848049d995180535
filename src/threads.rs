//! The threads of a snapshot as the model shows them (name, ids, frames outermost first),
//! and each one's raw stack, innermost first, for the wait graph's reads of locals.

use crate::asyncio::tasks;
use crate::cpython::Py;
use crate::cpython::thread::{ThreadStack, ThreadState};
use crate::model::Thread;
use crate::target::Addr;
use std::collections::HashMap;

/// Every interpreter's threads, in the order read (a stack cut short says why on its
/// thread).
#[derive(Default)]
pub struct Threads {
    pub threads: Vec<Thread>,
    pub stacks: Vec<ThreadStack>,
}

impl Threads {
    /// Read the stacks of one interpreter's threads (`states`), named by its `threading`.
    pub fn add(&mut self, py: &Py<'_>, interp: Addr, states: &[ThreadState]) {
        let names = py.thread_names(interp).unwrap_or_default();
        for ts in states {
            let (frames, cut) = py.thread_stack(ts.top_frame);
            let (name, native) = names.get(&ts.thread_id).cloned().unwrap_or((None, None));
            self.threads.push(Thread {
                thread_id: ts.thread_id,
                native_id: ts.native_thread_id.or(native),
                name,
                frames: frames
                    .iter()
                    .rev()
                    .map(|(f, c, fi)| tasks::frame((*f, *c), fi.clone()))
                    .collect(),
                cut: cut.map(|e| e.to_string()),
            });
            self.stacks.push((ts.thread_id, frames));
        }
    }

    /// Thread id → `threading` name, for the threads that have one.
    pub fn names(&self) -> HashMap<u64, String> {
        self.threads
            .iter()
            .filter_map(|t| t.name.clone().map(|n| (t.thread_id, n)))
            .collect()
    }
}
