//! The C ABI the debugger front ends call (header: `include/awaitwhat.h`, made by cbindgen).
//!
//! Rules: no panic crosses this boundary (every entry point catches unwinds and turns them
//! into an error string); every string returned is freed with `aw_string_free`.

#![allow(non_camel_case_types)]

use crate::discover::Options;
use crate::error::{Error, Result};
use crate::model::Snapshot;
use crate::target::{Addr, Memory, Module};
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

/// Reads target memory: copy `len` bytes at `addr` into `buf`; return 0, or nonzero if unreadable.
pub type aw_read_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, addr: u64, buf: *mut u8, len: usize) -> c_int>;

/// The debugger's view of the target: an opaque context and a memory-read callback.
#[repr(C)]
pub struct aw_target {
    pub ctx: *mut c_void,
    pub read: aw_read_fn,
}

/// A file mapped into the target: its path and the address its file offset 0 is mapped at.
#[repr(C)]
pub struct aw_module {
    pub path: *const c_char,
    pub base: u64,
}

/// A decoded snapshot; render it with `aw_snapshot_render`, free it with `aw_snapshot_free`.
pub struct aw_snapshot {
    inner: Snapshot,
}

struct Callback<'a>(&'a aw_target);

impl Memory for Callback<'_> {
    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        let unreadable = Error::Unreadable {
            addr,
            len: buf.len(),
        };
        let Some(read) = self.0.read else {
            return Err(unreadable);
        };
        // SAFETY: the front end promised `read` writes at most `len` bytes into `buf`.
        let rc = unsafe { read(self.0.ctx, addr, buf.as_mut_ptr(), buf.len()) };
        if rc == 0 { Ok(()) } else { Err(unreadable) }
    }
}

fn to_c(s: String) -> *mut c_char {
    CString::new(s.replace('\0', "\\0")).map_or(std::ptr::null_mut(), CString::into_raw)
}

/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn from_c(p: *const c_char) -> Option<String> {
    // SAFETY: as documented on the function.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Calls into the library now running; while any is, a panic is recorded, not printed.
static GUARDED: AtomicUsize = AtomicUsize::new(0);
/// The last panic's message and place, for the one line that reports it.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Runs `f` so that a panic (a bug of ours) comes back as one line of error naming what
/// panicked and where, and the debugger the library is loaded in goes on: a panic must not
/// cross the C ABI, and Rust's own report (several lines on stderr) would land in the
/// middle of the user's session.
fn guard<T>(
    what: &str,
    f: impl FnOnce() -> std::result::Result<T, String>,
) -> std::result::Result<T, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.load(Ordering::SeqCst) == 0 {
                return previous(info);
            }
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            let place = info
                .location()
                .map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
            let line = format!("{}{place}", message.lines().next().unwrap_or(""));
            *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(line);
        }));
    });
    GUARDED.fetch_add(1, Ordering::SeqCst);
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.fetch_sub(1, Ordering::SeqCst);
    result.unwrap_or_else(|_| {
        let why = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
        Err(format!(
            "internal error: the {what} panicked ({}); please report this with the command and, \
             for a core, its image (`awaitwhat image --core CORE -o FILE`)",
            why.as_deref().unwrap_or("no message")
        ))
    })
}

/// `AWAITWHAT_TEST_PANIC=once`: the first decode in this process panics, so that a test
/// can see the panic reported in one line and the debugger go on. Nothing else reads it.
fn test_panic() {
    static FIRED: AtomicBool = AtomicBool::new(false);
    if std::env::var_os("AWAITWHAT_TEST_PANIC").is_some_and(|v| v == "once")
        && !FIRED.swap(true, Ordering::SeqCst)
    {
        panic!("AWAITWHAT_TEST_PANIC=once asked for this panic");
    }
}

