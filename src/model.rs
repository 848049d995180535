//! The Snapshot: plain data that every renderer reads. Its JSON form is the contract
//! documented in `docs/json.md`.

use crate::target::Addr;
use serde::{Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

/// A map keyed by node ids (one multiply per hash: the renderers look up every node).
pub type IdMap<V> = std::collections::HashMap<Id, V, crate::hash::AddrHash>;

/// An object in the target, by address: what every node, edge end and reference holds.
/// Text, DOT and JSON show it as lowercase hex (`0x7fcd56bc1f00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(pub Addr);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Defines a closed vocabulary: an enum whose every variant has one name, used by all
/// renderers and by the JSON (the names are the contract in docs/json.md).
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant,)* }

        impl $name {
            /// Every name, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

/// Every closed vocabulary of the JSON, by the field it fills: `awaitwhat vocabulary`.
pub fn vocabulary() -> serde_json::Value {
    let names = |all: &[&'static str]| serde_json::json!(all);
    serde_json::json!({
        "objects[].kind": names(&Kind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
        "edges[].kind": names(&EdgeKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
        "tasks[].state": names(&State::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
        "cycles[].grade": names(&Grade::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
    })
}

vocabulary! {
    /// The state of an asyncio Future or Task (`unknown` when it could not be read).
    State {
        Pending = "pending",
        Cancelled = "cancelled",
        Finished = "finished",
        Unknown = "unknown",
    }
}

vocabulary! {
    /// What a node of the wait graph is.
    Kind {
        Task = "task",
        Future = "future",
        Gather = "gather",
        Shield = "shield",
        Wait = "wait",
        WaitFor = "wait_for",
        Timeout = "timeout",
        TaskGroup = "taskgroup",
        Lock = "lock",
        Event = "event",
        Semaphore = "semaphore",
        Condition = "condition",
        Queue = "queue",
        Barrier = "barrier",
        Timer = "timer",
        Executor = "executor",
        AsCompleted = "as_completed",
        Stream = "stream",
        Socket = "socket",
        Subprocess = "subprocess",
        ConcurrentFuture = "concurrent_future",
        Loop = "loop",
        Thread = "thread",
        Callback = "callback",
        Object = "object",
    }
}

vocabulary! {
    /// How the `from` end of an edge relates to its `to` end.
    EdgeKind {
        Awaits = "awaits",
        Acquire = "acquire",
        Wait = "wait",
        Get = "get",
        Put = "put",
        Join = "join",
        Sleep = "sleep",
        Gather = "gather",
        Shield = "shield",
        WaitFor = "wait_for",
        TaskGroup = "taskgroup",
        Executor = "executor",
        AsCompleted = "as_completed",
        HeldBy = "held-by",
        CouldWake = "could-wake",
        Timeout = "timeout",
        Read = "read",
        Write = "write",
        Result = "result",
        Threadsafe = "threadsafe",
        Scheduled = "scheduled",
        BlockedBy = "blocked-by",
    }
}

/// Where a waiting frame is: shown as `file:line` (line 0 when the frame has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub file: Arc<str>,
    pub line: i32,
}

impl Site {
    pub fn of(f: &Frame) -> Site {
        Site {
            file: f.file.clone(),
            line: f.line.unwrap_or(0),
        }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

impl Serialize for Site {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Everything one decode found. `render` writes it as text, DOT or JSON.
#[derive(Debug, Clone)]
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

/// What a decode cost its memory back end: reads asked of it (a debugger's callbacks),
/// bytes read, reads that failed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub callbacks: u64,
    pub bytes_read: u64,
    pub failed_reads: u64,
    /// Wall time of each step of the decode, in order (`--stats`; not in the JSON, whose
    /// bytes must not change from run to run).
    #[serde(skip)]
    pub phases: Vec<(&'static str, std::time::Duration)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    /// The task object's address.
    pub address: Id,
    /// Shared with the task's node label.
    pub name: Option<Arc<str>>,
    /// The name's whole length in characters, when it was longer than the string limit:
    /// `name` then holds its start and ends in `…` (`--limit string`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_length: Option<u64>,
    pub state: State,
    /// `type(task).__name__`.
    #[serde(rename = "type")]
    pub type_name: Arc<str>,
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
    pub event_loop: Option<Id>,
    /// The future it is blocked on (`_fut_waiter`, else the chain's terminal).
    #[serde(skip)]
    pub waiter: Option<Addr>,
    /// Outer frames a view left out (`--depth`).
    #[serde(skip_serializing_if = "is_zero")]
    pub frames_cut: usize,
    /// What the task view (`awaitwhat task`) adds, for the tasks it shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Box<TaskDetail>>,
}

impl Task {
    /// Its name quoted, then its address (`'worker-1' 0x7f…`); the address alone for a
    /// task without a name (≤3.7 have none).
    pub fn name_and_address(&self) -> String {
        match &self.name {
            Some(n) => format!("'{n}' {}", self.address),
            None => self.address.to_string(),
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A task in depth: what only `awaitwhat task` reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskDetail {
    /// The message of its pending cancellation (`task.cancel(msg)`, 3.9+), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_message: Option<Value>,
    /// Its done-callbacks, in the order they will run.
    pub callbacks: Vec<CallbackRef>,
    /// Where it was created, outermost first, when asyncio's debug mode recorded it
    /// (`_source_traceback`); empty otherwise.
    pub created: Vec<Frame>,
}

/// A callback by what it calls: a function's module and qualified name (or a C function's
/// name), and the object it is bound to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallbackRef {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver: Option<Id>,
}

/// An event loop that pending tasks belong to.
#[derive(Debug, Clone, Serialize)]
pub struct EventLoop {
    pub address: Id,
    /// `type(loop).__name__`.
    #[serde(rename = "type")]
    pub type_name: Arc<str>,
    /// `threading.get_ident()` of the thread running it (`loop._thread_id`); null when it
    /// is not running or the loop keeps no such attribute (uvloop).
    pub thread_id: Option<u64>,
    /// How many of the pending tasks are its own.
    pub tasks: usize,
    /// What `awaitwhat loops` reads: its queues, timers and file descriptors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Box<LoopDetail>>,
}

/// An event loop's own state: what it will run next, when, and on which file descriptors.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoopDetail {
    /// The selector class (`EpollSelector`), when the loop has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<Arc<str>>,
    /// Callbacks queued to run on its next iteration (`_ready`): their count, and the first
    /// 50 of them in the order they will run. None: the loop keeps no such queue (uvloop).
    pub ready_count: Option<usize>,
    pub ready: Vec<CallbackRef>,
    /// Timers (`_scheduled`), cancelled ones included until the loop drops them.
    pub timers: Option<usize>,
    pub cancelled_timers: usize,
    /// The earliest timer not cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_timer: Option<LoopTimer>,
    /// The file descriptors registered with its selector, by number.
    pub fds: Vec<LoopFd>,
    /// What could not be read (a part left out, and why).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
}

/// A loop's earliest live timer.
#[derive(Debug, Clone, Serialize)]
pub struct LoopTimer {
    pub handle: Id,
    /// Its loop time (`TimerHandle.when()`).
    pub when: f64,
    /// Seconds from the snapshot's "now", when the loop's clock is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<f64>,
    pub callback: CallbackRef,
}

/// A file descriptor a loop's selector watches, what it runs when it is ready, and the
/// tasks waiting on it.
#[derive(Debug, Clone, Serialize)]
pub struct LoopFd {
    pub fd: i64,
    /// The selector's events: 1 read, 2 write.
    pub events: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reader: Option<CallbackRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writer: Option<CallbackRef>,
    /// Tasks whose wait is on this descriptor (a socket or stream of this loop).
    pub tasks: Vec<Id>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    /// `co_name`. The names are shared with every frame of the same code object (a
    /// server's 100,000 handlers run a few code objects).
    pub function: Arc<str>,
    /// `co_qualname` (3.11+) or the coroutine's `__qualname__`.
    pub qualname: Arc<str>,
    /// `co_filename` as stored.
    pub file: Arc<str>,
    pub line: Option<i32>,
    /// The source line, when the file is readable where the decoder runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Arc<str>>,
    /// Its local variables, when asked for (`--locals`), in the code's order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locals: Option<Vec<Local>>,
    /// The frame object (or 3.11+ interpreter frame) and its code object, for the graph's
    /// later reads of locals and the value stack.
    #[serde(skip)]
    pub at: (Addr, Addr),
}

#[derive(Debug, Clone, Serialize)]
pub struct Awaited {
    /// `type(obj).__name__`, e.g. "Future", "Task", "_GatheringFuture".
    #[serde(rename = "type")]
    pub type_name: Arc<str>,
    pub address: Id,
    /// Future/Task state when the object is one.
    pub state: Option<State>,
    /// Task name when the object is a Task.
    pub name: Option<Arc<str>>,
    /// The typed object behind the wait (a Lock, an Event, a timer...): an `objects[].id`.
    pub resource: Option<Id>,
    /// For a bare `asyncio.Future`: what it belongs to, as far as the chain shows (boxed:
    /// most tasks have none, and every task carries the field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Box<Owner>>,
    /// For a bare `asyncio.Future`: the thread (`threads[].thread_id`), other than any that
    /// runs an event loop, one of whose frames holds it in a local (or a closure cell): a
    /// library's worker that will complete it (`call_soon_threadsafe`), whatever it is
    /// blocked on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<u64>,
    /// For a bare `asyncio.Future` that neither of the above explains: what keeps it,
    /// found among every object the collector tracks (a registry of pending requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by: Option<Box<HeldBy>>,
}

/// What keeps a bare Future: the module whose global, or the object whose attribute, holds
/// it or a container that does (`PENDING['req-1']`); else a container nothing names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldBy {
    /// The module, object or container (its `address` and `type` in the JSON).
    #[serde(flatten)]
    pub object: ObjectRef,
    /// The module's name, when `object` is a module.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<Arc<str>>,
    /// Where in it: an attribute or global name, then keys `['k']`, indexes `[2]` and set
    /// memberships `{…}`, outermost first; for a container itself, only its keys.
    pub path: String,
}

/// The object a bare Future belongs to: `self` of the innermost frame of the chain that is
/// not asyncio's own (a library's protocol, reader, connection...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Owner {
    /// The object (its `address` and `type` in the JSON).
    #[serde(flatten)]
    pub object: ObjectRef,
    /// The socket of its asyncio transport (`transport` or `_transport`), when it has one;
    /// else that of the nearest object further out in the chain that has one (`socket_of`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket: Option<Socket>,
    /// Whose transport `socket` is, when not the owner's own: `self` of an outer frame of
    /// the chain (a connection whose `recv()` waits on its message queue's future).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_of: Option<ObjectRef>,
}

/// A local variable of a frame (`--locals`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Local {
    pub name: Arc<str>,
    pub value: Value,
}

/// A value as `--locals` shows it, read safely and bounded: a plain one itself, a container
/// by its type and length, anything else by its type and address.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Value {
    None,
    Bool {
        value: bool,
    },
    Int {
        value: i64,
    },
    Float {
        value: f64,
    },
    /// A str, cut to its first characters (`cut`: it was longer).
    Str {
        value: String,
        cut: bool,
    },
    /// A bytes object's first bytes (`cut`: it was longer).
    Bytes {
        value: Vec<u8>,
        cut: bool,
    },
    Container {
        #[serde(rename = "type")]
        type_name: Arc<str>,
        len: u64,
    },
    Object {
        #[serde(rename = "type")]
        type_name: Arc<str>,
        address: Id,
    },
    /// What could not be read.
    Unreadable {
        address: Id,
    },
}

/// An object of the target named by its address and class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectRef {
    pub address: Id,
    /// Its class, `module.Name`.
    #[serde(rename = "type")]
    pub type_name: Arc<str>,
}

/// A socket as its asyncio transport keeps it: the fd, the addresses noted when the
/// transport was made, and what the loop's selector watches it for (bits 1 read, 2 write).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Socket {
    pub fd: Option<i64>,
    pub sockname: Option<String>,
    pub peername: Option<String>,
    pub selector_events: Option<i64>,
}

/// A node of the wait graph.
#[derive(Debug, Clone, Serialize)]
pub struct Object {
    /// The object's address (stable across snapshots of one process); a thread's id.
    pub id: Id,
    pub kind: Kind,
    /// Short human description, e.g. "Lock [locked, 2 waiters]".
    pub label: Label,
    /// For futures and tasks; an executor job's `concurrent.futures` state as it is kept.
    pub state: Option<ObjectState>,
    /// Kind-specific facts (deadline, waiters, size...).
    pub details: Details,
}

/// A node's short description in parts, typed; `render` writes it out as
/// `head 'name' [facts] on thread 0x…`, e.g. `Lock [locked, 2 waiting]`, `Task 'A'`, and
/// sentences name a node by its head or its name without taking text apart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Label {
    /// What it is: a type name, "timer", "Task"...
    pub head: Arc<str>,
    /// Its own name, shown quoted: a task's or a thread's.
    pub name: Option<Arc<str>>,
    /// The facts that matter, shown in brackets (none: no brackets).
    pub facts: Facts,
    /// The thread it runs on (an executor job's worker), said after the facts.
    pub on_thread: Option<u64>,
}

impl Label {
    pub fn new(head: impl Into<Arc<str>>) -> Label {
        Label {
            head: head.into(),
            ..Label::default()
        }
    }

    pub fn with(head: impl Into<Arc<str>>, facts: Facts) -> Label {
        Label {
            head: head.into(),
            facts,
            ..Label::default()
        }
    }

    pub fn named(head: impl Into<Arc<str>>, name: impl Into<Arc<str>>) -> Label {
        Label {
            head: head.into(),
            name: Some(name.into()),
            ..Label::default()
        }
    }
}

/// The facts a label shows, by what the node is (the same facts are in its `details`).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Facts {
    #[default]
    None,
    Lock {
        locked: bool,
        waiting: u64,
    },
    Event {
        set: bool,
        waiting: u64,
    },
    Semaphore {
        value: Option<i64>,
        waiting: u64,
    },
    /// A channel (anyio's memory object stream): items buffered, of at most `max` (None:
    /// unbounded), and the receivers and senders waiting.
    Channel {
        buffered: u64,
        max: Option<i64>,
        receivers: u64,
        senders: u64,
    },
    /// A capacity limiter's tokens lent, of its total (None: unlimited or unreadable).
    Limiter {
        borrowed: u64,
        total: Option<i64>,
        waiting: u64,
    },
    /// A Condition's waiters.
    Waiting(u64),
    Queue {
        size: u64,
        /// 0: unbounded.
        maxsize: i64,
        getters: u64,
        putters: u64,
        /// Items not yet marked done, shown for a queue waited on by `join()`.
        unfinished: Option<i64>,
    },
    Barrier {
        waiting: Option<i64>,
        parties: Option<i64>,
    },
    /// A TaskGroup's tasks.
    Tasks(u64),
    Timer {
        /// The delay `sleep()` was given, for a sleep's timer.
        sleep: Option<Fact>,
        deadline: Deadline,
    },
    /// A gather's children done, of all.
    Done {
        done: u64,
        of: u64,
    },
    /// `asyncio.wait`.
    Wait {
        return_when: Option<Arc<str>>,
        done: u64,
        of: u64,
        timeout: Option<f64>,
    },
    /// A socket or stream: its fd, and what the selector watches it for (bits 1 read, 2
    /// write), when known.
    Fd {
        fd: Option<i64>,
        watched: Option<i64>,
    },
    /// A subprocess.
    Pid(Option<i64>),
    /// An executor job's `concurrent.futures` state, as it is kept (`RUNNING`).
    Job(Option<Arc<str>>),
    /// A `concurrent.futures.Future`'s state, said in lower case.
    Concurrent(Option<Arc<str>>),
    /// An event loop's class.
    Class(Arc<str>),
    /// A timer whose deadline could not be read, and why.
    DeadlineUnreadable(String),
}

/// When a timer fires.
#[derive(Debug, Clone, PartialEq)]
pub enum Deadline {
    /// Seconds from now: by this machine's clock (`live`), else from the loop's last
    /// wake-up (a core's "now").
    In { left: f64, live: bool },
    /// Its loop time, "now" unknown.
    LoopTime(f64),
    /// A timer of this class whose deadline could not be read.
    Unreadable(Arc<str>),
}

/// An object's facts by name, serialized as a JSON object with sorted keys. A few entries
/// in a vector: a map per node would cost more than the node (100,000 tasks, 100,000 Events).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details(Vec<(&'static str, Fact)>);

impl Details {
    pub fn new() -> Self {
        Details::default()
    }

    /// Set `key` (replacing its value if it is there).
    pub fn insert(&mut self, key: &'static str, value: impl Into<Fact>) {
        let value = value.into();
        match self.0.binary_search_by(|(k, _)| (*k).cmp(key)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    /// Give back the room kept for more facts (the graph holds 100,000s of these).
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }

    pub fn get(&self, key: &str) -> Option<&Fact> {
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

/// One fact about an object: a scalar, some text (shared: every task of a class names the
/// same type), or another object.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(Arc<str>),
    Object(Id),
}

impl Fact {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Fact::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Fact::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl Serialize for Fact {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Fact::Null => s.serialize_unit(),
            Fact::Bool(b) => s.serialize_bool(*b),
            Fact::Int(i) => s.serialize_i64(*i),
            // As serde_json writes a float: not finite is null.
            Fact::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Fact::Float(_) => s.serialize_unit(),
            Fact::Text(t) => s.serialize_str(t),
            Fact::Object(id) => id.serialize(s),
        }
    }
}

impl From<bool> for Fact {
    fn from(v: bool) -> Fact {
        Fact::Bool(v)
    }
}
impl From<i64> for Fact {
    fn from(v: i64) -> Fact {
        Fact::Int(v)
    }
}
impl From<u64> for Fact {
    fn from(v: u64) -> Fact {
        i64::try_from(v).map_or(Fact::Float(v as f64), Fact::Int)
    }
}
impl From<usize> for Fact {
    fn from(v: usize) -> Fact {
        Fact::from(v as u64)
    }
}
impl From<f64> for Fact {
    fn from(v: f64) -> Fact {
        Fact::Float(v)
    }
}
impl From<Arc<str>> for Fact {
    fn from(v: Arc<str>) -> Fact {
        Fact::Text(v)
    }
}
impl From<String> for Fact {
    fn from(v: String) -> Fact {
        Fact::Text(v.into())
    }
}
impl From<&str> for Fact {
    fn from(v: &str) -> Fact {
        Fact::Text(v.into())
    }
}
impl From<Id> for Fact {
    fn from(v: Id) -> Fact {
        Fact::Object(v)
    }
}
impl<T: Into<Fact>> From<Option<T>> for Fact {
    fn from(v: Option<T>) -> Fact {
        v.map_or(Fact::Null, Into::into)
    }
}

/// A node's state: an asyncio future's, or a `concurrent.futures` job's (`RUNNING`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectState {
    Future(State),
    Job(String),
}

impl ObjectState {
    /// Whether an asyncio future is done (cancelled or finished).
    pub fn is_done(&self) -> bool {
        matches!(
            self,
            ObjectState::Future(State::Cancelled | State::Finished)
        )
    }
}

impl Serialize for ObjectState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ObjectState::Future(state) => state.serialize(s),
            ObjectState::Job(state) => s.serialize_str(state),
        }
    }
}

