//! Step 1: from the module list, find the interpreter (version, `_PyRuntime` or 3.6's
//! `interp_head`) and the layout to read it with. Nothing here runs code in the target.

use crate::cpython::era::Era;
use crate::cpython::{KnownTypes, Statics};
use crate::error::{Error, Result};
use crate::layout::{self, Layout, Offsets, Source, Version};
use crate::target::core::CoreFile;
use crate::target::elf::ElfFile;
use crate::target::elf_image;
use crate::target::{Addr, Module, Reader};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

/// Options the front ends pass (as JSON over the C ABI).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// Ignore DWARF even when present: use the embedded tables (tests the symbol-free path).
    pub no_dwarf: bool,
    /// Do not read source files to show source lines.
    pub no_source: bool,
    /// The target is a live process on this machine: "now" is this machine's monotonic clock.
    pub live: bool,
    /// Where the target's files are on this machine, when not at `/` (a chroot, a copied
    /// root file system for a core): paths the target names are looked up under it.
    pub sysroot: String,
    /// The core file the debugger has open, if any: the files it says were mapped complete
    /// the debugger's module list (lldb lists only the modules its loader resolved).
    pub core_file: String,
    /// Read every frame's local variables (`--locals`).
    pub locals: bool,
    /// The tasks to read in depth (`awaitwhat task`): a name, an address or a pattern, as
    /// `--task` takes it. Their frames' locals are read too.
    pub detail: Option<String>,
    /// Read the event loops' own state (`awaitwhat loops`): ready callbacks, timers, the
    /// selector's file descriptors.
    pub loops: bool,
    /// How far the decode goes into what the target can make large: the user's `--limit`
    /// text, `depth=5000,string=1000000`, over the defaults.
    #[serde(deserialize_with = "crate::limits::from_text")]
    pub limits: crate::limits::Limits,
}

impl Options {
    /// Everything any command reads (the loops, every frame's locals, every task in depth),
    /// no source files: what an image records (`awaitwhat image`), so it serves them all,
    /// and what the fuzzer decodes.
    pub fn everything() -> Options {
        Options {
            no_source: true,
            locals: true,
            loops: true,
            detail: Some(".*".into()),
            ..Default::default()
        }
    }

    pub fn sysroot(&self) -> &std::path::Path {
        std::path::Path::new(if self.sysroot.is_empty() {
            "/"
        } else {
            &self.sysroot
        })
    }

    /// The modules with paths readable here.
    pub fn host_modules(&self, modules: &[Module]) -> Vec<Module> {
        if self.sysroot.is_empty() || self.sysroot == "/" {
            return modules.to_vec();
        }
        let root = self.sysroot.trim_end_matches('/');
        modules
            .iter()
            .map(|m| {
                let path = if m.path.starts_with(&format!("{root}/")) {
                    m.path.clone()
                } else {
                    format!("{root}{}", m.path)
                };
                Module { path, base: m.base }
            })
            .collect()
    }
}

/// The debugger's modules (paths already on this machine), completed from the core file's
/// list of mapped files (NT_FILE) when the front end names one: the files found here.
pub fn with_core_modules(mut out: Vec<Module>, opts: &Options) -> (Vec<Module>, Option<String>) {
    if opts.core_file.is_empty() {
        return (out, None);
    }
    match CoreFile::open(std::path::Path::new(&opts.core_file)) {
        Ok(core) => {
            for m in opts.host_modules(&core.modules()) {
                let known = out.iter().any(|o| o.path == m.path || o.base == m.base);
                if !known && std::path::Path::new(&m.path).is_file() {
                    out.push(m);
                }
            }
            (out, None)
        }
        Err(e) => (
            out,
            Some(format!(
                "core file {}: {e}; only the debugger's module list is used",
                opts.core_file
            )),
        ),
    }
}

/// A loaded module: its ELF file (shared across snapshots) and load bias.
pub struct Loaded {
    pub module: Module,
    pub elf: Arc<ElfFile>,
    pub bias: u64,
}

impl Loaded {
    pub fn symbol(&self, name: &str) -> Option<Addr> {
        self.elf.symbol(name).map(|a| a.wrapping_add(self.bias))
    }
}

