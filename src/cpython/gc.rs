//! The collector's lists: every object the garbage collector tracks, for the questions no
//! registry answers ("what holds this future?"). Each generation, and the permanent one
//! (`gc.freeze()`), is a circular doubly linked list of `PyGC_Head`s, each right before its
//! object, with the generation's own head as the sentinel. Every GIL build from 3.6 to 3.15
//! keeps them so; only where the state lives and the generations start moved.

use super::Py;
use crate::error::{Error, Result};
use crate::target::Addr;

/// Generations of the collector, besides the permanent one.
const GENERATIONS: u64 = 3;
/// Low bits of `_gc_next`/`_gc_prev` are flags (old space, collecting, unreachable).
const FLAGS: u64 = 3;

/// What [`Py::gc_objects`] found.
pub struct Tracked {
    /// Tracked objects in the collector's order (youngest generation first).
    pub objects: Vec<Addr>,
    /// Objects past the bound, or past a damaged link, were left out.
    pub cut: bool,
    /// A collection was running when the target stopped: lists may be split.
    pub collecting: bool,
}

/// Where one collector keeps its lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcState {
    /// The first generation's head; the others follow it.
    generations: Addr,
    /// The permanent generation's head (3.7+: `gc.freeze()`).
    permanent: Option<Addr>,
    /// The flag set while a collection runs.
    collecting: Addr,
}

impl Py<'_> {
    /// The collector's state of `interp` (3.7–3.8: the runtime's, shared by all
    /// interpreters; 3.6: the statics of `gcmodule.c`).
    pub fn gc_state(&self, runtime: Addr, interp: Addr) -> Result<GcState> {
        let o = self.off();
        if !self.era.runtime_struct {
            let s = self.types.statics;
            if s.generations == 0 || s.collecting == 0 {
                return Err(Error::Target(
                    "the interpreter's symbol table does not name the collector's generations (a stripped build: install its debug symbols)".into(),
                ));
            }
            return Ok(GcState {
                generations: s.generations,
                permanent: None,
                collecting: s.collecting,
            });
        }
        let state = match o.is_gc() {
            Ok(at) => interp + at,
            Err(_) => runtime + o.rt_gc()?,
        };
        Ok(GcState {
            generations: state + o.gc_generations()?,
            permanent: Some(state + o.gc_permanent()?),
            collecting: state + o.gc_collecting()?,
        })
    }

    /// Every object tracked by the collector whose state is at `state`, at most `limit`.
    pub fn gc_objects(&self, state: GcState, limit: usize) -> Result<Tracked> {
        let o = self.off();
        let head_size = o.gc_head_size()?;
        let first = state.generations;
        let step = o.gc_generation_size()?.0;
        // Addresses from the target may be anything: sums that overflow read address 0.
        let mut heads: Vec<Addr> = (0..GENERATIONS)
            .map(|g| first.checked_add(g * step).unwrap_or(0))
            .collect();
        heads.extend(state.permanent);
        let collecting = self.mem.i32(state.collecting)? != 0;
        let mut objects = Vec::new();
        let mut cut = false;
        for head in heads {
            // Each link is checked against the next one's way back (`_gc_prev`): a damaged
            // list ends there, with what was read before it, rather than going round.
            let (mut prev, mut p) = (head, self.mem.u64(head)? & !FLAGS);
            let (from, mut broken) = (objects.len(), false);
            while p != head {
                if objects.len() >= limit {
                    return Ok(Tracked {
                        objects,
                        cut: true,
                        collecting,
                    });
                }
                let link = (self.mem.u64(p), self.mem.u64(p.wrapping_add(8)));
                let (Ok(next), Ok(back)) = link else {
                    broken = true;
                    break;
                };
                if p == 0 || back & !FLAGS != prev {
                    broken = true;
                    break;
                }
                objects.push(p + head_size);
                (prev, p) = (p, next & !FLAGS);
            }
            if broken {
                // The same list backwards from its head, each link checked against its
                // way forward, up to the break: what lies past it is found from the other
                // side.
                let ahead: std::collections::HashSet<Addr> = objects[from..]
                    .iter()
                    .map(|o| o.wrapping_sub(head_size.0))
                    .collect();
                let (mut after, mut p) = (head, self.mem.u64(head.wrapping_add(8))? & !FLAGS);
                while p != head && p != 0 && !ahead.contains(&p) && objects.len() < limit {
                    let link = (self.mem.u64(p), self.mem.u64(p.wrapping_add(8)));
                    let (Ok(next), Ok(back)) = link else { break };
                    if next & !FLAGS != after {
                        break;
                    }
                    objects.push(p + head_size);
                    (after, p) = (p, back & !FLAGS);
                }
                cut = true;
            }
        }
        Ok(Tracked {
            objects,
            cut,
            collecting,
        })
    }
}
