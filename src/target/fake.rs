//! A memory image for unit tests: bytes at one address, unreadable elsewhere; it counts the
//! reads made and its bytes can change between them.

use super::{Addr, Memory};
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Readable from any thread, as a core or a process is.
pub struct Image {
    base: Addr,
    data: Mutex<Vec<u8>>,
    calls: AtomicU32,
    budget: Option<usize>,
}

impl Image {
    pub fn new(base: Addr, data: Vec<u8>) -> Self {
        Image {
            base,
            data: Mutex::new(data),
            calls: AtomicU32::new(0),
            budget: None,
        }
    }

    /// The same, with this [`Memory::cache_budget`].
    pub fn with_budget(base: Addr, data: Vec<u8>, budget: usize) -> Self {
        Image {
            budget: Some(budget),
            ..Image::new(base, data)
        }
    }

    /// Reads made so far, failed ones included.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn data_mut(&self) -> MutexGuard<'_, Vec<u8>> {
        self.data.lock().expect("a test image is never poisoned")
    }
}

impl Memory for Image {
    fn cache_budget(&self) -> usize {
        self.budget.unwrap_or(super::cache::CACHE_BUDGET)
    }

    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let data = self.data_mut();
        let src = (addr.checked_sub(self.base))
            .and_then(|off| usize::try_from(off).ok())
            .and_then(|off| data.get(off..off.checked_add(buf.len())?))
            .ok_or(Error::Unreadable {
                addr,
                len: buf.len(),
            })?;
        buf.copy_from_slice(src);
        Ok(())
    }
}
