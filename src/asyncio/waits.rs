//! Typed waits: what the object at the end of a task's chain really is (a Lock, an Event,
//! a Queue, a sleep timer, a TaskGroup...) and the facts that matter about it.

use super::stdlib::Stdlib;
use super::uvloop;
use crate::cpython::Py;
use crate::error::Result;
use crate::model::{Deadline, Details, EdgeKind, Fact, Facts, Frame, Id, Kind, Label, Socket};
use crate::target::Addr;

/// asyncio classes whose `self` in a waiting frame names the resource, and their kind.
const RESOURCES: &[((&str, &str), Kind)] = &[
    (("asyncio.locks", "Lock"), Kind::Lock),
    (("asyncio.locks", "Event"), Kind::Event),
    (("asyncio.locks", "Condition"), Kind::Condition),
    (("asyncio.locks", "Semaphore"), Kind::Semaphore),
    (("asyncio.locks", "BoundedSemaphore"), Kind::Semaphore),
    (("asyncio.queues", "Queue"), Kind::Queue),
    (("asyncio.queues", "PriorityQueue"), Kind::Queue),
    (("asyncio.queues", "LifoQueue"), Kind::Queue),
    (("asyncio.locks", "Barrier"), Kind::Barrier),
    (("asyncio.taskgroups", "TaskGroup"), Kind::TaskGroup),
    (ANYIO_LOCK, Kind::Lock),
    (ANYIO_SEMAPHORE, Kind::Semaphore),
    (ANYIO_LIMITER, Kind::Semaphore),
    (ANYIO_STREAM_STATE, Kind::Queue),
    (ANYIO_TASKGROUP, Kind::TaskGroup),
];
/// anyio's primitives on asyncio (anyio 4): a Lock keeps its owner task and a deque of
/// (task, future) waiters, a Semaphore a value and a deque of futures, a CapacityLimiter
/// (a semaphore whose tokens are lent to borrowers) its total, the set of borrowers and an
/// ordered dict of borrower -> asyncio.Event each waiter waits on. Its Event wraps an
/// asyncio.Event, which is what its waiters wait on.
const ANYIO_LOCK: (&str, &str) = ("anyio._backends._asyncio", "Lock");
const ANYIO_SEMAPHORE: (&str, &str) = ("anyio._backends._asyncio", "Semaphore");
const ANYIO_LIMITER: (&str, &str) = ("anyio._backends._asyncio", "CapacityLimiter");
/// anyio's task group: a set of asyncio tasks, and a cancel scope that names its host.
const ANYIO_TASKGROUP: (&str, &str) = ("anyio._backends._asyncio", "TaskGroup");
/// anyio's memory object streams: a send end and a receive end over one shared state, which
/// keeps the buffer and the waiting senders and receivers (each on an anyio Event). The
/// state is the channel a waiter waits on, typed as a queue.
const ANYIO_STREAM_STATE: (&str, &str) = ("anyio.streams.memory", "_MemoryObjectStreamState");
pub const ANYIO_STREAM_ENDS: &[((&str, &str), ())] = &[
    (("anyio.streams.memory", "MemoryObjectSendStream"), ()),
    (("anyio.streams.memory", "MemoryObjectReceiveStream"), ()),
];
/// Waits in a library's own code (outside asyncio's): the function a waiter is suspended
/// in, the class of its `self`, the attribute of `self` that is waited on (None: `self`),
/// its kind and how the waiter relates to it.
type LibraryWait = (
    &'static str,
    (&'static str, &'static str),
    Option<&'static str>,
    Kind,
    EdgeKind,
);
const LIBRARY_WAITS: &[LibraryWait] = &[
    ("acquire", ANYIO_LOCK, None, Kind::Lock, EdgeKind::Acquire),
    (
        "acquire",
        ANYIO_SEMAPHORE,
        None,
        Kind::Semaphore,
        EdgeKind::Acquire,
    ),
    (
        "acquire",
        ANYIO_LIMITER,
        None,
        Kind::Semaphore,
        EdgeKind::Acquire,
    ),
    (
        "acquire_on_behalf_of",
        ANYIO_LIMITER,
        None,
        Kind::Semaphore,
        EdgeKind::Acquire,
    ),
    (
        "__aexit__",
        ANYIO_TASKGROUP,
        None,
        Kind::TaskGroup,
        EdgeKind::Wait,
    ),
    (
        "receive",
        ("anyio.streams.memory", "MemoryObjectReceiveStream"),
        Some("_state"),
        Kind::Queue,
        EdgeKind::Get,
    ),
    (
        "send",
        ("anyio.streams.memory", "MemoryObjectSendStream"),
        Some("_state"),
        Kind::Queue,
        EdgeKind::Put,
    ),
];

