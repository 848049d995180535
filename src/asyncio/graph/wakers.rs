//! Who could wake the waiters of an Event, Queue, Condition, Semaphore or Barrier: every
//! task and thread whose code still to run calls the waking method on it (held in a local,
//! a closure cell or a module global), every callback queued or timed on an event loop, and
//! every done-callback of a pending future that calls it. Each is a `could-wake` edge
//! (inferred, drawn dashed). What could run but was not found to wake anything, and what
//! could not be read, is kept for the cycles' grades: a cycle through such an object is a
//! deadlock only when nothing else could still run.
//!
//! Linear: every suspended frame's locals are read once and indexed by the waited-on
//! object they hold; each object then looks up only the frames that hold it.

use super::Builder;
use super::reads::TaskReads;
use crate::asyncio::waits;
use crate::cpython::Py;
use crate::cpython::callable::Callable;
use crate::cpython::thread::ThreadStack;
use crate::model::{EdgeKind, Facts, Frame, Id, Kind, Label, Outside, Site, Task};
use crate::target::{Addr, AddrHash, AddrMap};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Most callbacks read from one loop's ready queue or timer heap.
const MAX_HANDLES: usize = 100_000;

/// The methods that wake a waiter, by what it waits on and how. A channel (an anyio memory
/// object stream) is woken through its other end.
fn waking_methods(kind: Kind, edge: EdgeKind, channel: bool) -> &'static [&'static str] {
    match (kind, edge) {
        (Kind::Queue, EdgeKind::Get) if channel => &["send", "send_nowait"],
        (Kind::Queue, EdgeKind::Put) if channel => &["receive", "receive_nowait"],
        (Kind::Event, _) => &["set"],
        (Kind::Queue, EdgeKind::Get) => &["put", "put_nowait"],
        (Kind::Queue, EdgeKind::Put) => &["get", "get_nowait"],
        (Kind::Queue, EdgeKind::Join) => &["task_done"],
        (Kind::Condition, _) => &["notify", "notify_all"],
        (Kind::Semaphore, _) => &["release"],
        (Kind::Barrier, _) => &["wait"],
        _ => &[],
    }
}

/// The waited-on objects: the waking methods of each, and who waits on it.
struct Waited {
    /// Each object's set of waking methods, as an index into `sets`: a server waits on
    /// 100,000 objects with a handful of distinct sets, so no object holds a list of its own.
    methods: AddrMap<usize>,
    sets: Vec<Vec<&'static str>>,
    waiting: HashSet<(Addr, Addr), AddrHash>,
    /// Whether a channel is waited on: then what a frame or callback holds may be one of
    /// its ends, which stands for it.
    channels: bool,
}

impl Waited {
    /// What holding `v` amounts to: a channel's end stands for the channel.
    fn resolve(&self, py: &Py<'_>, v: Addr) -> Addr {
        if !self.channels || self.methods.contains_key(&v) {
            return v;
        }
        match waits::stream_state(py, v) {
            Ok(Some(state)) if self.methods.contains_key(&state) => state,
            _ => v,
        }
    }

    /// The waking methods of `v`, if anything waits on it.
    fn methods(&self, v: &Addr) -> Option<&[&'static str]> {
        self.methods.get(v).map(|&i| self.sets[i].as_slice())
    }

