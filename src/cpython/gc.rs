//! The collector's lists: every object the garbage collector tracks, for the questions no
//! registry answers ("what holds this future?"). Each generation, and the permanent one
//! (`gc.freeze()`), is a circular doubly linked list of `PyGC_Head`s, each right before its
//! object, with the generation's own head as the sentinel. Every GIL build from 3.8 to 3.15
//! keeps them so; only where the state lives and the generations start moved.

use super::Py;
use crate::error::Result;
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

impl Py<'_> {
    /// The collector's state of `interp` (3.8: the runtime's, shared by all interpreters).
    pub fn gc_state(&self, runtime: Addr, interp: Addr) -> Result<Addr> {
        let o = self.off();
        match o.is_gc() {
            Ok(at) => Ok(interp + at),
            Err(_) => Ok(runtime + o.rt_gc()?),
        }
    }

    /// Every object tracked by the collector whose state is at `state`, at most `limit`.
    pub fn gc_objects(&self, state: Addr, limit: usize) -> Result<Tracked> {
        let o = self.off();
        let head_size = o.gc_head_size()?;
        let first = state + o.gc_generations()?;
        let step = o.gc_generation_size()?.0;
        // Addresses from the target may be anything: sums that overflow read address 0.
        let mut heads: Vec<Addr> = (0..GENERATIONS)
            .map(|g| first.checked_add(g * step).unwrap_or(0))
            .collect();
        heads.push(state + o.gc_permanent()?);
        let collecting = self.mem.i32(state + o.gc_collecting()?)? != 0;
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
