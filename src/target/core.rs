//! ELF core files: memory from `PT_LOAD` segments, the mapped files from the `NT_FILE`
//! note, and read-only file contents the core left out read from those files on disk.

use super::elf_image::{self, PHDR_SIZE, PT_LOAD, PT_NOTE, u64_at};
use super::{Addr, Memory, Module};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

const NT_FILE: u32 = 0x4649_4c45;
const ET_CORE: u16 = 4;

#[derive(Debug, Clone, Copy)]
struct Segment {
    vaddr: u64,
    memsz: u64,
    offset: u64,
    filesz: u64,
    writable: bool,
}

/// A file mapping recorded in `NT_FILE`.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub file_offset: u64,
    pub path: String,
}

pub struct CoreFile {
    map: memmap2::Mmap,
    segments: Vec<Segment>,
    /// The segment the last read hit: the next read is most often in it too.
    last: AtomicUsize,
    pub mappings: Vec<Mapping>,
    files: Mutex<HashMap<String, Option<File>>>,
}

fn bad(path: &Path, what: &str) -> Error {
    Error::Target(format!(
        "{}: not a usable ELF core file ({what})",
        path.display()
    ))
}

impl CoreFile {
    pub fn open(path: &Path) -> Result<CoreFile> {
        let file =
            File::open(path).map_err(|e| Error::Target(format!("{}: {e}", path.display())))?;
        // SAFETY: the core is opened read-only; we only read from the mapping and check every
        // range against its length. A core truncated underneath us is the one hazard of mmap.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .map_err(|e| Error::Target(format!("{}: {e}", path.display())))?;
        let b: &[u8] = &map;
        let header =
            elf_image::header(b).ok_or_else(|| bad(path, "not a 64-bit little-endian ELF file"))?;
        if header.kind != ET_CORE {
            return Err(bad(path, "ELF type is not CORE"));
        }
        let table = slice(b, header.phoff, header.phnum as u64 * PHDR_SIZE as u64)
            .ok_or_else(|| bad(path, "program headers out of the file"))?;
        let mut segments = Vec::new();
        let mut mappings = Vec::new();
        for ph in elf_image::program_headers(table) {
            match ph.kind {
                PT_LOAD => segments.push(Segment {
                    vaddr: ph.vaddr,
                    memsz: ph.memsz,
                    offset: ph.offset,
                    filesz: ph.filesz,
                    writable: ph.flags & 2 != 0,
                }),
                PT_NOTE => {
                    let notes = slice(b, ph.offset, ph.filesz)
                        .ok_or_else(|| bad(path, "note segment out of the file"))?;
                    for note in elf_image::notes(notes).filter(|n| n.kind == NT_FILE) {
                        mappings.extend(parse_file_table(note.desc));
                    }
                }
                _ => {}
            }
        }
        segments.sort_by_key(|s| s.vaddr);
        Ok(CoreFile {
            map,
            segments,
            last: AtomicUsize::new(0),
            mappings,
            files: Mutex::default(),
        })
    }

    /// Each mapped file once, at the address its file offset 0 is mapped at.
    pub fn modules(&self) -> Vec<Module> {
        let mut out: Vec<Module> = Vec::new();
        for m in self.mappings.iter().filter(|m| m.file_offset == 0) {
            match out.iter_mut().find(|o| o.path == m.path) {
                Some(o) => o.base = o.base.min(m.start),
                None => out.push(Module {
                    path: m.path.clone(),
                    base: m.start,
                }),
            }
        }
        out
    }

    /// The index of the last segment that starts at or below `addr` (which may end before it).
    fn segment(&self, addr: Addr) -> Option<usize> {
        let hint = self.last.load(Ordering::Relaxed);
        match self.segments.get(hint) {
            Some(s) if s.vaddr <= addr && addr - s.vaddr < s.memsz => Some(hint),
            _ => {
                let i = (self.segments)
                    .partition_point(|s| s.vaddr <= addr)
                    .checked_sub(1)?;
                self.last.store(i, Ordering::Relaxed);
                Some(i)
            }
        }
    }