    /// `v` can also be woken by `new`.
    fn add(&mut self, v: Addr, new: &[&'static str]) {
        let now: &[&str] = self.methods.get(&v).map_or(&[], |&i| &self.sets[i]);
        let extra = new.iter().filter(|m| !now.contains(m)).count();
        if extra == 0 && self.methods.contains_key(&v) {
            return;
        }
        let union = |set: &Vec<&str>| {
            set.len() == now.len() + extra && now.iter().chain(new).all(|m| set.contains(m))
        };
        let i = match self.sets.iter().position(union) {
            Some(i) => i,
            None => {
                let mut set = now.to_vec();
                set.extend(new.iter().filter(|m| !now.contains(m)));
                self.sets.push(set);
                self.sets.len() - 1
            }
        };
        self.methods.insert(v, i);
    }
}

pub(super) fn wakers(
    b: &mut Builder<'_, '_>,
    tasks: &[Task],
    reads: Vec<TaskReads>,
    threads: &[ThreadStack],
    names: &HashMap<u64, String>,
    loops: &HashMap<Addr, Option<u64>>,
) {
    let mut waited = Waited {
        methods: AddrMap::default(),
        sets: Vec::new(),
        waiting: HashSet::default(),
        channels: false,
    };
    for e in &b.edges {
        let Some(o) = b.objects.get(&e.to.0) else {
            continue;
        };
        let channel = matches!(o.label.facts, Facts::Channel { .. });
        waited.channels |= channel;
        let methods = waking_methods(o.kind, e.kind, channel);
        if methods.is_empty() {
            continue;
        }
        waited.add(e.to.0, methods);
        waited.waiting.insert((e.to.0, e.from.0));
    }
    if waited.methods.is_empty() {
        return;
    }
    let mut globals = Globals::new(b.py);
    // Each task's reads are let go once used: what the graph adds next reuses the memory.
    for (t, r) in tasks.iter().zip(reads) {
        if t.running_on_thread.is_some() {
            continue;
        }
        // A task's locals were read with it, frame by frame (outermost first).
        let mut locals: &[(u32, u32, Addr)] = &r.locals;
        let held = t.frames.iter().enumerate().map(|(i, f)| {
            let n = locals.iter().take_while(|l| l.0 as usize == i).count();
            let (mine, rest) = locals.split_at(n);
            locals = rest;
            let held = FrameHeld {
                locals: mine.iter().map(|&(_, slot, v)| (slot as usize, v)),
                globals: r.globals.get(i).copied().filter(|&d| d != 0),
            };
            (f, held)
        });
        frames_wake(b, &waited, &mut globals, t.address.0, held);
        if let Some(e) = &t.error {
            b.unread.push(Outside::IncompleteTask {
                task: t.address,
                error: e.clone(),
            });
        }
    }
    let running: HashMap<u64, Addr> = tasks
        .iter()
        .filter_map(|t| t.running_on_thread.map(|tid| (tid, t.address.0)))
        .collect();
    for (tid, stack) in threads {
        threads_wake(b, &waited, &mut globals, *tid, stack, names, &running);
    }
    let futures: Vec<(Addr, Addr)> = std::mem::take(&mut b.done_callbacks);
    for (fut, cb) in futures {
        if let Some((resource, method)) = callback_wakes(b.py, &waited, cb, &[fut]) {
            let _ = method;
            b.edge(resource, fut, EdgeKind::CouldWake, None, true);
        }
    }
    let mut lps: Vec<Addr> = loops.keys().copied().collect();
    lps.sort_unstable();
    for lp in lps {
        loop_callbacks(b, &waited, lp);
    }
}

/// (index in `co_names`, object) for each global a code names that is waited on.
type Held = Arc<[(usize, Addr)]>;

/// The waited-on objects each code object's global names hold, per globals dict (a frame's
/// own `f_globals`: exact where a file name is not, and nothing else is read).
struct Globals<'a, 'r> {
    py: &'a Py<'r>,
    /// By (code, globals dict).
    held: HashMap<(Addr, Addr), Held, AddrHash>,
}

impl<'a, 'r> Globals<'a, 'r> {
    fn new(py: &'a Py<'r>) -> Self {
        Globals {
            py,
            held: HashMap::default(),
        }
    }