/// A wait edge: `from` cannot proceed until `to` does something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub from: Id,
    pub to: Id,
    pub kind: EdgeKind,
    /// Where the waiting frame is, when known.
    pub site: Option<Site>,
    /// Deduced from circumstantial evidence (e.g. who holds a Lock), not recorded by asyncio.
    pub inferred: bool,
}

vocabulary! {
    /// How sure a cycle's claim is. `deadlock`: nothing inside can proceed and nothing
    /// outside can break it. `likely deadlock`: nothing found can break it, but something
    /// that could still run was not shown unable to. `not a deadlock`: something outside
    /// can still break it (a sleeping task, a timer, a thread...).
    Grade {
        Deadlock = "deadlock",
        Likely = "likely deadlock",
        NotDeadlock = "not a deadlock",
    }
}

/// A cycle of waits, e.g. two tasks each holding the Lock the other wants. `render` says it
/// in one line ("deadlock: Task 'A' → Lock 0x… (held by 'B') → ...").
#[derive(Debug, Clone)]
pub struct Cycle {
    /// Object ids around the cycle, in edge order.
    pub nodes: Vec<Id>,
    pub grade: Grade,
    /// The edges around the cycle, `nodes[i]` to the next, each with every waker found
    /// of the object it leaves (for `could-wake` edges).
    pub steps: Vec<Step>,
    /// Not a deadlock: what can break the cycle. Likely: what can still run and was not
    /// shown unable to break it. The first ones found; `breakers_total` counts them all.
    pub breakers: Vec<Breaker>,
    pub breakers_total: usize,
}

