//! What the graph needs from each task's own frames, read right after the task is decoded:
//! on the decode's worker threads, while the task's objects are still in the processor's
//! caches. Read later, pass by pass (the typed wait, the locks held, the locals that could
//! wake something), 100,000 tasks cost three more trips through the target's memory, each a
//! cache miss per object; here they cost about a fifth of one.
//!
//! Only reads happen here: every node and edge is still made by the graph's builder, in
//! the order of the tasks, so the answer does not depend on how the work was shared.

use super::owner;
use crate::asyncio::stdlib::Stdlib;
use crate::asyncio::waits::{self, Clock, Resource, Wait};
use crate::cpython::Py;
use crate::cpython::callable::Callable;
use crate::error::Result;
use crate::model::{Awaited, EdgeKind, Kind, Owner, Task};
use crate::target::{Addr, AddrHash};
use std::collections::HashSet;
use std::sync::Mutex;

/// What the reads depend on besides the task: the same for every task of a snapshot.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub clock: Option<Clock>,
    pub stdlib: &'a Stdlib,
    /// The primitives some task's reads have described already: each is described once,
    /// by the first worker to meet it (one Event may have 100,000 waiters).
    pub described: &'a Mutex<HashSet<(Addr, Kind, EdgeKind), AddrHash>>,
}

/// One task's reads. `Default`: nothing read (a task that is not pending, or broken).
#[derive(Default)]
pub struct TaskReads {
    /// What the chain waits on (`waits::classify`), for a task that awaits a future.
    pub(super) wait: Option<Result<Option<Wait>>>,
    /// The primitive `wait` names, described here while its memory is at hand, when this
    /// task is the first to meet it ([`Context::described`]); keyed as it was described
    /// (a Queue's label says more to a task in `join()`).
    pub(super) primitive: Option<Box<Described>>,
    /// What the bare Future the task awaits belongs to.
    pub(super) owner: Option<Box<Owner>>,
    /// What the task holds inside `async with`, for a task that is not running.
    pub(super) held: Box<[Held]>,
    /// Each frame's non-NULL locals as (frame index, slot, value), for a task that is not
    /// running: the could-wake search looks for waited-on objects among them.
    pub(super) locals: Box<[(u32, u32, Addr)]>,
    /// Each frame's globals dict (0 where it could not be read).
    pub(super) globals: Box<[Addr]>,
}

/// A primitive as described for (address, kind, edge).
pub(super) type Described = ((Addr, Kind, EdgeKind), Result<Resource>);

/// Something held by an `async with` block of frame `frame` (an index into the task's frames).
pub(super) enum Held {
    /// A Lock, Semaphore or Condition.
    Primitive {
        frame: usize,
        addr: Addr,
        kind: Kind,
    },
    /// An `asyncio.timeout` scope: its timer handle, described.
    Timeout {
        frame: usize,
        handle: Addr,
        timer: Resource,
    },
}

/// Read what the graph needs from `t`'s frames.
pub fn read(py: &Py<'_>, t: &Task, cx: &Context<'_>) -> TaskReads {
    let mut r = TaskReads::default();
    if t.running_on_thread.is_none() {
        r.held = held(py, t, cx).into();
        let mut locals = Vec::new();
        let mut globals = Vec::with_capacity(t.frames.len());
        for (i, f) in t.frames.iter().enumerate() {
            let (frame, code) = f.at;
            for (slot, v) in py.frame_locals(frame, code).unwrap_or_default() {
                locals.push((i as u32, slot as u32, v));
            }
            globals.push(py.frame_globals(frame).unwrap_or(0));
        }
        r.locals = locals.into();
        r.globals = globals.into();
    }
    if t.waiter.is_some() {
        let mut wait = waits::classify(py, &t.frames, cx.clock, cx.stdlib);
        if !py.era.socket_coroutines
            && let (Ok(None), Some(fut), Some(lp)) = (&wait, t.waiter, t.event_loop)
            && let Ok(Some(r)) = waits::socket_of_future(py, lp.0, fut)
        {
            wait = Ok(Some(Wait::Described(Box::new(r))));
        }
        if let Ok(Some(Wait::Primitive { addr, kind, edge })) = wait
            && cx
                .described
                .lock()
                .is_ok_and(|mut seen| seen.insert((addr, kind, edge)))
        {
            let mut described = waits::describe(py, addr, kind, edge, cx.clock);
            // Kept until the graph is built: as small as the node it becomes.
            if let Ok(r) = described.as_mut() {
                r.details.shrink_to_fit();
            }
            r.primitive = Some(Box::new(((addr, kind, edge), described)));
        }
        r.wait = Some(wait);
        let found = t.awaiting.as_ref();
        let owner = |a: &Awaited| owner(py, cx.stdlib, a.address.0, &t.frames, &r.locals);
        r.owner = found.and_then(owner).map(Box::new);
    }
    r
}

