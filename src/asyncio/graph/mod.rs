//! The wait graph: tasks, what each waits on (typed), the bookkeeping that links futures
//! (gather, shield, wait, wait_for, TaskGroup, executors), inferred lock holders, and the
//! cycles in it.

use super::callbacks::{Link, callbacks, classify as classify_link};
use super::stdlib::Stdlib;
use super::tasks::{future_kind, future_state, task_kind, task_name};
use super::waits::{self, Clock, Resource, Wait};
use crate::cpython::Py;
use crate::cpython::thread::ThreadStack;
use crate::error::Result;
use crate::model::{
    Cycle, Details, Edge, EdgeKind, Fact, Facts, Frame, Id, Kind, Label, Object, ObjectRef,
    ObjectState, Outside, Owner, Site, Socket, State, Task,
};
use crate::target::{Addr, AddrHash, AddrMap};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

mod cycles;
pub mod reads;
mod threadsafe;
mod wakers;
use cycles::cycles;
use reads::{Described, Held, TaskReads};

/// Deepest nesting of gathers whose children we follow.
const MAX_NESTING: usize = 256;

pub struct Graph {
    pub objects: Vec<Object>,
    pub edges: Vec<Edge>,
    pub cycles: Vec<Cycle>,
    pub warnings: Vec<String>,
}

/// The graph's objects, by address: a vector and an index into it (at 100,000 objects a
/// B-tree node per object costs more than the object). In address order once `sorted`.
#[derive(Default)]
struct Nodes {
    list: Vec<Object>,
    index: AddrMap<usize>,
}

impl Nodes {
    fn len(&self) -> usize {
        self.list.len()
    }

    fn contains_key(&self, addr: &Addr) -> bool {
        self.index.contains_key(addr)
    }

    fn get(&self, addr: &Addr) -> Option<&Object> {
        self.index.get(addr).map(|&i| &self.list[i])
    }

    fn get_mut(&mut self, addr: &Addr) -> Option<&mut Object> {
        self.index.get(addr).map(|&i| &mut self.list[i])
    }

    fn insert(&mut self, o: Object) {
        self.index.insert(o.id.0, self.list.len());
        self.list.push(o);
    }

    fn remove(&mut self, addr: &Addr) {
        if let Some(i) = self.index.remove(addr) {
            self.list.swap_remove(i);
            if let Some(moved) = self.list.get(i) {
                self.index.insert(moved.id.0, i);
            }
        }
    }

    /// Addresses of the objects of one kind, in address order.
    fn of_kind(&self, kind: Kind) -> Vec<Addr> {
        let mut out: Vec<Addr> = (self.list.iter())
            .filter(|o| o.kind == kind)
            .map(|o| o.id.0)
            .collect();
        out.sort_unstable();
        out
    }

    fn sorted(mut self) -> Vec<Object> {
        self.list.sort_unstable_by_key(|o| o.id);
        self.list
    }
}

struct Builder<'a, 'r> {
    py: &'a Py<'r>,
    clock: Option<Clock>,
    /// Which frames are asyncio's own.
    stdlib: &'a Stdlib,
    objects: Nodes,
    edges: Vec<Edge>,
    /// Every edge once, as (from, to, kind): also says which nodes any edge uses.
    edge_set: HashSet<(Addr, Addr, EdgeKind), AddrHash>,
    /// Futures whose callbacks are still to be read.
    pending: Vec<Addr>,
    scanned: HashSet<Addr, AddrHash>,
    warnings: Vec<String>,
    /// Waiter future of each task → the task.
    waiter_of: AddrMap<Addr>,
    /// (future, callback) for the done-callbacks that are not asyncio's own links.
    done_callbacks: Vec<(Addr, Addr)>,
    /// Threads and loop callbacks that can still run code and wake nothing we can see.
    runners: Vec<Outside>,
    /// What could not be read, that could still run code.
    unread: Vec<Outside>,
    /// How many gathers deep `future` is.
    nesting: usize,
    /// Primitives described by the tasks' reads ([`TaskReads::primitive`]).
    described: HashMap<(Addr, Kind, EdgeKind), Box<Described>, AddrHash>,
}

