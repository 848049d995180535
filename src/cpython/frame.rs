//! Frames: `PyFrameObject` (≤3.10) and `_PyInterpreterFrame` (3.11+), their code and line,
//! and the walk of a thread's frame chain.

use super::Py;
use super::era::Frames;
use crate::error::{Error, Result};
use crate::target::{Addr, at};
use std::sync::Arc;

/// Deepest frame chain we walk.
pub const MAX_FRAMES: usize = 4096;

/// One decoded frame, as the model shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FrameInfo {
    pub function: Arc<str>,
    pub qualname: Arc<str>,
    pub file: Arc<str>,
    pub line: Option<i32>,
}

/// `LOAD_GLOBAL`, `LOAD_ATTR` and `LOAD_METHOD` before 3.11 (their numbers vary after).
const LOAD_GLOBAL_310: u8 = 116;
const LOAD_ATTR_310: u8 = 106;
const LOAD_METHOD_310: u8 = 160;

/// The instructions of a suspended frame from `start` (the one after the current), and the
/// `co_names` indices of the methods looked for.
struct Ahead {
    bytes: Arc<[u8]>,
    start: usize,
    wanted: Vec<usize>,
}

impl Ahead {
    fn ahead(&self) -> &[u8] {
        self.bytes.get(self.start..).unwrap_or(&[])
    }
}