/// The loop's notion of "now", when it can be known.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: f64,
    /// Where `now` comes from: the live monotonic clock, or the loop's last select().
    pub live: bool,
}

/// A typed object a task waits on, described.
#[derive(Debug, Clone)]
pub struct Resource {
    pub addr: Addr,
    pub kind: Kind,
    pub label: Label,
    pub details: Details,
    /// How the waiting task relates to it (acquire, wait, get, put, sleep, ...).
    pub edge: EdgeKind,
    /// The tasks it names as its holders (an anyio Lock's owner, a CapacityLimiter's
    /// borrowers): held whether or not they are inside `async with`.
    pub holders: Vec<Addr>,
}

/// The resource kind of an object, if it is one of asyncio's primitives.
pub fn resource_kind(py: &Py<'_>, obj: Addr) -> Result<Option<Kind>> {
    py.class_in(obj, RESOURCES)
}

/// What a chain waits on.
#[derive(Debug, Clone)]
pub enum Wait {
    /// One of asyncio's primitives, to be described with [`describe`] once per object
    /// (thousands of tasks may wait on one Event).
    Primitive {
        addr: Addr,
        kind: Kind,
        edge: EdgeKind,
    },
    /// Anything else, described already: a sleep timer, a socket, a subprocess.
    Described(Box<Resource>),
}

/// What the innermost asyncio frames of a chain wait on. `frames` are outermost first;
/// only suspended chains are passed here.
pub fn classify(
    py: &Py<'_>,
    frames: &[Frame],
    clock: Option<Clock>,
    stdlib: &Stdlib,
) -> Result<Option<Wait>> {
    // The innermost run of asyncio's own frames says what is awaited; its outermost
    // primitive is the one the program used (Barrier.wait, not the Condition inside it;
    // the Lock of `async with lock`, entered through `__aenter__`).
    let inner = frames
        .iter()
        .rev()
        .take_while(|f| stdlib.contains(&f.file))
        .count();
    let run = &frames[frames.len() - inner..];
    // A library's primitive waits in the library's own code (its acquire(), a stream's
    // receive()), which may wait on asyncio primitives of its own (the Event a
    // CapacityLimiter gives each waiter): the library's is the one the program used.
    if let Some(found) = library_wait(py, &frames[..frames.len() - inner])? {
        return Ok(Some(found));
    }
    if let Some(Frame {
        at: (frame, code), ..
    }) = run.iter().rev().find(|f| &*f.function == "sleep")
        && let Some(h) = py.frame_local(*frame, *code, "h")?
    {
        let mut r = timer(py, h, clock, EdgeKind::Sleep)?;
        // The delay as the program passed it (int or float), for "sleep(3600)".
        if let Some(delay) = py.frame_local(*frame, *code, "delay")? {
            let v = match py.int(delay) {
                Ok(i) => Some(Fact::Int(i)),
                Err(_) => py.float(delay).ok().map(Fact::Float),
            };
            if let Some(v) = v {
                if let Facts::Timer { sleep, .. } = &mut r.label.facts {
                    *sleep = Some(v.clone());
                }
                r.details.insert("delay", v);
            }
        }
        return Ok(Some(Wait::Described(Box::new(r))));
    }
    for f in run {
        let (frame, code) = f.at;
        if let Some(r) = io_wait(py, frame, code, &f.function)? {
            return Ok(Some(Wait::Described(Box::new(r))));
        }
        if let Some(me) = py.frame_local(frame, code, "self")?
            && let Some(kind) = resource_kind(py, me)?
        {
            let edge = match (kind, &*f.function) {
                (Kind::Lock | Kind::Semaphore, _) => EdgeKind::Acquire,
                (Kind::Queue, "put") => EdgeKind::Put,
                (Kind::Queue, "join") => EdgeKind::Join,
                (Kind::Queue, _) => EdgeKind::Get,
                _ => EdgeKind::Wait,
            };
            return Ok(Some(Wait::Primitive {
                addr: me,
                kind,
                edge,
            }));
        }
    }
    Ok(None)
}

