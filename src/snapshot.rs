//! Taking a snapshot: discover, enumerate threads and tasks, decode each, gather warnings.
//! Per-item failures become warnings and partial entries; only a target we cannot
//! understand at all is an error.

use crate::asyncio::{graph, loops, tasks};
use crate::cpython::Py;
use crate::cpython::thread::ThreadStack;
use crate::discover::{Options, discover, fallback_files};
use crate::error::{Error, Result};
use crate::model::{Id, Snapshot, State, Task, Thread};
use crate::target::core::CoreFile;
use crate::target::files::WithFiles;
use crate::target::{Addr, Memory, Module, Reader};
use std::collections::HashMap;

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
    let source = found.layout.source;
    let mut py = Py::new(&reader, found.layout, found.types);
    let interps = py.interpreters(found.runtime)?;
    // ≤3.10 has no Py_Version: take the micro version from sys.version.
    if let Some(v) = py.sys_version(interps[0]) {
        let known = py.version();
        if (v.major, v.minor) == (known.major, known.minor) {
            py.set_version(v);
        } else {
            warnings.push(format!("sys.version says {v}, the binary says {known}"));
        }
    }
    let py = py;
    let mut threads = Vec::new();
    let mut stacks: Vec<ThreadStack> = Vec::new();
    let mut tasks_out = Vec::new();
    let mut asyncio_seen = false;
    for &interp in &interps {
        let names = py.thread_names(interp).unwrap_or_default();
        let states = py.threads(interp)?;
        for ts in &states {
            let (frames, err) = py.thread_stack(ts.top_frame);
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
        let thread_states: Vec<Addr> = states.iter().map(|t| t.addr).collect();
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
    let (loops, loop_threads) = loops::event_loops(&py, &tasks_out);
    let clock = loops::clock(&py, opts.live, &stacks);
    let names: HashMap<u64, String> = threads
        .iter()
        .filter_map(|t| t.name.clone().map(|n| (t.thread_id, n)))
        .collect();
    let graph = graph::build(&py, &mut tasks_out, &stacks, &names, &loop_threads, clock);
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
        crate::sources::add(&mut snap, &opts.sysroot);
    }
    Ok(snap)
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
