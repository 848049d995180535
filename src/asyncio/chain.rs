//! A task's await chain: coroutine → what it awaits → ... → the terminal object.

use crate::cpython::Py;
use crate::cpython::frame::FrameInfo;
use crate::error::{Error, Result};
use crate::target::Addr;

/// Frames outermost first, and the object the innermost frame waits on (if any).
#[derive(Debug, Default)]
pub struct Chain {
    pub frames: Vec<FrameInfo>,
    /// (frame, code) addresses of `frames`, same order.
    pub raw: Vec<(Addr, Addr)>,
    pub terminal: Option<Addr>,
    /// Why the walk stopped early, if it did; `frames` holds what was read.
    pub error: Option<Error>,
}

/// Follow `cr_await`/`gi_yieldfrom`/`ag_await` from `start`, stepping through coroutine
/// wrappers, async-generator `asend`/`athrow` objects and `FutureIter`s.
pub fn await_chain(py: &Py<'_>, start: Addr) -> Chain {
    let mut chain = Chain::default();
    if let Err(e) = walk(py, start, &mut chain) {
        chain.error = Some(e);
    }
    chain
}

fn walk(py: &Py<'_>, start: Addr, chain: &mut Chain) -> Result<()> {
    let o = py.off();
    let mut obj = start;
    let mut seen = std::collections::HashSet::new();
    while obj != 0 {
        if !seen.insert(obj) {
            return Err(Error::Implausible {
                what: "await chain (it loops back to an object already in it)",
                addr: obj,
                value: seen.len() as u64,
            });
        }
        if seen.len() > py.limits.depth {
            py.hit("depth");
            return Err(Error::Limit {
                what: "await chain depth",
                limit: py.limits.depth as u64,
            });
        }
        if py.gen_kind(obj)?.is_some() {
            let Some(frame) = py.gen_frame(obj)? else {
                return Ok(());
            };
            let Some(code) = py.frame_code(frame)? else {
                return Ok(());
            };
            let qualname = if o.co_qualname.is_none() {
                py.gen_qualname(obj).ok()
            } else {
                None
            };
            chain.frames.push(py.frame_info(frame, code, qualname)?);
            chain.raw.push((frame, code));
            match py.gen_awaiting(obj, frame, code)? {
                Some(next) => obj = next,
                None => return Ok(()),
            }
            continue;
        }
        let name = py.obj_type_name(obj)?;
        obj = match &*name {
            "coroutine_wrapper" => py.mem.ptr(obj + o.cw_coroutine()?)?,
            "async_generator_asend" => py.mem.ptr(obj + o.ags_gen()?)?,
            "async_generator_athrow" => py.mem.ptr(obj + o.agt_gen()?)?,
            "_asyncio.FutureIter" => {
                chain.terminal = Some(py.mem.ptr(obj + o.fi_future()?)?).filter(|&f| f != 0);
                return Ok(());
            }
            _ => {
                chain.terminal = Some(obj);
                return Ok(());
            }
        };
    }
    Ok(())
}