    /// (index in `co_names`, object) for each global `code` names that is waited on,
    /// in globals dict `d`.
    fn held(&mut self, waited: &Waited, code: Addr, d: Addr) -> Held {
        if let Some(h) = self.held.get(&(code, d)) {
            return h.clone();
        }
        let mut out = Vec::new();
        if let Ok(c) = self.py.code(code) {
            for (i, name) in c.names.iter().enumerate() {
                if let Ok(Some(v)) = self.py.dict_get(d, name) {
                    let v = waited.resolve(self.py, v);
                    if waited.methods.contains_key(&v) {
                        out.push((i, v));
                    }
                }
            }
        }
        let out: Held = out.into();
        self.held.insert((code, d), out.clone());
        out
    }
}

/// What one frame holds: its non-NULL locals (slot, value) and its globals dict.
struct FrameHeld<L> {
    locals: L,
    globals: Option<Addr>,
}

impl FrameHeld<std::vec::IntoIter<(usize, Addr)>> {
    /// Read from the frame now (a thread's; a task's were read with the task).
    fn read(py: &Py<'_>, f: &Frame) -> Self {
        let (frame, code) = f.at;
        FrameHeld {
            locals: py.frame_locals(frame, code).unwrap_or_default().into_iter(),
            globals: py.frame_globals(frame).ok(),
        }
    }
}

/// The objects one suspended frame could wake: those it holds in a local, cell or global
/// and whose waking method its code still to run names. `me` is the task or thread.
fn frame_wakes<'f>(
    py: &Py<'_>,
    waited: &Waited,
    globals: &mut Globals<'_, '_>,
    me: Addr,
    f: &'f Frame,
    held_by: FrameHeld<impl Iterator<Item = (usize, Addr)>>,
) -> Vec<(Addr, &'f Frame)> {
    let (frame, code) = f.at;
    let mut out: Vec<Addr> = Vec::new();
    let mut slots: AddrMap<Vec<usize>> = AddrMap::default();
    for (slot, v) in held_by.locals {
        let v = waited.resolve(py, v);
        if waited.methods.contains_key(&v) && !waited.waiting.contains(&(v, me)) {
            slots.entry(v).or_default().push(slot);
        }
    }
    let mut held: Vec<(Addr, Vec<usize>)> = slots.into_iter().collect();
    held.sort_unstable();
    for (v, slots) in held {
        let methods = waited.methods(&v).unwrap_or_default();
        if py
            .code_ahead_calls(frame, code, &slots, methods)
            .unwrap_or(false)
        {
            out.push(v);
        }
    }
    let in_globals = held_by.globals.map(|d| globals.held(waited, code, d));
    for &(name, v) in in_globals.iter().flat_map(|h| h.iter()) {
        if out.contains(&v) || waited.waiting.contains(&(v, me)) {
            continue;
        }
        let methods = waited.methods(&v).unwrap_or_default();
        if py
            .code_ahead_names(frame, code, &[name], methods)
            .unwrap_or(false)
        {
            out.push(v);
        }
    }
    out.into_iter().map(|v| (v, f)).collect()
}

/// Could-wake edges from what a task's (or thread's) frames could wake to `me`, given
/// each frame with what it holds; whether there is any.
fn frames_wake<'f, L: Iterator<Item = (usize, Addr)>>(
    b: &mut Builder<'_, '_>,
    waited: &Waited,
    globals: &mut Globals<'_, '_>,
    me: Addr,
    frames: impl Iterator<Item = (&'f Frame, FrameHeld<L>)>,
) -> bool {
    let mut found = Vec::new();
    for (f, held) in frames {
        found.extend(frame_wakes(b.py, waited, globals, me, f, held));
    }
    let any = !found.is_empty();
    for (resource, f) in found {
        b.edge(resource, me, EdgeKind::CouldWake, Some(Site::of(f)), true);
    }
    any
}

/// A thread that runs no task of ours: a waker if its frames could wake a waited-on
/// object (`loop.call_soon_threadsafe(event.set)` names `set` on the event too), else a
/// runner unless it only idles (an executor worker waiting for work, a loop in select).
fn threads_wake(
    b: &mut Builder<'_, '_>,
    waited: &Waited,
    globals: &mut Globals<'_, '_>,
    tid: u64,
    stack: &[(Addr, Addr, crate::cpython::frame::FrameInfo)],
    names: &HashMap<u64, String>,
    running: &HashMap<u64, Addr>,
) {
    // Outermost first, as frames of the model; a running task's frames are its own.
    let frames: Vec<Frame> = stack
        .iter()
        .rev()
        .map(|(f, c, fi)| crate::asyncio::tasks::frame((*f, *c), fi.clone()))
        .collect();
    let own = !running.contains_key(&tid);
    let me = running.get(&tid).copied().unwrap_or(tid);
    let py = b.py;
    let held = frames.iter().map(|f| (f, FrameHeld::read(py, f)));
    let found = frames_wake(b, waited, globals, me, held);
    let name = names.get(&tid).map_or("?", String::as_str);
    if found && own {
        let label = Label::named("Thread", name);
        b.add(tid, Kind::Thread, label, None, Default::default());
    } else if !found && own && !idle(&frames) {
        b.runners.push(Outside::Thread {
            name: names.get(&tid).map(|n| Arc::from(n.as_str())),
            id: tid,
        });
    }
}

