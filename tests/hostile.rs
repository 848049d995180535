//! Hostile memory: the decoder must never panic, hang or allocate without bound, whatever
//! the target's bytes say. Cores of real stuck interpreters are corrupted deterministically
//! (random words replaced) and partially hidden, and every snapshot must come back — as an
//! answer with warnings or as a clear error.

mod common;

use awaitwhat::discover::Options;
use awaitwhat::error::{Error, Result};
use awaitwhat::snapshot;
use awaitwhat::target::core::CoreFile;
use awaitwhat::target::{Addr, Memory};
use std::time::{Duration, Instant};

/// Replaces about `per_mille`/1000 of the 8-byte words it returns with garbage derived
/// from (seed, address): the same address always reads the same bytes.
struct Corrupt<'a> {
    inner: &'a CoreFile,
    seed: u64,
    per_mille: u64,
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ceb9fe1a85ec53);
    x ^ (x >> 33)
}

impl Memory for Corrupt<'_> {
    fn writable(&self) -> Vec<(Addr, u64)> {
        self.inner.writable()
    }

    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        self.inner.read(addr, buf)?;
        let first = addr & !7;
        let mut word = first;
        while word < addr + buf.len() as u64 {
            let h = mix(word ^ self.seed);
            if h % 1000 < self.per_mille {
                // Garbage of three kinds: huge numbers, small numbers, and pointers near real data.
                let value = match (h >> 10) % 3 {
                    0 => mix(h),
                    1 => mix(h) % 4096,
                    _ => word.wrapping_add(mix(h) % 65536).wrapping_sub(32768) & !7,
                };
                for (i, b) in value.to_le_bytes().iter().enumerate() {
                    let at = word + i as u64;
                    if at >= addr && at < addr + buf.len() as u64 {
                        buf[(at - addr) as usize] = *b;
                    }
                }
            }
            word += 8;
        }
        Ok(())
    }
}

/// Unreadable wherever a read overlaps `hole`.
struct Holes<'a> {
    inner: &'a CoreFile,
    hole: std::ops::Range<Addr>,
}

impl Memory for Holes<'_> {
    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        let end = addr.saturating_add(buf.len() as u64);
        if addr < self.hole.end && self.hole.start < end {
            return Err(Error::Unreadable {
                addr,
                len: buf.len(),
            });
        }
        self.inner.read(addr, buf)
    }
}

