//! Done-callbacks of a future, and what each one says about who waits for it: the
//! wake-up of a task, a gather/shield/wait/wait_for/TaskGroup bookkeeping function, or the
//! bridge to a `concurrent.futures.Future` (run_in_executor).

use super::tasks::future_kind;
use crate::cpython::Py;
use crate::cpython::callable::Callable;
use crate::error::Result;
use crate::target::Addr;

/// Most callbacks we read from one future.
const MAX_CALLBACKS: usize = 4096;

/// What one callback on future `F` means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Task `.0` is blocked on F and is woken when F completes.
    Wakeup(Addr),
    /// F is a child of the gather future `.0`.
    Gather(Addr),
    /// F is shielded by the outer future `.0`.
    Shield(Addr),
    /// F is in the set `asyncio.wait` watches; `.0` is the waiter future.
    Wait(Addr),
    /// F is what `wait_for` (≤3.11) waits on; `.0` is its waiter future.
    WaitFor(Addr),
    /// F is a child task of the TaskGroup `.0`.
    TaskGroup(Addr),
    /// F is completed by the `concurrent.futures.Future` `.0` (run_in_executor, to_thread).
    Executor(Addr),
    /// F is one of `as_completed`'s futures; `.0` is its queue or iterator.
    AsCompleted(Addr),
    /// Something else (named for warnings and details).
    Other(String),
}

/// The callables registered on a future (C `fut_callback0` + `fut_callbacks`, or the
/// pure-Python `_callbacks` list of `(callback, context)` tuples; 3.6: bare callables).
pub fn callbacks(py: &Py<'_>, fut: Addr) -> Result<Vec<Addr>> {
    let Some(c_layout) = future_kind(py, fut)? else {
        return Ok(Vec::new());
    };
    let o = py.off();
    let mut out = Vec::new();
    let contexts = py.era.callback_contexts;
    let list = if c_layout {
        if contexts {
            let first = py.mem.ptr(fut + o.fut_callback0()?)?;
            if first != 0 {
                out.push(first);
            }
        }
        py.mem.ptr(fut + o.fut_callbacks()?)?
    } else {
        py.attr(fut, "_callbacks")?.unwrap_or(0)
    };
    if list != 0 && !py.is_none(list)? {
        for entry in py.list(list)?.into_iter().take(MAX_CALLBACKS) {
            if !contexts {
                out.push(entry);
            } else if let Some(&cb) = py.tuple(entry)?.first() {
                out.push(cb);
            }
        }
    }
    Ok(out)
}

/// Classify one callback. asyncio's own are known by module and qualified name.
pub fn classify(py: &Py<'_>, cb: Addr) -> Result<Link> {
    let closure = |func: Addr, name: &str| -> Result<Option<Addr>> { py.closure_var(func, name) };
    let c = py.callable(cb)?;
    let tasks = |names: &[&str]| c.defined_as("asyncio.tasks", names);
    Ok(match &c {
        Callable::Builtin { name, receiver } if name == "task_wakeup" => Link::Wakeup(*receiver),
        Callable::Method { receiver, .. } if tasks(&["Task.__wakeup", "Task._Task__wakeup"]) => {
            Link::Wakeup(*receiver)
        }
        Callable::Method { receiver, .. }
            if c.defined_as("asyncio.taskgroups", &["TaskGroup._on_task_done"]) =>
        {
            Link::TaskGroup(*receiver)
        }
        Callable::Method { receiver, .. }
            if tasks(&["_AsCompletedIterator._handle_completion"]) =>
        {
            Link::AsCompleted(*receiver)
        }
        Callable::Function { qualname, func, .. } => {
            let found = |var: &str, make: fn(Addr) -> Link| -> Result<Link> {
                Ok(closure(*func, var)?.map_or_else(|| Link::Other(qualname.clone()), make))
            };
            if tasks(&[
                "gather.<locals>._done_callback",
                "_gather.<locals>._done_callback",
            ]) {
                found("outer", Link::Gather)?
            } else if tasks(&[
                "shield.<locals>._inner_done_callback",
                "shield.<locals>._done_callback", // 3.6
            ]) {
                found("outer", Link::Shield)?
            } else if tasks(&["_wait.<locals>._on_completion"]) {
                found("waiter", Link::Wait)?
            } else if tasks(&["as_completed.<locals>._on_completion"]) {
                found("done", Link::AsCompleted)?
            } else if c.defined_as(
                "asyncio.futures",
                &["_chain_future.<locals>._call_check_cancel"],
            ) {
                found("source", Link::Executor)?
            } else {
                Link::Other(qualname.clone())
            }
        }
        Callable::Partial { func, args } => match args.first() {
            Some(&waiter) if func.defined_as("asyncio.tasks", &["_release_waiter"]) => {
                Link::WaitFor(waiter)
            }
            _ => Link::Other(format!("partial({func:?})")),
        },
        other => Link::Other(format!("{other:?}")),
    })
}
