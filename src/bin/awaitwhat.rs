//! The `awaitwhat` command line: a thin shell over the library crate.

use awaitwhat::discover::Options;
use awaitwhat::layout::{self, table::TableFile};
use awaitwhat::target::core::CoreFile;
use awaitwhat::target::elf::ElfFile;
use awaitwhat::target::image::Image;
use awaitwhat::{live, model, render, snapshot};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "awaitwhat",
    version,
    about = "What waits for what in a stuck asyncio program"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every pending asyncio task's await chain, from a core file or a live process.
    Stacks {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        opts: OutputArgs,
        #[command(flatten)]
        view: ViewArgs,
    },
    /// The wait graph as Graphviz DOT (`--json`: the same JSON as `stacks --json`).
    Graph {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        opts: OutputArgs,
        /// SVG instead of DOT, drawn by Graphviz's `dot` (which must be on PATH).
        #[arg(long, conflicts_with = "json")]
        svg: bool,
    },
    /// One task in depth: its chain with every frame's locals, who awaits it, its
    /// cancellation, its callbacks, and where it was created (asyncio's debug mode).
    Task {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        opts: OutputArgs,
        /// The task: its name, its address (0x…), or a regular expression on names.
        #[arg(value_name = "NAME|ADDRESS|REGEX")]
        task: String,
    },
    /// The event loops: which thread runs each, its running task, the callbacks queued on
    /// it, its timers, and the file descriptors its selector watches with who waits on each.
    Loops {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        opts: OutputArgs,
    },
    /// Record the memory one decode of a core reads (and where it starts) into a small
    /// file: `--image FILE` decodes it again anywhere. For a bug report (it holds the
    /// program's data the decode read: names, locals, strings) and for the fuzzer's seeds.
    Image {
        /// The core file.
        #[arg(long)]
        core: PathBuf,
        /// Where to write the image.
        #[arg(short, long)]
        output: PathBuf,
        /// Where the target's files are here, if not at / (a copied root, a chroot).
        #[arg(long)]
        sysroot: Option<String>,
    },
    /// The closed vocabularies of the JSON (object kinds, edge kinds, states, cycle grades),
    /// as one JSON object: what tools that read the JSON can check against.
    Vocabulary,
    /// Layout tables (offsets/): generate them from a build's DWARF.
    Offsets {
        #[command(subcommand)]
        action: OffsetsAction,
    },
}

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct SourceArgs {
    /// A core file (the mapped files it names must be readable here).
    #[arg(long)]
    core: Option<PathBuf>,
    /// A live process: read while it runs, then held only to check that what was read is
    /// unchanged (see --pause).
    #[arg(long)]
    pid: Option<i32>,
    /// A memory image made by `awaitwhat image`: the same decode again, from it alone.
    #[arg(long)]
    image: Option<PathBuf>,
}

/// What part of the answer `stacks` shows.
#[derive(clap::Args)]
struct ViewArgs {
    /// Show every task on its own: above 20 tasks, tasks with the same stack and the same
    /// kind of wait are otherwise shown once, with a count.
    #[arg(long)]
    all: bool,
    /// Only this task: its name, its address (0x…), or a regular expression on names.
    #[arg(long, value_name = "NAME|ADDRESS|REGEX")]
    task: Option<String>,
    /// Only tasks waiting on this kind of object: lock, event, semaphore, condition, queue,
    /// barrier, timer, socket, future, task, gather, executor, taskgroup, ... (the kinds of
    /// `awaitwhat vocabulary`).
    #[arg(long, value_name = "KIND")]
    waiting_on: Option<String>,
    /// Only tasks with this function (name or qualified name) in their chain.
    #[arg(long, value_name = "FUNCTION")]
    contains: Option<String>,
    /// Show only the innermost N frames of each chain.
    #[arg(long, value_name = "N")]
    depth: Option<usize>,
    /// Files without the standard library's and the package directories' prefixes
    /// (`asyncio/locks.py`, `aiohttp/client.py`).
    #[arg(long)]
    short_paths: bool,
}

