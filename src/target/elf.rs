//! ELF files of the target's modules, read from disk: symbols, sections, build ids,
//! separate debug files. The debugger only tells us paths and load addresses.

use crate::error::{Error, Result};
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol};
use std::path::{Path, PathBuf};

/// Largest file we agree to load (debug files of libpython are ~30 MB).
const MAX_FILE: u64 = 1 << 30;

/// The symbols the decoder looks up. Only these are kept: a statically linked interpreter
/// defines tens of thousands, and copying every name into a map was a tenth of a
/// 1,000-task decode.
pub const SYMBOLS: &[&str] = &[
    "_PyRuntime",
    // 3.6, which has no `_PyRuntime`: the statics of `pystate.c` and of `_asyncio` that
    // hold the interpreters and the tasks, named only by the symbol table.
    "interp_head",
    "all_tasks",
    "current_tasks",
    "generations",
    "collecting",
    "Py_Version",
    "_PySet_Dummy",
    "PyCoro_Type",
    "PyGen_Type",
    "PyAsyncGen_Type",
    "PyCode_Type",
    "PyCell_Type",
];

/// One ELF file's symbols and sections, kept mapped for DWARF parsing (a debug file of
/// libpython is tens of megabytes, of which a decode touches a few).
pub struct ElfFile {
    pub path: PathBuf,
    pub data: memmap2::Mmap,
    /// The defined [`SYMBOLS`], by index into it.
    symbols: [Option<u64>; SYMBOLS.len()],
    /// Virtual address of the segment that maps file offset 0 (usually 0 for PIE/DSOs).
    pub first_vaddr: u64,
    pub build_id: Option<Vec<u8>>,
    debuglink: Option<String>,
}

impl ElfFile {
    pub fn open(path: &Path) -> Result<ElfFile> {
        let err = |what: String| Error::Target(format!("{}: {what}", path.display()));
        let len = std::fs::metadata(path)
            .map_err(|e| err(e.to_string()))?
            .len();
        if len > MAX_FILE {
            return Err(err(format!("file of {len} bytes is too large to read")));
        }
        let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
        // SAFETY: the map is read-only and private to us; like a debugger, we rely on the
        // system's libraries not being rewritten in place while they are mapped.
        let data = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| err(e.to_string()))?;
        let file =
            object::File::parse(&*data).map_err(|e| err(format!("not an ELF file ({e})")))?;
        let mut symbols = [None; SYMBOLS.len()];
        for sym in file.dynamic_symbols().chain(file.symbols()) {
            if sym.is_definition()
                && let Ok(name) = sym.name_bytes()
                && let Some(i) = SYMBOLS.iter().position(|s| s.as_bytes() == name)
            {
                symbols[i].get_or_insert(sym.address());
            }
        }
        let first_vaddr = file
            .segments()
            .filter(|s| s.file_range().0 == 0)
            .map(|s| s.address())
            .min()
            .unwrap_or(0);
        let build_id = file.build_id().ok().flatten().map(<[u8]>::to_vec);
        let debuglink = file
            .gnu_debuglink()
            .ok()
            .flatten()
            .map(|(name, _)| String::from_utf8_lossy(name).into_owned());
        drop(file);
        Ok(ElfFile {
            path: path.to_path_buf(),
            data,
            symbols,
            first_vaddr,
            build_id,
            debuglink,
        })
    }

    pub fn parsed(&self) -> Result<object::File<'_>> {
        object::File::parse(&*self.data)
            .map_err(|e| Error::Target(format!("{}: {e}", self.path.display())))
    }

    /// Link-time address of a defined symbol, one of [`SYMBOLS`] (add the module's bias
    /// for the runtime address).
    pub fn symbol(&self, name: &str) -> Option<u64> {
        let i = SYMBOLS.iter().position(|&s| s == name);
        debug_assert!(i.is_some(), "{name} is not in elf::SYMBOLS");
        self.symbols[i?]
    }

    /// Link-time address and size of a section.
    pub fn section(&self, name: &str) -> Option<(u64, u64)> {
        let file = self.parsed().ok()?;
        let s = file.section_by_name(name)?;
        Some((s.address(), s.size()))
    }

    pub fn has_dwarf(&self) -> bool {
        self.section(".debug_info")
            .is_some_and(|(_, size)| size > 0)
    }

    /// Where the DWARF for this file lives: the file itself, or a separate debug file found
    /// by build id or `.gnu_debuglink`, in the places gdb looks (under `sysroot`, if the
    /// target's files live in another root, e.g. a chroot).
    pub fn debug_file(&self, sysroot: &Path) -> Option<PathBuf> {
        if self.has_dwarf() {
            return Some(self.path.clone());
        }
        let mut candidates = Vec::new();
        if let Some(id) = &self.build_id
            && id.len() > 1
        {
            let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
            candidates.push(sysroot.join(format!(
                "usr/lib/debug/.build-id/{}/{}.debug",
                &hex[..2],
                &hex[2..]
            )));
        }
        if let (Some(link), Some(dir)) = (&self.debuglink, self.path.parent()) {
            candidates.push(dir.join(link));
            candidates.push(dir.join(".debug").join(link));
            let rel = dir.strip_prefix(sysroot).unwrap_or(dir);
            let rel = rel.strip_prefix("/").unwrap_or(rel);
            candidates.push(sysroot.join("usr/lib/debug").join(rel).join(link));
        }
        candidates.into_iter().find(|p| p.is_file())
    }
}