impl Builder<'_, '_> {
    fn add(
        &mut self,
        addr: Addr,
        kind: Kind,
        label: Label,
        state: Option<ObjectState>,
        mut details: Details,
    ) {
        if self.objects.contains_key(&addr) {
            return;
        }
        if self.objects.len() >= self.py.limits.objects {
            self.py.hit("objects");
            return;
        }
        details.shrink_to_fit();
        self.objects.insert(Object {
            id: Id(addr),
            kind,
            label,
            state,
            details,
        });
    }

    fn edge(&mut self, from: Addr, to: Addr, kind: EdgeKind, site: Option<Site>, inferred: bool) {
        if self.edge_set.insert((from, to, kind)) {
            self.edges.push(Edge {
                from: Id(from),
                to: Id(to),
                kind,
                site,
                inferred,
            });
        }
    }

    /// The node of an asyncio primitive, described the first time it is seen.
    fn primitive(&mut self, addr: Addr, kind: Kind, edge: EdgeKind) -> Result<()> {
        if !self.objects.contains_key(&addr) {
            let r = match self.described.remove(&(addr, kind, edge)) {
                Some(d) => d.1?,
                None => waits::describe(self.py, addr, kind, edge, self.clock)?,
            };
            // A primitive that names its holders (an anyio Lock's owner, a CapacityLimiter's
            // borrowers) is held by those of them that are tasks, `async with` or not.
            let holders: Vec<Addr> = (r.holders.iter().copied())
                .filter(|t| self.objects.get(t).is_some_and(|o| o.kind == Kind::Task))
                .collect();
            self.resource(r);
            for t in holders {
                self.edge(addr, t, EdgeKind::HeldBy, None, true);
            }
        }
        Ok(())
    }

    /// The node of what a chain waits on: (address, kind, how the waiter relates to it).
    fn wait(&mut self, w: Wait) -> Result<(Addr, Kind, EdgeKind)> {
        match w {
            Wait::Primitive { addr, kind, edge } => {
                self.primitive(addr, kind, edge)?;
                Ok((addr, kind, edge))
            }
            Wait::Described(r) => {
                let found = (r.addr, r.kind, r.edge);
                self.resource(*r);
                Ok(found)
            }
        }
    }

    fn resource(&mut self, r: Resource) {
        if self.objects.contains_key(&r.addr) {
            return;
        }
        // Once per node (the check above): no search of the warnings so far, which a
        // server with 100,000 unreadable timers would make quadratic.
        if let Some(why) = r.details.get("unreadable").and_then(Fact::as_text) {
            self.warnings.push(format!(
                "{} {:#x}: {why} (best effort under this event loop)",
                r.kind, r.addr
            ));
        }
        self.add(r.addr, r.kind, r.label, None, r.details);
    }

    /// Add a Future/Task (or any awaited object) as a node; queue futures for a callback scan.
    /// A gather's children are added after the gather itself, so a gather that (in corrupted
    /// memory) lists itself, or a cycle of them, ends; nesting deeper than `MAX_NESTING` is
    /// cut with a warning.
    fn future(&mut self, obj: Addr, kind_hint: Option<Kind>) {
        if self.objects.contains_key(&obj) {
            return;
        }
        let py = self.py;
        let type_name = py.short_type_name(obj).unwrap_or_else(|_| "?".into());
        let c_layout = future_kind(py, obj).ok().flatten();
        let state = c_layout.and_then(|c| future_state(py, obj, c).ok());
        let is_task = task_kind(py, obj).ok().flatten().is_some();
        let is_gather = || {
            let gather = (("asyncio.tasks", "_GatheringFuture"), ());
            py.class_in(obj, &[gather]).ok().flatten().is_some()
        };
        let kind = if is_task {
            Kind::Task
        } else if is_gather() {
            Kind::Gather
        } else {
            kind_hint.unwrap_or(if c_layout.is_some() {
                Kind::Future
            } else {
                Kind::Object
            })
        };
        let mut details = Details::new();
        details.insert("type", type_name.clone());
        let mut children = Vec::new();
        let label = if is_task {
            let name = match c_layout.map(|c| task_name(py, obj, c)) {
                Some(Ok(name)) => name.unwrap_or_default(),
                Some(Err(e)) => {
                    self.warnings
                        .push(format!("task {obj:#x}: its name cannot be read: {e}"));
                    "?".into()
                }
                None => String::new(),
            };
            Label::named("Task", name)
        } else if kind == Kind::Gather {
            let read = py.attr(obj, "_children").and_then(|l| match l {
                Some(l) => py.list(l),
                None => Ok(Vec::new()),
            });
            children = read.unwrap_or_else(|e| {
                self.warnings
                    .push(format!("gather {obj:#x}: its children cannot be read: {e}"));
                Vec::new()
            });
            let done = children
                .iter()
                .filter(|&&c| {
                    future_kind(py, c)
                        .ok()
                        .flatten()
                        .and_then(|k| future_state(py, c, k).ok())
                        .is_some_and(|s| s != State::Pending)
                })
                .count();
            details.insert("children", children.len());
            details.insert("done", done);
            Label::with(
                "gather",
                Facts::Done {
                    done: done as u64,
                    of: children.len() as u64,
                },
            )
        } else {
            let n = callbacks(py, obj).map(|c| c.len()).unwrap_or(0);
            details.insert("callbacks", n);
            Label::new(type_name)
        };
        self.add(obj, kind, label, state.map(ObjectState::Future), details);
        if !children.is_empty() && self.nesting >= MAX_NESTING {
            self.warnings.push(format!(
                "gather {obj:#x}: nested more than {MAX_NESTING} gathers deep; its children are not followed"
            ));
        } else if !children.is_empty() {
            self.nesting += 1;
            for c in children {
                self.future(c, None);
                self.edge(obj, c, EdgeKind::Gather, None, false);
            }
            self.nesting -= 1;
        }
        // Queued after its children, whose callbacks are read first.
        if c_layout.is_some() {
            self.pending.push(obj);
        }
    }