/// What discovery found.
pub struct Found {
    pub python: Loaded,
    pub asyncio: Option<Loaded>,
    pub runtime: Addr,
    pub layout: Layout,
    pub types: KnownTypes,
    pub warnings: Vec<String>,
}

/// ELF files and DWARF layouts stay cached while the library is loaded (a debugger
/// session runs many commands against the same binaries).
type Cache<T> = OnceLock<Mutex<HashMap<String, Arc<T>>>>;
static ELF_FILES: Cache<ElfFile> = OnceLock::new();
static DWARF_LAYOUTS: Cache<BTreeMap<String, u64>> = OnceLock::new();

fn cached<T>(
    cache: &'static Cache<T>,
    key: String,
    make: impl FnOnce() -> Result<T>,
) -> Result<Arc<T>> {
    let poisoned =
        || Error::Target("awaitwhat's file cache is poisoned by an earlier failure".into());
    let map = cache.get_or_init(Default::default);
    if let Some(v) = map.lock().map_err(|_| poisoned())?.get(&key) {
        return Ok(v.clone());
    }
    let v = Arc::new(make()?);
    map.lock().map_err(|_| poisoned())?.insert(key, v.clone());
    Ok(v)
}

fn open_elf(path: &str) -> Result<Arc<ElfFile>> {
    let key = format!(
        "{path}:{:?}",
        std::fs::metadata(path).and_then(|m| m.modified()).ok()
    );
    cached(&ELF_FILES, key, || {
        ElfFile::open(std::path::Path::new(path))
    })
}

fn load(module: &Module) -> Result<Loaded> {
    let elf = open_elf(&module.path)?;
    let bias = module.base.wrapping_sub(elf.first_vaddr);
    Ok(Loaded {
        module: module.clone(),
        elf,
        bias,
    })
}

/// Names that can hold the interpreter: `libpython3.X.so...` or a `python3...` executable.
fn may_hold_runtime(m: &Module) -> bool {
    let n = m.file_name();
    n.starts_with("libpython") || n.starts_with("python")
}

/// The files whose read-only data may be missing from a core and is worth reading from
/// disk: the interpreter, `_asyncio` and uvloop's `loop` module (type names; see
/// `target::files`).
pub fn fallback_files(modules: &[Module]) -> Vec<(Arc<ElfFile>, u64)> {
    let uvloop = |m: &Module| m.path.contains("/uvloop/") && m.file_name().starts_with("loop.");
    modules
        .iter()
        .filter(|m| may_hold_runtime(m) || m.file_name().starts_with("_asyncio") || uvloop(m))
        .filter_map(|m| load(m).ok())
        .map(|l| (l.elf, l.bias))
        .collect()
}

/// Open the interpreter's and `_asyncio`'s files and extract their DWARF layouts into the
/// process-wide caches, reading no target memory: a live target is then paused only for
/// the reads (sid's DWARF alone takes a quarter of a second). Failures are left for
/// `discover` to report.
pub fn prepare(modules: &[Module], opts: &Options) {
    let wanted = |m: &&Module| may_hold_runtime(m) || m.file_name().starts_with("_asyncio");
    for m in opts.host_modules(modules).iter().filter(wanted) {
        if let Ok(l) = load(m)
            && !opts.no_dwarf
        {
            let _ = dwarf_fields(&l.elf, opts.sysroot());
        }
    }
}

