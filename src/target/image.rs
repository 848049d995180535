//! A memory image: the bytes one decode read from its target, with what discovery found
//! there (the version, the struct layout, the runtime's address, the static types), so the
//! same decode runs again from the image alone. Small enough to keep: the fuzzer's seeds,
//! and a reproducer a user can attach to a bug report (`awaitwhat image`).
//!
//! File: the line `AWAITWHAT-IMAGE 1`, one line of JSON (the [`Start`]), then segments, each
//! an address (u64), a length (u32) and its bytes, little-endian, in address order.

use super::{Addr, Memory, Reader};
use crate::cpython::{KnownTypes, Statics};
use crate::error::{Error, Result};
use crate::layout::{Layout, Offsets, Source, Version};
use std::collections::BTreeMap;

const MAGIC: &[u8] = b"AWAITWHAT-IMAGE 1\n";
/// Largest image read back (a hostile file must not allocate gigabytes).
const MAX_IMAGE: usize = 1 << 30;

/// What discovery found: where a decode starts.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Start {
    pub python: String,
    pub runtime: Addr,
    pub offsets: BTreeMap<String, u64>,
    /// The static types' addresses: coroutine, generator, async_generator, code, cell,
    /// set_dummy.
    pub types: [Addr; 6],
    /// 3.6: what only symbol tables name.
    #[serde(default)]
    pub statics: Statics,
}

impl Start {
    pub fn new(version: Version, runtime: Addr, layout: &Layout, types: &KnownTypes) -> Start {
        Start {
            python: version.to_string(),
            runtime,
            offsets: layout.off.to_map(),
            types: [
                types.coroutine,
                types.generator,
                types.async_generator,
                types.code,
                types.cell,
                types.set_dummy,
            ],
            statics: types.statics,
        }
    }

    /// The layout and types a decode of the image uses.
    pub fn layout(&self) -> Result<(Layout, KnownTypes)> {
        let version = Version::parse(&self.python)
            .ok_or_else(|| Error::Target(format!("image: version '{}'", self.python)))?;
        let (off, _) = Offsets::from_map(&self.offsets);
        let [coroutine, generator, async_generator, code, cell, set_dummy] = self.types;
        let types = KnownTypes {
            coroutine,
            generator,
            async_generator,
            code,
            cell,
            set_dummy,
            classes: Vec::new(),
            statics: self.statics,
        };
        let layout = Layout {
            version,
            source: Source::Table,
            off,
        };
        Ok((layout, types))
    }
}

/// The bytes of an image, by address, and where its decode starts.
pub struct Image {
    pub start: Start,
    /// Non-overlapping, in address order.
    segments: Vec<(Addr, Vec<u8>)>,
}

impl Image {
    pub fn segments(&self) -> &[(Addr, Vec<u8>)] {
        &self.segments
    }

    /// The bytes at `addr..addr + len`, when one segment holds them all.
    pub fn get(&self, addr: Addr, len: usize) -> Option<&[u8]> {
        let i = self.segments.partition_point(|(a, _)| *a <= addr);
        let (base, bytes) = self.segments.get(i.checked_sub(1)?)?;
        let off = usize::try_from(addr - base).ok()?;
        bytes.get(off..off.checked_add(len)?)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(serde_json::to_vec(&self.start).unwrap_or_default());
        out.push(b'\n');
        for (addr, bytes) in &self.segments {
            out.extend(addr.to_le_bytes());
            out.extend((bytes.len() as u32).to_le_bytes());
            out.extend(bytes);
        }
        out
    }

