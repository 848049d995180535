//! Reading a process while it runs, then proving the answer holds for the stopped process.
//!
//! Every read through a [`Journal`] is noted: where, how many bytes, and a digest of what
//! came back (or that it failed). Once the target is stopped, [`Notes::check`] makes the
//! same reads again. The decode is a function of the bytes it read; when every read gives
//! the same answer again, the decode saw exactly the memory of the stopped process, as if
//! it had been stopped all along, and the process was paused only for the check. When
//! anything differs, the caller decodes again while the target stays stopped.

use super::{Addr, Memory};
use crate::error::Result;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Most reads one journal notes (the cache reads 64 KiB chunks: a decode of 100,000 tasks
/// makes about 3,000); past it the journal cannot vouch for the decode and `check` says so.
const MAX_NOTES: usize = 4 << 20;

/// What one read gave: the digest of its bytes, or None when it failed.
struct Note {
    addr: Addr,
    len: usize,
    digest: Option<u64>,
}

/// A [`Memory`] that notes every read it passes on (from any thread: the decode may run on
/// several).
pub struct Journal<'m> {
    mem: &'m (dyn Memory + Sync),
    notes: Mutex<Vec<Note>>,
    full: AtomicBool,
}

/// The reads a [`Journal`] noted, to be made again by [`Notes::check`].
pub struct Notes {
    notes: Vec<Note>,
    full: bool,
}

/// The outcome of [`Notes::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Every read gave the same answer again: the decode holds for the stopped target.
    Unchanged { reads: usize, bytes: u64 },
    /// The read at this address gives a different answer now.
    Changed { addr: Addr },
    /// Too many reads were made to note them all.
    TooMany,
}

impl<'m> Journal<'m> {
    pub fn new(mem: &'m (dyn Memory + Sync)) -> Self {
        Journal {
            mem,
            notes: Mutex::default(),
            full: AtomicBool::new(false),
        }
    }

    /// What was read, without holding on to the memory (the caller stops the target next).
    pub fn finish(self) -> Notes {
        // A worker that panicked while noting a read left the notes unusable: check none.
        let full = self.full.into_inner();
        match self.notes.into_inner() {
            Ok(mut notes) => {
                // Workers on other threads read some chunks too: check each once. Two
                // different answers for one read stay, and one of them fails the check.
                notes.sort_unstable_by_key(|n| (n.addr, n.len, n.digest));
                notes.dedup_by_key(|n| (n.addr, n.len, n.digest));
                Notes { notes, full }
            }
            Err(_) => Notes {
                notes: Vec::new(),
                full: true,
            },
        }
    }
}

impl Notes {
    /// Make every noted read again on `mem` (the same memory, now stopped) and compare.
    pub fn check(&self, mem: &dyn Memory) -> Check {
        if self.full {
            return Check::TooMany;
        }
        let notes = &self.notes;
        let mut buf = Vec::new();
        let mut bytes = 0;
        for n in notes {
            buf.resize(n.len, 0);
            let now = mem.read(n.addr, &mut buf).ok().map(|()| digest(&buf));
            if now != n.digest {
                return Check::Changed { addr: n.addr };
            }
            bytes += n.len as u64;
        }
        Check::Unchanged {
            reads: notes.len(),
            bytes,
        }
    }
}

impl Memory for Journal<'_> {
    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        let r = self.mem.read(addr, buf);
        let note = Note {
            addr,
            len: buf.len(),
            digest: r.is_ok().then(|| digest(buf)),
        };
        match self.notes.lock() {
            Ok(mut notes) if notes.len() < MAX_NOTES => notes.push(note),
            _ => self.full.store(true, Ordering::Relaxed),
        }
        r
    }

    fn worth_caching(&self) -> bool {
        self.mem.worth_caching()
    }

    fn chunk(&self) -> u64 {
        self.mem.chunk()
    }

    fn cache_budget(&self) -> usize {
        self.mem.cache_budget()
    }
}

/// A 64-bit digest of `bytes`: four independent multiply-rotate lanes over 8-byte words, so
/// it runs at memory speed. Not cryptographic: it only has to tell a changed page from an
/// unchanged one, and any one changed word changes its lane (each step is a bijection).
fn digest(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let step = |h: u64, w: u64| (h ^ w).wrapping_mul(K).rotate_left(31);
    let mut lanes = [1u64, 2, 3, 4];
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(8)) {
            *lane = step(
                *lane,
                u64::from_le_bytes(word.try_into().unwrap_or_default()),
            );
        }
    }
    let mut h = bytes.len() as u64;
    for lane in lanes {
        h = step(h, lane);
    }
    for &b in blocks.remainder() {
        h = step(h, u64::from(b));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::fake::Image;

    fn memory() -> Image {
        Image::new(0x1000, (0..=255).cycle().take(8192).collect())
    }

    #[test]
    fn unchanged_memory_checks_out() {
        let m = memory();
        let j = Journal::new(&m);
        let mut buf = [0u8; 100];
        j.read(0x1000, &mut buf).unwrap();
        j.read(0x1000 + 8000, &mut buf[..50]).unwrap();
        assert!(j.read(0x1000 + 8100, &mut buf).is_err());
        assert_eq!(
            j.finish().check(&m),
            Check::Unchanged {
                reads: 3,
                bytes: 250
            }
        );
    }

    #[test]
    fn any_changed_byte_is_seen() {
        for at in [0, 1, 7, 8, 31, 32, 63, 95, 96, 99] {
            let m = memory();
            let j = Journal::new(&m);
            j.read(0x1000, &mut [0u8; 100]).unwrap();
            let notes = j.finish();
            m.data_mut()[at] ^= 0x40;
            assert_eq!(
                notes.check(&m),
                Check::Changed { addr: 0x1000 },
                "byte {at}"
            );
        }
    }

    #[test]
    fn a_read_that_fails_or_succeeds_now_is_a_change() {
        let m = memory();
        let j = Journal::new(&m);
        assert!(j.read(0x1000 + 8190, &mut [0u8; 4]).is_err());
        let notes = j.finish();
        m.data_mut().extend([0; 2]);
        assert_eq!(
            notes.check(&m),
            Check::Changed {
                addr: 0x1000 + 8190
            }
        );
        let j = Journal::new(&m);
        j.read(0x1000 + 8190, &mut [0u8; 4]).unwrap();
        let notes = j.finish();
        m.data_mut().truncate(8192);
        assert_eq!(
            notes.check(&m),
            Check::Changed {
                addr: 0x1000 + 8190
            }
        );
    }

    #[test]
    fn digests_differ_for_swapped_words_and_lengths() {
        let a: Vec<u8> = (0..64).collect();
        let mut b = a.clone();
        b.swap(0, 8);
        assert_ne!(digest(&a), digest(&b));
        assert_ne!(digest(&[0; 8]), digest(&[0; 16]));
        assert_ne!(digest(&a[..33]), digest(&a[..34]));
    }
}