/// A task suspended inside `async with lock:` keeps `lock.__aexit__` on its frame's value
/// stack: that makes it the (inferred) holder. The same finds `asyncio.timeout` scopes.
fn held(py: &Py<'_>, t: &Task, cx: &Context<'_>) -> Vec<Held> {
    let released = waits::released(py, &t.frames, cx.stdlib);
    let mut out = Vec::new();
    for (k, fi) in t.frames.iter().enumerate() {
        let Ok(stack) = py.frame_value_stack(fi.at.0, fi.at.1) else {
            continue;
        };
        let mut exits = aexits(py, &stack);
        // `async with x:` pushes `x.__aexit__` before awaiting `x.__aenter__()`: while this
        // frame is still inside `__aenter__`, the topmost one is being acquired, not held.
        if t.frames
            .get(k + 1)
            .is_some_and(|next| &*next.function == "__aenter__")
        {
            exits.pop();
        }
        for (exit, receiver) in exits.into_iter().filter(|(_, r)| !released.contains(r)) {
            match waits::resource_kind(py, receiver) {
                Ok(Some(kind @ (Kind::Lock | Kind::Semaphore | Kind::Condition))) => {
                    out.push(Held::Primitive {
                        frame: k,
                        addr: receiver,
                        kind,
                    });
                }
                _ if exit.defined_as("asyncio.timeouts", &["Timeout.__aexit__"]) => {
                    let handle = py.attr(receiver, "_timeout_handler").ok().flatten();
                    let handle = handle.filter(|&h| !py.is_none(h).unwrap_or(true));
                    let timer = |h| waits::timer(py, h, cx.clock, EdgeKind::Timeout).ok();
                    if let Some((handle, timer)) = handle.and_then(|h| timer(h).map(|r| (h, r))) {
                        out.push(Held::Timeout {
                            frame: k,
                            handle,
                            timer,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The `__aexit__` callables of the `async with` blocks a frame is inside, as
/// (callable, receiver): a bound method on the stack (≤3.13), or the function
/// followed by its `self` (3.14+, `LOAD_SPECIAL` pushes the two separately).
fn aexits(py: &Py<'_>, stack: &[Addr]) -> Vec<(Callable, Addr)> {
    let mut out = Vec::new();
    for (i, &v) in stack.iter().enumerate() {
        // Most of what stands on a suspended frame's stack is the awaited coroutine: only a
        // function or a bound method can be an `__aexit__` (no `Callable` built for the rest).
        let is_function = py
            .obj_type_name(v)
            .is_ok_and(|t| matches!(&*t, "function" | "method"));
        if !is_function {
            continue;
        }
        let receiver = match py.callable(v) {
            Ok(c @ Callable::Method { receiver, .. }) => Some((c, receiver)),
            Ok(c @ Callable::Function { .. }) => stack.get(i + 1).map(|&r| (c, r)),
            _ => None,
        };
        let is_aexit = |c: &Callable| {
            matches!(c, Callable::Method { qualname, .. } | Callable::Function { qualname, .. }
                if qualname.ends_with("__aexit__"))
        };
        out.extend(receiver.filter(|(c, _)| is_aexit(c)));
    }
    out
}
