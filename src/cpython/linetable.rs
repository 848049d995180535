//! The three line-number table formats, as pure functions over the table bytes (a
//! corrupted table gives a wrong line or none, never an overflow).

/// 3.8–3.9 `co_lnotab`: (byte increment, signed line increment) pairs; `offset` in bytes.
pub fn lnotab_line(table: &[u8], firstlineno: i32, offset: u32) -> i32 {
    let mut line = firstlineno;
    let mut addr: u32 = 0;
    for pair in table.chunks_exact(2) {
        addr += pair[0] as u32;
        if addr > offset {
            break;
        }
        line = line.saturating_add(pair[1] as i8 as i32);
    }
    line
}

/// 3.10 `co_linetable`: (byte length, signed line delta) pairs, -128 = no line; `offset` in bytes.
pub fn linetable_310_line(table: &[u8], firstlineno: i32, offset: u32) -> Option<i32> {
    let mut end: u32 = 0;
    let mut line = firstlineno;
    for pair in table.chunks_exact(2) {
        let start = end;
        end += pair[0] as u32;
        let delta = pair[1] as i8;
        let current = if delta == -128 {
            None
        } else {
            line = line.saturating_add(delta as i32);
            Some(line)
        };
        if start <= offset && offset < end {
            return current;
        }
    }
    None
}

/// 3.11+ location table; `unit` is the index of the instruction in code units.
pub fn locations_line(table: &[u8], firstlineno: i32, unit: u32) -> Option<i32> {
    let mut r = Cursor {
        bytes: table,
        pos: 0,
    };
    let mut line = firstlineno;
    let mut start: u32 = 0;
    while let Some(head) = r.byte() {
        if head & 0x80 == 0 {
            return None; // every entry starts with the high bit set: the table is corrupt
        }
        let code = (head >> 3) & 15;
        let length = (head & 7) as u32 + 1;
        let entry_line = match code {
            0..=9 => {
                r.byte()?;
                Some(line)
            }
            10..=12 => {
                line = line.saturating_add(code as i32 - 10);
                r.byte()?;
                r.byte()?;
                Some(line)
            }
            13 => {
                line = line.saturating_add(r.svarint()?);
                Some(line)
            }
            14 => {
                line = line.saturating_add(r.svarint()?);
                r.varint()?;
                r.varint()?;
                r.varint()?;
                Some(line)
            }
            _ => None,
        };
        if start <= unit && unit < start + length {
            return entry_line;
        }
        start += length;
    }
    None
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    fn varint(&mut self) -> Option<u32> {
        let mut b = self.byte()?;
        let mut v = (b & 63) as u32;
        let mut shift = 6;
        while b & 64 != 0 {
            b = self.byte()?;
            if shift > 30 {
                return None;
            }
            v |= ((b & 63) as u32) << shift;
            shift += 6;
        }
        Some(v)
    }
    fn svarint(&mut self) -> Option<i32> {
        let u = self.varint()?;
        Some(if u & 1 != 0 {
            -((u >> 1) as i32)
        } else {
            (u >> 1) as i32
        })
    }
}