#[test]
fn corrupted_memory_never_panics_or_hangs() {
    // gather_chain everywhere; the cross-thread and multi-loop paths on two versions; the
    // collector's lists (what keeps a bare future) on two.
    let cases = [
        ("3.9.18", "gather_chain", 150),
        ("3.12.1", "gather_chain", 150),
        ("3.13.0", "gather_chain", 150),
        ("3.9.18", "deadlock_threadsafe", 50),
        ("3.12.1", "deadlock_threadsafe", 50),
        ("3.9.18", "two_loops", 50),
        ("3.13.0", "two_loops", 50),
        ("3.12.1", "wake_callback", 50),
        // Bare futures only a registry keeps: the collector's lists are walked.
        ("3.9.18", "bare_future_registry", 50),
        ("3.12.1", "bare_future_registry", 50),
        // Sockets, streams and a child: the selector's map of descriptors.
        ("3.12.1", "io_waits", 50),
    ];
    // Another stretch of seeds, to search further by hand: AW_HOSTILE_SEEDS_FROM=N.
    let first: u64 = std::env::var("AW_HOSTILE_SEEDS_FROM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (mut light_total, mut light_answered, mut heavier_answered) = (0, 0, 0);
    for (version, scenario, seeds) in cases {
        let s = common::start(version, scenario);
        let core = CoreFile::open(&common::gcore(&s)).expect("core");
        let modules = core.modules();
        let opts = Options {
            no_dwarf: true,
            no_source: true,
            // The loops' own state (queues, timers, selectors) is read from damage too.
            loops: true,
            ..Default::default()
        };
        let (mut answered, mut refused, mut light_refused) = (0, 0, 0);
        // Answers at 0.1% and at 1% of words corrupted.
        let (mut at_light, mut at_heavier) = (0, 0);
        for seed in first..first + seeds {
            for per_mille in [1, 10, 100] {
                let mem = Corrupt {
                    inner: &core,
                    seed,
                    per_mille,
                };
                let t0 = Instant::now();
                match snapshot::take(&mem, &modules, &opts) {
                    Ok(snap) => {
                        for format in ["text", "loops", "json"] {
                            assert!(awaitwhat::render::render(&snap, format).is_ok());
                        }
                        answered += 1;
                        // An answer names tasks: a snapshot with none is no answer.
                        let named = !snap.tasks.is_empty();
                        if !named && std::env::var("AW_HOSTILE_VERBOSE").is_ok() {
                            eprintln!(
                                "{version} {scenario} {seed}/{per_mille}: no tasks: {:?}",
                                snap.warnings
                            );
                        }
                        match per_mille {
                            1 => at_light += named as usize,
                            10 => at_heavier += named as usize,
                            _ => {}
                        }
                    }
                    Err(e) => {
                        assert!(!e.to_string().is_empty());
                        if std::env::var("AW_HOSTILE_VERBOSE").is_ok() {
                            eprintln!("{version} {scenario} {seed}/{per_mille}: {e}");
                        }
                        refused += 1;
                        if per_mille == 1 {
                            light_refused += 1;
                        }
                    }
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(10),
                    "{version} {scenario} seed {seed}: took {:?}",
                    t0.elapsed()
                );
            }
        }
        eprintln!(
            "{version} {scenario}: {answered} answered, {refused} refused, {light_refused} at 0.1%; answered {at_light}/{seeds} at 0.1%, {at_heavier}/{seeds} at 1%"
        );
        assert!(
            answered > 0 && answered + refused == 3 * seeds,
            "{version} {scenario}: {answered} answered, {refused} refused"
        );
        // Per case, 50 seeds are too few for the pooled rates below: a floor under each.
        assert!(
            at_light * 100 >= seeds as usize * 80,
            "{version} {scenario}: answered {at_light}/{seeds} at 0.1%, {at_heavier}/{seeds} at 1%"
        );
        light_total += seeds as usize;
        light_answered += at_light;
        heavier_answered += at_heavier;
        let _ = light_refused;
    }
    // A bad word in a thousand must not cost the whole answer, nor one in a hundred most
    // of the time: an unreadable dict key, registry entry, thread or task is a warning and
    // the rest stands, and a damaged registry's tasks are looked for in the core's
    // writable memory. An answer counts only when it names tasks. Over every scenario and
    // version: at least 95% at 0.1% and 60% at 1% (measured 97-98% and 71-75%).
    eprintln!(
        "answered {light_answered}/{light_total} at 0.1%, {heavier_answered}/{light_total} at 1%"
    );
    assert!(
        light_answered * 100 >= light_total * 95 && heavier_answered * 100 >= light_total * 60,
        "answered {light_answered}/{light_total} at 0.1%, {heavier_answered}/{light_total} at 1%"
    );
}

/// A CPython 3.12 core of `scenario` (and the scenario, with its oracle), and options
/// without source lines.
fn core_of(scenario: &str) -> (common::Scenario, CoreFile, Options) {
    let s = common::start("3.12.1", scenario);
    let core = CoreFile::open(&common::gcore(&s)).expect("core");
    let opts = Options {
        no_source: true,
        ..Default::default()
    };
    (s, core, opts)
}

#[test]
fn an_unreadable_task_is_a_warning_and_the_rest_stands() {
    let (s, core, opts) = core_of("gather_chain");
    let tasks = s.oracle["tasks"].as_array().expect("tasks");
    let victim = u64::from_str_radix(
        tasks[0]["address"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    let mem = Holes {
        inner: &core,
        hole: victim..victim + 64,
    };
    let snap =
        snapshot::take(&mem, &core.modules(), &opts).expect("a partial answer, not an error");
    let text = awaitwhat::render::render(&snap, "json").unwrap();
    let got: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        snap.warnings
            .iter()
            .any(|w| w.contains(&format!("{victim:#x}"))),
        "warnings: {:?}",
        snap.warnings
    );
    // Every task's graph node is its own (the graph pairs tasks with their raw reads).
    for t in &snap.tasks {
        let node = snap.objects.iter().find(|o| o.id == t.address);
        assert!(
            node.is_some_and(|o| o.label.name == t.name),
            "task {} {:?}: graph node {:?}",
            t.address,
            t.name,
            node.map(|o| &o.label)
        );
    }
    let errors = common::compare(&s.oracle, &got);
    // Only the hidden task may differ.
    assert!(
        errors.iter().all(|e| e.contains(&format!("{victim:#x}"))),
        "{errors:#?}"
    );
}

/// "Deadlock" is printed only when proven: a loop timer that could wake the cycle (it
/// completes a future whose done-callback sets the Event) but whose callback cannot be
/// read is something that could still run, not nothing.
#[test]
fn an_unreadable_loop_callback_is_no_proof_of_deadlock() {
    use awaitwhat::model::{Breaker, EdgeKind, Grade, Kind, Outside};
    let (_scenario, core, opts) = core_of("wake_callback");
    let snap = snapshot::take(&core, &core.modules(), &opts).expect("snapshot");
    let timer = (snap.edges.iter())
        .find(|e| {
            e.kind == EdgeKind::CouldWake
                && snap
                    .objects
                    .iter()
                    .any(|o| o.id == e.to && o.kind == Kind::Timer)
        })
        .map(|e| e.to.0)
        .expect("the timer that could wake the Event");
    assert_eq!(snap.cycles.len(), 1, "{:#?}", snap.cycles);
    assert_eq!(snap.cycles[0].grade, Grade::NotDeadlock);
    // Everything of the handle past its object header is unreadable.
    let mem = Holes {
        inner: &core,
        hole: timer + 16..timer + 256,
    };
    let snap = snapshot::take(&mem, &core.modules(), &opts).expect("a partial answer");
    assert_eq!(snap.cycles.len(), 1, "{:#?}", snap.cycles);
    let cycle = &snap.cycles[0];
    let say = awaitwhat::render::cycles::Sentences::new(&snap.objects);
    assert_eq!(cycle.grade, Grade::Likely, "{}", say.line(cycle));
    assert!(
        cycle.breakers.iter().any(|b| matches!(
            b,
            Breaker::Outside(Outside::UnreadHandle { handle, .. }) if handle.0 == timer
        )),
        "{:?}",
        say.breakers(cycle)
    );
}

/// A thread stack whose bottom frame cannot be read (gcore saves some C-stack regions as
/// zeros) keeps every frame read above it, and says on the thread why it was cut.
#[test]
fn a_thread_stack_cut_short_keeps_the_frames_above() {
    let (_scenario, core, opts) = core_of("executor");
    let snap = snapshot::take(&core, &core.modules(), &opts).expect("snapshot");
    let worker = (snap.threads.iter())
        .find(|t| t.frames.iter().any(|f| &*f.function == "blocking_fn"))
        .expect("the executor's worker thread");
    assert!(worker.frames.len() >= 3, "{:?}", worker.frames);
    // Its outermost frame (Thread._bootstrap) unreadable.
    let bottom = worker.frames[0].at.0;
    let mem = Holes {
        inner: &core,
        hole: bottom..bottom + 64,
    };
    let cut = snapshot::take(&mem, &core.modules(), &opts).expect("a partial answer");
    let same = (cut.threads.iter())
        .find(|t| t.thread_id == worker.thread_id)
        .expect("the worker thread, still listed");
    assert_eq!(same.frames, worker.frames[1..], "the frames above the cut");
    assert!(
        same.cut
            .as_deref()
            .is_some_and(|why| why.contains("cannot read")),
        "{:?}",
        same.cut
    );
    let text = awaitwhat::render::render(&cut, "text").unwrap();
    assert!(text.contains("(older frames could not be read: "), "{text}");
}
