//! Interpreters and thread states, from `_PyRuntime`.

use super::Py;
use super::era::Frames;
use crate::error::{Error, Result};
use crate::layout::Version;
use crate::target::Addr;
use std::collections::HashMap;

/// Most interpreters / thread states we walk.
const MAX_INTERPRETERS: usize = 256;
const MAX_THREADS: usize = 4096;

/// Thread ident → (name, native id).
pub type ThreadNames = HashMap<u64, (Option<String>, Option<u64>)>;

/// A thread's Python stack: its id and (frame, code, decoded frame), innermost first.
pub type ThreadStack = (u64, Vec<(Addr, Addr, super::frame::FrameInfo)>);

/// A thread state and where its Python stack starts.
#[derive(Debug, Clone)]
pub struct ThreadState {
    pub addr: Addr,
    pub interp: Addr,
    /// `pthread_self()` of the thread (`threading.get_ident()`).
    pub thread_id: u64,
    /// OS thread id (3.11+; `None` before).
    pub native_thread_id: Option<u64>,
    /// Innermost frame (`PyFrameObject*` ≤3.10, `_PyInterpreterFrame*` 3.11+), 0 if idle.
    pub top_frame: Addr,
}

impl Py<'_> {
    /// Interpreter states, main interpreter first as CPython lists them. `runtime` is
    /// `_PyRuntime`, or 3.6's `interp_head` (the list's head itself).
    pub fn interpreters(&self, runtime: Addr) -> Result<Vec<Addr>> {
        let o = self.off();
        let mut out = Vec::new();
        let head = if self.era.runtime_struct {
            runtime + o.rt_interpreters_head()?
        } else {
            runtime
        };
        let mut i = self.mem.ptr(head)?;
        // A list that breaks or loops keeps the interpreters before the break (the main
        // one is the last).
        while i != 0 && !out.contains(&i) && out.len() < MAX_INTERPRETERS {
            out.push(i);
            match self.mem.ptr(i + o.is_next()?) {
                Ok(next) => i = next,
                Err(_) => break,
            }
        }
        if out.is_empty() {
            return Err(Error::Target(
                "the Python runtime has no interpreter (not yet initialised, or already finalised)"
                    .into(),
            ));
        }
        Ok(out)
    }

    /// `sys.modules` of an interpreter.
    pub fn sys_modules(&self, interp: Addr) -> Result<Addr> {
        let o = self.off();
        let field = if self.era.imports_struct {
            o.is_imports_modules()?
        } else {
            o.is_modules()?
        };
        self.mem.ptr(interp + field)
    }

    pub fn threads(&self, interp: Addr) -> (Vec<ThreadState>, Option<Error>) {
        let mut out = Vec::new();
        let broken = self.read_threads(interp, &mut out).err();
        (out, broken)
    }

    /// The thread list into `out`, as far as it can be read.
    fn read_threads(&self, interp: Addr, out: &mut Vec<ThreadState>) -> Result<()> {
        let o = self.off();
        let head = if self.era.threads_head {
            o.is_threads_head()?
        } else {
            o.is_tstate_head()?
        };
        let mut t = self.mem.ptr(interp + head)?;
        while t != 0 {
            if out.iter().any(|s| s.addr == t) || out.len() >= MAX_THREADS {
                return Err(Error::Implausible {
                    what: "thread list loops at",
                    addr: t,
                    value: out.len() as u64,
                });
            }
            let back = self.mem.ptr(t + o.ts_interp()?)?;
            if back != interp {
                return Err(Error::Implausible {
                    what: "thread state whose interp is not its interpreter",
                    addr: t,
                    value: back,
                });
            }
            let top_frame = match self.era.frames {
                Frames::Executable | Frames::Tagged => self.mem.ptr(t + o.ts_current_frame()?)?,
                Frames::Interpreter => match self.mem.ptr(t + o.ts_cframe()?)? {
                    0 => 0,
                    cframe => self.mem.ptr(cframe + o.cframe_current_frame()?)?,
                },
                Frames::Objects | Frames::States => self.mem.ptr(t + o.ts_frame()?)?,
            };
            out.push(ThreadState {
                addr: t,
                interp,
                thread_id: self.mem.u64(t + o.ts_thread_id()?)?,
                native_thread_id: match o.ts_native_thread_id {
                    Some(off) => Some(self.mem.u64(crate::target::at(t, off))?),
                    None => None,
                },
                top_frame,
            });
            t = self.mem.ptr(t + o.ts_next()?)?;
        }
        Ok(())
    }
}

impl Py<'_> {
    /// A thread's Python frames, innermost first, and why the walk stopped early (if it did).
    pub fn thread_stack(
        &self,
        top: Addr,
    ) -> (Vec<(Addr, Addr, super::frame::FrameInfo)>, Option<Error>) {
        let (chain, cut) = self.frame_chain(top);
        let mut out = Vec::new();
        for (f, code) in chain {
            match self.frame_info(f, code, None) {
                Ok(fi) => out.push((f, code, fi)),
                Err(e) => return (out, Some(e)),
            }
        }
        (out, cut)
    }

    /// Thread ident → (name, native id), from `threading._active`.
    pub fn thread_names(&self, interp: Addr) -> Result<ThreadNames> {
        let mut out = HashMap::new();
        let Some(m) = self.dict_get(self.sys_modules(interp)?, "threading")? else {
            return Ok(out);
        };
        let Some(active) = self.dict_get(self.mem.ptr(m + self.off().md_dict()?)?, "_active")?
        else {
            return Ok(out);
        };
        for (ident, thread) in self.dict_items(active)? {
            let Ok(ident) = self.int(ident) else { continue };
            let name = self
                .attr(thread, "_name")
                .ok()
                .flatten()
                .and_then(|n| self.str(n).ok());
            let native = self
                .attr(thread, "_native_id")
                .ok()
                .flatten()
                .and_then(|n| self.int(n).ok())
                .map(|n| n as u64);
            out.insert(ident as u64, (name, native));
        }
        Ok(out)
    }

    /// Take the micro version from `sys.version` (≤3.10 has no `Py_Version`); a warning
    /// when it names another minor version than the binary.
    pub fn settle_version(&mut self, interp: Addr) -> Option<String> {
        let v = self.sys_version(interp)?;
        let known = self.version();
        if (v.major, v.minor) == (known.major, known.minor) {
            self.set_version(v);
            None
        } else {
            Some(format!("sys.version says {v}, the binary says {known}"))
        }
    }

    /// `sys.version` parsed: ≤3.10 has no `Py_Version`, so this is where the micro version is.
    pub fn sys_version(&self, interp: Addr) -> Option<Version> {
        let sys = self
            .dict_get(self.sys_modules(interp).ok()?, "sys")
            .ok()??;
        let v = self
            .dict_get(
                self.mem.ptr(sys + self.off().md_dict().ok()?).ok()?,
                "version",
            )
            .ok()??;
        Version::parse(&self.str(v).ok()?)
    }
}