/// A thread with nothing of its own to run: no Python frames, an event loop waiting in
/// its selector (its callbacks are read apart), or an executor worker waiting for work.
fn idle(frames: &[Frame]) -> bool {
    let Some(inner) = frames.last() else {
        return true;
    };
    let runs_loop = frames
        .iter()
        .any(|f| &*f.function == "_run_once" && f.file.ends_with("base_events.py"));
    let in_select = matches!(
        &*inner.function,
        "select" | "poll" | "_poll" | "run_forever"
    );
    // An executor worker between jobs: in `_worker`, not inside a `_WorkItem.run`.
    let in_executor = |name: &str| {
        frames
            .iter()
            .any(|f| &*f.function == name && f.file.ends_with("concurrent/futures/thread.py"))
    };
    let worker_waits = in_executor("_worker") && !in_executor("run");
    (runs_loop && in_select) || worker_waits
}

/// Does calling `cb(*args)` wake a waited-on object? A bound waking method of it, a
/// `functools.partial` of one, or a function that holds it (closure cell or argument) and
/// names the method. Returns the object and the method.
fn callback_wakes(
    py: &Py<'_>,
    waited: &Waited,
    cb: Addr,
    args: &[Addr],
) -> Option<(Addr, &'static str)> {
    let wakes_with = |c: &Callable, args: &[Addr]| -> Option<(Addr, &'static str)> {
        match c {
            Callable::Method {
                qualname, receiver, ..
            } => {
                let method = qualname.rsplit('.').next()?;
                let receiver = waited.resolve(py, *receiver);
                let methods = waited.methods(&receiver)?;
                let m = methods.iter().find(|m| **m == method)?;
                Some((receiver, *m))
            }
            Callable::Function { func, .. } => {
                let code = py.mem.ptr(func + py.off().func_code().ok()?).ok()?;
                let c = py.code(code).ok()?;
                let mut held: Vec<Addr> = args.to_vec();
                for name in &c.free_names {
                    if let Ok(Some(v)) = py.closure_var(*func, name) {
                        held.push(v);
                    }
                }
                held.iter().find_map(|&v| {
                    let v = waited.resolve(py, v);
                    let methods = waited.methods(&v)?;
                    let m = methods.iter().find(|m| c.names.iter().any(|n| n == *m))?;
                    Some((v, *m))
                })
            }
            _ => None,
        }
    };
    match py.callable(cb).ok()? {
        Callable::Partial { func, args: bound } => {
            let mut all = bound;
            all.extend_from_slice(args);
            wakes_with(&func, &all)
        }
        other => wakes_with(&other, args),
    }
}