/// The innermost frame (outside asyncio's) suspended in a library primitive's waiting
/// method, by the method's name and the identity of its `self`'s class.
fn library_wait(py: &Py<'_>, frames: &[Frame]) -> Result<Option<Wait>> {
    for f in frames.iter().rev() {
        let mut candidates = LIBRARY_WAITS
            .iter()
            .filter(|w| w.0 == &*f.function)
            .peekable();
        if candidates.peek().is_none() {
            continue;
        }
        let Some(me) = py.frame_local(f.at.0, f.at.1, "self")? else {
            continue;
        };
        for &(_, class, attr, kind, edge) in candidates {
            if py.class_in(me, &[(class, ())])?.is_none() {
                continue;
            }
            let addr = match attr {
                Some(a) => match py.attr(me, a)? {
                    Some(x) => x,
                    None => continue,
                },
                None => me,
            };
            return Ok(Some(Wait::Primitive { addr, kind, edge }));
        }
    }
    Ok(None)
}

/// The shared state of an anyio memory object stream end, or None for anything else.
pub fn stream_state(py: &Py<'_>, obj: Addr) -> Result<Option<Addr>> {
    if py.class_in(obj, ANYIO_STREAM_ENDS)?.is_none() {
        return Ok(None);
    }
    py.attr(obj, "_state")
}

/// Streams, sockets and subprocesses: the file descriptor (and whether the loop's
/// selector watches it for reading or writing), or the child's pid.
fn io_wait(py: &Py<'_>, frame: Addr, code: Addr, function: &str) -> Result<Option<Resource>> {
    let local = |name: &str| py.frame_local(frame, code, name);
    let int = |obj: Option<Addr>| obj.and_then(|o| py.int(o).ok());
    let (addr, kind, edge, d, what) = match function {
        "_wait_for_data" => {
            let Some(reader) = local("self")? else {
                return Ok(None);
            };
            let transport = py
                .attr(reader, "_transport")?
                .filter(|&t| !py.is_none(t).unwrap_or(true));
            let fd = int(transport
                .map(|t| py.attr(t, "_sock_fd"))
                .transpose()?
                .flatten());
            let mut d = Details::new();
            d.insert("fd", fd);
            let buffered = py
                .attr(reader, "_buffer")?
                .map(|b| py.len_of(b))
                .transpose()?;
            d.insert("buffered", buffered);
            let watched = transport
                .map(|t| selector_events(py, t, fd))
                .transpose()?
                .flatten();
            (
                reader,
                Kind::Stream,
                EdgeKind::Read,
                d,
                watched.map(|w| (fd, w)),
            )
        }
        "sock_recv" | "sock_recv_into" | "sock_recvfrom" | "sock_sendall" | "sock_accept"
        | "sock_connect" => {
            let Some(sock) = local("sock")? else {
                return Ok(None);
            };
            let lp = local("self")?;
            let (fd, watched) = match (int(local("fd")?), lp) {
                (Some(fd), Some(lp)) => (Some(fd), selector_events_of_loop(py, lp, Some(fd))?),
                (fd, None) => (fd, None),
                // 3.7 keeps no fd among these frames' locals: the selector's key whose
                // handle completes this frame's future names it.
                (None, Some(lp)) => match local("fut")? {
                    Some(fut) => selector_key_of_future(py, lp, fut)?
                        .map_or((None, None), |k| (Some(k.fd), Some(k.events))),
                    None => (None, None),
                },
            };
            let mut d = Details::new();
            d.insert("fd", fd);
            let edge = if function == "sock_sendall" || function == "sock_connect" {
                EdgeKind::Write
            } else {
                EdgeKind::Read
            };
            (sock, Kind::Socket, edge, d, watched.map(|w| (fd, w)))
        }
        "_wait" => {
            let Some(me) = local("self")? else {
                return Ok(None);
            };
            if py
                .class_in(
                    me,
                    &[(("asyncio.base_subprocess", "BaseSubprocessTransport"), ())],
                )?
                .is_none()
            {
                return Ok(None);
            }
            let mut d = Details::new();
            d.insert("pid", int(py.attr(me, "_pid")?));
            let label = Label::with("subprocess", Facts::Pid(int(py.attr(me, "_pid")?)));
            return Ok(Some(Resource {
                addr: me,
                kind: Kind::Subprocess,
                label,
                details: d,
                edge: EdgeKind::Wait,
                holders: Vec::new(),
            }));
        }
        _ => return Ok(None),
    };
    Ok(Some(fd_resource(
        addr,
        kind,
        edge,
        d,
        what.map(|(_, events)| events),
    )))
}

