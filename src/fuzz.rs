//! What the fuzzer runs: a seed (a memory image of a real decode, `awaitwhat image`) with
//! edits read from the fuzzer's bytes laid over its words, then a whole decode and every
//! renderer. Shared by the cargo-fuzz target (`fuzz/`) and the replay of its corpus and of
//! every crash it found (`tests/fuzz_corpus.rs`), so both run exactly the same thing.
//!
//! The bytes: the first picks the seed; then 12 bytes per edit (at most [`MAX_EDITS`]): a
//! kind, a word (an index into the seed's words), and an argument. The kinds point a pointer
//! at another object or into itself, or write a huge, small, zero or given value: the
//! damage that breaks decoders (cycles in chains, lengths of billions, a type swapped for
//! another real one).

use crate::discover::Options;
use crate::target::image::Image;
use crate::target::{Addr, Memory};
use std::collections::BTreeMap;

/// Most edits read from one input.
pub const MAX_EDITS: usize = 64;
/// Bytes per edit.
const EDIT: usize = 12;

/// A seed image, with the words edits land on.
pub struct Seed {
    pub image: Image,
    /// Every aligned word of the image.
    words: Vec<Addr>,
    /// The words whose value is an address inside the image: pointers to the objects the
    /// decode read.
    pointers: Vec<Addr>,
    /// Those values, each once: where a redirected pointer may point.
    targets: Vec<Addr>,
}

impl Seed {
    pub fn new(image: Image) -> Seed {
        let mut words = Vec::new();
        let mut pointers = Vec::new();
        let mut targets = Vec::new();
        for (base, bytes) in image.segments() {
            let first = base.next_multiple_of(8);
            let mut at = first;
            while at + 8 <= base + bytes.len() as u64 {
                words.push(at);
                let off = (at - base) as usize;
                let v = u64::from_le_bytes(bytes[off..off + 8].try_into().unwrap_or_default());
                if v != 0 && image.get(v, 1).is_some() {
                    pointers.push(at);
                    targets.push(v);
                }
                at += 8;
            }
        }
        targets.sort_unstable();
        targets.dedup();
        Seed {
            image,
            words,
            pointers,
            targets,
        }
    }

    /// The word values `data` writes (after its first byte, the seed's pick).
    pub fn edits(&self, data: &[u8]) -> BTreeMap<Addr, u64> {
        let mut out = BTreeMap::new();
        if self.words.is_empty() {
            return out;
        }
        for e in data.chunks_exact(EDIT).take(MAX_EDITS) {
            let index = u32::from_le_bytes([e[1], e[2], e[3], e[4]]) as usize;
            let mut arg = [0u8; 8];
            arg[..7].copy_from_slice(&e[5..12]);
            let arg = u64::from_le_bytes(arg);
            let pick = |list: &[Addr]| list.get(index % list.len().max(1)).copied();
            let (word, value) = match e[0] % 6 {
                // Another object the decode read, or a few words into it.
                0 => {
                    let Some(word) = pick(&self.pointers) else {
                        continue;
                    };
                    let to = self.targets[(arg % self.targets.len() as u64) as usize];
                    (word, to.wrapping_add((arg >> 56) % 8 * 8))
                }
                // Itself, or the start of its own object: a cycle of one.
                1 => {
                    let Some(word) = pick(&self.pointers) else {
                        continue;
                    };
                    (word, word.wrapping_sub(arg % 8 * 8))
                }
                2 => {
                    const HUGE: [u64; 6] = [
                        u32::MAX as u64,
                        i32::MAX as u64 + 1,
                        i64::MAX as u64,
                        u64::MAX,
                        1 << 40,
                        0x7fff_ffff_ffff_fff8,
                    ];
                    (pick(&self.words).unwrap_or(0), HUGE[(arg % 6) as usize])
                }
                3 => (pick(&self.words).unwrap_or(0), arg % 1024),
                4 => (pick(&self.words).unwrap_or(0), 0),
                _ => (pick(&self.words).unwrap_or(0), arg),
            };
            out.insert(word, value);
        }
        out
    }
}

/// A seed's image with edited words: the segments an edit lands in are copied with it
/// applied, and the rest are served from the seed as they are, so the decode reads the
/// image through [`Memory::mapped`] as it would a core file.
pub struct Edited<'s> {
    image: &'s Image,
    /// The edited segments by base address.
    copies: BTreeMap<Addr, Vec<u8>>,
}

impl<'s> Edited<'s> {
    pub fn new(image: &'s Image, edits: &BTreeMap<Addr, u64>) -> Edited<'s> {
        let mut copies: BTreeMap<Addr, Vec<u8>> = BTreeMap::new();
        for (&word, &value) in edits {
            let Some((base, bytes)) = image.mapped(word) else {
                continue;
            };
            let copy = copies.entry(base).or_insert_with(|| bytes.to_vec());
            let at = (word - base) as usize;
            if let Some(dst) = copy.get_mut(at..at + 8) {
                dst.copy_from_slice(&value.to_le_bytes());
            }
        }
        Edited { image, copies }
    }
}

impl Memory for Edited<'_> {
    fn read(&self, addr: Addr, buf: &mut [u8]) -> crate::error::Result<()> {
        let unreadable = crate::error::Error::Unreadable {
            addr,
            len: buf.len(),
        };
        let (base, bytes) = self.mapped(addr).ok_or_else(|| unreadable.clone())?;
        let at = (addr - base) as usize;
        let src = bytes.get(at..at + buf.len()).ok_or(unreadable)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn worth_caching(&self) -> bool {
        false
    }

    fn mapped(&self, addr: Addr) -> Option<(Addr, &[u8])> {
        let (base, bytes) = self.image.mapped(addr)?;
        Some((base, self.copies.get(&base).map_or(bytes, |c| &c[..])))
    }
}

/// One input: decode the chosen seed with its edits and render the answer every way.
/// Returns whether the decode answered (a refusal is fine; a panic or a hang is a bug).
pub fn run(seeds: &[Seed], data: &[u8]) -> bool {
    let Some((&pick, edits)) = data.split_first() else {
        return false;
    };
    let Some(seed) = seeds.get(pick as usize % seeds.len().max(1)) else {
        return false;
    };
    let memory = Edited::new(&seed.image, &seed.edits(edits));
    let Ok(snap) = crate::snapshot::take_image(&memory, &seed.image.start, &Options::everything())
    else {
        return false;
    };
    for format in ["text", "text-all", "task", "loops", "json", "dot", "stats"] {
        let _ = crate::render::render(&snap, format);
    }
    true
}

/// The seeds in `dir` (`*.img`), in name order: an input's first byte picks among them.
pub fn load_seeds(dir: &std::path::Path) -> std::io::Result<Vec<Seed>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "img"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let image = Image::from_bytes(&std::fs::read(&p)?).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", p.display()),
            )
        })?;
        out.push(Seed::new(image));
    }
    Ok(out)
}
