//! Taking a snapshot: discover, enumerate threads and tasks, decode each, gather warnings.
//! Per-item failures become warnings and partial entries; only a target we cannot
//! understand at all is an error.

use crate::asyncio::graph;
use crate::asyncio::tasks;
use crate::asyncio::waits::Clock;
use crate::cpython::Py;
use crate::cpython::frame::FrameInfo;
use crate::cpython::thread::ThreadStack;
use crate::discover::{Options, discover, fallback_files};
use crate::error::{Error, Result};
use crate::layout::Version;
use crate::model::{EventLoop, Frame, Id, Snapshot, State, Task, Thread};
use crate::target::core::CoreFile;
use crate::target::files::WithFiles;
use crate::target::{Addr, Memory, Module, Reader};
use std::collections::HashMap;
use std::rc::Rc;

/// Most tasks we decode in one snapshot.
const MAX_TASKS: usize = 1 << 20;

pub fn take(memory: &dyn Memory, modules: &[Module], opts: &Options) -> Result<Snapshot> {
    let (modules, core_warning) = with_core_modules(opts.host_modules(modules), opts);
    let modules = &modules;
    let raw = Reader::new(memory);
    let with_files = WithFiles::new(memory, &fallback_files(modules));
    let reader = Reader::new(&with_files);
    let found = discover(&reader, &raw, modules, opts)?;
    let mut warnings = found.warnings;
    warnings.extend(core_warning);
    let mut layout = found.layout;
    let source = layout.source;
    let interps = {
        let py = Py::new(&reader, layout.clone(), found.types.clone());
        py.interpreters(found.runtime)?
    };
    // ≤3.10 has no Py_Version: take the micro version from sys.version.
    {
        let py = Py::new(&reader, layout.clone(), found.types.clone());
        if let Some(v) = sys_version(&py, interps[0]) {
            if (v.major, v.minor) == (layout.version.major, layout.version.minor) {
                layout.version = v;
            } else {
                warnings.push(format!(
                    "sys.version says {v}, the binary says {}",
                    layout.version
                ));
            }
        }
    }
    let py = Py::new(&reader, layout, found.types);
    let mut threads = Vec::new();
    let mut stacks: Vec<ThreadStack> = Vec::new();
    let mut tasks_out = Vec::new();
    let mut asyncio_seen = false;
    let mut modules = Vec::new();
    for &interp in &interps {
        let names = thread_names(&py, interp).unwrap_or_default();
        for ts in py.threads(interp)? {
            let (frames, err) = thread_stack(&py, ts.top_frame);
            if let Some(e) = err {
                warnings.push(format!("thread {}: stack cut short: {e}", ts.thread_id));
            }
            let (name, native) = names.get(&ts.thread_id).cloned().unwrap_or((None, None));
            threads.push(Thread {
                thread_id: ts.thread_id,
                native_id: ts.native_thread_id.or(native),
                name,
                frames: frames
                    .iter()
                    .rev()
                    .map(|(f, c, fi)| tasks::frame((*f, *c), fi.clone()))
                    .collect(),
            });
            stacks.push((ts.thread_id, frames));
        }
        let sys_modules = py.sys_modules(interp)?;
        modules.push(sys_modules);
        let thread_states: Vec<Addr> = py.threads(interp)?.iter().map(|t| t.addr).collect();
        let Some(reg) = tasks::registry(&py, sys_modules, interp, &thread_states)? else {
            continue;
        };
        asyncio_seen = true;
        warnings.extend(reg.warnings);
        if reg.tasks.len() > MAX_TASKS {
            warnings.push(format!(
                "{} tasks; only the first {MAX_TASKS} are shown",
                reg.tasks.len()
            ));
        }
        tasks_out.reserve(reg.tasks.len().min(MAX_TASKS));
        for &t in reg.tasks.iter().take(MAX_TASKS) {
            match decode_one(&py, t, &stacks) {
                Ok(Some(task)) if task.state == State::Pending => tasks_out.push(task),
                Ok(Some(_)) => {}
                Ok(None) => warnings.push(format!("{t:#x} in the task registry is not a Task")),
                Err(e) => {
                    warnings.push(format!("task {t:#x}: {e}"));
                    tasks_out.push(broken_task(t, &e));
                }
            }
        }
        for cur in reg.current {
            if !reg.tasks.contains(&cur) {
                warnings.push(format!("running task {cur:#x} is in no registry"));
            }
        }
    }
    if !asyncio_seen {
        return Err(Error::Target(format!(
            "asyncio is not imported in this process: sys.modules has no '_asyncio' ({} thread{})",
            threads.len(),
            if threads.len() == 1 { "" } else { "s" }
        )));
    }
    let (loops, loop_threads) = event_loops(&py, &tasks_out);
    let clock = clock(&py, opts, &stacks);
    let names: HashMap<u64, String> = threads
        .iter()
        .filter_map(|t| t.name.clone().map(|n| (t.thread_id, n)))
        .collect();
    let graph = graph::build(
        &py,
        &mut tasks_out,
        &stacks,
        &names,
        &loop_threads,
        clock,
        modules,
    );
    warnings.extend(graph.warnings);
    let mut snap = Snapshot {
        objects: graph.objects,
        edges: graph.edges,
        cycles: graph.cycles,
        python: py.version().to_string(),
        layout: source.name().to_string(),
        tasks: tasks_out,
        threads,
        loops,
        warnings,
        stats: {
            let read = reader.stats();
            crate::model::Stats {
                callbacks: read.callbacks,
                bytes_read: read.bytes_read,
                failed_reads: read.failed_reads,
            }
        },
    };
    if !opts.no_source {
        add_sources(&mut snap, &opts.sysroot);
    }
    Ok(snap)
}