/// A stream or socket waited on: its details (`fd`), and what the loop's selector watches.
fn fd_resource(
    addr: Addr,
    kind: Kind,
    edge: EdgeKind,
    mut d: Details,
    watched: Option<i64>,
) -> Resource {
    if let Some(events) = watched {
        d.insert("selector_events", events);
    }
    let fd = d.get("fd").and_then(Fact::as_int);
    let label = Label::with(kind.as_str(), Facts::Fd { fd, watched });
    Resource {
        addr,
        kind,
        label,
        details: d,
        edge,
        holders: Vec::new(),
    }
}

/// 3.6: a socket wait is a plain future that `sock_recv`, `sock_sendall` and the like
/// return (no coroutine frame of theirs holds the socket): the loop's selector key whose
/// handle completes `fut` names the socket (among the handle's arguments, a
/// `socket.socket`), its fd, and whether it waits to read or to write.
pub fn socket_of_future(py: &Py<'_>, lp: Addr, fut: Addr) -> Result<Option<Resource>> {
    let Some(key) = selector_key_of_future(py, lp, fut)? else {
        return Ok(None);
    };
    for &arg in &key.args {
        if py.class_in(arg, &[(("socket", "socket"), ())])?.is_some() {
            let mut d = Details::new();
            d.insert("fd", Some(key.fd));
            let edge = if key.writer {
                EdgeKind::Write
            } else {
                EdgeKind::Read
            };
            return Ok(Some(fd_resource(
                arg,
                Kind::Socket,
                edge,
                d,
                Some(key.events),
            )));
        }
    }
    Ok(None)
}

/// Events (1 read, 2 write) the transport's loop selector has registered for `fd`.
fn selector_events(py: &Py<'_>, transport: Addr, fd: Option<i64>) -> Result<Option<i64>> {
    match py.attr(transport, "_loop")? {
        Some(lp) => selector_events_of_loop(py, lp, fd),
        None => Ok(None),
    }
}

/// The loop's selector's keys by file descriptor (`_selector._fd_to_key`), `None` for a
/// loop without one.
fn selector_keys(py: &Py<'_>, lp: Addr) -> Result<Option<Vec<(Addr, Addr)>>> {
    let Some(selector) = py.attr(lp, "_selector")? else {
        return Ok(None);
    };
    match py.attr(selector, "_fd_to_key")? {
        Some(map) => py.dict_items(map).map(Some),
        None => Ok(None),
    }
}

fn selector_events_of_loop(py: &Py<'_>, lp: Addr, fd: Option<i64>) -> Result<Option<i64>> {
    let Some(fd) = fd else { return Ok(None) };
    let Some(keys) = selector_keys(py, lp)? else {
        return Ok(None);
    };
    for (k, key) in keys {
        if py.int(k).ok() == Some(fd) {
            // SelectorKey(fileobj, fd, events, data) is a named tuple.
            return Ok(py.tuple(key)?.get(2).and_then(|&e| py.int(e).ok()));
        }
    }
    Ok(Some(0))
}

