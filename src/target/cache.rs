//! A page cache between the decoder and the back end, so one decode makes few callbacks.
//!
//! A snapshot sees one state of memory (a paused target, a core, or a live one read while it
//! runs and then checked against the paused process: `journal.rs`), so pages are never
//! invalidated.
//! Failed pages are remembered; a failed page read is retried for just the bytes asked for
//! (guard pages and mapping ends make whole-page reads fail where small reads succeed).

use super::{Addr, AddrMap, Memory};
use crate::error::{Error, Result};
use crate::limits::Budget;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

pub const PAGE: u64 = 4096;
/// The usual chunk: bytes fetched around a missed page (see [`Memory::chunk`]).
pub const CHUNK: u64 = 16 * PAGE;
/// Bytes per read of a C string where a whole-page read fails.
const STRING_STEP: usize = 16;
/// The usual cache budget (see [`Memory::cache_budget`]).
pub const CACHE_BUDGET: usize = 256 << 20;
/// A cached area of the target's memory: its start and its bytes.
type Area = (Addr, Rc<[u8]>);

/// How many whole chunks a [`Reader`] serves from without a lookup: the chunks of the
/// objects of one chain.
const RECENT: usize = 8;
/// Largest single read the decoder may ask for (a hostile length must not allocate gigabytes).
pub const MAX_READ: usize = 16 << 20;

/// Counters reported by `--stats`: what the decode cost the back end.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub callbacks: u64,
    pub bytes_read: u64,
    pub failed_reads: u64,
}