impl Py<'_> {
    /// The code object a frame executes, or `None` for a 3.13+ frame running something else.
    pub fn frame_code(&self, frame: Addr) -> Result<Option<Addr>> {
        let o = self.off();
        let code = match self.era.frames {
            Frames::Tagged => super::generator::untag(self.mem.ptr(frame + o.if_executable()?)?),
            Frames::Executable => self.mem.ptr(frame + o.if_executable()?)?,
            Frames::Interpreter => self.mem.ptr(frame + o.if_code()?)?,
            Frames::Objects | Frames::States => self.mem.ptr(frame + o.f_code()?)?,
        };
        if code == 0 {
            return Err(Error::Implausible {
                what: "frame with NULL code",
                addr: frame,
                value: 0,
            });
        }
        if self.era.frames >= Frames::Executable && !self.is_code(code)? {
            return Ok(None);
        }
        Ok(Some(code))
    }

    /// The module globals a frame runs with (the dict its `LOAD_GLOBAL`s read).
    /// The dict a frame's locals were copied into when something asked for them
    /// (`frame.f_locals`, `locals()`: ≤3.12 keep it), if any.
    pub fn frame_locals_dict(&self, frame: Addr) -> Result<Option<Addr>> {
        let o = self.off();
        let at = match self.era.frames {
            Frames::Objects | Frames::States => o.f_locals()?,
            _ => o.if_locals()?,
        };
        Ok(Some(self.mem.ptr(frame + at)?).filter(|&d| d != 0))
    }

    pub fn frame_globals(&self, frame: Addr) -> Result<Addr> {
        let o = self.off();
        let at = match self.era.frames {
            Frames::Objects | Frames::States => o.f_globals()?,
            _ => o.if_globals()?,
        };
        let d = self.mem.ptr(frame + at)?;
        if d == 0 {
            return Err(Error::Implausible {
                what: "frame with NULL globals",
                addr: frame,
                value: 0,
            });
        }
        Ok(d)
    }

    /// Index of the current instruction, in the unit the line table of this version uses.
    pub fn frame_lasti(&self, frame: Addr, code: Addr) -> Result<i64> {
        let o = self.off();
        if self.era.frames >= Frames::Interpreter {
            let ip = if self.era.frames >= Frames::Executable {
                o.if_instr_ptr()?
            } else {
                o.if_prev_instr()?
            };
            let ip = self.mem.ptr(frame + ip)?;
            let base = code + o.co_code_adaptive()?;
            // Before the first instruction (3.11's prev_instr) is -1; a pointer far from
            // its code is corrupted memory, never an overflow.
            let units = (ip as i128 - base as i128) / 2;
            i64::try_from(units).map_err(|_| Error::Implausible {
                what: "instruction pointer far from its code",
                addr: frame,
                value: ip,
            })
        } else {
            Ok(self.mem.i32(frame + o.f_lasti()?)? as i64)
        }
    }

    /// Function, file and line of a frame. `qualname` is used when the code lacks one.
    pub fn frame_info(
        &self,
        frame: Addr,
        code: Addr,
        qualname: Option<String>,
    ) -> Result<FrameInfo> {
        let c = self.code(code)?;
        let line = c.line(self, self.frame_lasti(frame, code)?);
        Ok(FrameInfo {
            function: c.name.clone(),
            qualname: c
                .qualname
                .clone()
                .or_else(|| qualname.map(Arc::from))
                .unwrap_or_else(|| c.name.clone()),
            file: c.filename.clone(),
            line,
        })
    }

    /// Address of fast-local slot `i` (locals, then cells and free variables).
    fn local_slot(&self, frame: Addr, i: usize) -> Result<Addr> {
        let o = self.off();
        let base = if self.era.frames >= Frames::Interpreter {
            o.if_localsplus()?
        } else {
            o.f_localsplus()?
        };
        Ok(at(frame + base, (i as u64).saturating_mul(8)))
    }

    /// The object in a frame slot: 3.14+ slots are tagged stack references.
    fn slot_value(&self, v: u64) -> Addr {
        if self.era.frames == Frames::Tagged {
            super::generator::untag(v)
        } else {
            v
        }
    }

    /// Is `v` a closure cell? By the cell type's address (`PyCell_Type`, exported by every
    /// build); by name only when the symbol is unknown. An object whose type cannot be read
    /// is not taken for one: a local of a C extension's type, whose name lies in a file a
    /// core left out, is the local itself.
    fn is_cell(&self, v: Addr) -> bool {
        let Ok(tp) = self.type_of(v) else {
            return false;
        };
        match self.types.cell {
            0 => self.type_name(tp).is_ok_and(|n| &*n == "cell"),
            cell => tp == cell,
        }
    }

    /// Value of local variable `name` in a frame (through its cell if it is one), if set.
    pub fn frame_local(&self, frame: Addr, code: Addr, name: &str) -> Result<Option<Addr>> {
        let info = self.code(code)?;
        for i in info.local_indices(name) {
            let v = self.slot_value(self.mem.ptr(self.local_slot(frame, i)?)?);
            if v == 0 {
                continue;
            }
            if self.is_cell(v) {
                return Ok(Some(self.mem.ptr(v + self.off().cell_ref()?)?).filter(|&c| c != 0));
            }
            return Ok(Some(v));
        }
        Ok(None)
    }

    /// (slot, value) of every fast local of a frame (cells dereferenced), unset ones
    /// skipped.
    pub fn frame_locals(&self, frame: Addr, code: Addr) -> Result<Vec<(usize, Addr)>> {
        let n = self.code(code)?.local_names.len() as u64;
        let mut out = Vec::new();
        for (i, v) in self
            .ptr_array(self.local_slot(frame, 0)?, n)?
            .into_iter()
            .enumerate()
        {
            let v = self.slot_value(v);
            if v == 0 {
                continue;
            }
            let v = if self.is_cell(v) {
                self.mem.ptr(v + self.off().cell_ref()?)?
            } else {
                v
            };
            if v != 0 {
                out.push((i, v));
            }
        }
        Ok(out)
    }

    /// The code still to run in a suspended frame, and the `co_names` indices of
    /// `methods` (none: nothing to find).
    fn code_ahead(&self, frame: Addr, code: Addr, methods: &[&str]) -> Result<Option<Ahead>> {
        let c = self.code(code)?;
        let wanted: Vec<usize> = methods
            .iter()
            .filter_map(|a| c.names.iter().position(|n| n == a))
            .collect();
        if wanted.is_empty() {
            return Ok(None);
        }
        let lasti = self.frame_lasti(frame, code)?.max(0) as usize;
        let (bytes, start): (Arc<[u8]>, usize) = if self.era.adaptive_code {
            (self.instructions(code, c.instructions)?, lasti * 2 + 2)
        } else if self.era.code_units {
            // 3.10 counts lasti in code units, older versions in bytes.
            (c.bytecode.clone(), lasti * 2 + 2)
        } else {
            (c.bytecode.clone(), lasti + 2)
        };
        Ok(Some(Ahead {
            bytes,
            start,
            wanted,
        }))
    }

    /// Does the code still to run in this suspended frame call one of these methods on
    /// the object held in local or cell `slots` (`ev.set()`, `q.put(...)`)? Scans the
    /// instructions after the current one. 3.11+ specialises attribute loads into opcodes
    /// that vary by version, so there it looks for a load of one of the slots directly
    /// followed by an instruction naming the method; before, for `LOAD_ATTR` or
    /// `LOAD_METHOD` naming it. A heuristic: it sees names, not control flow.
    pub fn code_ahead_calls(
        &self,
        frame: Addr,
        code: Addr,
        slots: &[usize],
        methods: &[&str],
    ) -> Result<bool> {
        let Some(a) = self.code_ahead(frame, code, methods)? else {
            return Ok(false);
        };
        let (ahead, wanted) = (a.ahead(), &a.wanted);
        if !self.era.adaptive_code {
            return Ok(ahead.chunks_exact(2).any(|unit| {
                (unit[0] == LOAD_ATTR_310 || unit[0] == LOAD_METHOD_310)
                    && wanted.contains(&(unit[1] as usize))
            }));
        }
        // 3.12+ LOAD_ATTR keeps the name index in the oparg's upper bits.
        let name_of = |arg: usize| {
            if self.era.shifted_load_attr {
                arg >> 1
            } else {
                arg
            }
        };
        Ok(ahead
            .chunks_exact(2)
            .zip(ahead.chunks_exact(2).skip(1))
            .any(|(load, attr)| {
                load[0] != 0
                    && slots.contains(&(load[1] as usize))
                    && attr[0] != 0
                    && wanted.contains(&name_of(attr[1] as usize))
            }))
    }

    /// Does the code still to run in this suspended frame name one of the globals
    /// `names` (indices into `co_names`) and one of these methods? Looser than
    /// [`Self::code_ahead_calls`] (it does not pair the two), which errs towards finding a
    /// waker: the safe side for a deadlock claim.
    pub fn code_ahead_names(
        &self,
        frame: Addr,
        code: Addr,
        names: &[usize],
        methods: &[&str],
    ) -> Result<bool> {
        let Some(a) = self.code_ahead(frame, code, methods)? else {
            return Ok(false);
        };
        let (ahead, wanted) = (a.ahead(), &a.wanted);
        // ≤3.10: LOAD_GLOBAL, and LOAD_ATTR or LOAD_METHOD, with the name index as argument.
        // 3.11+ opcodes vary by version and specialisation; the name index is the argument
        // or (LOAD_GLOBAL, 3.12+ LOAD_ATTR) its upper bits.
        let old = !self.era.adaptive_code;
        let has = |ops: &[u8], of: &[usize]| {
            (ahead.chunks_exact(2)).any(|u| {
                let arg = u[1] as usize;
                if old {
                    ops.contains(&u[0]) && of.contains(&arg)
                } else {
                    u[0] != 0 && (of.contains(&arg) || of.contains(&(arg >> 1)))
                }
            })
        };
        Ok(has(&[LOAD_GLOBAL_310], names) && has(&[LOAD_ATTR_310, LOAD_METHOD_310], wanted))
    }

    /// A 3.11+ code object's instructions (`co_code_adaptive`, at `at`), read once per code
    /// object: every handler of a server runs the same few.
    fn instructions(&self, code: Addr, at: Addr) -> Result<Arc<[u8]>> {
        if let Some(b) = self.bytecode_cache.borrow().get(&code) {
            return Ok(b.clone());
        }
        let units = self.mem.u64(code + self.off().ob_size()?)?.min(1 << 20);
        let bytes: Arc<[u8]> = self.mem.bytes(at, (units * 2) as usize)?.into();
        self.bytecode_cache.borrow_mut().insert(code, bytes.clone());
        Ok(bytes)
    }

    /// The objects on a suspended frame's evaluation stack (bottom first).
    pub fn frame_value_stack(&self, frame: Addr, code: Addr) -> Result<Vec<Addr>> {
        let o = self.off();
        let (base, depth) = if self.era.frames == Frames::Tagged {
            let nlocals = self.code(code)?.local_names.len() as u64;
            let base = at(frame + o.if_localsplus()?, nlocals.saturating_mul(8));
            let sp = self.mem.ptr(frame + o.if_stackpointer()?)?;
            (base, (sp as i64).wrapping_sub(base as i64) / 8)
        } else if self.era.frames >= Frames::Interpreter {
            let nlocals = self.code(code)?.local_names.len() as u64;
            let top = self.mem.i32(frame + o.if_stacktop()?)? as i64;
            (
                at(frame + o.if_localsplus()?, nlocals.saturating_mul(8)),
                top.saturating_sub(nlocals as i64),
            )
        } else if self.era.frames == Frames::States {
            (
                self.mem.ptr(frame + o.f_valuestack()?)?,
                self.mem.i32(frame + o.f_stackdepth()?)? as i64,
            )
        } else {
            let base = self.mem.ptr(frame + o.f_valuestack()?)?;
            let top = self.mem.ptr(frame + o.f_stacktop()?)?;
            (
                base,
                if top == 0 {
                    0
                } else {
                    (top as i64).wrapping_sub(base as i64) / 8
                },
            )
        };
        if !(0..=1 << 12).contains(&depth) {
            return Err(Error::Implausible {
                what: "value stack depth",
                addr: frame,
                value: depth as u64,
            });
        }
        Ok(self
            .ptr_array(base, depth as u64)?
            .into_iter()
            .filter(|&v| v != 0)
            .collect())
    }

    /// The frame that called this one (NULL at the bottom).
    pub fn frame_back(&self, frame: Addr) -> Result<Addr> {
        let o = self.off();
        self.mem.ptr(
            frame
                + if self.era.frames >= Frames::Interpreter {
                    o.if_previous()?
                } else {
                    o.f_back()?
                },
        )
    }

    /// Frames owned by the C stack (3.12+), the interpreter (3.14+) or the thread state
    /// (3.15's base frame) are shims, not Python frames.
    pub fn frame_is_shim(&self, frame: Addr) -> Result<bool> {
        let o = self.off();
        let shims = [
            o.owned_by_cstack,
            o.owned_by_interpreter,
            o.owned_by_thread_state,
        ];
        if shims.iter().all(Option::is_none) {
            return Ok(false);
        }
        let owner = self.frame_owner(frame)? as u64;
        Ok(shims.contains(&Some(owner)))
    }

    pub fn frame_owner(&self, frame: Addr) -> Result<u8> {
        self.mem.u8(frame + self.off().if_owner()?)
    }

    /// Python frames from `top` down the `f_back`/`previous` chain, innermost first:
    /// (frame address, code address), and why the walk stopped before the end if it did (a
    /// loop, the bound, or a frame that cannot be read: gcore saves some C-stack regions a
    /// 3.14 thread's bottom frames live in as zeros). The frames read before are kept.
    pub fn frame_chain(&self, top: Addr) -> (Vec<(Addr, Addr)>, Option<Error>) {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut f = top;
        while f != 0 {
            if !seen.insert(f) {
                let e = Error::Implausible {
                    what: "frame chain loops back to frame",
                    addr: f,
                    value: f,
                };
                return (out, Some(e));
            }
            if seen.len() > MAX_FRAMES {
                let e = Error::Limit {
                    what: "frame chain depth",
                    limit: MAX_FRAMES as u64,
                };
                return (out, Some(e));
            }
            let code = match self.frame_is_shim(f) {
                Ok(true) => Ok(None),
                Ok(false) => self.frame_code(f),
                Err(e) => Err(e),
            };
            match code {
                Ok(Some(code)) => out.push((f, code)),
                Ok(None) => {}
                Err(e) => return (out, Some(e)),
            }
            match self.frame_back(f) {
                Ok(back) => f = back,
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }
}