/// A selector key whose reader or writer handle takes a given future as an argument.
struct FutureKey {
    fd: i64,
    events: i64,
    /// The writer's handle (else the reader's).
    writer: bool,
    /// The handle's arguments.
    args: Vec<Addr>,
}

/// The loop's selector key whose reader or writer handle takes `fut` as an argument (the
/// callback that completes it when the file descriptor is ready).
fn selector_key_of_future(py: &Py<'_>, lp: Addr, fut: Addr) -> Result<Option<FutureKey>> {
    let Some(keys) = selector_keys(py, lp)? else {
        return Ok(None);
    };
    for (_, key) in keys {
        // SelectorKey(fileobj, fd, events, data); data is (reader, writer) handles.
        let key = py.tuple(key)?;
        let (Some(&fd), Some(&events), Some(&data)) = (key.get(1), key.get(2), key.get(3)) else {
            continue;
        };
        for (i, handle) in py.tuple(data)?.into_iter().enumerate().take(2) {
            if py.is_none(handle)? {
                continue;
            }
            let args = match py.attr(handle, "_args")? {
                Some(args) => py.tuple(args)?,
                None => continue,
            };
            if args.contains(&fut) {
                return Ok(Some(FutureKey {
                    fd: py.int(fd)?,
                    events: py.int(events)?,
                    writer: i == 1,
                    args,
                }));
            }
        }
    }
    Ok(None)
}

/// The socket of one of asyncio's selector transports (known by identity): its fd, the
/// addresses in its `_extra` (noted when it was made), and what the selector watches.
pub fn transport_socket(py: &Py<'_>, transport: Addr) -> Result<Option<Socket>> {
    const TRANSPORTS: &[((&str, &str), ())] = &[
        (("asyncio.selector_events", "_SelectorSocketTransport"), ()),
        (
            ("asyncio.selector_events", "_SelectorDatagramTransport"),
            (),
        ),
    ];
    if py.class_in(transport, TRANSPORTS)?.is_none() {
        return Ok(None);
    }
    let fd = py.attr(transport, "_sock_fd")?.and_then(|f| py.int(f).ok());
    let extra = py.attr(transport, "_extra")?;
    let address = |key: &str| -> Option<String> {
        let v = py.dict_get(extra?, key).ok()??;
        if let Ok(path) = py.str(v) {
            return Some(path);
        }
        let parts = py.tuple(v).ok()?;
        let host = py.str(*parts.first()?).ok()?;
        let port = py.int(*parts.get(1)?).ok()?;
        Some(if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        })
    };
    Ok(Some(Socket {
        fd,
        sockname: address("sockname"),
        peername: address("peername"),
        selector_events: selector_events(py, transport, fd)?,
    }))
}

/// Primitives a chain is waiting *inside* (`Condition.wait` has released its lock): an
/// `async with` on one of them in an outer frame does not mean the task holds it.
pub fn released(py: &Py<'_>, frames: &[Frame], stdlib: &Stdlib) -> Vec<Addr> {
    frames
        .iter()
        .filter(|f| stdlib.contains(&f.file) && matches!(&*f.function, "wait" | "wait_for"))
        .filter_map(|f| py.frame_local(f.at.0, f.at.1, "self").ok().flatten())
        .filter(|&me| resource_kind(py, me).ok().flatten() == Some(Kind::Condition))
        .collect()
}

fn count(py: &Py<'_>, obj: Addr, name: &str) -> Result<u64> {
    match py.attr(obj, name)? {
        Some(v) => py.len_of(v),
        None => Ok(0),
    }
}

fn flag(py: &Py<'_>, obj: Addr, name: &str) -> Result<bool> {
    match py.attr(obj, name)? {
        Some(v) => py.truthy(v),
        None => Ok(false),
    }
}

fn int_attr(py: &Py<'_>, obj: Addr, name: &str) -> Result<Option<i64>> {
    match py.attr(obj, name)? {
        Some(v) if py.is_int(v)? => Ok(Some(py.int(v)?)),
        _ => Ok(None),
    }
}

