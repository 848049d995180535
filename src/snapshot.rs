//! Taking a snapshot: the order of the steps, and nothing else. Discover the layout, read
//! each interpreter's threads and pending tasks, build the wait graph, add source lines.
//! Per-item failures become warnings and partial entries; only a target we cannot
//! understand at all is an error.

use crate::asyncio::stdlib::Stdlib;
use crate::asyncio::{graph, loop_state, loops, referrers, tasks};
use crate::cpython::Py;
use crate::discover::{Options, discover, fallback_files, with_core_modules};
use crate::error::{Error, Result};
use crate::limits::{Budget, Hits};
use crate::model::{Snapshot, Task};
use crate::parallel::Parallel;
use crate::target::files::WithFiles;
use crate::target::image::{Image, Start};
use crate::target::{Memory, Module, Reader};
use crate::threads::Threads;
use std::time::{Duration, Instant};

/// A snapshot of a target whose memory is read on this thread only (a debugger's).
pub fn take(memory: &dyn Memory, modules: &[Module], opts: &Options) -> Result<Snapshot> {
    Ok(decode(memory, None, Begin::Modules(modules), opts, false)?.0)
}

/// A snapshot of a target whose memory any thread can read (a core file, a process),
/// decoded on up to `threads` threads.
pub fn take_shared(
    memory: &(dyn Memory + Sync),
    modules: &[Module],
    opts: &Options,
    threads: usize,
) -> Result<Snapshot> {
    let shared = Some((memory, threads));
    Ok(decode(memory, shared, Begin::Modules(modules), opts, false)?.0)
}

/// A snapshot, and the image of every byte it read (`awaitwhat image`).
pub fn record(
    memory: &dyn Memory,
    modules: &[Module],
    opts: &Options,
) -> Result<(Snapshot, Image)> {
    let (snap, image) = decode(memory, None, Begin::Modules(modules), opts, true)?;
    let image = image.ok_or_else(|| Error::Target("the decode recorded nothing".into()))?;
    Ok((snap, image))
}

/// A snapshot of an image (or of a changed copy of one: the fuzzer's), from where its
/// decode started.
pub fn take_image(memory: &dyn Memory, start: &Start, opts: &Options) -> Result<Snapshot> {
    Ok(decode(memory, None, Begin::Image(start), opts, false)?.0)
}