/// `mem` reads the target (with file fallback); `raw` reads only what the target itself
/// holds, to compare build ids honestly.
pub fn discover(
    mem: &Reader<'_>,
    raw: &Reader<'_>,
    modules: &[Module],
    opts: &Options,
) -> Result<Found> {
    let mut warnings = Vec::new();
    let mut python = None;
    for m in modules.iter().filter(|m| may_hold_runtime(m)) {
        match load(m) {
            Ok(l) if root_symbol(&l).is_some() => {
                python = Some(l);
                break;
            }
            Ok(_) => {}
            Err(e) => warnings.push(format!("cannot read {}: {e}", m.path)),
        }
    }
    if python.is_none() {
        // An interpreter too old to have _PyRuntime still names its version.
        let named = modules
            .iter()
            .filter(|m| may_hold_runtime(m))
            .find_map(|m| version_from_name(m.file_name()));
        match named {
            Some(v) if (v.major, v.minor) < (3, 6) => {
                return Err(Error::Unsupported {
                    version: v.minor_string(),
                    supported: layout::table::supported(),
                });
            }
            Some(v) if (v.major, v.minor) == (3, 6) => {
                return Err(Error::Target(format!(
                    "Python 3.6 keeps its interpreters in the static `interp_head`, which only a symbol table names, and {} has none: install its debug symbols (e.g. python3-debuginfo) or use an unstripped build",
                    modules
                        .iter()
                        .filter(|m| may_hold_runtime(m))
                        .map(|m| m.file_name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            _ => {}
        }
    }
    let python = python.ok_or_else(|| {
        Error::Target(format!(
            "not a Python process: none of its {} loaded modules defines _PyRuntime (looked for libpython3.X or python3.X{}){}",
            modules.len(),
            if warnings.is_empty() { String::new() } else { format!("; {}", warnings.join("; ")) },
            if opts.live { "" } else { "; for a core file, check that the executable and libraries here are the ones it was made with" }
        ))
    })?;
    check_matches(raw, &python, &mut warnings)?;
    let runtime = root_symbol(&python).unwrap_or(0);
    let (version, exact) = detect_version(mem, &python)?;
    if !(version.major == 3 && (6..=15).contains(&version.minor))
        || Era::of(version).runtime_struct != python.symbol("_PyRuntime").is_some()
    {
        let shown = if exact {
            version.to_string()
        } else {
            version.minor_string()
        };
        return Err(Error::Unsupported {
            version: shown,
            supported: layout::table::supported(),
        });
    }
    let asyncio = modules
        .iter()
        .find(|m| m.file_name().starts_with("_asyncio"))
        .map(load)
        .transpose()?;
    if let Some(a) = &asyncio {
        check_matches(raw, a, &mut warnings)?;
    }
    let mut layout = choose_layout(version, &python, asyncio.as_ref(), opts, &mut warnings)?;
    if Era::of(version).debug_offsets {
        apply_debug_tables(
            mem,
            runtime,
            &python,
            asyncio.as_ref(),
            &mut layout,
            &mut warnings,
        )?;
    }
    let sym = |name: &str| python.symbol(name).unwrap_or(0);
    let dummy = sym("_PySet_Dummy");
    let types = KnownTypes {
        coroutine: sym("PyCoro_Type"),
        generator: sym("PyGen_Type"),
        async_generator: sym("PyAsyncGen_Type"),
        code: sym("PyCode_Type"),
        cell: sym("PyCell_Type"),
        set_dummy: if dummy != 0 {
            mem.ptr(dummy).unwrap_or(0)
        } else {
            0
        },
        classes: Vec::new(),
        statics: Statics {
            all_tasks: asyncio
                .as_ref()
                .and_then(|a| a.symbol("all_tasks"))
                .unwrap_or(0),
            current_tasks: (asyncio.as_ref())
                .and_then(|a| a.symbol("current_tasks"))
                .unwrap_or(0),
            generations: sym("generations"),
            collecting: sym("collecting"),
        },
    };
    Ok(Found {
        python,
        asyncio,
        runtime,
        layout,
        types,
        warnings,
    })
}

/// Where the interpreters are listed from: `_PyRuntime` (3.7+), or 3.6's static
/// `interp_head` (see [`Era::runtime_struct`]).
fn root_symbol(python: &Loaded) -> Option<Addr> {
    python
        .symbol("_PyRuntime")
        .or_else(|| python.symbol("interp_head"))
}

/// Version from `Py_Version` (3.11+), else from the file name (`libpython3.9.so`);
/// the micro version of the latter is refined later from `sys.version` (`exact` is false).
fn detect_version(mem: &Reader<'_>, python: &Loaded) -> Result<(Version, bool)> {
    if let Some(at) = python.symbol("Py_Version") {
        let hex = mem.u32(at)? as u64;
        let v = Version::from_hex(hex);
        if v.major == 3 {
            return Ok((v, true));
        }
        // A damaged `Py_Version` (a corrupted core) leaves the file's name to say it; the
        // micro version is read from `sys.version` later.
        let name = python.module.file_name();
        return version_from_name(name)
            .map(|v| (v, false))
            .ok_or(Error::Implausible {
                what: "Py_Version",
                addr: at,
                value: hex,
            });
    }
    let name = python.module.file_name();
    version_from_name(name).map(|v| (v, false)).ok_or_else(|| {
        Error::Target(format!("cannot tell the Python version of {name}: no Py_Version symbol and no version in its name"))
    })
}

/// A debug interpreter's file (`Py_DEBUG`): its ABI flags after the version hold a `d`
/// (`python3.14d`, `libpython3.15d.so.1.0`, `libpython3.6dm.so`).
pub fn debug_build(name: &str) -> bool {
    let Some(rest) = (name.strip_prefix("libpython")).or_else(|| name.strip_prefix("python"))
    else {
        return false;
    };
    let flags = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    flags.split('.').next().is_some_and(|f| f.contains('d'))
}

/// `libpython3.9.so.1.0`, `libpython3.6m.so`, `python3.12` → the version they name.
fn version_from_name(name: &str) -> Option<Version> {
    let digits = name
        .strip_prefix("libpython")
        .or_else(|| name.strip_prefix("python"))?;
    Version::parse(digits).filter(|v| v.major >= 2)
}

/// 3.13+: take what the running interpreter publishes about its own layout. Without DWARF,
/// that makes the layout the interpreter's own ("debug-offsets"), the table filling in
/// what it does not cover.
fn apply_debug_tables(
    mem: &Reader<'_>,
    runtime: Addr,
    python: &Loaded,
    asyncio: Option<&Loaded>,
    layout: &mut Layout,
    warnings: &mut Vec<String>,
) -> Result<()> {
    use crate::layout::debug_offsets::{ASYNCIO, RUNTIME, apply, check_runtime};
    let v = layout.version;
    let hex = (v.major as u64) << 24 | (v.minor as u64) << 16 | (v.micro as u64) << 8;
    if let Err(why) = check_runtime(mem, runtime, hex) {
        warnings.push(format!(
            "{why}: the layout is not checked against the interpreter's own"
        ));
        return Ok(());
    }
    let source = layout.source.name();
    let mut covered = 0;
    let runtime_table = apply(mem, runtime, RUNTIME, &mut layout.off, source)?;
    covered += runtime_table.covered;
    warnings.extend(runtime_table.warnings);
    // `.AsyncioDebug` lives in `_asyncio` (3.14) or, when it is built in, the executable (3.15).
    let section = [asyncio, Some(python)].into_iter().flatten().find_map(|m| {
        m.elf
            .section(".AsyncioDebug")
            .map(|(addr, _)| addr.wrapping_add(m.bias))
    });
    if let Some(at) = section {
        let asyncio_table = apply(mem, at, ASYNCIO, &mut layout.off, source)?;
        covered += asyncio_table.covered;
        warnings.extend(asyncio_table.warnings);
    }
    if covered > 0 && layout.source == Source::Table {
        layout.source = Source::DebugOffsets;
    }
    Ok(())
}

/// Refuse a core or process whose module in memory is not the file on disk (build ids differ).
fn check_matches(mem: &Reader<'_>, m: &Loaded, warnings: &mut Vec<String>) -> Result<()> {
    let Some(disk) = &m.elf.build_id else {
        return Ok(());
    };
    match memory_build_id(mem, m) {
        Some(id) if &id == disk => Ok(()),
        Some(id) => Err(Error::Target(format!(
            "the target does not match the files on disk: {} in memory has build id {}, the file has {} (use the executable and libraries the core was made with)",
            m.module.path,
            hexs(&id),
            hexs(disk)
        ))),
        None => {
            warnings.push(format!(
                "cannot verify that {} matches the target (its build id is not in memory)",
                m.module.file_name()
            ));
            Ok(())
        }
    }
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Read the GNU build id from the module's program headers and notes in target memory.
fn memory_build_id(mem: &Reader<'_>, m: &Loaded) -> Option<Vec<u8>> {
    let base = m.module.base;
    let header = elf_image::header(&mem.bytes(base, 64).ok()?)?;
    let phnum = header.phnum.min(64) as usize;
    let table = mem
        .bytes(
            base.wrapping_add(header.phoff),
            phnum * elf_image::PHDR_SIZE,
        )
        .ok()?;
    for ph in elf_image::program_headers(&table).filter(|ph| ph.kind == elf_image::PT_NOTE) {
        let size = ph.filesz.min(4096) as usize;
        let notes = mem.bytes(m.bias.wrapping_add(ph.vaddr), size).ok()?;
        let gnu = elf_image::notes(&notes).find(|n| n.kind == 3 && n.name.starts_with(b"GNU"));
        if let Some(note) = gnu {
            return Some(note.desc.to_vec());
        }
    }
    None
}

/// DWARF of libpython and `_asyncio` when present (and not disabled), else the embedded table.
fn choose_layout(
    version: Version,
    python: &Loaded,
    asyncio: Option<&Loaded>,
    opts: &Options,
    warnings: &mut Vec<String>,
) -> Result<Layout> {
    let table = layout::table::for_version(version, debug_build(python.module.file_name()));
    if !opts.no_dwarf {
        let mut map = BTreeMap::new();
        let mut ok = false;
        for m in [Some(python), asyncio].into_iter().flatten() {
            match dwarf_fields(&m.elf, opts.sysroot()) {
                Ok(Some(fields)) => {
                    ok |= std::ptr::eq(m, python);
                    map.extend(fields.iter().map(|(k, v)| (k.clone(), *v)));
                }
                Ok(None) => {}
                Err(e) => warnings.push(format!(
                    "ignoring the DWARF of {}: {e}",
                    m.module.file_name()
                )),
            }
        }
        if ok {
            let (mut off, _) = Offsets::from_map(&map);
            if let Some((_, t)) = &table {
                fill_missing(&mut off, t);
            }
            return Ok(Layout {
                version,
                source: Source::Dwarf,
                off,
            });
        }
    }
    match table {
        Some((_, off)) => Ok(Layout {
            version,
            source: Source::Table,
            off,
        }),
        None => Err(Error::Unsupported {
            version: version.to_string(),
            supported: layout::table::supported(),
        }),
    }
}

/// Fields the DWARF lacked (e.g. a stripped `_asyncio`) come from the table.
fn fill_missing(off: &mut Offsets, table: &Offsets) {
    let have = off.to_map();
    let mut merged = table.to_map();
    merged.extend(have);
    *off = Offsets::from_map(&merged).0;
}

fn dwarf_fields(
    elf: &ElfFile,
    sysroot: &std::path::Path,
) -> Result<Option<Arc<BTreeMap<String, u64>>>> {
    let Some(path) = elf.debug_file(sysroot) else {
        return Ok(None);
    };
    let key = format!("{}:{:?}", path.display(), elf.build_id);
    let build_id = elf.build_id.as_deref().unwrap_or_default();
    cached(&DWARF_LAYOUTS, key, || {
        if let Some(saved) = layout::saved::load(build_id) {
            return Ok(saved);
        }
        let fields = if path == elf.path {
            layout::dwarf::extract(elf, layout::FIELDS)
        } else {
            layout::dwarf::extract(&ElfFile::open(&path)?, layout::FIELDS)
        }?;
        layout::saved::store(build_id, &fields);
        Ok(fields)
    })
    .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_version_and_debug_build() {
        let cases = [
            ("libpython3.9.so.1.0", (3, 9), false),
            ("libpython3.6m.so.1.0", (3, 6), false),
            ("libpython3.6dm.so.1.0", (3, 6), true),
            ("python3.14d", (3, 14), true),
            ("libpython3.15d.so.1.0", (3, 15), true),
            ("python3.12", (3, 12), false),
        ];
        for (name, (major, minor), debug) in cases {
            let v = version_from_name(name).expect(name);
            assert_eq!((v.major, v.minor), (major, minor), "{name}");
            assert_eq!(debug_build(name), debug, "{name}");
        }
        assert!(!debug_build("libc.so.6"));
    }
}