/// Source lines for every frame whose file is readable here (under `sysroot`). Reads no
/// target memory: the CLI does it after letting a live target go.
pub fn add_sources(snap: &mut Snapshot, sysroot: &str) {
    add_source_lines(
        sysroot.trim_end_matches('/'),
        snap.tasks
            .iter_mut()
            .flat_map(|t| t.frames.iter_mut())
            .chain(snap.threads.iter_mut().flat_map(|t| t.frames.iter_mut())),
    );
}

/// The debugger's modules (paths already on this machine), completed from the core file's
/// list of mapped files (NT_FILE) when the front end names one: the files found here.
fn with_core_modules(mut out: Vec<Module>, opts: &Options) -> (Vec<Module>, Option<String>) {
    if opts.core_file.is_empty() {
        return (out, None);
    }
    match CoreFile::open(std::path::Path::new(&opts.core_file)) {
        Ok(core) => {
            for m in opts.host_modules(&core.modules()) {
                let known = out.iter().any(|o| o.path == m.path || o.base == m.base);
                if !known && std::path::Path::new(&m.path).is_file() {
                    out.push(m);
                }
            }
            (out, None)
        }
        Err(e) => (
            out,
            Some(format!(
                "core file {}: {e}; only the debugger's module list is used",
                opts.core_file
            )),
        ),
    }
}

/// The tasks' event loops, in order of first appearance, and the thread running each
/// (`loop._thread_id`) by loop address.
fn event_loops(py: &Py<'_>, tasks: &[Task]) -> (Vec<EventLoop>, HashMap<Addr, Option<u64>>) {
    let mut out: Vec<EventLoop> = Vec::new();
    let mut threads: HashMap<Addr, Option<u64>> = HashMap::new();
    for id in tasks.iter().filter_map(|t| t.event_loop) {
        let lp = id.0;
        if let Some(l) = out.iter_mut().find(|l| l.address == id) {
            l.tasks += 1;
            continue;
        }
        let thread_id = py
            .attr(lp, "_thread_id")
            .ok()
            .flatten()
            .and_then(|t| py.int(t).ok())
            .and_then(|t| u64::try_from(t).ok());
        threads.insert(lp, thread_id);
        out.push(EventLoop {
            address: id,
            type_name: py.short_type_name(lp).unwrap_or_else(|_| "?".into()),
            thread_id,
            tasks: 1,
        });
    }
    (out, threads)
}