/// Callbacks queued (`_ready`) or timed (`_scheduled`) on a loop: a waker when it wakes a
/// waited-on object directly or through a future it completes (whose done-callbacks do);
/// a runner when it is the program's own code that wakes nothing we can see.
fn loop_callbacks(b: &mut Builder<'_, '_>, waited: &Waited, lp: Addr) {
    let py = b.py;
    let read = |name: &str| -> Option<Vec<Addr>> {
        let q = py.attr(lp, name).ok()??;
        if name == "_ready" {
            py.deque(q).ok()
        } else {
            py.list(q).ok()
        }
    };
    let (Some(ready), Some(timers)) = (read("_ready"), read("_scheduled")) else {
        b.unread.push(Outside::UnreadLoop {
            event_loop: Id(lp),
            class: py.short_type_name(lp).unwrap_or_else(|_| "?".into()),
        });
        return;
    };
    let all = ready.len() + timers.len();
    if all > MAX_HANDLES {
        // Not read, so not shown unable to wake anything: they could break a cycle.
        b.unread.push(Outside::MoreHandles {
            event_loop: Id(lp),
            more: all - MAX_HANDLES,
            read: MAX_HANDLES,
        });
    }
    for (h, timed) in ready
        .iter()
        .map(|&h| (h, false))
        .chain(timers.iter().map(|&h| (h, true)))
        .take(MAX_HANDLES)
    {
        if py
            .attr(h, "_cancelled")
            .ok()
            .flatten()
            .is_some_and(|c| py.truthy(c).unwrap_or(false))
        {
            continue;
        }
        let cb = match py.attr(h, "_callback") {
            Ok(Some(cb)) => cb,
            Ok(None) => continue,
            Err(e) => {
                b.unread.push(Outside::UnreadHandle {
                    timed,
                    handle: Id(h),
                    event_loop: Id(lp),
                    error: e.to_string(),
                });
                continue;
            }
        };
        let args = py
            .attr(h, "_args")
            .ok()
            .flatten()
            .and_then(|a| py.tuple(a).ok())
            .unwrap_or_default();
        let mut woken = callback_wakes(py, waited, cb, &args).map(|(r, _)| r);
        let callable = py.callable(cb).ok();
        // A callback that completes a future runs that future's done-callbacks.
        if woken.is_none()
            && let Some(
                Callable::Builtin { name, receiver }
                | Callable::Method {
                    qualname: name,
                    receiver,
                    ..
                },
            ) = &callable
            && ["set_result", "set_exception", "cancel"]
                .iter()
                .any(|m| name == m || name.ends_with(&format!(".{m}")))
        {
            woken = crate::asyncio::callbacks::callbacks(py, *receiver)
                .unwrap_or_default()
                .into_iter()
                .find_map(|c| callback_wakes(py, waited, c, &[*receiver]).map(|(r, _)| r));
        }
        if let Some(resource) = woken {
            let timer = timed.then(|| waits::timer(py, h, b.clock, EdgeKind::CouldWake));
            let node = if let Some(Ok(r)) = timer {
                b.resource(r);
                h
            } else if let Some(Err(e)) = timer {
                // It wakes the object all the same; only its deadline is unknown.
                b.add(
                    h,
                    Kind::Callback,
                    Label::with(
                        "timer on the loop",
                        Facts::DeadlineUnreadable(e.to_string()),
                    ),
                    None,
                    Default::default(),
                );
                h
            } else {
                b.add(
                    h,
                    Kind::Callback,
                    Label::new("callback queued on the loop"),
                    None,
                    Default::default(),
                );
                h
            };
            b.edge(resource, node, EdgeKind::CouldWake, None, true);
            continue;
        }
        if !internal(&callable) {
            b.runners.push(Outside::Handle {
                timed,
                handle: Id(h),
                event_loop: Id(lp),
            });
        }
    }
}

/// asyncio's own callbacks, which only step tasks or complete their futures: a task's
/// step or wakeup, a sleep's or timeout's future. Known by module and name: a program's
/// own `_on_timeout` can run any code.
fn internal(c: &Option<Callable>) -> bool {
    match c {
        Some(Callable::Builtin { name, .. }) => {
            matches!(name.as_str(), "task_wakeup" | "task_step")
        }
        Some(c @ (Callable::Method { .. } | Callable::Function { .. })) => {
            let steps = [
                "Task.__step",
                "Task._Task__step",
                "Task.__wakeup",
                "Task._Task__wakeup",
                "_release_waiter",
                "_on_timeout",
            ];
            c.defined_as("asyncio.tasks", &steps)
                || c.defined_as("asyncio.timeouts", &["Timeout._on_timeout"])
                || c.defined_as("asyncio.futures", &["_set_result_unless_cancelled"])
        }
        Some(Callable::Partial { func, .. }) => internal(&Some((**func).clone())),
        Some(Callable::Other { type_name, .. }) => {
            matches!(
                type_name.as_str(),
                "TaskStepMethWrapper" | "TaskWakeupMethWrapper"
            )
        }
        None => false,
    }
}