/// One edge of a cycle.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub kind: EdgeKind,
    /// For a `could-wake` edge: every waker of the object (in the cycle or not), the first
    /// ones; `wakers_total` counts them all.
    pub wakers: Vec<Id>,
    #[serde(skip)]
    pub wakers_total: usize,
}

/// Something that can break a cycle, or could not be shown unable to.
#[derive(Debug, Clone, PartialEq)]
pub enum Breaker {
    /// A node outside the cycle that can still move: a task with the first thing it waits
    /// on that can (none: it can run), a timer, a thread...
    Node { id: Id, waiting_on: Option<Id> },
    /// A member of the cycle giving up at its own deadline (a timeout, a `wait_for`).
    GivesUp { member: Id, deadline: Id },
    /// A member that moves by itself at its deadline.
    Deadline(Id),
    /// What runs outside the graph.
    Outside(Outside),
}

/// What can still run code but is no node of the graph: threads and loop callbacks that
/// were not found to wake anything, and what could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum Outside {
    /// A thread that runs none of the tasks and is not idle.
    Thread { name: Option<Arc<str>>, id: u64 },
    /// A callback queued (or a timer, `timed`) on an event loop.
    Handle {
        timed: bool,
        handle: Id,
        event_loop: Id,
    },
    /// The same, whose callback could not be read.
    UnreadHandle {
        timed: bool,
        handle: Id,
        event_loop: Id,
        error: String,
    },
    /// Callbacks and timers of a loop past the ones read.
    MoreHandles {
        event_loop: Id,
        more: usize,
        read: usize,
    },
    /// A loop whose callbacks and timers could not be read, and its class.
    UnreadLoop { event_loop: Id, class: Arc<str> },
    /// A task whose chain could not be read completely.
    IncompleteTask { task: Id, error: String },
    /// A future whose done-callbacks could not be read.
    UnreadCallbacks { future: Id, error: String },
    /// A done-callback that could not be read.
    UnreadCallback {
        callback: Id,
        future: Id,
        error: String,
    },
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
    /// Why the walk of its stack stopped before the outermost frame, when it did: the
    /// frames are those above the break.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut: Option<String>,
}