fn decode_one(py: &Py<'_>, t: Addr, stacks: &[ThreadStack]) -> Result<Option<Task>> {
    match tasks::task_kind(py, t)? {
        Some(c_layout) => tasks::decode_task(py, t, c_layout, stacks).map(Some),
        None => Ok(None),
    }
}

fn broken_task(t: Addr, e: &Error) -> Task {
    Task {
        address: Id(t),
        name: None,
        state: State::Unknown,
        type_name: "?".into(),
        cancel_requests: None,
        frames: Vec::new(),
        awaiting: None,
        running_on_thread: None,
        error: Some(e.to_string()),
        event_loop: None,
        waiter: None,
    }
}

/// A thread's Python frames, innermost first, and why the walk stopped early (if it did).
fn thread_stack(py: &Py<'_>, top: Addr) -> (Vec<(Addr, Addr, FrameInfo)>, Option<Error>) {
    let chain = match py.frame_chain(top) {
        Ok(c) => c,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut out = Vec::new();
    for (f, code) in chain {
        match py.frame_info(f, code, None) {
            Ok(fi) => out.push((f, code, fi)),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// `threading._active`: thread ident → (name, native id).
/// Thread ident → (name, native id), from `threading`.
type ThreadNames = HashMap<u64, (Option<String>, Option<u64>)>;

fn thread_names(py: &Py<'_>, interp: Addr) -> Result<ThreadNames> {
    let mut out = HashMap::new();
    let Some(m) = py.dict_get(py.sys_modules(interp)?, "threading")? else {
        return Ok(out);
    };
    let Some(active) = py.dict_get(py.mem.ptr(m + py.off().md_dict()?)?, "_active")? else {
        return Ok(out);
    };
    for (ident, thread) in py.dict_items(active)? {
        let Ok(ident) = py.int(ident) else { continue };
        let name = py
            .attr(thread, "_name")
            .ok()
            .flatten()
            .and_then(|n| py.str(n).ok());
        let native = py
            .attr(thread, "_native_id")
            .ok()
            .flatten()
            .and_then(|n| py.int(n).ok())
            .map(|n| n as u64);
        out.insert(ident as u64, (name, native));
    }
    Ok(out)
}

fn sys_version(py: &Py<'_>, interp: Addr) -> Option<Version> {
    let sys = py.dict_get(py.sys_modules(interp).ok()?, "sys").ok()??;
    let v = py
        .dict_get(py.mem.ptr(sys + py.off().md_dict().ok()?).ok()?, "version")
        .ok()??;
    Version::parse(&py.str(v).ok()?)
}

/// Source lines for frames whose file is readable here (each file read once, each line
/// shared by every frame that shows it).
fn add_source_lines<'a>(root: &str, frames: impl Iterator<Item = &'a mut Frame>) {
    let mut files: HashMap<Rc<str>, Option<Vec<Rc<str>>>> = HashMap::new();
    for f in frames {
        let Some(line) = f.line.filter(|&l| l > 0) else {
            continue;
        };
        let lines = files.entry(f.file.clone()).or_insert_with(|| {
            let path = format!("{root}{}", f.file);
            let meta = std::fs::metadata(&path).ok()?;
            if !meta.is_file() || meta.len() > 16 << 20 {
                return None;
            }
            let text = std::fs::read(&path).ok()?;
            Some(
                String::from_utf8_lossy(&text)
                    .lines()
                    .map(|l| Rc::from(l.trim()))
                    .collect(),
            )
        });
        f.source = lines
            .as_ref()
            .and_then(|l| l.get(line as usize - 1))
            .cloned();
    }
}

/// The loop's "now": this machine's monotonic clock for a live target (asyncio's default
/// loop time is `time.monotonic()`); for a core, the value the loop computed before it went
/// to sleep in select() (`_run_once`'s `when - timeout`), if it is there. Never invented.
fn clock(py: &Py<'_>, opts: &Options, stacks: &[ThreadStack]) -> Option<Clock> {
    if opts.live {
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
