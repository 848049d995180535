//! Generators, coroutines and async generators: their frame, and what a suspended one awaits
//! (CPython's `_PyGen_yf`, done remotely, one small function per bytecode era).

use super::Py;
use super::era::Frames;
use crate::error::{Error, Result};
use crate::target::{Addr, at};

/// `YIELD_FROM` opcode, 3.8–3.10.
const YIELD_FROM: u8 = 72;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenKind {
    Coroutine,
    Generator,
    AsyncGenerator,
}

impl Py<'_> {
    /// Is `obj` a coroutine, generator or async generator (exact types: they cannot be subclassed)?
    pub fn gen_kind(&self, obj: Addr) -> Result<Option<GenKind>> {
        let tp = self.type_of(obj)?;
        let t = &self.types;
        if t.coroutine != 0 {
            return Ok(match tp {
                _ if tp == t.coroutine => Some(GenKind::Coroutine),
                _ if tp == t.generator => Some(GenKind::Generator),
                _ if tp == t.async_generator => Some(GenKind::AsyncGenerator),
                _ => None,
            });
        }
        Ok(match &*self.type_name(tp)? {
            "coroutine" => Some(GenKind::Coroutine),
            "generator" => Some(GenKind::Generator),
            "async_generator" => Some(GenKind::AsyncGenerator),
            _ => None,
        })
    }

    /// The generator's frame, or `None` once it has finished.
    pub fn gen_frame(&self, g: Addr) -> Result<Option<Addr>> {
        let o = self.off();
        if self.era.frames >= Frames::Interpreter {
            let state = self.mem.i8(g + o.gi_frame_state()?)?;
            Ok((state < o.frame_cleared()?.0 as i8).then_some(g + o.gi_iframe()?))
        } else {
            Ok(Some(self.mem.ptr(g + o.gi_frame()?)?).filter(|&f| f != 0))
        }
    }

    /// The generator owning an interpreter frame embedded in it (3.11+).
    pub fn gen_of_frame(&self, frame: Addr) -> Result<Addr> {
        Ok(frame - self.off().gi_iframe()?)
    }

    pub fn gen_qualname(&self, g: Addr) -> Result<String> {
        self.str(self.mem.ptr(g + self.off().gi_qualname()?)?)
    }

    /// What a suspended generator awaits (`cr_await` / `gi_yieldfrom` / `ag_await`), or `None`
    /// when it is not suspended in `await`/`yield from` (running, finished, plain `yield`).
    pub fn gen_awaiting(&self, g: Addr, frame: Addr, code: Addr) -> Result<Option<Addr>> {
        let o = self.off();
        let top = if self.era.frames >= Frames::Interpreter {
            let state = self.mem.i8(g + o.gi_frame_state()?)?;
            if let Some(yield_from) = o.frame_suspended_yield_from {
                // 3.13+: the state says it.
                if state != yield_from as i8 {
                    return Ok(None);
                }
            } else {
                if state != o.frame_suspended()?.0 as i8 {
                    return Ok(None);
                }
                let prev = self.mem.ptr(frame + o.if_prev_instr()?)?;
                let next = self.mem.u16(crate::target::at(prev, 2))?;
                // Before 3.13 only the next instruction (a RESUME after `await`) says it.
                let resumes = self.era.resume.unwrap_or_default();
                if !resumes.contains(&(next as u8)) || (next >> 8) < 2 {
                    return Ok(None);
                }
            }
            if self.era.frames == Frames::Tagged {
                // `stackpointer` is one past the top; slots are tagged stack references.
                // 3.15 keeps a NULL above the awaited object while suspended in `await`.
                let sp = self.mem.ptr(frame + o.if_stackpointer()?)?;
                let base = frame + o.if_localsplus()?;
                if sp <= base || sp - base > 8 << 16 {
                    return Err(Error::Implausible {
                        what: "stack pointer",
                        addr: frame,
                        value: sp,
                    });
                }
                match untag(self.mem.ptr(sp - 8)?) {
                    0 if sp - base >= 16 => untag(self.mem.ptr(sp - 16)?),
                    v => v,
                }
            } else {
                let depth = self.mem.i32(frame + o.if_stacktop()?)?;
                self.stack_slot(frame + o.if_localsplus()?, depth)?
            }
        } else {
            let lasti = self.mem.i32(frame + o.f_lasti()?)?;
            if lasti < 0 {
                return Ok(None);
            }
            let bytecode = &self.code(code)?.bytecode;
            let next_at = if self.era.code_units {
                (lasti as usize + 1) * 2
            } else {
                lasti as usize + 2
            };
            if bytecode.get(next_at) != Some(&YIELD_FROM) {
                return Ok(None);
            }
            if self.era.frames == Frames::States {
                if self.mem.i8(frame + o.f_state()?)? != o.frame_suspended()?.0 as i8 {
                    return Ok(None);
                }
                let depth = self.mem.i32(frame + o.f_stackdepth()?)?;
                self.stack_slot(self.mem.ptr(frame + o.f_valuestack()?)?, depth)?
            } else {
                let top = self.mem.ptr(frame + o.f_stacktop()?)?;
                if top == 0 {
                    return Ok(None); // executing
                }
                self.mem.ptr(top.saturating_sub(8))?
            }
        };
        Ok(Some(top).filter(|&a| a != 0))
    }

    /// `base[depth - 1]`, refusing absurd depths.
    fn stack_slot(&self, base: Addr, depth: i32) -> Result<Addr> {
        if !(1..=1 << 16).contains(&depth) {
            return Err(Error::Implausible {
                what: "value stack depth",
                addr: base,
                value: depth as u64,
            });
        }
        self.mem
            .ptr(at(base, (depth as u64).saturating_sub(1).saturating_mul(8)))
    }

    /// Is the generator running right now (its frames are on a thread's stack)?
    pub fn gen_running(&self, g: Addr) -> Result<bool> {
        let o = self.off();
        if self.era.frames >= Frames::Interpreter {
            Ok(self.mem.i8(g + o.gi_frame_state()?)? == o.frame_executing()?.0 as i8)
        } else if self.era.frames == Frames::States {
            match self.gen_frame(g)? {
                Some(f) => Ok(self.mem.i8(f + o.f_state()?)? == o.frame_executing()?.0 as i8),
                None => Ok(false),
            }
        } else {
            Ok(self.mem.u8(g + o.gi_running()?)? != 0)
        }
    }
}

/// A 3.14+ `_PyStackRef` as an object address: tag bits cleared, tagged ints are not objects.
pub fn untag(v: u64) -> Addr {
    if v & 3 == 3 { 0 } else { v & !3 }
}