/// The waiter futures queued on a primitive (`_waiters`, `_getters`, `_putters`).
pub fn waiter_futures(py: &Py<'_>, obj: Addr, name: &str) -> Result<Vec<Addr>> {
    match py.attr(obj, name)? {
        Some(d) if !py.is_none(d)? && &*py.obj_type_name(d)? == "collections.deque" => py.deque(d),
        _ => Ok(Vec::new()),
    }
}

/// Describe an asyncio primitive.
pub fn describe(
    py: &Py<'_>,
    obj: Addr,
    kind: Kind,
    edge: EdgeKind,
    clock: Option<Clock>,
) -> Result<Resource> {
    let _ = clock;
    let type_name = py.short_type_name(obj)?;
    let mut d = Details::new();
    let mut holders = Vec::new();
    let facts: Facts = match kind {
        Kind::Lock => {
            // anyio's Lock is held while it has an owner task, which it names.
            let locked = if py.class_in(obj, &[(ANYIO_LOCK, ())])?.is_some() {
                let owner =
                    (py.attr(obj, "_owner_task")?).filter(|&t| !py.is_none(t).unwrap_or(true));
                d.insert("owner", owner.map(Id));
                holders.extend(owner);
                owner.is_some()
            } else {
                flag(py, obj, "_locked")?
            };
            let waiters = count(py, obj, "_waiters")?;
            d.insert("locked", locked);
            d.insert("waiters", waiters);
            Facts::Lock {
                locked,
                waiting: waiters,
            }
        }
        Kind::Event => {
            let set = flag(py, obj, "_value")?;
            let waiters = count(py, obj, "_waiters")?;
            d.insert("set", set);
            d.insert("waiters", waiters);
            Facts::Event {
                set,
                waiting: waiters,
            }
        }
        Kind::Semaphore if py.class_in(obj, &[(ANYIO_LIMITER, ())])?.is_some() => {
            // Tokens lent to borrowers (tasks, or any object lent one on its behalf).
            let borrowers = match py.attr(obj, "_borrowers")? {
                Some(s) => py.set_items(s)?,
                None => Vec::new(),
            };
            let total = int_attr(py, obj, "_total_tokens")?;
            let waiting = count(py, obj, "_wait_queue")?;
            d.insert("total", total);
            d.insert("borrowed", borrowers.len());
            d.insert("waiters", waiting);
            let borrowed = borrowers.len() as u64;
            holders = borrowers;
            Facts::Limiter {
                borrowed,
                total,
                waiting,
            }
        }
        Kind::Semaphore => {
            let value = int_attr(py, obj, "_value")?;
            let waiters = count(py, obj, "_waiters")?;
            d.insert("value", value);
            d.insert("waiters", waiters);
            Facts::Semaphore {
                value,
                waiting: waiters,
            }
        }
        Kind::Condition => {
            let waiters = count(py, obj, "_waiters")?;
            let lock = py.attr(obj, "_lock")?;
            d.insert("waiters", waiters);
            d.insert("lock", lock.map(Id));
            Facts::Waiting(waiters)
        }
        Kind::Queue if py.class_in(obj, &[(ANYIO_STREAM_STATE, ())])?.is_some() => {
            let buffered = match py.attr(obj, "buffer")? {
                Some(b) => py.len_of(b)?,
                None => 0,
            };
            // math.inf (the default is 0: a send waits for a receiver).
            let max = int_attr(py, obj, "max_buffer_size")?;
            let receivers = count(py, obj, "waiting_receivers")?;
            let senders = count(py, obj, "waiting_senders")?;
            d.insert("size", buffered);
            d.insert("maxsize", max);
            d.insert("getters", receivers);
            d.insert("putters", senders);
            d.insert("send_streams", int_attr(py, obj, "open_send_channels")?);
            d.insert(
                "receive_streams",
                int_attr(py, obj, "open_receive_channels")?,
            );
            Facts::Channel {
                buffered,
                max,
                receivers,
                senders,
            }
        }
        Kind::Queue => {
            let size = match py.attr(obj, "_queue")? {
                Some(q) => py.len_of(q)?,
                None => 0,
            };
            let maxsize = int_attr(py, obj, "_maxsize")?.unwrap_or(0);
            let getters = count(py, obj, "_getters")?;
            let putters = count(py, obj, "_putters")?;
            d.insert("size", size);
            d.insert("maxsize", maxsize);
            d.insert("getters", getters);
            d.insert("putters", putters);
            // Items taken but not yet marked task_done(): what join() waits for.
            let unfinished = int_attr(py, obj, "_unfinished_tasks")?;
            d.insert("unfinished", unfinished);
            Facts::Queue {
                size,
                maxsize,
                getters,
                putters,
                unfinished: (edge == EdgeKind::Join).then(|| unfinished.unwrap_or(0)),
            }
        }
        Kind::Barrier => {
            let parties = int_attr(py, obj, "_parties")?;
            let waiting = int_attr(py, obj, "_count")?;
            d.insert("parties", parties);
            d.insert("waiting", waiting);
            Facts::Barrier { waiting, parties }
        }
        Kind::TaskGroup => {
            let tasks = match py.attr(obj, "_tasks")? {
                Some(s) => py.set_items(s)?.len(),
                None => 0,
            };
            // asyncio's names its parent; anyio's cancel scope names its host.
            let parent = if py.class_in(obj, &[(ANYIO_TASKGROUP, ())])?.is_some() {
                match py.attr(obj, "cancel_scope")? {
                    Some(scope) => py.attr(scope, "_host_task")?,
                    None => None,
                }
            } else {
                py.attr(obj, "_parent_task")?
            };
            let parent = parent.filter(|&p| !py.is_none(p).unwrap_or(true));
            d.insert("tasks", tasks);
            d.insert("parent", parent.map(Id));
            Facts::Tasks(tasks as u64)
        }
        _ => Facts::None,
    };
    // A TaskGroup is named by its class whatever the subclass, an anyio stream's state by
    // what it is; the rest by their own.
    let head = match (kind, &facts) {
        (Kind::TaskGroup, _) => "TaskGroup".into(),
        (_, Facts::Channel { .. }) => "memory object stream".into(),
        _ => type_name,
    };
    let label = Label::with(head, facts);

    Ok(Resource {
        addr: obj,
        kind,
        label,
        details: d,
        holders,
        edge,
    })
}

