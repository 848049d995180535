//! A memory image for unit tests: bytes at one address, unreadable elsewhere; it counts the
//! reads made and its bytes can change between them.

use super::{Addr, Memory};
use crate::error::{Error, Result};
use std::cell::{Cell, RefCell, RefMut};

pub struct Image {
    base: Addr,
    data: RefCell<Vec<u8>>,
    calls: Cell<u32>,
}

impl Image {
    pub fn new(base: Addr, data: Vec<u8>) -> Self {
        Image {
            base,
            data: RefCell::new(data),
            calls: Cell::new(0),
        }
    }

    /// Reads made so far, failed ones included.
    pub fn calls(&self) -> u32 {
        self.calls.get()
    }

    pub fn data_mut(&self) -> RefMut<'_, Vec<u8>> {
        self.data.borrow_mut()
    }
}

impl Memory for Image {
    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        self.calls.set(self.calls.get() + 1);
        let data = self.data.borrow();
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
