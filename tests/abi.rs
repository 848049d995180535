//! Drive the built cdylib through its C ABI exactly as a debugger front end does: a
//! memory-read callback over a memory image (a core of a real stuck interpreter) and the
//! module list, then compare what it decodes with the scenario's in-process oracle.

mod common;

use awaitwhat::target::Memory;
use awaitwhat::target::core::CoreFile;
use std::ffi::{CStr, CString, c_char, c_int, c_void};

#[repr(C)]
struct Target {
    ctx: *mut c_void,
    read: Option<unsafe extern "C" fn(*mut c_void, u64, *mut u8, usize) -> c_int>,
}

#[repr(C)]
struct ModuleC {
    path: *const c_char,
    base: u64,
}

type Take = unsafe extern "C" fn(
    *const Target,
    *const ModuleC,
    usize,
    *const c_char,
    *mut *mut c_char,
) -> *mut c_void;
type RenderFn = unsafe extern "C" fn(*const c_void, *const c_char) -> *mut c_char;
type Free = unsafe extern "C" fn(*mut c_void);
type FreeStr = unsafe extern "C" fn(*mut c_char);

unsafe extern "C" fn read_core(ctx: *mut c_void, addr: u64, buf: *mut u8, len: usize) -> c_int {
    // SAFETY: ctx is the &CoreFile we passed; buf has room for len bytes.
    let core = unsafe { &*(ctx as *const CoreFile) };
    let buf = unsafe { std::slice::from_raw_parts_mut(buf, len) };
    if core.read(addr, buf).is_ok() { 0 } else { 1 }
}

unsafe extern "C" fn read_nothing(_: *mut c_void, _: u64, _: *mut u8, _: usize) -> c_int {
    1
}

struct Lib {
    _lib: libloading::Library,
    take: Take,
    render: RenderFn,
    free: Free,
    free_str: FreeStr,
}

fn lib() -> Lib {
    // SAFETY: loading our own cdylib, whose initialisers are Rust's.
    let lib = unsafe { libloading::Library::new(common::cdylib()) }.expect("load cdylib");
    // SAFETY: the symbols have exactly these signatures (include/awaitwhat.h).
    unsafe {
        Lib {
            take: *lib
                .get::<Take>(b"aw_snapshot_take")
                .expect("aw_snapshot_take"),
            render: *lib
                .get::<RenderFn>(b"aw_snapshot_render")
                .expect("aw_snapshot_render"),
            free: *lib
                .get::<Free>(b"aw_snapshot_free")
                .expect("aw_snapshot_free"),
            free_str: *lib
                .get::<FreeStr>(b"aw_string_free")
                .expect("aw_string_free"),
            _lib: lib,
        }
    }
}

/// Take and render through the ABI; Err(message) when the library reports an error.
fn take_render(
    lib: &Lib,
    target: &Target,
    modules: &[(CString, u64)],
    options: &str,
    format: &str,
) -> Result<String, String> {
    let mods: Vec<ModuleC> = modules
        .iter()
        .map(|(p, b)| ModuleC {
            path: p.as_ptr(),
            base: *b,
        })
        .collect();
    let opts = CString::new(options).unwrap();
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call.
    let snap = unsafe { (lib.take)(target, mods.as_ptr(), mods.len(), opts.as_ptr(), &mut err) };
    if snap.is_null() {
        assert!(!err.is_null(), "a failed take must say why");
        // SAFETY: err is a string from the library.
        let msg = unsafe { CStr::from_ptr(err) }
            .to_string_lossy()
            .into_owned();
        unsafe { (lib.free_str)(err) };
        return Err(msg);
    }
    let fmt = CString::new(format).unwrap();
    // SAFETY: snap is live until freed below.
    let out = unsafe { (lib.render)(snap, fmt.as_ptr()) };
    let text = if out.is_null() {
        None
    } else {
        Some(
            unsafe { CStr::from_ptr(out) }
                .to_string_lossy()
                .into_owned(),
        )
    };
    unsafe {
        (lib.free_str)(out);
        (lib.free)(snap);
    }
    text.ok_or_else(|| format!("render {format} returned NULL"))
}

fn modules_of(core: &CoreFile) -> Vec<(CString, u64)> {
    core.modules()
        .into_iter()
        .map(|m| (CString::new(m.path).unwrap(), m.base))
        .collect()
}

#[test]
fn abi_decodes_cores_of_every_version_like_the_oracle() {
    let lib = lib();
    let mut failures = Vec::new();
    for version in common::VERSIONS {
        let s = common::start(version, "gather_chain");
        let core_path = common::gcore(&s);
        let core = CoreFile::open(&core_path).expect("open core");
        let target = Target {
            ctx: &core as *const CoreFile as *mut c_void,
            read: Some(read_core),
        };
        for options in [
            r#"{"no_source": true}"#,
            r#"{"no_source": true, "no_dwarf": true}"#,
        ] {
            match take_render(&lib, &target, &modules_of(&core), options, "json") {
                Ok(json) => {
                    let got: serde_json::Value =
                        serde_json::from_str(&json).expect("our JSON parses");
                    for e in common::compare(&s.oracle, &got) {
                        failures.push(format!("{version} {options}: {e}"));
                    }
                }
                Err(e) => failures.push(format!("{version} {options}: {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn abi_reports_bad_input_without_crashing() {
    let lib = lib();
    let s = common::start("3.12.1", "gather_chain");
    let core = CoreFile::open(&common::gcore(&s)).expect("open core");
    let modules = modules_of(&core);
    let good = Target {
        ctx: &core as *const CoreFile as *mut c_void,
        read: Some(read_core),
    };
    // No modules: not a Python process.
    let e = take_render(&lib, &good, &[], "{}", "text").unwrap_err();
    assert!(e.contains("not a Python process"), "{e}");
    // Every read fails.
    let dead = Target {
        ctx: std::ptr::null_mut(),
        read: Some(read_nothing),
    };
    let e = take_render(&lib, &dead, &modules, "{}", "text").unwrap_err();
    assert!(e.contains("cannot read"), "{e}");
    // No callback at all.
    let none = Target {
        ctx: std::ptr::null_mut(),
        read: None,
    };
    assert!(take_render(&lib, &none, &modules, "{}", "text").is_err());
    // Bad options and an unknown format.
    let e = take_render(&lib, &good, &modules, r#"{"bogus": 1}"#, "text").unwrap_err();
    assert!(e.contains("bad options"), "{e}");
    let e = take_render(&lib, &good, &modules, "{}", "yaml").unwrap_err();
    assert!(e.contains("NULL"), "{e}");
    // NULL target.
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: a NULL target is a documented error, not UB.
    let snap = unsafe {
        (lib.take)(
            std::ptr::null(),
            std::ptr::null(),
            0,
            std::ptr::null(),
            &mut err,
        )
    };
    assert!(snap.is_null() && !err.is_null());
    unsafe { (lib.free_str)(err) };
}
