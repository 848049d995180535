//! uvloop's `TimerHandle`: a Cython extension type whose fields are C struct members, not
//! attributes, so the deadline is read at the struct offsets uvloop declares
//! (`uvloop/cbhandles.pxd`: vtable pointer, then `callback`, `args`, `_cancelled`, `timer`,
//! `loop`, `context`, `_debug_info`, `__weakref__`, `_when`). Checked against uvloop
//! 0.21 and 0.23; every read is verified (size, types, flag values), and anything else is
//! reported as an unrecognised layout rather than guessed.

use crate::cpython::Py;
use crate::error::Result;
use crate::target::Addr;

/// `tp_name` of uvloop's timer handle type.
pub const TIMER_TYPE: &str = "uvloop.loop.TimerHandle";
/// `tp_basicsize` of that type for the layout below.
const BASICSIZE: u64 = 96;
/// `args` (the callback's arguments: a tuple, `None` once cleared).
const ARGS: u64 = 32;
/// `_cancelled` (a C `bint`).
const CANCELLED: u64 = 40;
/// `_when` (a float: the loop time it fires at), the last member.
const WHEN: u64 = 88;

/// The deadline (loop time) and cancelled flag of a uvloop `TimerHandle`, or why they
/// cannot be read.
pub fn timer(py: &Py<'_>, handle: Addr) -> Result<std::result::Result<(f64, bool), String>> {
    let tp = py.type_of(handle)?;
    let size = py.type_basicsize(tp)?;
    if size != BASICSIZE {
        return Ok(Err(format!(
            "{TIMER_TYPE} is {size} bytes, not the {BASICSIZE} of the uvloop 0.21-0.23 layout; \
             its deadline is not read"
        )));
    }
    let args = py.mem.ptr(handle + ARGS)?;
    let args_ok = py.is_none(args)? || &*py.obj_type_name(args)? == "tuple";
    let cancelled = py.mem.u32(handle + CANCELLED)?;
    let when = py.float(py.mem.ptr(handle + WHEN)?);
    match (args_ok, cancelled, when) {
        (true, 0 | 1, Ok(when)) => Ok(Ok((when, cancelled == 1))),
        _ => Ok(Err(format!(
            "{TIMER_TYPE} does not match the uvloop 0.21-0.23 layout (args, _cancelled, _when); \
             its deadline is not read"
        ))),
    }
}
