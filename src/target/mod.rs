//! Access to the target: its memory (through a page cache) and its loaded modules.

pub mod cache;
pub mod core;
pub mod elf;
pub mod files;
pub mod live;

pub use cache::{Reader, Stats};

use crate::error::Result;

/// A remote address in the target's address space.
pub type Addr = u64;

/// The one thing every back end provides: copy target bytes into `buf`.
/// Implemented by the FFI callback, ELF core files, live processes and test fakes.
pub trait Memory {
    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()>;
}

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