impl ViewArgs {
    fn view(&self) -> render::view::View {
        render::view::View {
            task: self.task.clone(),
            waiting_on: self.waiting_on.clone(),
            contains: self.contains.clone(),
            depth: self.depth,
            colour: false,
            short_paths: self.short_paths,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

impl ColorArg {
    fn on(self) -> bool {
        use std::io::IsTerminal;
        match self {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PauseArg {
    Check,
    Whole,
}

#[derive(clap::Args)]
struct OutputArgs {
    /// JSON output (schema: docs/json.md).
    #[arg(long)]
    json: bool,
    /// Ignore DWARF; use the built-in layout tables.
    #[arg(long)]
    no_dwarf: bool,
    /// Do not read source files for source lines.
    #[arg(long)]
    no_source: bool,
    /// With --pid: `check` reads while the process runs and holds it only to make the same
    /// reads again (if anything changed it is held and read again); `whole` holds it for
    /// the whole read.
    #[arg(long, value_enum, default_value = "check")]
    pause: PauseArg,
    /// With --pid: never stop the process, not even to check (a churning server); the
    /// answer warns when memory changed while it was read.
    #[arg(long)]
    nonblocking: bool,
    /// Print what the decode cost (reads, bytes) to stderr.
    #[arg(long)]
    stats: bool,
    /// Show every frame's local variables: plain values (bounded), containers by type and
    /// length, other objects by type and address.
    #[arg(long)]
    locals: bool,
    /// Raise (or lower) how far the decode goes into what the target can make large:
    /// depth, tasks, objects, string, items, bytes, seconds (e.g. `--limit depth=5000,string=1000000`).
    /// A limit hit costs only what it bounds, and the answer says which.
    #[arg(long, value_name = "NAME=N,...", value_parser = parse_limits)]
    limit: Option<awaitwhat::limits::Limits>,
    /// Colour the text: `auto` on a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorArg,

    /// Where the target's files are here, if not at / (a copied root for a core; a live
    /// process's own root, /proc/PID/root, is the default for --pid).
    #[arg(long)]
    sysroot: Option<String>,
    /// Decode on up to N threads (default: one per CPU this process may use, at most 8;
    /// 1 keeps awaitwhat to one core, e.g. beside a busy server).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

fn parse_limits(text: &str) -> Result<awaitwhat::limits::Limits, String> {
    awaitwhat::limits::Limits::parse(text)
}

/// Threads to decode on: `--threads`, else one per CPU we may use (at most 8: past a few,
/// the reads of the target are what limits).
fn threads(opts: &OutputArgs) -> usize {
    match opts.threads {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
    }
}

#[derive(Subcommand)]
enum OffsetsAction {
    /// Extract every field the decoder uses from the DWARF of libpython (or the python
    /// executable) and _asyncio, and write one table file.
    Extract {
        /// CPython version of the build, e.g. 3.12.1
        #[arg(long)]
        python: String,
        /// ELF files with DWARF (libpython/python, the _asyncio module, or their debug files).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output file (default: stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Root under which separate debug files are looked up (usr/lib/debug/.build-id/...).
        #[arg(long, default_value = "/")]
        sysroot: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("awaitwhat: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What `--stats` reports besides the decode counters: when we started (just before
/// opening or attaching) and how a live target was read.
struct Timing {
    start: Instant,
    live: Option<live::Reading>,
}

/// What a command reads beyond the stacks and the graph.
#[derive(Clone, Copy, PartialEq)]
enum Extra {
    None,
    /// The tasks `--task` names, in depth.
    Task,
    /// The event loops' own state.
    Loops,
}

/// One snapshot of the core or process. The graph needs no source lines. A live target
/// is let go before this returns, so it never waits for rendering.
fn take(
    source: SourceArgs,
    opts: &OutputArgs,
    graph: bool,
    view: &render::view::View,
    extra: Extra,
) -> Result<(model::Snapshot, Timing), Box<dyn std::error::Error>> {
    // A live process's files as it sees them (its container or chroot, or / itself):
    // its binary, libraries, debug files and sources.
    let sysroot = match (&opts.sysroot, source.pid) {
        (Some(root), _) => root.clone(),
        (None, Some(pid)) => format!("/proc/{pid}/root"),
        (None, None) => String::new(),
    };
    let options = Options {
        no_dwarf: opts.no_dwarf,
        no_source: opts.no_source || graph,
        live: source.pid.is_some(),
        sysroot,
        // A core's modules already come from its own list of mapped files.
        core_file: String::new(),
        locals: opts.locals && !graph,
        // The task view reads its tasks in depth: the ones `--task` names.
        detail: view.task.clone().filter(|_| extra == Extra::Task),
        loops: extra == Extra::Loops,
        limits: opts.limit.clone().unwrap_or_default(),
    };
    let start = Instant::now();
    if let Some(path) = &source.image {
        let image = Image::from_bytes(&std::fs::read(path)?)?;
        let snap = snapshot::take_image(&image, &image.start, &options)?;
        return Ok((snap, Timing { start, live: None }));
    }
    let (snap, reading) = match (source.core, source.pid) {
        (Some(core), _) => {
            let core = CoreFile::open(&core)?;
            let snap = snapshot::take_shared(&core, &core.modules(), &options, threads(opts))?;
            (snap, None)
        }
        (None, Some(pid)) => {
            let pause = match opts.pause {
                _ if opts.nonblocking => live::Pause::Never,
                PauseArg::Check => live::Pause::Check,
                PauseArg::Whole => live::Pause::Whole,
            };
            let (mut snap, reading) = live::take(pid, &options, pause, threads(opts))?;
            if !options.no_source {
                awaitwhat::sources::add(&mut snap, &options.sysroot);
            }
            (snap, Some(reading))
        }
        (None, None) => return Err("give --core FILE, --pid PID or --image FILE".into()),
    };
    Ok((
        snap,
        Timing {
            start,
            live: reading,
        },
    ))
}

/// Write the answer to standard output as it is rendered.
fn print_out(
    snap: &model::Snapshot,
    format: &str,
    view: &render::view::View,
    threads: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if format == "svg" {
        out.write_all(&svg(&render::render(snap, "dot")?)?)?;
    } else {
        render::render_into(snap, format, view, threads, &mut out)?;
    }
    out.flush()?;
    Ok(())
}

/// Graphviz's `dot`, asked for SVG.
fn graphviz() -> std::process::Command {
    let mut dot = std::process::Command::new("dot");
    dot.arg("-Tsvg");
    dot
}

/// Is Graphviz here? Said before the target is touched.
fn check_graphviz() -> Result<(), String> {
    let found = std::process::Command::new("dot")
        .arg("-V")
        .stderr(std::process::Stdio::null())
        .status();
    match found {
        Ok(s) if s.success() => Ok(()),
        _ => Err("--svg needs Graphviz's `dot` on PATH (e.g. apt-get install graphviz); without --svg the DOT can be drawn elsewhere".into()),
    }
}

/// The DOT drawn as SVG by Graphviz.
fn svg(dot: &str) -> Result<Vec<u8>, String> {
    use std::process::Stdio;
    let mut child = (graphviz()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped()))
    .spawn()
    .map_err(|e| format!("cannot run Graphviz's dot: {e}"))?;
    // Written from a thread: dot may fill its output before it has read all of ours.
    let input = dot.to_owned();
    let mut stdin = child.stdin.take().ok_or("dot has no standard input")?;
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let done = child
        .wait_with_output()
        .map_err(|e| format!("Graphviz's dot failed: {e}"))?;
    let _ = writer.join();
    if !done.status.success() {
        let why = String::from_utf8_lossy(&done.stderr);
        return Err(format!("Graphviz's dot failed: {}", why.trim()));
    }
    Ok(done.stdout)
}

/// The process ends right after printing: freeing a 100,000-task snapshot one
/// allocation at a time would only make the user wait longer.
fn exit_soon(snap: model::Snapshot) {
    std::mem::forget(snap);
}

fn stats(
    snap: &model::Snapshot,
    opts: &OutputArgs,
    timing: &Timing,
) -> Result<(), Box<dyn std::error::Error>> {
    if opts.stats {
        eprint!("{}", render::render(snap, "stats")?);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let total = ms(timing.start.elapsed());
        match &timing.live {
            Some(r) => eprintln!(
                "awaitwhat: target paused {:.1} ms of {total:.1} ms total, from {:.1} ms: {}",
                ms(r.paused),
                ms(r.paused_from),
                r.how
            ),
            None => eprintln!("awaitwhat: {total:.1} ms total"),
        }
    }
    Ok(())
}

/// Take one snapshot (`graph`: without source lines), print it in `format`, then the stats.
fn answer(
    source: SourceArgs,
    opts: &OutputArgs,
    graph: bool,
    format: &str,
    view: &render::view::View,
    extra: Extra,
) -> Result<(), Box<dyn std::error::Error>> {
    // A filter that cannot be understood is refused before the target is touched.
    view.check()?;
    let view = &render::view::View {
        colour: opts.color.on(),
        ..view.clone()
    };
    let (mut snap, timing) = take(source, opts, graph, view, extra)?;
    let rendering = Instant::now();
    print_out(&snap, format, view, threads(opts))?;
    snap.stats.phases.push(("render", rendering.elapsed()));
    stats(&snap, opts, &timing)?;
    exit_soon(snap);
    Ok(())
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Stacks { source, opts, view } => {
            let format = match (opts.json, view.all) {
                (true, _) => "json",
                (false, true) => "text-all",
                (false, false) => "text",
            };
            answer(source, &opts, false, format, &view.view(), Extra::None)
        }
        Command::Task { source, opts, task } => {
            let format = if opts.json { "json" } else { "task" };
            let view = render::view::View {
                task: Some(task),
                ..Default::default()
            };
            answer(source, &opts, false, format, &view, Extra::Task)
        }
        Command::Graph { source, opts, svg } => {
            let format = match (opts.json, svg) {
                (true, _) => "json",
                (false, true) => "svg",
                (false, false) => "dot",
            };
            if svg {
                check_graphviz()?;
            }
            answer(
                source,
                &opts,
                true,
                format,
                &Default::default(),
                Extra::None,
            )
        }
        Command::Loops { source, opts } => {
            let format = if opts.json { "json" } else { "loops" };
            answer(
                source,
                &opts,
                false,
                format,
                &Default::default(),
                Extra::Loops,
            )
        }
        Command::Image {
            core,
            output,
            sysroot,
        } => {
            let core = CoreFile::open(&core)?;
            let opts = Options {
                sysroot: sysroot.unwrap_or_default(),
                ..Options::everything()
            };
            let (mut snap, image) = snapshot::record(&core, &core.modules(), &opts)?;
            // The image must give the same answer: else it is no reproducer.
            let mut again = snapshot::take_image(&image, &image.start, &opts)?;
            for s in [&mut snap, &mut again] {
                s.layout = String::new();
                s.stats = Default::default();
            }
            if render::render(&snap, "json")? != render::render(&again, "json")? {
                return Err("the image does not give the core's answer again (a bug: please report it with the core)".into());
            }
            let bytes = image.to_bytes();
            std::fs::write(&output, &bytes)?;
            eprintln!(
                "awaitwhat: {} tasks; wrote {} bytes in {} segments to {}",
                snap.tasks.len(),
                bytes.len(),
                image.segments().len(),
                output.display()
            );
            Ok(())
        }
        Command::Vocabulary => {
            println!("{}", awaitwhat::model::vocabulary());
            Ok(())
        }
        Command::Offsets {
            action:
                OffsetsAction::Extract {
                    python,
                    files,
                    output,
                    sysroot,
                },
        } => {
            let mut offsets = std::collections::BTreeMap::new();
            let mut names = Vec::new();
            for path in &files {
                let elf = ElfFile::open(path)?;
                let dwarf_path = elf
                    .debug_file(&sysroot)
                    .ok_or_else(|| format!("{}: no DWARF found", path.display()))?;
                let dwarf_elf = if dwarf_path == elf.path {
                    elf
                } else {
                    ElfFile::open(&dwarf_path)?
                };
                for (k, v) in layout::dwarf::extract(&dwarf_elf, layout::FIELDS)? {
                    offsets.entry(k).or_insert(v as i64);
                }
                names.push(
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
            }
            let table = TableFile {
                python,
                debug_build: names
                    .first()
                    .is_some_and(|n| awaitwhat::discover::debug_build(n)),
                generated_from: names,
                offsets,
            };
            let text = serde_json::to_string_pretty(&table)? + "\n";
            match output {
                Some(p) => std::fs::write(p, text)?,
                None => print!("{text}"),
            }
            Ok(())
        }
    }
}