fn take(
    target: *const aw_target,
    modules: *const aw_module,
    n_modules: usize,
    options_json: *const c_char,
) -> std::result::Result<Snapshot, String> {
    if target.is_null() {
        return Err("no target given".into());
    }
    test_panic();
    // SAFETY: the caller passes a valid aw_target for the duration of the call.
    let target = unsafe { &*target };
    let mut list = Vec::with_capacity(n_modules.min(65536));
    if !modules.is_null() {
        for i in 0..n_modules.min(65536) {
            // SAFETY: the caller passes `n_modules` valid entries.
            let m = unsafe { &*modules.add(i) };
            // SAFETY: paths are NUL-terminated strings owned by the caller.
            if let Some(path) = unsafe { from_c(m.path) } {
                list.push(Module { path, base: m.base });
            }
        }
    }
    // SAFETY: NULL or a NUL-terminated string.
    let opts: Options = match unsafe { from_c(options_json) } {
        Some(text) if !text.trim().is_empty() => {
            serde_json::from_str(&text).map_err(|e| format!("bad options: {e}"))?
        }
        _ => Options::default(),
    };
    crate::snapshot::take(&Callback(target), &list, &opts).map_err(|e| e.to_string())
}

/// Decode the target. On failure returns NULL and, if `error` is not NULL, stores a
/// message there (free it with `aw_string_free`).
///
/// # Safety
/// `target` must be valid; `modules` must point to `n_modules` entries (or be NULL);
/// `options_json` is NULL or a JSON object like `{"no_dwarf": true}`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aw_snapshot_take(
    target: *const aw_target,
    modules: *const aw_module,
    n_modules: usize,
    options_json: *const c_char,
    error: *mut *mut c_char,
) -> *mut aw_snapshot {
    let result = guard("decoder", || take(target, modules, n_modules, options_json));
    match result {
        Ok(inner) => Box::into_raw(Box::new(aw_snapshot { inner })),
        Err(msg) => {
            if !error.is_null() {
                // SAFETY: the caller passes a writable pointer or NULL.
                unsafe { *error = to_c(msg) };
            }
            std::ptr::null_mut()
        }
    }
}

/// Render a snapshot as `text` or `json`. Returns NULL for an unknown format or NULL snapshot.
///
/// # Safety
/// `snapshot` comes from `aw_snapshot_take`; `format` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aw_snapshot_render(
    snapshot: *const aw_snapshot,
    format: *const c_char,
) -> *mut c_char {
    if snapshot.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: as documented.
    let format = unsafe { from_c(format) }.unwrap_or_else(|| "text".into());
    // SAFETY: as documented.
    let s = unsafe { &(*snapshot).inner };
    guard("renderer", || {
        crate::render::render(s, &format).map_err(|e| e.to_string())
    })
    .map_or(std::ptr::null_mut(), to_c)
}

/// Render what `view_json` shows of a snapshot (NULL or `{}`: all of it), e.g.
/// `{"task": "worker-.*", "waiting_on": "lock", "contains": "fetch", "depth": 3}`. On
/// failure (an unknown format, a filter that is not understood or matches no task) returns
/// NULL and, if `error` is not NULL, stores a message there (free it with `aw_string_free`).
///
/// # Safety
/// `snapshot` comes from `aw_snapshot_take`; `format` and `view_json` are NUL-terminated
/// strings (`view_json` may be NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aw_snapshot_render_view(
    snapshot: *const aw_snapshot,
    format: *const c_char,
    view_json: *const c_char,
    error: *mut *mut c_char,
) -> *mut c_char {
    if snapshot.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: as documented.
    let (format, view) = unsafe { (from_c(format), from_c(view_json)) };
    let format = format.unwrap_or_else(|| "text".into());
    // SAFETY: as documented.
    let s = unsafe { &(*snapshot).inner };
    let result = guard("renderer", || {
        let view: crate::render::view::View = match view {
            Some(text) if !text.trim().is_empty() => {
                serde_json::from_str(&text).map_err(|e| format!("bad view: {e}"))?
            }
            _ => Default::default(),
        };
        crate::render::render_view(s, &format, &view)
    });
    match result {
        Ok(text) => to_c(text),
        Err(msg) => {
            if !error.is_null() {
                // SAFETY: the caller passes a writable pointer or NULL.
                unsafe { *error = to_c(msg) };
            }
            std::ptr::null_mut()
        }
    }
}

/// # Safety
/// `snapshot` comes from `aw_snapshot_take` (or is NULL) and is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aw_snapshot_free(snapshot: *mut aw_snapshot) {
    if !snapshot.is_null() {
        // SAFETY: as documented.
        drop(unsafe { Box::from_raw(snapshot) });
    }
}

/// # Safety
/// `s` comes from this library (or is NULL) and is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aw_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: as documented.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// The library version, a static string.
#[unsafe(no_mangle)]
pub extern "C" fn aw_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