/// Where a decode starts: the target's modules, in which discovery finds the layout; or
/// what discovery found, as an image keeps it.
#[derive(Clone, Copy)]
enum Begin<'a> {
    Modules(&'a [Module]),
    Image(&'a Start),
}

fn decode(
    memory: &dyn Memory,
    shared: Option<(&(dyn Memory + Sync), usize)>,
    begin: Begin<'_>,
    opts: &Options,
    record: bool,
) -> Result<(Snapshot, Option<Image>)> {
    let (modules, core_warning) = match begin {
        Begin::Modules(modules) => with_core_modules(opts.host_modules(modules), opts),
        Begin::Image(_) => (Vec::new(), None),
    };
    let modules = &modules;
    let mut steps = Steps::default();
    let raw = Reader::new(memory);
    let files = fallback_files(modules);
    let with_files = WithFiles::new(memory, &files);
    let par = match shared {
        Some((memory, threads)) => Parallel::new(memory, &files, threads),
        None => Parallel::none(),
    };
    let hits = std::sync::Arc::new(Hits::default());
    let budget = Budget::new(&opts.limits, hits.clone());
    let reader = Reader::new(&with_files).with_budget(Some(std::sync::Arc::new(budget)));
    if record {
        reader.record_reads();
    }
    let (runtime, layout, types, mut warnings) = match begin {
        Begin::Modules(_) => {
            let found = discover(&reader, &raw, modules, opts)?;
            (found.runtime, found.layout, found.types, found.warnings)
        }
        Begin::Image(start) => {
            let (layout, types) = start.layout()?;
            (start.runtime, layout, types, Vec::new())
        }
    };
    steps.done("layout");
    warnings.extend(core_warning);
    let source = layout.source;
    let mut py = Py::new(&reader, layout, types).bounded(opts.limits.clone(), hits.clone());
    let interps = py.interpreters(runtime)?;
    warnings.extend(py.settle_version(interps[0]));
    py.types.classes = tasks::own_classes(&py, &interps);
    let py = py;
    let mut threads = Threads::default();
    let mut states = Vec::new();
    for &interp in &interps {
        // A broken thread list costs the threads past the break (and their running tasks'
        // frames), not the snapshot.
        let (these, broken) = py.threads(interp);
        if let Some(e) = broken {
            warnings.push(format!(
                "the thread list of interpreter {interp:#x} breaks after {} threads: {e}",
                these.len()
            ));
        }
        threads.add(&py, interp, &these);
        states.push(these);
    }
    // What reading each task's frames needs: the loops' clock and asyncio's own directory.
    let clock = loops::clock(&py, opts.live, &threads.stacks);
    let stdlib = (interps.iter()).find_map(|&i| Stdlib::of(&py, py.sys_modules(i).ok()?));
    let stdlib_known = stdlib.is_some();
    let stdlib = stdlib.unwrap_or_else(Stdlib::guessed);
    let described = Default::default();
    let cx = graph::reads::Context {
        clock,
        stdlib: &stdlib,
        described: &described,
    };
    let read = |py: &Py<'_>, t: &Task| graph::reads::read(py, t, &cx);
    let mut tasks_out = Vec::new();
    let mut reads = Vec::new();
    let mut asyncio_seen = false;
    for (&interp, states) in interps.iter().zip(&states) {
        if let Some(found) =
            tasks::pending(&py, &par, runtime, interp, states, &threads.stacks, &read)?
        {
            asyncio_seen = true;
            warnings.extend(found.warnings);
            // Moved, not copied, for the usual one interpreter.
            if tasks_out.is_empty() {
                (tasks_out, reads) = (found.tasks, found.also);
            } else {
                tasks_out.extend(found.tasks);
                reads.extend(found.also);
            }
        }
    }
    if !asyncio_seen {
        return Err(Error::NoAsyncio {
            threads: threads.threads.len(),
        });
    }
    if !stdlib_known {
        warnings.push(
            "asyncio's package directory could not be read: any frame in a directory named asyncio is taken for asyncio's".into(),
        );
    }
    steps.done("tasks");
    let (loops, loop_threads) = loops::event_loops(&py, &tasks_out);
    let names = threads.names();
    let graph = graph::build(
        &py,
        &mut tasks_out,
        reads,
        &threads.stacks,
        &names,
        &loop_threads,
        clock,
        &stdlib,
    );
    warnings.extend(graph.warnings);
    steps.done("graph");
    referrers::held_by(
        &py,
        runtime,
        &interps,
        &mut tasks_out,
        &threads.stacks,
        &mut warnings,
    );
    steps.done("referrers");
    if let Some(sel) = &opts.detail {
        let chosen = crate::select::TaskMatch::parse(sel).map_err(Error::Target)?;
        for t in tasks_out.iter_mut().filter(|t| chosen.matches(t)) {
            t.detail = Some(Box::new(crate::asyncio::detail::detail(&py, t.address.0)));
            for f in t.frames.iter_mut() {
                f.locals = py.named_locals(f.at.0, f.at.1).ok();
            }
        }
        steps.done("detail");
    }
    let mut loops = loops;
    if opts.loops {
        loop_state::idle_loops(&py, &threads.threads, &stdlib, &mut loops);
        let objects = graph.objects.iter().map(|o| (o.id, o)).collect();
        for l in loops.iter_mut() {
            let d = loop_state::detail(&py, l.address.0, clock, &tasks_out, &objects);
            l.detail = Some(Box::new(d));
        }
        steps.done("loops");
    }
    if opts.locals {
        let tasks = tasks_out.iter_mut().flat_map(|t| t.frames.iter_mut());
        let stacks = threads.threads.iter_mut().flat_map(|t| t.frames.iter_mut());
        for f in tasks.chain(stacks) {
            f.locals = py.named_locals(f.at.0, f.at.1).ok();
        }
        steps.done("locals");
    }
    warnings.extend(opts.limits.warnings(&hits));
    let mut snap = Snapshot {
        objects: graph.objects,
        edges: graph.edges,
        cycles: graph.cycles,
        python: py.version().to_string(),
        layout: source.name().to_string(),
        tasks: tasks_out,
        threads: threads.threads,
        loops,
        warnings,
        stats: {
            let read = reader.stats();
            crate::model::Stats {
                callbacks: read.callbacks,
                bytes_read: read.bytes_read,
                failed_reads: read.failed_reads,
                phases: Vec::new(),
            }
        },
    };
    if !opts.no_source {
        crate::sources::add(&mut snap, &opts.sysroot);
        steps.done("sources");
    }
    snap.stats.phases = steps.list;
    let start = || Start::new(py.version(), runtime, &py.layout, &py.types);
    let image = record.then(|| Image::of_reads(&reader, start()));
    Ok((snap, image))
}

/// How long each step took (`--stats`).
struct Steps {
    list: Vec<(&'static str, Duration)>,
    since: Instant,
}

impl Default for Steps {
    fn default() -> Self {
        Steps {
            list: Vec::new(),
            since: Instant::now(),
        }
    }
}

impl Steps {
    fn done(&mut self, name: &'static str) {
        let now = Instant::now();
        self.list.push((name, now - self.since));
        self.since = now;
    }
}
