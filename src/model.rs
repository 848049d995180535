//! The Snapshot: plain data that every renderer reads. Its JSON form is the contract
//! documented in `docs/json.md`.

use crate::target::Stats;
use serde::Serialize;
use std::rc::Rc;

#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Full CPython version of the target, e.g. "3.12.1".
    pub python: String,
    /// Where the struct layout came from: "dwarf", "table" or "debug-offsets".
    pub layout: String,
    pub tasks: Vec<Task>,
    pub threads: Vec<Thread>,
    /// The event loops the pending tasks belong to, in order of first appearance.
    pub loops: Vec<EventLoop>,
    /// Every object in the wait graph: tasks, futures, locks, timers, ... by address.
    pub objects: Vec<Object>,
    /// Who waits for what: `from` waits on (or is released by) `to`.
    pub edges: Vec<Edge>,
    /// Wait cycles among tasks and resources: nothing inside can ever proceed.
    pub cycles: Vec<Cycle>,
    pub warnings: Vec<String>,
    /// Cost of the decode (callbacks into the debugger, bytes read).
    pub stats: Stats,
}

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    /// The task object's address, lowercase hex.
    pub address: String,
    pub name: Option<String>,
    /// "pending", "cancelled" or "finished".
    pub state: String,
    /// `type(task).__name__`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Pending `cancel()` requests (3.11+), when known.
    pub cancel_requests: Option<i64>,
    /// Outermost (the task's own coroutine) to innermost.
    pub frames: Vec<Frame>,
    /// What the innermost frame waits on (the task's `_fut_waiter`).
    pub awaiting: Option<Awaited>,
    /// Thread id when the task is running right now (its frames come from that thread's stack).
    pub running_on_thread: Option<u64>,
    /// Set when the chain could not be read completely; `frames` holds what could.
    pub error: Option<String>,
    /// Address of the task's event loop (`task.get_loop()`), when readable.
    #[serde(rename = "loop")]
    pub event_loop: Option<String>,
}

/// An event loop that pending tasks belong to.
#[derive(Debug, Clone, Serialize)]
pub struct EventLoop {
    pub address: String,
    /// `type(loop).__name__`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// `threading.get_ident()` of the thread running it (`loop._thread_id`); null when it
    /// is not running or the loop keeps no such attribute (uvloop).
    pub thread_id: Option<u64>,
    /// How many of the pending tasks are its own.
    pub tasks: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame {
    /// `co_name`. The names are shared with every frame of the same code object (a
    /// server's 100,000 handlers run a few code objects).
    pub function: Rc<str>,
    /// `co_qualname` (3.11+) or the coroutine's `__qualname__`.
    pub qualname: Rc<str>,
    /// `co_filename` as stored.
    pub file: Rc<str>,
    pub line: Option<i32>,
    /// The source line, when the file is readable where the decoder runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Rc<str>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Awaited {
    /// `type(obj).__name__`, e.g. "Future", "Task", "_GatheringFuture".
    #[serde(rename = "type")]
    pub type_name: String,
    pub address: String,
    /// Future/Task state when the object is one.
    pub state: Option<String>,
    /// Task name when the object is a Task.
    pub name: Option<String>,
    /// The typed object behind the wait (a Lock, an Event, a timer...): an `objects[].id`.
    pub resource: Option<String>,
}

/// A node of the wait graph.
#[derive(Debug, Clone, Serialize)]
pub struct Object {
    /// Lowercase hex address of the object (stable across snapshots of one process).
    pub id: String,
    /// task, future, gather, shield, wait, wait_for, timeout, taskgroup, lock, event,
    /// semaphore, condition, queue, barrier, timer, executor, as_completed, stream, socket,
    /// subprocess, concurrent_future, loop, thread, object
    pub kind: String,
    /// Short human description, e.g. "Lock [locked, 2 waiters]".
    pub label: String,
    /// pending / cancelled / finished for futures and tasks.
    pub state: Option<String>,
    /// Kind-specific facts (deadline, waiters, size...).
    pub details: Details,
}

/// An object's facts by name, serialized as a JSON object with sorted keys. A few entries
/// in a vector: a map per node would cost more than the node (100,000 tasks, 100,000 Events).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details(Vec<(&'static str, serde_json::Value)>);

impl Details {
    pub fn new() -> Self {
        Details::default()
    }

    /// Set `key` (replacing its value if it is there).
    pub fn insert(&mut self, key: &'static str, value: serde_json::Value) {
        match self.0.binary_search_by(|(k, _)| (*k).cmp(key)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.0
            .binary_search_by(|(k, _)| (*k).cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }
}

impl Serialize for Details {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// A wait edge: `from` cannot proceed until `to` does something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// awaits, acquire, wait, get, put, join, sleep, gather, shield, wait_for, taskgroup,
    /// executor, as_completed, held-by, could-wake, timeout, read, write, result,
    /// threadsafe, scheduled, blocked-by
    pub kind: String,
    /// Where the waiting frame is, `file:line`, when known.
    pub site: Option<String>,
    /// Deduced from circumstantial evidence (e.g. who holds a Lock), not recorded by asyncio.
    pub inferred: bool,
}

/// A cycle of waits, e.g. two tasks each holding the Lock the other wants.
#[derive(Debug, Clone, Serialize)]
pub struct Cycle {
    /// Object ids around the cycle, in edge order.
    pub nodes: Vec<String>,
    /// One line, e.g. "deadlock: Task 'A' → Lock 0x… (held by 'B') → Task 'B' → ...".
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Thread {
    /// `threading.get_ident()` of the thread.
    pub thread_id: u64,
    /// OS thread id (`threading.get_native_id()`), when known.
    pub native_id: Option<u64>,
    pub name: Option<String>,
    /// Outermost to innermost.
    pub frames: Vec<Frame>,
}
