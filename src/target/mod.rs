//! Access to the target: its memory (through a page cache) and its loaded modules.

pub mod cache;
pub mod core;
pub mod elf;
pub mod elf_image;
pub mod files;
pub mod image;
pub mod journal;
pub mod live;

#[cfg(test)]
pub(crate) mod fake;

pub use cache::{Reader, Stats};

use crate::error::Result;

/// A remote address in the target's address space.
pub type Addr = u64;

/// The one thing every back end provides: copy target bytes into `buf`.
/// Implemented by the FFI callback, ELF core files, live processes and test fakes.
pub trait Memory {
    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()>;

    /// Whether the [`Reader`] should keep a copy of the pages it reads: true where a read
    /// is a round trip (a debugger callback, a system call) or the target may change after
    /// the pause; false for memory already held here (a mapped core file), where a copy
    /// would only double the footprint.
    fn worth_caching(&self) -> bool {
        true
    }

    /// How many bytes the [`Reader`] fetches around a page it misses, when they are all
    /// readable: a heap's objects are dense, so the neighbours are usually read next.
    /// Large where every read is a round trip through a debugger (16 pages), smaller where
    /// it is a system call and every byte fetched costs a copy (see `live.rs`).
    fn chunk(&self) -> u64 {
        cache::CHUNK
    }

    /// Most bytes the [`Reader`] keeps of this back end's memory; when full, it starts over
    /// and reads again what it still needs. Large where a read is a round trip through a
    /// debugger; smaller where reading again is one system call (`live.rs`).
    fn cache_budget(&self) -> usize {
        cache::CACHE_BUDGET
    }

    /// Where this back end holds the target's memory mapped (a core file): the stretch that
    /// `addr` lies in, as its start address and its bytes. The [`Reader`] then serves reads
    /// in that stretch itself, without a call per read. Asked only of a back end that is
    /// not [`worth_caching`](Memory::worth_caching).
    fn mapped(&self, _addr: Addr) -> Option<(Addr, &[u8])> {
        None
    }

    /// The stretches of the target's writable memory this back end holds (a core's
    /// segments), where its objects are: searched for tasks when their registry is
    /// damaged. Empty where they cannot be listed (a debugger's memory).
    fn writable(&self) -> Vec<(Addr, u64)> {
        Vec::new()
    }

    /// Let go of what this back end holds of the target's memory and can get back cheaply:
    /// a mapped core's pages, which the kernel maps again from its page cache at the next
    /// read. Called as a decode goes, so our footprint is what one stretch of it reads,
    /// not every page of the core it ever touched.
    fn trim(&self) {}
}

/// `base + off` for addresses and offsets read from the target: past the end of the address
/// space it is 0, which no read accepts (a read error, never an overflow panic or a wrap).
pub fn at(base: Addr, off: u64) -> Addr {
    base.checked_add(off).unwrap_or(0)
}

pub use crate::hash::{AddrHash, AddrHasher};

/// A map keyed by target addresses.
pub type AddrMap<V> = std::collections::HashMap<Addr, V, AddrHash>;

/// A file mapped into the target: its path and the address its file offset 0 is mapped at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub path: String,
    pub base: Addr,
}

impl Module {
    /// The file name without directories, e.g. `libpython3.12.so.1.0`.
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}