    /// Copy as much of `buf` as one source covers, starting at `addr`; returns bytes copied.
    fn read_some(&self, addr: Addr, buf: &mut [u8]) -> Option<usize> {
        let idx = self.segment(addr)?;
        let seg = self
            .segments
            .get(idx)
            .filter(|s| addr < s.vaddr.saturating_add(s.memsz));
        if let Some(s) = seg {
            let within = addr - s.vaddr;
            if within < s.filesz {
                let n = (s.filesz - within).min(buf.len() as u64);
                let src = slice(&self.map, s.offset.checked_add(within)?, n)?;
                buf[..n as usize].copy_from_slice(src);
                return Some(n as usize);
            }
        }
        // Not in the core's file contents: a file-backed page the core left out.
        if let Some(m) = self
            .mappings
            .iter()
            .find(|m| m.start <= addr && addr < m.end)
        {
            let n = ((m.end - addr) as usize).min(buf.len());
            let n = seg.map_or(n, |s| n.min((s.vaddr + s.memsz - addr) as usize));
            return self
                .read_file(&m.path, m.file_offset + (addr - m.start), &mut buf[..n])
                .then_some(n);
        }
        // Anonymous memory beyond the dumped bytes reads as zeros.
        let s = seg?;
        let n = ((s.vaddr + s.memsz - addr) as usize).min(buf.len());
        buf[..n].fill(0);
        Some(n)
    }

    fn read_file(&self, path: &str, offset: u64, buf: &mut [u8]) -> bool {
        use std::os::unix::fs::FileExt;
        let Ok(mut files) = self.files.lock() else {
            return false;
        };
        let file = files
            .entry(path.to_string())
            .or_insert_with(|| File::open(path).ok());
        file.as_ref()
            .is_some_and(|f| f.read_exact_at(buf, offset).is_ok())
    }
}

impl Memory for CoreFile {
    /// The core is mapped: a read is a copy, and the page cache would hold it twice.
    fn worth_caching(&self) -> bool {
        false
    }

    fn trim(&self) {
        // SAFETY: the map is read-only and shared: after MADV_DONTNEED its pages read the
        // same bytes again, from the file (no private copy of ours is thrown away).
        let _ = unsafe {
            self.map
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed)
        };
    }

    /// The dumped bytes of the segment `addr` lies in.
    fn writable(&self) -> Vec<(Addr, u64)> {
        (self.segments.iter())
            .filter(|s| s.writable && s.filesz > 0)
            .map(|s| (s.vaddr, s.filesz.min(s.memsz)))
            .collect()
    }

    fn mapped(&self, addr: Addr) -> Option<(Addr, &[u8])> {
        let i = self.segment(addr)?;
        let s = &self.segments[i];
        (addr - s.vaddr < s.filesz).then_some(())?;
        Some((s.vaddr, slice(&self.map, s.offset, s.filesz)?))
    }

    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let at = addr.checked_add(done as u64).ok_or(Error::Unreadable {
                addr,
                len: buf.len(),
            })?;
            match self.read_some(at, &mut buf[done..]) {
                Some(n) if n > 0 => done += n,
                _ => {
                    return Err(Error::Unreadable {
                        addr,
                        len: buf.len(),
                    });
                }
            }
        }
        Ok(())
    }
}

fn slice(b: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    b.get(start..end)
}
/// The mappings of one `NT_FILE` note's descriptor.
fn parse_file_table(d: &[u8]) -> Vec<Mapping> {
    let (Some(count), Some(page)) = (u64_at(d, 0), u64_at(d, 8)) else {
        return Vec::new();
    };
    let count = count.min(1 << 20) as usize;
    let Some(names_at) = count.checked_mul(24).and_then(|n| n.checked_add(16)) else {
        return Vec::new();
    };
    let mut names = d.get(names_at..).unwrap_or(&[]).split(|&c| c == 0);
    let mut out = Vec::new();
    for i in 0..count {
        let e = 16 + i * 24;
        let (Some(start), Some(end), Some(pages)) =
            (u64_at(d, e), u64_at(d, e + 8), u64_at(d, e + 16))
        else {
            break;
        };
        let Some(name) = names.next() else { break };
        out.push(Mapping {
            start,
            end,
            file_offset: pages.saturating_mul(page),
            path: String::from_utf8_lossy(name).into_owned(),
        });
    }
    out
}
