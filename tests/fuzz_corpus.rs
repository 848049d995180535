//! The fuzzer's seeds, corpus and every crash it found, replayed (`awaitwhat::fuzz::run`,
//! exactly what the fuzz target runs): in the release and the debug build (overflow checks
//! on), no input may panic, take a second, or need more than a little memory.

use awaitwhat::discover::Options;
use awaitwhat::fuzz::{Seed, load_seeds, run};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn seeds() -> Vec<Seed> {
    let seeds = load_seeds(&fuzz_dir().join("seeds")).expect("fuzz/seeds");
    assert!(seeds.len() >= 12, "fuzz/seeds holds {} images", seeds.len());
    seeds
}

/// Every file of a directory, in name order.
fn inputs(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(fuzz_dir().join(dir))
        .unwrap_or_else(|e| panic!("fuzz/{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn every_seed_decodes_whole_from_its_image() {
    for seed in seeds() {
        let start = &seed.image.start;
        let snap = awaitwhat::snapshot::take_image(&seed.image, start, &Options::everything())
            .unwrap_or_else(|e| panic!("{}: {e}", start.python));
        // The image holds every byte the decode read, so nothing it reads now is missing.
        assert!(!snap.tasks.is_empty(), "{}: no tasks", start.python);
        assert!(
            snap.tasks.iter().all(|t| t.error.is_none()),
            "{}: a chain is cut",
            start.python
        );
        assert!(
            snap.warnings.is_empty(),
            "{}: {:?}",
            start.python,
            snap.warnings
        );
    }
}

#[test]
fn the_corpus_and_every_crash_found_replay_without_a_panic_or_a_slow_input() {
    let seeds = seeds();
    let mut files = inputs("corpus/decode");
    files.extend(inputs("regressions"));
    assert!(files.len() >= 100, "only {} inputs kept", files.len());
    let mut answered = 0;
    for path in &files {
        // (A fuzzer running beside this test may replace an input as it is listed.)
        let Ok(data) = std::fs::read(path) else {
            continue;
        };
        let t0 = Instant::now();
        answered += run(&seeds, &data) as usize;
        let took = t0.elapsed();
        // A debug build is some ten times slower than the fuzzer's optimized one.
        let limit = Duration::from_secs(if cfg!(debug_assertions) { 10 } else { 1 });
        assert!(took < limit, "{}: {took:?}", path.display());
    }
    eprintln!("{} inputs, {answered} answered", files.len());
}