    /// Read the callbacks of every queued future and add what they say.
    fn scan_callbacks(&mut self) {
        while let Some(f) = self.pending.pop() {
            if !self.scanned.insert(f) {
                continue;
            }
            // What cannot be read could wake anything when the future completes: it is kept
            // for the cycles' grades as well as warned about.
            let cbs = match callbacks(self.py, f) {
                Ok(c) => c,
                Err(e) => {
                    self.warnings.push(format!("callbacks of {f:#x}: {e}"));
                    self.unread.push(Outside::UnreadCallbacks {
                        future: Id(f),
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            for cb in cbs {
                let link = match classify_link(self.py, cb) {
                    Ok(l) => l,
                    Err(e) => {
                        self.warnings
                            .push(format!("callback {cb:#x} of {f:#x}: {e}"));
                        self.unread.push(Outside::UnreadCallback {
                            callback: Id(cb),
                            future: Id(f),
                            error: e.to_string(),
                        });
                        continue;
                    }
                };
                match link {
                    Link::Wakeup(task) => {
                        if self.waiter_of.get(&f) != Some(&task) && self.objects.contains_key(&task)
                        {
                            self.edge(task, f, EdgeKind::Awaits, None, false);
                        }
                    }
                    Link::Gather(outer) => {
                        self.future(outer, Some(Kind::Gather));
                        self.edge(outer, f, EdgeKind::Gather, None, false);
                    }
                    Link::Shield(outer) => {
                        self.future(outer, Some(Kind::Shield));
                        self.retag(outer, Kind::Shield, "shield");
                        self.edge(outer, f, EdgeKind::Shield, None, false);
                    }
                    Link::Wait(waiter) => {
                        self.future(waiter, Some(Kind::Wait));
                        self.retag(waiter, Kind::Wait, "asyncio.wait");
                        self.edge(waiter, f, EdgeKind::Wait, None, false);
                    }
                    Link::WaitFor(waiter) => {
                        self.future(waiter, Some(Kind::WaitFor));
                        self.retag(waiter, Kind::WaitFor, "wait_for");
                        self.edge(waiter, f, EdgeKind::WaitFor, None, false);
                    }
                    Link::TaskGroup(group) => {
                        let _ = self.primitive(group, Kind::TaskGroup, EdgeKind::TaskGroup);
                        self.edge(group, f, EdgeKind::TaskGroup, None, false);
                    }
                    Link::Executor(source) => {
                        self.executor(source);
                        self.edge(f, source, EdgeKind::Executor, None, false);
                    }
                    Link::AsCompleted(x) => {
                        // ≤3.12 names the results queue itself; 3.13+ its iterator, whose
                        // `_done` queue is what the consumer awaits.
                        let queue = match waits::resource_kind(self.py, x) {
                            Ok(Some(Kind::Queue)) => Some(x),
                            _ => self.py.attr(x, "_done").ok().flatten(),
                        };
                        let q = queue.unwrap_or(x);
                        if let Ok(Some(Kind::Queue)) = waits::resource_kind(self.py, q) {
                            let _ = self.primitive(q, Kind::Queue, EdgeKind::Get);
                        } else {
                            self.future(q, Some(Kind::AsCompleted));
                        }
                        self.edge(q, f, EdgeKind::AsCompleted, None, false);
                    }
                    Link::Other(_) => self.done_callbacks.push((f, cb)),
                }
            }
        }
    }

    /// A plain future that turns out to be a gather/shield/wait helper gets that kind.
    fn retag(&mut self, obj: Addr, kind: Kind, label: &'static str) {
        if let Some(o) = self
            .objects
            .get_mut(&obj)
            .filter(|o| o.kind == Kind::Future)
        {
            o.kind = kind;
            o.label = Label::new(label);
        }
    }

    /// A `concurrent.futures.Future` run by an executor: its state and the worker thread.
    fn executor(&mut self, source: Addr) {
        if self.objects.contains_key(&source) {
            return;
        }
        let py = self.py;
        let mut d = Details::new();
        let state = py
            .attr(source, "_state")
            .ok()
            .flatten()
            .and_then(|s| py.str(s).ok());
        d.insert("state", state.clone());
        let label = Label::with("executor job", Facts::Job(state.as_deref().map(Arc::from)));
        self.add(
            source,
            Kind::Executor,
            label,
            state.map(ObjectState::Job),
            d,
        );
    }
}

/// Build the graph for the decoded tasks. `reads`: what was read from each task's frames
/// ([`reads::read`]), in the order of `tasks`. `threads`: (thread id, frames innermost first
/// as (frame, code, function)) — used to find executor worker threads and threads blocked
/// on concurrent futures; `names`: thread id → name; `loops`: each task loop → its thread.
#[allow(clippy::too_many_arguments)]
pub fn build(
    py: &Py<'_>,
    tasks: &mut [Task],
    mut reads: Vec<TaskReads>,
    threads: &[ThreadStack],
    names: &HashMap<u64, String>,
    loops: &HashMap<Addr, Option<u64>>,
    clock: Option<Clock>,
    stdlib: &Stdlib,
) -> Graph {
    let mut b = Builder {
        py,
        clock,
        stdlib,
        objects: Nodes::default(),
        edges: Vec::new(),
        edge_set: HashSet::default(),
        pending: Vec::new(),
        scanned: HashSet::default(),
        warnings: Vec::new(),
        waiter_of: tasks
            .iter()
            .filter_map(|t| t.waiter.map(|w| (w, t.address.0)))
            .collect(),
        done_callbacks: Vec::new(),
        runners: Vec::new(),
        unread: Vec::new(),
        nesting: 0,
        described: (reads.iter_mut())
            .filter_map(|r| r.primitive.take())
            .map(|d| (d.0, d))
            .collect(),
    };
    for t in tasks.iter() {
        // The task's frames are in `tasks[]`; the node does not copy them.
        let mut details = Details::new();
        details.insert("type", t.type_name.clone());
        // A task without a name (≤3.7) is named by its address.
        let label = match &t.name {
            Some(name) => Label::named("Task", name.clone()),
            None => Label::new(format!("Task {}", t.address)),
        };
        let state = Some(ObjectState::Future(t.state));
        b.add(t.address.0, Kind::Task, label, state, details);
        b.pending.push(t.address.0);
    }
    reads.resize_with(tasks.len(), TaskReads::default);
    for (t, r) in tasks.iter_mut().zip(reads.iter_mut()) {
        let me = t.address.0;
        // The await site: the innermost frame of the program itself (asyncio's own frames
        // say less), else the innermost frame.
        let site = t
            .frames
            .iter()
            .rev()
            .find(|f| !stdlib.contains(&f.file))
            .or(t.frames.last())
            .map(Site::of);
        let Some(w) = t.waiter else { continue };
        if let Some(a) = t.awaiting.as_mut() {
            a.owner = r.owner.take();
        }
        let wait = (r.wait.take().unwrap_or(Ok(None)))
            .and_then(|found| found.map(|found| b.wait(found)).transpose());
        match wait {
            Ok(Some((addr, Kind::Stream | Kind::Socket | Kind::Subprocess, edge))) => {
                // The outside world completes the future the task awaits: task → future → fd.
                b.future(w, None);
                b.edge(me, w, EdgeKind::Awaits, site, false);
                b.edge(w, addr, edge, None, false);
                if let Some(a) = t.awaiting.as_mut() {
                    a.resource = Some(Id(addr));
                }
            }
            Ok(Some((addr, kind, edge))) => {
                b.edge(me, addr, edge, site, false);
                if let Some(a) = t.awaiting.as_mut() {
                    a.resource = Some(Id(addr));
                }
                // The waiter future itself is plumbing: it becomes a node only if something
                // else links to it, and its callbacks (the task's wakeup) say nothing new.
                b.scanned.insert(w);
                if kind == Kind::TaskGroup {
                    link_taskgroup(&mut b, addr);
                }
            }
            Ok(None) => {
                b.future(w, None);
                b.edge(me, w, EdgeKind::Awaits, site, false);
            }
            Err(e) => {
                b.warnings
                    .push(format!("task {me:#x}: cannot type its wait: {e}"));
                b.future(w, None);
                b.edge(me, w, EdgeKind::Awaits, site, false);
            }
        }
        watched_set(&mut b, &t.frames);
        // Executor bridges hang off the waiter future's callbacks.
        b.pending.push(w);
    }
    holding_threads(py, tasks, threads, loops);
    b.scan_callbacks();
    for (t, r) in tasks.iter().zip(reads.iter_mut()) {
        holders(&mut b, t, std::mem::take(&mut r.held).into_vec());
    }
    wakers::wakers(&mut b, tasks, reads, threads, names, loops);
    find_workers(&mut b, threads);
    threadsafe::link(&mut b, tasks, threads, names, loops);
    drop_unlinked_waiters(&mut b, tasks);
    if py.era.awaited_by {
        let running = (tasks.iter())
            .filter(|t| t.running_on_thread.is_some())
            .map(|t| t.address.0)
            .collect();
        cross_check_awaited_by(&mut b, &running);
    }
    let objects = b.objects.sorted();
    let outside = cycles::Others {
        runners: &b.runners,
        unread: &b.unread,
    };
    let cycles = cycles(&objects, &b.edges, &outside);
    Graph {
        objects,
        edges: b.edges,
        cycles,
        warnings: b.warnings,
    }
}

/// What a bare `asyncio.Future` belongs to: `self` of the innermost frame of the chain
/// outside asyncio's own code, when that frame has one (`await self._waiter` in a library's
/// protocol), else the first local of that frame that holds it as an attribute of its own
/// (`await conn.waiter` in a function). Only the plain Future class: a Task or a gather is
/// a node of its own. Its socket is its own transport's, else that of the nearest `self`
/// further out in the chain that has one (a message queue's future, awaited inside its
/// connection's `recv()`).
/// `locals`: the chain's locals as read with the task ([`reads::TaskReads::locals`]).
fn owner(
    py: &Py<'_>,
    stdlib: &Stdlib,
    awaited: Addr,
    frames: &[Frame],
    locals: &[(u32, u32, Addr)],
) -> Option<Owner> {
    if !plain_future(py, awaited) {
        return None;
    }
    let mut outward = (frames.iter().enumerate().rev()).filter(|(_, f)| !stdlib.contains(&f.file));
    let (i, inner) = outward.next()?;
    let of_inner = (locals.iter()).filter(|l| l.0 as usize == i).map(|l| l.2);
    let me = self_of(py, inner).or_else(|| holder_among(py, of_inner, awaited))?;
    let socket = socket_of(py, me);
    let (socket, socket_of) = match socket {
        Some(s) => (Some(s), None),
        None => outward
            .filter_map(|(_, f)| self_of(py, f).filter(|&o| o != me))
            .find_map(|o| Some((socket_of(py, o)?, object_ref(py, o)?)))
            .map_or((None, None), |(s, o)| (Some(s), Some(o))),
    };
    Some(Owner {
        object: object_ref(py, me)?,
        socket,
        socket_of,
    })
}

/// Is `obj` an instance of asyncio's own Future class (C or pure Python), not a subclass?
pub(crate) fn plain_future(py: &Py<'_>, obj: Addr) -> bool {
    const FUTURE: &[((&str, &str), ())] = &[
        (("_asyncio", "Future"), ()),
        (("asyncio.futures", "Future"), ()),
    ];
    let Some(class) = (py.type_of(obj).ok()).and_then(|t| py.class_id(t).ok()) else {
        return false;
    };
    (FUTURE.iter()).any(|((m, n), ())| *m == &*class.module && *n == &*class.name)
}

/// The thread that holds each task's bare future in a local (or cell) of one of its frames,
/// other than the threads that run event loops: a library's worker (aiosqlite's, a
/// driver's) that will complete it. Each thread's frames are read once.
fn holding_threads(
    py: &Py<'_>,
    tasks: &mut [Task],
    threads: &[ThreadStack],
    loops: &HashMap<Addr, Option<u64>>,
) {
    let mut wanted: AddrMap<Vec<usize>> = AddrMap::default();
    for (i, t) in tasks.iter().enumerate() {
        if let Some(a) = t.awaiting.as_ref().filter(|a| a.resource.is_none())
            && plain_future(py, a.address.0)
        {
            wanted.entry(a.address.0).or_default().push(i);
        }
    }
    if wanted.is_empty() {
        return;
    }
    let loop_threads: HashSet<u64> = loops.values().flatten().copied().collect();
    // By thread id: of two threads that hold one future, the first is named.
    let mut others: Vec<&ThreadStack> = (threads.iter())
        .filter(|(t, _)| !loop_threads.contains(t))
        .collect();
    others.sort_unstable_by_key(|(t, _)| *t);
    for (tid, frames) in others {
        for (frame, code, _) in frames {
            for (_, v) in py.frame_locals(*frame, *code).unwrap_or_default() {
                for &i in wanted.remove(&v).iter().flatten() {
                    if let Some(a) = tasks[i].awaiting.as_mut() {
                        a.thread = Some(*tid);
                    }
                }
            }
        }
    }
}

/// The first of a frame's `locals` (other than `fut` itself) one of whose own attributes
/// is `fut`.
fn holder_among(py: &Py<'_>, mut locals: impl Iterator<Item = Addr>, fut: Addr) -> Option<Addr> {
    locals.find(|&v| v != fut && py.instance_values(v).is_ok_and(|vs| vs.contains(&fut)))
}

/// `self` of a frame, if it has one.
fn self_of(py: &Py<'_>, f: &Frame) -> Option<Addr> {
    py.frame_local(f.at.0, f.at.1, "self").ok().flatten()
}

/// An object by its address and class.
fn object_ref(py: &Py<'_>, obj: Addr) -> Option<ObjectRef> {
    let class = py.class_id(py.type_of(obj).ok()?).ok()?;
    Some(ObjectRef {
        address: Id(obj),
        type_name: format!("{}.{}", class.module, class.name).into(),
    })
}

/// The socket under a protocol's, stream's or connection's asyncio transport (`transport`,
/// else `_transport`).
fn socket_of(py: &Py<'_>, obj: Addr) -> Option<Socket> {
    let transport = ["transport", "_transport"].iter().find_map(|name| {
        (py.attr(obj, name).ok().flatten()).filter(|&t| !py.is_none(t).unwrap_or(true))
    })?;
    waits::transport_socket(py, transport).ok().flatten()
}

/// `asyncio.wait`: its `_wait` frame holds the watched set `fs` and the `waiter` future.
/// Bare futures in the set are linked from here (tasks also through their callbacks).
fn watched_set(b: &mut Builder<'_, '_>, frames: &[Frame]) {
    let py = b.py;
    for f in frames {
        if &*f.function != "_wait" || !b.stdlib.contains(&f.file) {
            continue;
        }
        let (frame, code) = f.at;
        let local = |name: &str| py.frame_local(frame, code, name).ok().flatten();
        let (fs, waiter) = match (py.frame_local(frame, code, "fs"), local("waiter")) {
            (Ok(Some(fs)), Some(waiter)) => (fs, waiter),
            (Err(e), _) => {
                b.warnings.push(format!(
                    "asyncio.wait in frame {frame:#x}: its watched set cannot be read: {e}"
                ));
                continue;
            }
            _ => continue,
        };
        let items = if &*py.obj_type_name(fs).unwrap_or_else(|_| "".into()) == "list" {
            py.list(fs)
        } else {
            py.set_items(fs)
        };
        b.future(waiter, Some(Kind::Wait));
        b.retag(waiter, Kind::Wait, "asyncio.wait");
        let items = items.unwrap_or_default();
        for &f in &items {
            b.future(f, None);
            b.edge(waiter, f, EdgeKind::Wait, None, false);
        }
        // FIRST_COMPLETED / FIRST_EXCEPTION / ALL_COMPLETED, and how far it got.
        let return_when = local("return_when").and_then(|r| py.str(r).ok());
        let timeout = local("timeout").and_then(|t| py.float(t).ok());
        let done = items
            .iter()
            .filter(|f| {
                b.objects
                    .get(f)
                    .and_then(|o| o.state.as_ref())
                    .is_some_and(ObjectState::is_done)
            })
            .count();
        if let Some(o) = b.objects.get_mut(&waiter).filter(|o| o.kind == Kind::Wait) {
            o.details.insert("return_when", return_when.clone());
            o.details.insert("watched", items.len());
            o.details.insert("done", done);
            o.details.insert("timeout", timeout);
            o.label = Label::with(
                "asyncio.wait",
                Facts::Wait {
                    return_when: return_when.as_deref().map(Arc::from),
                    done: done as u64,
                    of: items.len() as u64,
                    timeout,
                },
            );
        }
    }
}

/// TaskGroup children, from its `_tasks` set.
fn link_taskgroup(b: &mut Builder<'_, '_>, group: Addr) {
    let py = b.py;
    let children = py.attr(group, "_tasks").and_then(|set| match set {
        Some(set) => py.set_items(set),
        None => Ok(Vec::new()),
    });
    let children = children.unwrap_or_else(|e| {
        b.warnings.push(format!(
            "TaskGroup {group:#x}: its tasks cannot be read: {e}"
        ));
        Vec::new()
    });
    for child in children {
        b.future(child, None);
        b.edge(group, child, EdgeKind::TaskGroup, None, false);
    }
}

/// A waiter future that only stands between a task and a typed resource is dropped again
/// unless an edge uses it.
fn drop_unlinked_waiters(b: &mut Builder<'_, '_>, tasks: &[Task]) {
    let used: HashSet<Addr, AddrHash> = b
        .edge_set
        .iter()
        .flat_map(|&(from, to, _)| [from, to])
        .collect();
    for w in tasks.iter().filter_map(|t| t.waiter) {
        if !used.contains(&w) && b.objects.get(&w).is_some_and(|o| o.kind == Kind::Future) {
            b.objects.remove(&w);
        }
    }
}

/// The locks a task holds and the timeout scopes it is inside ([`reads::read`] found them):
/// nodes, and the edges from them.
fn holders(b: &mut Builder<'_, '_>, t: &Task, held: Vec<Held>) {
    for h in held {
        match h {
            Held::Primitive { frame, addr, kind } => {
                if b.primitive(addr, kind, EdgeKind::Acquire).is_ok() {
                    let site = t.frames.get(frame).map(Site::of);
                    b.edge(addr, t.address.0, EdgeKind::HeldBy, site, true);
                }
            }
            Held::Timeout {
                frame,
                handle,
                timer,
            } => {
                b.resource(timer);
                if let Some(o) = b.objects.get_mut(&handle) {
                    o.kind = Kind::Timeout;
                    o.label.head = "timeout".into();
                }
                let site = t.frames.get(frame).map(Site::of);
                b.edge(t.address.0, handle, EdgeKind::Timeout, site, false);
            }
        }
    }
}

/// 3.14+ keeps its own "awaited by" sets on futures, which libraries fill too (anyio's task
/// groups call `asyncio.future_add_to_awaited_by`). An entry the chains do not already
/// show is an edge (awaiter → task), unless it contradicts the tasks' state: an awaiter
/// that is done, or running on a thread (it awaits nothing), or no future at all, or a
/// task that is done; that is a warning (a stale entry).
fn cross_check_awaited_by(b: &mut Builder<'_, '_>, running: &HashSet<Addr, AddrHash>) {
    let py = b.py;
    let o = py.off();
    // Offsets, not plain numbers: added to a corrupted address they cannot overflow.
    let (Ok(by), Ok(is_set)) = (o.fut_awaited_by(), o.fut_awaited_by_is_set()) else {
        return;
    };
    let mut index: AddrMap<Vec<Addr>> = AddrMap::default();
    for e in &b.edges {
        index.entry(e.from.0).or_default().push(e.to.0);
    }
    let mut reach = Reach::new(&index);
    let label = |b: &Builder<'_, '_>, a: Addr| {
        b.objects
            .get(&a)
            .map_or(format!("{a:#x}"), |o| format!("{} {a:#x}", o.label))
    };
    let tasks = b.objects.of_kind(Kind::Task);
    let mut notes = Vec::new();
    let mut new = Vec::new();
    for t in tasks {
        let Ok(first) = py.mem.ptr(t + by) else {
            continue;
        };
        if first == 0 {
            continue;
        }
        let awaiters = if py.mem.u8(t + is_set).unwrap_or(0) != 0 {
            py.set_items(first).unwrap_or_default()
        } else {
            vec![first]
        };
        for a in awaiters {
            if reach.reaches(a, t) {
                continue;
            }
            let pending = |x: Addr, kinds: &[Kind]| {
                b.objects.get(&x).is_some_and(|o| {
                    kinds.contains(&o.kind) && o.state == Some(ObjectState::Future(State::Pending))
                })
            };
            let waits = pending(a, &[Kind::Task, Kind::Future, Kind::Gather]);
            if waits && pending(t, &[Kind::Task]) && !running.contains(&a) {
                new.push((a, t));
            } else {
                notes.push(format!(
                    "CPython's awaited-by bookkeeping says {} waits for {}, which its state contradicts (a stale entry)",
                    label(b, a),
                    label(b, t)
                ));
            }
        }
    }
    for (a, t) in new {
        b.edge(a, t, EdgeKind::Awaits, None, false);
    }
    b.warnings.extend(notes);
}

/// "Is there a path from a to t?" for many pairs, linear in practice: most answers are an
/// edge or two away (a task awaiting its child, a gather's parent), so a small search
/// comes first; otherwise everything `a` reaches is listed once and kept for the next
/// question about `a` (one parent awaiting 100,000 gathered children asks 100,000 times).
struct Reach<'g> {
    index: &'g AddrMap<Vec<Addr>>,
    from: AddrMap<HashSet<Addr, AddrHash>>,
}

impl<'g> Reach<'g> {
    /// Nodes a short search visits before it falls back to the full, remembered one.
    const SHORT: usize = 64;

    fn new(index: &'g AddrMap<Vec<Addr>>) -> Self {
        Reach {
            index,
            from: AddrMap::default(),
        }
    }

    fn reaches(&mut self, a: Addr, t: Addr) -> bool {
        if let Some(all) = self.from.get(&a) {
            return all.contains(&t);
        }
        let (found, complete) = self.search(a, Some(t), Self::SHORT);
        if found || complete {
            return found;
        }
        let all = self.search_all(a);
        let found = all.contains(&t);
        self.from.insert(a, all);
        found
    }

    /// Depth-first from `a` until `t` is found or `budget` nodes were visited:
    /// (found, whether everything reachable was visited).
    fn search(&self, a: Addr, t: Option<Addr>, budget: usize) -> (bool, bool) {
        let mut seen: HashSet<Addr, AddrHash> = HashSet::default();
        let mut todo = vec![a];
        while let Some(n) = todo.pop() {
            if Some(n) == t {
                return (true, true);
            }
            if seen.insert(n) {
                if seen.len() > budget {
                    return (false, false);
                }
                todo.extend(self.index.get(&n).into_iter().flatten());
            }
        }
        (false, true)
    }

    fn search_all(&self, a: Addr) -> HashSet<Addr, AddrHash> {
        let mut seen: HashSet<Addr, AddrHash> = HashSet::default();
        let mut todo = vec![a];
        while let Some(n) = todo.pop() {
            if seen.insert(n) {
                todo.extend(self.index.get(&n).into_iter().flatten());
            }
        }
        seen
    }
}

/// Executor jobs: the worker thread whose `_WorkItem.run` frame runs that future.
fn find_workers(b: &mut Builder<'_, '_>, threads: &[ThreadStack]) {
    let jobs = b.objects.of_kind(Kind::Executor);
    if jobs.is_empty() {
        return;
    }
    let py = b.py;
    for (tid, frames) in threads {
        for (frame, code, fi) in frames {
            if &*fi.function != "run" {
                continue;
            }
            let Some(item) = py.frame_local(*frame, *code, "self").ok().flatten() else {
                continue;
            };
            let Some(fut) = py.attr(item, "future").ok().flatten() else {
                continue;
            };
            if jobs.contains(&fut) {
                let thread = *tid;
                if let Some(o) = b.objects.get_mut(&fut) {
                    o.details.insert("thread", thread);
                    o.label.on_thread = Some(thread);
                }
            }
        }
    }
}
