//! Decode a seed image with the input's edits, and render the answer every way
//! (`awaitwhat::fuzz`). Seeds: fuzz/seeds/*.img (scripts/fuzz-seeds).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static SEEDS: OnceLock<Vec<awaitwhat::fuzz::Seed>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let seeds = SEEDS.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        awaitwhat::fuzz::load_seeds(&dir).expect("fuzz/seeds")
    });
    awaitwhat::fuzz::run(seeds, data);
});
