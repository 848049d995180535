//! Finding every task (the `_asyncio` registries of each version) and decoding one task.

use super::chain::await_chain;
use crate::cpython::Py;
use crate::cpython::era::TaskRegistry;
use crate::cpython::frame::FrameInfo;
use crate::cpython::thread::{ThreadStack, ThreadState};
use crate::error::{Error, Result};
use crate::layout::Off;
use crate::model::{self, Id, State};
use crate::parallel::Parallel;
use crate::target::Addr;
use std::collections::BTreeSet;
use std::sync::Arc;

/// asyncio's Task classes (C and pure-Python), and whether each has the C layout.
const TASKS: &[((&str, &str), bool)] = &[
    (("_asyncio", "Task"), true),
    (("asyncio.tasks", "Task"), false),
];
/// asyncio's Future classes, and whether each has the C layout. A task's class chain
/// holds its future class too, which decides for its future part: 3.6's pure-Python Task
/// derives from the C Future (the C struct, and its task part in its dict).
const FUTURES: &[((&str, &str), bool)] = &[
    (("_asyncio", "Future"), true),
    (("asyncio.futures", "Future"), false),
];

/// The registries of one interpreter's asyncio.
pub struct Registry {
    /// Every Task object the registries hold (live or done), deduplicated, sorted.
    pub tasks: Vec<Addr>,
    /// Task currently running on some loop (`_current_tasks` values).
    pub current: Vec<Addr>,
    pub warnings: Vec<String>,
    /// A registry (or some of its entries) could not be read: tasks may be missing.
    pub damaged: bool,
    /// `_asyncio.Task`, the module's own attribute: what a task found elsewhere must be.
    pub task_type: Option<Addr>,
}

/// One interpreter's pending tasks, decoded.
pub struct Pending<R> {
    pub tasks: Vec<model::Task>,
    /// What `also` read from each task, in the same order.
    pub also: Vec<R>,
    pub warnings: Vec<String>,
}

