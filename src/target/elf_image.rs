//! The ELF header, program headers and notes of a 64-bit little-endian image given as
//! bytes: a core file (mapped), or a module's headers read from target memory, where a
//! file parser has no whole file to read. Every offset and length is checked.

/// `PT_LOAD` and `PT_NOTE`.
pub const PT_LOAD: u32 = 1;
pub const PT_NOTE: u32 = 4;
/// Size of one program header.
pub const PHDR_SIZE: usize = 56;

pub fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(o..o.checked_add(2)?)?.try_into().ok()?,
    ))
}
pub fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(o..o.checked_add(4)?)?.try_into().ok()?,
    ))
}
pub fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(o..o.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// What the ELF header says, for a 64-bit little-endian image.
pub struct Header {
    /// `e_type` (4: a core file).
    pub kind: u16,
    /// Where the program headers are, and how many.
    pub phoff: u64,
    pub phnum: u16,
}

/// The header of `b`; None when it is no 64-bit little-endian ELF image.
pub fn header(b: &[u8]) -> Option<Header> {
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        return None;
    }
    Some(Header {
        kind: u16_at(b, 16)?,
        phoff: u64_at(b, 32)?,
        phnum: u16_at(b, 56)?,
    })
}

/// One program header.
pub struct ProgramHeader {
    pub kind: u32,
    /// `PF_X` 1, `PF_W` 2, `PF_R` 4.
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

/// The program headers in `table` (consecutive entries; a partial last one is left out).
pub fn program_headers(table: &[u8]) -> impl Iterator<Item = ProgramHeader> + '_ {
    table.chunks_exact(PHDR_SIZE).filter_map(|ph| {
        Some(ProgramHeader {
            kind: u32_at(ph, 0)?,
            flags: u32_at(ph, 4)?,
            offset: u64_at(ph, 8)?,
            vaddr: u64_at(ph, 16)?,
            filesz: u64_at(ph, 32)?,
            memsz: u64_at(ph, 40)?,
        })
    })
}

/// One note: its type, name (with its NUL) and descriptor.
pub struct Note<'a> {
    pub kind: u32,
    pub name: &'a [u8],
    pub desc: &'a [u8],
}

/// The notes of a note segment, up to the first one that does not fit.
pub fn notes(seg: &[u8]) -> impl Iterator<Item = Note<'_>> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let namesz = u32_at(seg, at)? as usize;
        let descsz = u32_at(seg, at + 4)? as usize;
        let kind = u32_at(seg, at + 8)?;
        let name_at = at + 12;
        let desc_at = name_at.checked_add(namesz.div_ceil(4) * 4)?;
        let end = desc_at.checked_add(descsz.div_ceil(4) * 4)?;
        if end > seg.len() {
            return None;
        }
        at = end;
        Some(Note {
            kind,
            name: &seg[name_at..name_at + namesz],
            desc: &seg[desc_at..desc_at + descsz],
        })
    })
}
