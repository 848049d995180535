//! Read-only data of mapped ELF files, read from disk when the target's memory lacks it.
//!
//! Cores usually leave out read-only file-backed pages (code, `.rodata`: type names, the
//! version); gdb fills them from the files itself, lldb and our own core reader need this.
//! Only non-writable `PT_LOAD` bytes are used: writable data on disk is stale.

use super::elf::ElfFile;
use super::{Addr, Memory};
use crate::error::Result;
use object::{Object, ObjectSegment, SegmentFlags};
use std::sync::Arc;

struct Region {
    start: Addr,
    end: Addr,
    file: Arc<ElfFile>,
    offset: u64,
}

/// Memory that falls back to the files' read-only segments.
pub struct WithFiles<'m> {
    inner: &'m dyn Memory,
    regions: Vec<Region>,
}

impl<'m> WithFiles<'m> {
    /// `files`: (ELF file, load bias) of the modules worth covering.
    pub fn new(inner: &'m dyn Memory, files: &[(Arc<ElfFile>, u64)]) -> Self {
        let mut regions = Vec::new();
        for (file, bias) in files {
            let Ok(parsed) = file.parsed() else { continue };
            for seg in parsed.segments() {
                let writable = matches!(seg.flags(), SegmentFlags::Elf { p_flags } if p_flags & object::elf::PF_W != 0);
                let (offset, size) = seg.file_range();
                if writable || size == 0 {
                    continue;
                }
                let start = seg.address().wrapping_add(*bias);
                regions.push(Region {
                    start,
                    end: start.saturating_add(size),
                    file: file.clone(),
                    offset,
                });
            }
        }
        WithFiles { inner, regions }
    }
}

impl Memory for WithFiles<'_> {
    fn worth_caching(&self) -> bool {
        self.inner.worth_caching()
    }

    fn chunk(&self) -> u64 {
        self.inner.chunk()
    }

    fn cache_budget(&self) -> usize {
        self.inner.cache_budget()
    }

    fn mapped(&self, addr: Addr) -> Option<(Addr, &[u8])> {
        self.inner.mapped(addr)
    }

    fn writable(&self) -> Vec<(Addr, u64)> {
        self.inner.writable()
    }

    fn trim(&self) {
        self.inner.trim()
    }

    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        let err = match self.inner.read(addr, buf) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let end = addr.saturating_add(buf.len() as u64);
        for r in &self.regions {
            if r.start <= addr && end <= r.end {
                let at = (r.offset + (addr - r.start)) as usize;
                if let Some(src) = r.file.data.get(at..at + buf.len()) {
                    buf.copy_from_slice(src);
                    return Ok(());
                }
            }
        }
        Err(err)
    }
}