/// Decode every pending task of one interpreter (`states`: its thread states; `stacks`: the
/// Python stacks of its threads, where a running task's frames are). `Ok(None)`: asyncio is
/// not imported there. A task that cannot be read is kept, with its error, and warned about.
/// `also` reads more from each pending task right after it is decoded, on the same thread
/// (the task's memory is hot there); a task it is not called for gets `R::default()`.
pub fn pending<R: Send + Default>(
    py: &Py<'_>,
    par: &Parallel<'_>,
    runtime: Addr,
    interp: Addr,
    states: &[ThreadState],
    stacks: &[ThreadStack],
    also: &(dyn Fn(&Py<'_>, &model::Task) -> R + Sync),
) -> Result<Option<Pending<R>>> {
    let thread_states: Vec<Addr> = states.iter().map(|t| t.addr).collect();
    let Some(mut reg) = registry(py, py.sys_modules(interp)?, interp, &thread_states)? else {
        return Ok(None);
    };
    if reg.damaged {
        recover_tasks(py, runtime, interp, &mut reg);
    }
    let mut warnings = reg.warnings;
    let max = py.limits.tasks;
    if reg.tasks.len() > max {
        py.hit("tasks");
        warnings.push(format!(
            "{} tasks; only the first {max} are shown",
            reg.tasks.len()
        ));
    }
    let shown = &reg.tasks[..reg.tasks.len().min(max)];
    let decoded = par.map(py, shown, |py, &t| {
        Ok(match decode_one(py, t, stacks)? {
            Some(task) if task.state == State::Pending => {
                let more = also(py, &task);
                Entry::Pending(task, more)
            }
            Some(_) => Entry::Done,
            None => Entry::NotATask,
        })
    });
    let mut tasks = Vec::with_capacity(shown.len());
    let mut also = Vec::with_capacity(shown.len());
    for (&t, decoded) in shown.iter().zip(decoded) {
        match decoded {
            Ok(Entry::Pending(task, more)) => {
                tasks.push(task);
                also.push(more);
            }
            Ok(Entry::Done) => {}
            Ok(Entry::NotATask) => {
                warnings.push(format!("{t:#x} in the task registry is not a Task"))
            }
            Err(e) => {
                warnings.push(format!("task {t:#x}: {e}"));
                tasks.push(broken_task(t, &e));
                also.push(R::default());
            }
        }
    }
    for cur in reg.current {
        if !reg.tasks.contains(&cur) {
            warnings.push(format!("running task {cur:#x} is in no registry"));
        }
    }
    Ok(Some(Pending {
        tasks,
        also,
        warnings,
    }))
}

/// One entry of a task registry, decoded. Nearly every entry is a pending task: boxing it
/// would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Entry<R> {
    Pending(model::Task, R),
    Done,
    NotATask,
}

fn decode_one(py: &Py<'_>, t: Addr, stacks: &[ThreadStack]) -> Result<Option<model::Task>> {
    match task_kind(py, t)? {
        Some(c_layout) => decode_task(py, t, c_layout, stacks).map(Some),
        None => Ok(None),
    }
}

fn broken_task(t: Addr, e: &Error) -> model::Task {
    model::Task {
        address: Id(t),
        name: None,
        name_length: None,
        state: State::Unknown,
        type_name: "?".into(),
        cancel_requests: None,
        frames: Vec::new(),
        awaiting: None,
        running_on_thread: None,
        error: Some(e.to_string()),
        event_loop: None,
        waiter: None,
        frames_cut: 0,
        detail: None,
    }
}

/// `_asyncio.Task` and `_asyncio.Future` of each interpreter, by identity: the `_asyncio`
/// module's own attributes (what cannot be read is left out).
pub fn own_classes(py: &Py<'_>, interps: &[Addr]) -> Vec<(Addr, (&'static str, &'static str))> {
    let mut out = Vec::new();
    for &interp in interps {
        let globals = (py.sys_modules(interp).ok())
            .and_then(|m| py.dict_get(m, "_asyncio").ok().flatten())
            .and_then(|module| py.mem.ptr(module + py.off().md_dict().ok()?).ok());
        let Some(globals) = globals else { continue };
        for name in ["Task", "Future"] {
            if let Some(tp) = py.dict_get(globals, name).ok().flatten() {
                out.push((tp, ("_asyncio", name)));
            }
        }
    }
    out
}

/// Most tracked objects looked at for tasks a damaged registry lost.
const MAX_TRACKED: usize = 8 << 20;

/// Bytes of the target's writable memory searched at a time for tasks.
const SEARCH_CHUNK: u64 = 4 << 20;

/// A damaged registry's tasks: objects of `_asyncio.Task` itself (a subclass's are not
/// recognised this way), looked for in the target's writable memory when the back end can
/// list it (a core), else among the objects the collector tracks.
fn recover_tasks(py: &Py<'_>, runtime: Addr, interp: Addr, reg: &mut Registry) {
    let Some(task_type) = reg.task_type else {
        return;
    };
    let regions = py.mem.writable();
    if regions.is_empty() {
        return from_collector(py, runtime, interp, task_type, reg);
    }
    // Every aligned word equal to the type's address is an object header's type field,
    // or a stray pointer: the reference count before it tells (a freed block keeps its
    // type but holds a free-list pointer there), then the task decode does.
    let Ok(type_at) = py.off().ob_type() else {
        return;
    };
    let needle = task_type.to_le_bytes();
    let mut all: BTreeSet<Addr> = reg.tasks.iter().copied().collect();
    let before = all.len();
    for (start, len) in regions {
        let (mut at, end) = (start, start.saturating_add(len));
        while at < end && all.len() < py.limits.tasks {
            let n = SEARCH_CHUNK.min(end - at);
            let Ok(bytes) = py.mem.bytes(at, n as usize) else {
                break;
            };
            for pos in memchr::memmem::find_iter(&bytes, &needle) {
                let word = at + pos as u64;
                let obj = word.wrapping_sub(type_at.0);
                if !word.is_multiple_of(8) || obj == 0 {
                    continue;
                }
                let live = py.mem.u64(obj).is_ok_and(|rc| rc > 0 && rc < 1 << 32);
                if live && task_kind(py, obj).ok().flatten().is_some() {
                    all.insert(obj);
                }
            }
            at += n;
        }
    }
    reg.warnings.push(format!(
        "a task registry is damaged: {} more tasks found in the target's writable memory",
        all.len() - before
    ));
    reg.tasks = all.into_iter().collect();
}

/// The same among every object the collector tracks.
fn from_collector(py: &Py<'_>, runtime: Addr, interp: Addr, task_type: Addr, reg: &mut Registry) {
    let tracked = py
        .gc_state(runtime, interp)
        .and_then(|state| py.gc_objects(state, MAX_TRACKED));
    match tracked {
        Ok(tracked) => {
            let mut all: BTreeSet<Addr> = reg.tasks.iter().copied().collect();
            let before = all.len();
            (tracked.objects.iter())
                .filter(|&&obj| py.type_of(obj).is_ok_and(|t| t == task_type))
                .for_each(|&obj| {
                    all.insert(obj);
                });
            reg.warnings.push(format!(
                "a task registry is damaged: {} more tasks found among the objects the collector tracks{}",
                all.len() - before,
                if tracked.cut { " (its lists are damaged too: some may still be missing)" } else { "" }
            ));
            reg.tasks = all.into_iter().collect();
        }
        Err(e) => reg.warnings.push(format!(
            "a task registry is damaged, and the collector's lists cannot be read either ({e}): tasks may be missing"
        )),
    }
}

/// Read the registries through `sys.modules['_asyncio']`. `Ok(None)`: asyncio not imported.
/// `interp` and `threads` (thread state addresses) hold the 3.14+ per-thread task lists.
pub fn registry(
    py: &Py<'_>,
    sys_modules: Addr,
    interp: Addr,
    threads: &[Addr],
) -> Result<Option<Registry>> {
    let Some(module) = py.dict_get(sys_modules, "_asyncio")? else {
        return Ok(None);
    };
    if py.era.registry == TaskRegistry::Linked {
        return registry_314(py, module, sys_modules, interp, threads).map(Some);
    }
    let globals = py.mem.ptr(module + py.off().md_dict()?)?;
    let mut tasks = BTreeSet::new();
    let mut warnings = Vec::new();
    let weaksets = match py.era.registry {
        TaskRegistry::Scheduled => {
            vec![("_scheduled_tasks", py.dict_get(globals, "_scheduled_tasks"))]
        }
        TaskRegistry::Statics => vec![
            (
                "all_tasks",
                static_of_asyncio(py, py.types.statics.all_tasks, "all_tasks"),
            ),
            (
                "asyncio.tasks.Task._all_tasks",
                python_task_set(py, sys_modules),
            ),
        ],
        _ => vec![("_all_tasks", py.dict_get(globals, "_all_tasks"))],
    };
    for (name, set) in weaksets {
        match set {
            Ok(Some(ws)) => collect(&mut tasks, &mut warnings, name, weakset(py, ws)),
            Ok(None) => warnings.push(format!(
                "_asyncio has no {name}: tasks registered there are not shown"
            )),
            Err(e) => collect(&mut tasks, &mut warnings, name, Err(e)),
        }
    }
    if py.era.registry == TaskRegistry::Scheduled {
        let eager = py
            .dict_get(globals, "_eager_tasks")
            .transpose()
            .map(|s| s.and_then(|s| py.set_items(s)).map(|v| (v, 0)));
        if let Some(read) = eager {
            collect(&mut tasks, &mut warnings, "_eager_tasks", read);
        }
    }
    // Which task each loop runs: its loss costs the running marks, not the tasks.
    let current_tasks = if py.era.registry == TaskRegistry::Statics {
        static_of_asyncio(py, py.types.statics.current_tasks, "current_tasks")
    } else {
        py.dict_get(globals, "_current_tasks")
    };
    let current = match current_tasks.and_then(|d| match d {
        Some(d) => py.dict_items(d),
        None => Ok(Vec::new()),
    }) {
        Ok(items) => items.into_iter().map(|(_, t)| t).collect(),
        Err(e) => {
            warnings.push(format!(
                "_asyncio._current_tasks is unreadable ({e}): running tasks are found from the threads' stacks only"
            ));
            Vec::new()
        }
    };
    let damaged = warnings.iter().any(|w| w.starts_with("task registry "));
    Ok(Some(Registry {
        tasks: tasks.into_iter().collect(),
        current,
        warnings,
        damaged,
        task_type: py.dict_get(globals, "Task").ok().flatten(),
    }))
}

/// 3.6: the object one of `_asyncio`'s statics points to (`all_tasks`, `current_tasks`;
/// [`crate::cpython::Statics`]), found through the module's symbol table.
fn static_of_asyncio(py: &Py<'_>, at: Addr, name: &str) -> Result<Option<Addr>> {
    match at {
        0 => Err(Error::Target(format!(
            "_asyncio's symbol table does not name its static {name} (a stripped build: install its debug symbols)"
        ))),
        at => Ok(Some(py.mem.ptr(at)?).filter(|&p| p != 0)),
    }
}

/// 3.6: the weak set the pure-Python `asyncio.tasks.Task` class (`_PyTask`) registers its
/// instances in, a class attribute. `Ok(None)` when that module or class is not there.
fn python_task_set(py: &Py<'_>, sys_modules: Addr) -> Result<Option<Addr>> {
    let Some(module) = py.dict_get(sys_modules, "asyncio.tasks")? else {
        return Ok(None);
    };
    let globals = py.mem.ptr(module + py.off().md_dict()?)?;
    let Some(class) = py.dict_get(globals, "_PyTask")? else {
        return Ok(None);
    };
    let dict = py.mem.ptr(class + py.off().tp_dict()?)?;
    if dict == 0 {
        return Ok(None);
    }
    py.dict_get(dict, "_all_tasks")
}

/// 3.14+: native tasks are linked into per-thread lists (and the interpreter's, for tasks
/// of threads that are gone); other Task classes are in the module state's WeakSet and set.
fn registry_314(
    py: &Py<'_>,
    module: Addr,
    sys_modules: Addr,
    interp: Addr,
    threads: &[Addr],
) -> Result<Registry> {
    let o = py.off();
    let mut tasks = BTreeSet::new();
    let mut current = Vec::new();
    let mut warnings = Vec::new();
    let heads = threads
        .iter()
        .map(|t| Ok(t + o.tsi_asyncio_tasks_head()?))
        .chain([Ok(interp + o.is_asyncio_tasks_head()?)]);
    for head in heads {
        let head: Addr = head?;
        match linked_tasks(py, head) {
            Ok(list) => tasks.extend(list),
            Err(e) => warnings.push(format!("task list at {head:#x}: {e}")),
        }
    }
    for t in threads {
        let running = py.mem.ptr(t + o.tsi_asyncio_running_task()?)?;
        if running != 0 {
            current.push(running);
        }
    }
    let state = py.mem.ptr(module + o.md_state()?)?;
    if state != 0 {
        let ws = py.mem.ptr(state + o.state_non_asyncio_tasks()?)?;
        if ws != 0 {
            collect(
                &mut tasks,
                &mut warnings,
                "non_asyncio_tasks",
                weakset(py, ws),
            );
        }
        let eager = py.mem.ptr(state + o.state_non_asyncio_eager_tasks()?)?;
        if eager != 0 {
            let read = py.set_items(eager).map(|v| (v, 0));
            collect(&mut tasks, &mut warnings, "non_asyncio_eager_tasks", read);
        }
    }
    // The pure-Python Task (`_PyTask`) registers in asyncio.tasks' own WeakSet and set.
    if let Some(m) = py.dict_get(sys_modules, "asyncio.tasks")? {
        let globals = py.mem.ptr(m + o.md_dict()?)?;
        if let Some(ws) = py.dict_get(globals, "_scheduled_tasks")? {
            collect(
                &mut tasks,
                &mut warnings,
                "asyncio.tasks._scheduled_tasks",
                weakset(py, ws),
            );
        }
        if let Some(eager) = py.dict_get(globals, "_eager_tasks")? {
            let read = py.set_items(eager).map(|v| (v, 0));
            collect(
                &mut tasks,
                &mut warnings,
                "asyncio.tasks._eager_tasks",
                read,
            );
        }
    }
    let damaged = warnings.iter().any(|w| w.starts_with("task registry "));
    let globals = py.off().md_dict().and_then(|d| py.mem.ptr(module + d));
    let task_type = globals
        .ok()
        .and_then(|g| py.dict_get(g, "Task").ok().flatten());
    Ok(Registry {
        tasks: tasks.into_iter().collect(),
        current,
        warnings,
        damaged,
        task_type,
    })
}

/// Tasks on an intrusive `llist_node` list whose sentinel is at `head`.
fn linked_tasks(py: &Py<'_>, head: Addr) -> Result<Vec<Addr>> {
    const MAX_LIST: usize = 1 << 22;
    let o = py.off();
    let (next, node) = (o.llist_next()?, o.task_node()?);
    let mut out = Vec::new();
    let mut n = py.mem.ptr(head + next)?;
    // A damaged list may loop without coming back to its head: Brent's cycle check (a
    // marker moved to every power-of-two step) stops it in a few times its length.
    let (mut marker, mut steps, mut power) = (n, 0usize, 1usize);
    while n != 0 && n != head {
        if out.len() >= MAX_LIST {
            return Err(Error::Limit {
                what: "task list length",
                limit: MAX_LIST as u64,
            });
        }
        out.push(n - node);
        n = py.mem.ptr(n + next)?;
        steps += 1;
        if n == marker {
            return Err(Error::Implausible {
                what: "task list (it loops without coming back to its head)",
                addr: head,
                value: out.len() as u64,
            });
        }
        if steps == power {
            (marker, steps, power) = (n, 0, power * 2);
        }
    }
    Ok(out)
}

/// Live referents of a `weakref.WeakSet` (its `data` set of weak references).
/// Add one registry's members to `tasks`. An unreadable registry, or unreadable entries,
/// are warnings: the other registries still count.
fn collect(
    tasks: &mut BTreeSet<Addr>,
    warnings: &mut Vec<String>,
    name: &str,
    read: Result<(Vec<Addr>, usize)>,
) {
    match read {
        Ok((members, skipped)) => {
            tasks.extend(members);
            if skipped > 0 {
                warnings.push(format!(
                    "task registry {name}: {skipped} unreadable entries skipped"
                ));
            }
        }
        Err(e) => warnings.push(format!(
            "task registry {name} is unreadable ({e}): its tasks are not shown"
        )),
    }
}

/// The referents of a WeakSet's live references, and how many references were unreadable.
fn weakset(py: &Py<'_>, ws: Addr) -> Result<(Vec<Addr>, usize)> {
    let data = py.attr(ws, "data")?.ok_or(Error::Implausible {
        what: "WeakSet without a data attribute",
        addr: ws,
        value: 0,
    })?;
    let mut out = Vec::new();
    let mut skipped = 0;
    for r in py.set_items(data)? {
        let Ok(target) = py.mem.ptr(r + py.off().wr_object()?) else {
            skipped += 1;
            continue;
        };
        // A dead reference points at None. An unreadable referent stays in the list, so
        // decoding it reports the problem for that one task.
        if target != 0 && py.obj_type_name(target).map_or(true, |n| &*n != "NoneType") {
            out.push(target);
        }
    }
    Ok((out, skipped))
}

/// Is `obj` a Task (C, pure-Python, or a subclass of either)? And is it the C layout?
pub fn task_kind(py: &Py<'_>, obj: Addr) -> Result<Option<bool>> {
    py.class_in(obj, TASKS)
}

/// Is `obj` a Future or Task, and is it the C layout? `None` when it is neither.
pub fn future_kind(py: &Py<'_>, obj: Addr) -> Result<Option<bool>> {
    py.class_in(obj, FUTURES)
}

/// The state of a Future or Task.
pub fn future_state(py: &Py<'_>, obj: Addr, c_layout: bool) -> Result<State> {
    if c_layout {
        return Ok(match py.mem.i32(obj + py.off().fut_state()?)? {
            0 => State::Pending,
            1 => State::Cancelled,
            2 => State::Finished,
            other => {
                return Err(Error::Implausible {
                    what: "future state",
                    addr: obj,
                    value: other as u64,
                });
            }
        });
    }
    match py.attr(obj, "_state")? {
        Some(s) => match &*py.str(s)? {
            "PENDING" => Ok(State::Pending),
            "CANCELLED" => Ok(State::Cancelled),
            "FINISHED" => Ok(State::Finished),
            _ => Err(Error::Implausible {
                what: "pure-Python future state",
                addr: s,
                value: 0,
            }),
        },
        None => Err(Error::Implausible {
            what: "pure-Python future without _state",
            addr: obj,
            value: 0,
        }),
    }
}

pub fn task_name(py: &Py<'_>, task: Addr, c_layout: bool) -> Result<Option<String>> {
    Ok(task_name_cut(py, task, c_layout)?.map(|(name, _)| name))
}

/// A task's name, and its whole length when it is longer than the string limit: it is
/// then cut, and ends in `…`.
pub fn task_name_cut(
    py: &Py<'_>,
    task: Addr,
    c_layout: bool,
) -> Result<Option<(String, Option<u64>)>> {
    if !py.era.task_names {
        return Ok(None);
    }
    let name = if c_layout {
        py.mem.ptr(task + py.off().task_name()?)?
    } else {
        py.attr(task, "_name")?.unwrap_or(0)
    };
    if name == 0 {
        return Ok(None);
    }
    // 3.12+ keeps the default name as the counter N until someone asks for "Task-N".
    if py.is_int(name)? {
        return Ok(Some((format!("Task-{}", py.int(name)?), None)));
    }
    let (mut text, whole) = py.str_cut(name)?;
    if whole.is_some() {
        text.push('…');
    }
    Ok(Some((text, whole)))
}

fn task_field(
    py: &Py<'_>,
    task: Addr,
    c_layout: bool,
    c_offset: Result<Off>,
    attr: &str,
) -> Result<Addr> {
    if c_layout {
        py.mem.ptr(task + c_offset?)
    } else {
        Ok(py.attr(task, attr)?.unwrap_or(0))
    }
}

/// A frame of the model from what the reader found at `at` (frame, code).
pub fn frame(at: (Addr, Addr), f: FrameInfo) -> model::Frame {
    model::Frame {
        function: f.function,
        qualname: f.qualname,
        file: f.file,
        line: f.line,
        source: None,
        locals: None,
        at,
    }
}

/// Describe the object a task waits on.
pub fn awaited(py: &Py<'_>, obj: Addr) -> Result<model::Awaited> {
    let mut a = model::Awaited {
        type_name: py.short_type_name(obj)?,
        address: Id(obj),
        state: None,
        name: None,
        resource: None,
        owner: None,
        thread: None,
        held_by: None,
    };
    if let Some(c_layout) = future_kind(py, obj)? {
        a.state = future_state(py, obj, c_layout).ok();
        if task_kind(py, obj)?.is_some() {
            // Unreadable, it is shown as '?' (the graph's node says why).
            a.name = match task_name(py, obj, c_layout) {
                Ok(name) => name.map(Arc::from),
                Err(_) => Some("?".into()),
            };
        }
    }
    Ok(a)
}

/// Decode one task. `running` gives the thread stacks (innermost first, with frame
/// addresses) used when the task's coroutine is executing right now.
pub fn decode_task(
    py: &Py<'_>,
    task: Addr,
    c_layout: bool,
    running: &[ThreadStack],
) -> Result<model::Task> {
    let o = py.off();
    // The future part's layout (3.6's pure-Python Task has the C one).
    let future_c = future_kind(py, task)?.unwrap_or(c_layout);
    let state = future_state(py, task, future_c)?;
    // An unreadable name costs the name, not the task (the graph's node says why).
    let (name, name_length) = match task_name_cut(py, task, c_layout) {
        Ok(Some((name, whole))) => (Some(Arc::from(name)), whole),
        Ok(None) => (None, None),
        Err(_) => (Some(Arc::from("?")), None),
    };
    let mut t = model::Task {
        address: Id(task),
        name,
        name_length,
        state,
        type_name: py.short_type_name(task)?,
        cancel_requests: None,
        frames: Vec::new(),
        awaiting: None,
        running_on_thread: None,
        error: None,
        event_loop: task_field(py, task, future_c, o.fut_loop(), "_loop")
            .ok()
            .filter(|&l| l != 0)
            .map(Id),
        waiter: None,
        frames_cut: 0,
        detail: None,
    };
    if py.era.cancel_requests {
        t.cancel_requests = if c_layout {
            o.task_num_cancels_requested
                .and_then(|off| py.mem.i32(task + off).ok())
                .map(i64::from)
        } else {
            py.attr(task, "_num_cancels_requested")
                .ok()
                .flatten()
                .and_then(|n| py.int(n).ok())
        };
    }
    let coro = task_field(py, task, c_layout, o.task_coro(), "_coro")?;
    if coro != 0 && py.gen_kind(coro)?.is_some() && py.gen_running(coro)? {
        // Running: its frames are on a thread's stack, from the coroutine's frame inwards.
        if let Some(coro_frame) = py.gen_frame(coro)? {
            for (tid, stack) in running {
                if let Some(k) = stack.iter().position(|(f, _, _)| *f == coro_frame) {
                    let mine = stack[..=k].iter().rev();
                    t.frames = mine.map(|(f, c, fi)| frame((*f, *c), fi.clone())).collect();
                    t.running_on_thread = Some(*tid);
                }
            }
        }
    } else if coro != 0 {
        let chain = await_chain(py, coro);
        t.frames = (chain.raw.into_iter().zip(chain.frames))
            .map(|(at, f)| frame(at, f))
            .collect();
        t.error = chain.error.map(|e| e.to_string());
        let waiter = task_field(py, task, c_layout, o.task_fut_waiter(), "_fut_waiter")?;
        t.waiter = if waiter != 0 && !py.is_none(waiter)? {
            Some(waiter)
        } else {
            chain.terminal
        };
        if let Some(w) = t.waiter {
            t.awaiting = Some(awaited(py, w)?);
        }
    }
    Ok(t)
}