/// Describe a `TimerHandle` (sleep, wait_for, timeouts): deadline, and time left when known.
pub fn timer(py: &Py<'_>, handle: Addr, clock: Option<Clock>, edge: EdgeKind) -> Result<Resource> {
    let mut d = Details::new();
    let (when, cancelled, unreadable) = match py.attr(handle, "_when")? {
        Some(w) => {
            let cancelled = match py.attr(handle, "_cancelled")? {
                Some(c) => py.truthy(c)?,
                None => false,
            };
            (Some(py.float(w)?), Some(cancelled), None)
        }
        None => {
            let type_name = py.obj_type_name(handle)?;
            if &*type_name == uvloop::TIMER_TYPE {
                match uvloop::timer(py, handle)? {
                    Ok((w, c)) => (Some(w), Some(c), None),
                    Err(why) => (None, None, Some(why)),
                }
            } else {
                (
                    None,
                    None,
                    Some(format!("{type_name} keeps no _when attribute")),
                )
            }
        }
    };
    d.insert("when", when);
    d.insert("cancelled", cancelled);
    let deadline = match (when, clock) {
        (Some(w), Some(c)) => {
            let left = w - c.now;
            d.insert("remaining", left);
            d.insert(
                "clock",
                if c.live {
                    "live monotonic clock"
                } else {
                    "the loop's last select()"
                },
            );
            Deadline::In { left, live: c.live }
        }
        (Some(w), None) => Deadline::LoopTime(w),
        (None, _) => {
            d.insert("unreadable", unreadable);
            Deadline::Unreadable(py.short_type_name(handle)?)
        }
    };
    let label = Label::with(
        "timer",
        Facts::Timer {
            sleep: None,
            deadline,
        },
    );
    Ok(Resource {
        addr: handle,
        kind: Kind::Timer,
        label,
        details: d,
        edge,
        holders: Vec::new(),
    })
}