/// Cached, bounded, typed reads of target memory (little-endian x86_64 LP64).
pub struct Reader<'m> {
    mem: &'m dyn Memory,
    /// Chunks read whole (`Some`), and chunks that could not be (`None`): their pages are
    /// fetched one by one into `pages`.
    chunks: RefCell<AddrMap<Option<Rc<[u8]>>>>,
    pages: RefCell<AddrMap<Option<Rc<[u8]>>>>,
    /// The chunks last served, (start, bytes), most reads land in one of them.
    recent: RefCell<[Option<Area>; RECENT]>,
    next_recent: Cell<usize>,
    /// Bytes cached at most ([`Memory::cache_budget`]); when full the cache starts over.
    budget: usize,
    /// False when the back end's reads are as cheap as the cache's (a mapped core).
    caching: bool,
    /// Bytes fetched around a missed page when they are all readable: the back end's
    /// [`Memory::chunk`].
    chunk: u64,
    cached: Cell<usize>,
    stats: Cell<Stats>,
    /// The back end's mapped stretches last read from (start, bytes), when it maps memory:
    /// a chain's objects lie in a few heap arenas, read in turn.
    regions: [Cell<(Addr, &'m [u8])>; REGIONS],
    /// The entry of `regions` to replace next.
    next_region: Cell<usize>,
    /// Reads served from mapped stretches since the back end was last trimmed.
    since_trim: Cell<u32>,
    /// The bytes and time this decode may spend (`--limit bytes|seconds`), and whether it
    /// has spent them.
    spending: Option<Arc<Budget>>,
    over: Cell<bool>,
    /// Of the mapped reads' bytes, those already spent from the budget.
    counted: Cell<u64>,
    /// Whether each read is noted in `touched` (`awaitwhat image`).
    recording: Cell<bool>,
    touched: RefCell<Vec<(Addr, usize)>>,
}

/// Reads served from a mapped back end between two trims ([`Memory::trim`]): about 25 ms
/// of decoding, so the pages one stretch of a decode touches are let go before the next
/// (mapping them back is a minor fault per 16 pages; keeping them all is the whole core).
/// 100,000-task cores: a quarter of 2^18 kept 30-55 MB less at the same speed.
const TRIM_EVERY: u32 = 1 << 16;

/// Mapped reads between two checks of the budget.
const BUDGET_EVERY: u32 = 1024;

/// How many mapped stretches a [`Reader`] remembers.
const REGIONS: usize = 8;

impl<'m> Reader<'m> {
    pub fn new(mem: &'m dyn Memory) -> Self {
        Reader {
            mem,
            chunks: RefCell::default(),
            pages: RefCell::default(),
            caching: mem.worth_caching(),
            recent: RefCell::default(),
            next_recent: Cell::new(0),
            budget: mem.cache_budget(),
            chunk: mem.chunk().next_power_of_two().max(PAGE),
            cached: Cell::new(0),
            stats: Cell::default(),
            regions: Default::default(),
            next_region: Cell::new(0),
            since_trim: Cell::new(0),
            spending: None,
            over: Cell::new(false),
            counted: Cell::new(0),
            recording: Cell::new(false),
            touched: RefCell::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats.get()
    }

    /// Count what another reader of the same target read (a worker thread's).
    pub fn add_stats(&self, other: Stats) {
        let mut s = self.stats.get();
        s.callbacks += other.callbacks;
        s.bytes_read += other.bytes_read;
        s.failed_reads += other.failed_reads;
        self.stats.set(s);
    }

    fn backend(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        if let Some(b) = &self.spending {
            // The clock is asked every few hundred calls: a call to it costs more than a read.
            let calls = self.stats.get().callbacks;
            let spent = b.spend(buf.len() as u64).and_then(|_| match calls % 256 {
                0 => b.in_time(),
                _ => Ok(()),
            });
            if spent.is_err() {
                self.over.set(true);
            }
            spent?;
        }
        let mut s = self.stats.get();
        s.callbacks += 1;
        s.bytes_read += buf.len() as u64;
        let r = self.mem.read(addr, buf);
        if r.is_err() {
            s.failed_reads += 1;
        }
        self.stats.set(s);
        r
    }

    /// The `len` bytes at `addr` where the back end holds them mapped: no call per read
    /// (a core's 100,000 tasks make millions of small reads). Counted as read; a callback
    /// only when another stretch is looked up.
    #[inline]
    fn mapped(&self, addr: Addr, len: usize) -> Option<&'m [u8]> {
        if self.caching {
            return None;
        }
        self.in_region(addr, len)
    }

    fn in_region(&self, addr: Addr, len: usize) -> Option<&'m [u8]> {
        if self.over.get() {
            return None;
        }
        let within = |(start, bytes): (Addr, &'m [u8])| {
            let at = usize::try_from(addr.checked_sub(start)?).ok()?;
            bytes.get(at..at.checked_add(len)?)
        };
        let known = self.regions.iter().find_map(|r| within(r.get()));
        let found = known.or_else(|| {
            let region = self.mem.mapped(addr)?;
            let mut s = self.stats.get();
            s.callbacks += 1;
            self.stats.set(s);
            let i = self.next_region.get();
            self.regions[i].set(region);
            self.next_region.set((i + 1) % REGIONS);
            within(region)
        })?;
        let mut s = self.stats.get();
        s.bytes_read += len as u64;
        self.stats.set(s);
        let n = self.since_trim.get() + 1;
        // Mapped reads are counted against the budget in batches (a check per read would
        // cost more than the read); a read past it goes to `backend`, which refuses it.
        if n.is_multiple_of(BUDGET_EVERY)
            && let Some(b) = &self.spending
        {
            let read = self.stats.get().bytes_read;
            let new = read - self.counted.replace(read);
            if b.spend(new).is_err() || b.in_time().is_err() {
                self.over.set(true);
            }
        }
        if n == TRIM_EVERY {
            self.mem.trim();
            self.since_trim.set(0);
        } else {
            self.since_trim.set(n);
        }
        Some(found)
    }

    /// Copy `buf.len()` bytes at `addr`.
    pub fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        self.read_cached(addr, buf)?;
        if self.recording.get() {
            self.touched.borrow_mut().push((addr, buf.len()));
        }
        Ok(())
    }

    /// The back end's writable stretches ([`Memory::writable`]).
    pub fn writable(&self) -> Vec<(Addr, u64)> {
        self.mem.writable()
    }

    /// The same reader, spending from `budget`.
    pub fn with_budget(mut self, budget: Option<Arc<Budget>>) -> Self {
        self.spending = budget;
        self
    }

    pub fn budget(&self) -> Option<Arc<Budget>> {
        self.spending.clone()
    }

    /// Note every read from now on (the ranges an image of this decode keeps).
    pub fn record_reads(&self) {
        self.recording.set(true);
    }

    /// The ranges read since [`record_reads`](Self::record_reads), in the order read.
    pub fn touched(&self) -> Vec<(Addr, usize)> {
        self.touched.borrow().clone()
    }

    fn read_cached(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(src) = self.mapped(addr, buf.len()) {
            buf.copy_from_slice(src);
            return Ok(());
        }
        if buf.len() > MAX_READ {
            return Err(Error::Limit {
                what: "single read length",
                limit: MAX_READ as u64,
            });
        }
        let len = buf.len();
        let unreadable = || Error::Unreadable { addr, len };
        let end = addr.checked_add(buf.len() as u64).ok_or_else(unreadable)?;
        if addr == 0 {
            return Err(unreadable());
        }
        // A spent budget says so, rather than that memory is unreadable.
        let failed = |e: Error| if self.over.get() { e } else { unreadable() };
        if !self.caching {
            return self.backend(addr, buf).map_err(failed);
        }
        if self.copy_from_recent(addr, buf) {
            return Ok(());
        }
        let mut pos = addr;
        while pos < end {
            // The rest of this chunk, from the cache when the chunk was read whole.
            let chunk = pos & !(self.chunk - 1);
            let within = (pos - chunk) as usize;
            let take = ((self.chunk - within as u64).min(end - pos)) as usize;
            let dst = &mut buf[(pos - addr) as usize..][..take];
            if self.copy_from_chunk(chunk, within, dst) {
                pos += take as u64;
                continue;
            }
            // Else the rest of this page: from its own cache entry, or exactly the bytes
            // asked for when the whole page is unreadable.
            let page = pos & !(PAGE - 1);
            let within = (pos - page) as usize;
            let take = ((PAGE - within as u64).min(end - pos)) as usize;
            let dst = &mut buf[(pos - addr) as usize..][..take];
            if !self.copy_from_page(page, within, dst) {
                self.backend(pos, dst).map_err(failed)?;
            }
            pos += take as u64;
        }
        Ok(())
    }

    /// Serve `dst` from one of the chunks last served, if it lies in one.
    fn copy_from_recent(&self, addr: Addr, dst: &mut [u8]) -> bool {
        let recent = self.recent.borrow();
        for (start, bytes) in recent.iter().flatten() {
            let Some(at) = addr.checked_sub(*start) else {
                continue;
            };
            let at = at as usize;
            if let Some(src) = at.checked_add(dst.len()).and_then(|end| bytes.get(at..end)) {
                dst.copy_from_slice(src);
                return true;
            }
        }
        false
    }

    /// Serve `dst` from a chunk read whole, reading the chunk the first time (a heap's
    /// objects are dense: the neighbours are usually read next, and every read is a round
    /// trip through a debugger or a system call). False when the chunk is not whole, or
    /// the cache is full.
    fn copy_from_chunk(&self, chunk: Addr, within: usize, dst: &mut [u8]) -> bool {
        match self.serve(&self.chunks, chunk, self.chunk, within, dst) {
            Some(bytes) => {
                let i = self.next_recent.get();
                self.recent.borrow_mut()[i] = Some((chunk, bytes));
                self.next_recent.set((i + 1) % RECENT);
                true
            }
            None => false,
        }
    }

    /// Serve `dst` from one page of a chunk that could not be read whole. False when the
    /// page is unreadable or the cache is full.
    fn copy_from_page(&self, page: Addr, within: usize, dst: &mut [u8]) -> bool {
        self.serve(&self.pages, page, PAGE, within, dst).is_some()
    }

    /// Serve `dst` from the cached area of `size` bytes at `at` in `areas`, reading it the
    /// first time (its failure is remembered too); the area's bytes, or None when it is
    /// unreadable. A full cache starts over: what is still needed is read again (a
    /// process's memory through the journal, which notes every read).
    fn serve(
        &self,
        areas: &RefCell<AddrMap<Option<Rc<[u8]>>>>,
        at: Addr,
        size: u64,
        within: usize,
        dst: &mut [u8],
    ) -> Option<Rc<[u8]>> {
        if let Some(known) = areas.borrow().get(&at) {
            let bytes = known.as_ref()?;
            dst.copy_from_slice(&bytes[within..within + dst.len()]);
            return Some(bytes.clone());
        }
        if self.cached.get() >= self.budget {
            self.chunks.borrow_mut().clear();
            self.pages.borrow_mut().clear();
            *self.recent.borrow_mut() = Default::default();
            self.cached.set(0);
        }
        // SAFETY: zeroed bytes are initialised `u8`s. (Made in place: a vector turned into
        // an `Rc` would be allocated and copied twice.)
        let mut bytes: Rc<[u8]> = unsafe { Rc::new_zeroed_slice(size as usize).assume_init() };
        let ok = self.backend(at, Rc::get_mut(&mut bytes)?).is_ok();
        if ok {
            dst.copy_from_slice(&bytes[within..within + dst.len()]);
            self.cached.set(self.cached.get() + size as usize);
        }
        let bytes = ok.then_some(bytes);
        areas.borrow_mut().insert(at, bytes.clone());
        bytes
    }

    pub fn bytes(&self, addr: Addr, len: usize) -> Result<Vec<u8>> {
        if len > MAX_READ {
            return Err(Error::Limit {
                what: "read length",
                limit: MAX_READ as u64,
            });
        }
        let mut v = vec![0u8; len];
        self.read(addr, &mut v)?;
        Ok(v)
    }

    pub fn array<const N: usize>(&self, addr: Addr) -> Result<[u8; N]> {
        if let Some(src) = self.mapped(addr, N).filter(|_| !self.recording.get()) {
            let mut b = [0u8; N];
            b.copy_from_slice(src);
            return Ok(b);
        }
        let mut b = [0u8; N];
        self.read(addr, &mut b)?;
        Ok(b)
    }

    pub fn u8(&self, addr: Addr) -> Result<u8> {
        Ok(self.array::<1>(addr)?[0])
    }
    pub fn i8(&self, addr: Addr) -> Result<i8> {
        Ok(self.u8(addr)? as i8)
    }
    pub fn u16(&self, addr: Addr) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(addr)?))
    }
    pub fn i32(&self, addr: Addr) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array(addr)?))
    }
    pub fn u32(&self, addr: Addr) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(addr)?))
    }
    pub fn u64(&self, addr: Addr) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(addr)?))
    }
    pub fn i64(&self, addr: Addr) -> Result<i64> {
        Ok(self.u64(addr)? as i64)
    }
    /// A pointer-sized value; NULL is a valid answer here (callers decide).
    pub fn ptr(&self, addr: Addr) -> Result<Addr> {
        self.u64(addr)
    }

    /// A NUL-terminated C string of at most `max` bytes.
    pub fn c_string(&self, addr: Addr, max: usize) -> Result<String> {
        let mut out = Vec::new();
        let mut pos = addr;
        while out.len() < max {
            let chunk = (PAGE - (pos % PAGE)).min((max - out.len()) as u64) as usize;
            // A debugger may serve a core's file-backed section only up to its end, which
            // can lie in the middle of a page: then read on in small steps.
            let bytes = self
                .bytes(pos, chunk)
                .or_else(|_| self.bytes(pos, STRING_STEP.min(chunk)))
                .or_else(|_| self.bytes(pos, 1))?;
            let chunk = bytes.len();
            if let Some(nul) = bytes.iter().position(|&b| b == 0) {
                out.extend_from_slice(&bytes[..nul]);
                return Ok(String::from_utf8_lossy(&out).into_owned());
            }
            out.extend_from_slice(&bytes);
            pos += chunk as u64;
        }
        Err(Error::Limit {
            what: "C string length",
            limit: max as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::fake::Image;

    #[test]
    fn a_full_cache_starts_over_and_reads_again() {
        // Eight chunks, each filled with its own number; room for two.
        let data: Vec<u8> = (0..8u8)
            .flat_map(|i| std::iter::repeat_n(i, CHUNK as usize))
            .collect();
        let img = Image::with_budget(0x100000, data, 2 * CHUNK as usize);
        let r = Reader::new(&img);
        for pass in 1..=2 {
            for i in 0..8u64 {
                for j in 0..4 {
                    let at = 0x100000 + i * CHUNK + j * 1000;
                    assert_eq!(r.u8(at).unwrap(), i as u8, "chunk {i}, pass {pass}");
                }
            }
            // Each chunk read once per pass: what was let go is read again, nothing more.
            assert_eq!(img.calls(), 8 * pass);
        }
    }

    #[test]
    fn caches_pages_and_falls_back_to_exact_reads() {
        // 100 bytes that do not fill a page: page reads fail, exact reads work.
        let img = Image::new(0x10010, (0..100).collect());
        let r = Reader::new(&img);
        assert_eq!(r.u8(0x10010 + 5).unwrap(), 5);
        assert_eq!(
            r.bytes(0x10010 + 90, 10).unwrap(),
            (90..100).collect::<Vec<u8>>()
        );
        assert!(r.u64(0x10010 + 96).is_err());
        // A whole readable chunk: one callback serves every page in it.
        let img = Image::new(0x20000, vec![7; CHUNK as usize]);
        let r = Reader::new(&img);
        for i in 0..100 {
            r.u64(0x20000 + i * 8).unwrap();
        }
        r.bytes(0x20ff0, 32).unwrap();
        assert_eq!(img.calls(), 1);
        // Two readable pages in a chunk that is not: the chunk fails once, then each page
        // is read alone.
        let img = Image::new(0x40000, vec![7; 8192]);
        let r = Reader::new(&img);
        for i in 0..100 {
            r.u64(0x40000 + i * 8).unwrap();
        }
        assert_eq!(img.calls(), 2);
        r.bytes(0x40ff0, 32).unwrap();
        assert_eq!(r.stats().callbacks, 3);
        assert_eq!(r.stats().failed_reads, 1);
    }

    #[test]
    fn hostile_lengths_and_addresses_fail_cleanly() {
        let img = Image::new(0x1000, vec![0; 16]);
        let r = Reader::new(&img);
        assert!(r.bytes(0x1000, usize::MAX).is_err());
        assert!(r.u64(u64::MAX - 3).is_err());
        assert!(r.u64(0).is_err());
        assert!(r.c_string(0x1000 + 8, 4).is_ok());
    }

    #[test]
    fn c_string_ending_near_the_end_of_readable_memory() {
        // "uvloop\0" 3 bytes before the end: a 256-byte read fails, short ones work.
        let mut data = vec![b'x'; 40];
        data.extend_from_slice(b"uvloop\0ab");
        let img = Image::new(0x3000, data);
        let r = Reader::new(&img);
        assert_eq!(r.c_string(0x3000 + 40, 256).unwrap(), "uvloop");
        assert_eq!(r.c_string(0x3000 + 30, 256).unwrap(), "xxxxxxxxxxuvloop");
        assert!(r.c_string(0x3000 + 48, 256).is_err());
    }
}