    pub fn from_bytes(data: &[u8]) -> Result<Image> {
        let bad = |why: &str| Error::Target(format!("not an awaitwhat memory image: {why}"));
        let rest = data
            .strip_prefix(MAGIC)
            .ok_or_else(|| bad("no header line"))?;
        if data.len() > MAX_IMAGE {
            return Err(bad("larger than 1 GiB"));
        }
        let end = (rest.iter().position(|&b| b == b'\n')).ok_or_else(|| bad("no start line"))?;
        let start: Start = serde_json::from_slice(&rest[..end])
            .map_err(|e| Error::Target(format!("memory image: its start line: {e}")))?;
        let mut at = &rest[end + 1..];
        let mut segments: Vec<(Addr, Vec<u8>)> = Vec::new();
        while !at.is_empty() {
            let (head, tail) = at
                .split_at_checked(12)
                .ok_or_else(|| bad("a cut segment"))?;
            let addr = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
            let len = u32::from_le_bytes(head[8..].try_into().unwrap_or_default()) as usize;
            let (bytes, tail) = tail
                .split_at_checked(len)
                .ok_or_else(|| bad("a segment longer than the file"))?;
            if segments
                .last()
                .is_some_and(|(a, b)| a.saturating_add(b.len() as u64) > addr)
            {
                return Err(bad("segments out of order"));
            }
            segments.push((addr, bytes.to_vec()));
            at = tail;
        }
        Ok(Image { start, segments })
    }
}

impl Memory for Image {
    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        let src = self.get(addr, buf.len()).ok_or(Error::Unreadable {
            addr,
            len: buf.len(),
        })?;
        buf.copy_from_slice(src);
        Ok(())
    }

    /// Held here already: a copy would only double it.
    fn worth_caching(&self) -> bool {
        false
    }

    fn mapped(&self, addr: Addr) -> Option<(Addr, &[u8])> {
        let i = self.segments.partition_point(|(a, _)| *a <= addr);
        let (base, bytes) = self.segments.get(i.checked_sub(1)?)?;
        (addr - base < bytes.len() as u64).then_some((*base, &bytes[..]))
    }
}

impl Image {
    /// The image of the ranges `reader` noted ([`Reader::record_reads`]), overlapping and
    /// adjacent ones merged, their bytes read again (from its cache).
    pub fn of_reads(reader: &Reader<'_>, start: Start) -> Image {
        let mut ranges = reader.touched();
        ranges.sort_unstable();
        let mut merged: Vec<(Addr, Addr)> = Vec::new();
        for (addr, len) in ranges {
            let end = addr.saturating_add(len as u64);
            match merged.last_mut() {
                Some((_, e)) if *e >= addr => *e = (*e).max(end),
                _ => merged.push((addr, end)),
            }
        }
        let segments = (merged.into_iter())
            .filter_map(|(a, e)| Some((a, reader.bytes(a, usize::try_from(e - a).ok()?).ok()?)))
            .collect();
        Image { start, segments }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_reads_back_what_was_read_and_nothing_else() {
        let fake =
            crate::target::fake::Image::new(0x1000, (0..=255u8).cycle().take(0x3000).collect());
        let reader = Reader::new(&fake);
        reader.record_reads();
        for (addr, len) in [(0x1000, 16), (0x1008, 16), (0x2ff0, 16), (0x3000, 16)] {
            reader.bytes(addr, len).expect("readable");
        }
        let start = Start {
            python: "3.12.1".into(),
            runtime: 0x1000,
            offsets: BTreeMap::new(),
            types: [0; 6],
            statics: Statics::default(),
        };
        let image = Image::from_bytes(&Image::of_reads(&reader, start).to_bytes()).expect("parses");
        assert_eq!(image.segments().len(), 2);
        let mut got = [0u8; 24];
        image.read(0x1000, &mut got).expect("the merged reads");
        assert_eq!(got[..], fake.data_mut()[..24]);
        assert!(image.read(0x1010, &mut [0u8; 16]).is_err());
        image.read(0x2ff0, &mut [0u8; 32]).expect("across a page");
        for cut in [0, 5, MAGIC.len() + 3] {
            assert!(Image::from_bytes(&image.to_bytes()[..cut]).is_err());
        }
    }
}
