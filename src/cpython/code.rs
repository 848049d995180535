//! Code objects: names, file, line table; decoded once per code object and cached.

use super::Py;
use super::era::LineTable;
use super::linetable;
use crate::error::Result;
use crate::target::Addr;
use std::sync::Arc;

/// Largest line table or bytecode we read.
const MAX_TABLE: u64 = 1 << 20;

/// What we keep of a code object.
#[derive(Debug)]
pub struct CodeInfo {
    pub name: Arc<str>,
    /// `co_qualname` (3.11+); older versions take it from the generator or fall back to the name.
    pub qualname: Option<Arc<str>>,
    pub filename: Arc<str>,
    pub firstlineno: i32,
    table: Vec<u8>,
    /// Bytecode (≤3.10), needed to see whether a suspended frame sits on a YIELD_FROM.
    pub bytecode: Arc<[u8]>,
    /// Address of the first instruction (3.11+ `co_code_adaptive`).
    pub instructions: Addr,
    /// Names of the fast locals in slot order (`co_varnames` ≤3.10, `co_localsplusnames` 3.11+).
    pub local_names: Vec<String>,
    /// Names of the free variables, in closure order.
    pub free_names: Vec<String>,
    /// `co_names`: attribute and global names the instructions refer to by index.
    pub names: Vec<String>,
}

impl CodeInfo {
    /// Slots named `name`: two before 3.11 when an argument is also a cell (the argument's
    /// own slot is then emptied and the value lives in the cell slot).
    pub fn local_indices<'a>(&'a self, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.local_names
            .iter()
            .enumerate()
            .filter(move |(_, n)| *n == name)
            .map(|(i, _)| i)
    }
}

impl CodeInfo {
    /// Line for an instruction: `offset` in bytes (≤3.10) or code units (3.11+), as `lasti`.
    pub fn line(&self, py: &Py<'_>, lasti: i64) -> Option<i32> {
        if lasti < 0 {
            return Some(self.firstlineno);
        }
        let at = u32::try_from(lasti).ok()?;
        match py.era.line_table {
            LineTable::Locations => linetable::locations_line(&self.table, self.firstlineno, at),
            LineTable::Lines310 => {
                linetable::linetable_310_line(&self.table, self.firstlineno, at.checked_mul(2)?)
            }
            LineTable::Lnotab => Some(linetable::lnotab_line(&self.table, self.firstlineno, at)),
        }
    }
}

impl Py<'_> {
    pub fn code(&self, addr: Addr) -> Result<Arc<CodeInfo>> {
        if let Some(c) = self.code_cache.borrow().get(&addr) {
            return Ok(c.clone());
        }
        let o = self.off();
        let table_field = if self.era.line_table != LineTable::Lnotab {
            o.co_linetable()?
        } else {
            o.co_lnotab()?
        };
        let qualname = match o.co_qualname {
            Some(q) => Some(self.str(self.mem.ptr(crate::target::at(addr, q))?)?.into()),
            None => None,
        };
        let bytecode: Arc<[u8]> = if self.era.adaptive_code {
            Arc::from([])
        } else {
            self.bytes_obj(self.mem.ptr(addr + o.co_code()?)?, MAX_TABLE)?
                .into()
        };
        let names = |field: Result<crate::layout::Off>| -> Result<Vec<String>> {
            self.tuple(self.mem.ptr(addr + field?)?)?
                .into_iter()
                .map(|n| self.str(n))
                .collect()
        };
        let (local_names, free_names) = if self.era.compact_311 {
            let all = names(o.co_localsplusnames())?;
            let nfree = (self.mem.i32(addr + o.co_nfreevars()?)?.max(0) as usize).min(all.len());
            let free = all[all.len() - nfree..].to_vec();
            (all, free)
        } else {
            // ≤3.10 `f_localsplus` holds the locals, then the cells, then the free variables.
            let free = names(o.co_freevars())?;
            let mut all = names(o.co_varnames())?;
            all.extend(names(o.co_cellvars())?);
            all.extend(free.iter().cloned());
            (all, free)
        };
        let info = Arc::new(CodeInfo {
            names: names(o.co_names())?,
            local_names,
            free_names,
            name: self.str(self.mem.ptr(addr + o.co_name()?)?)?.into(),
            qualname,
            filename: self.str(self.mem.ptr(addr + o.co_filename()?)?)?.into(),
            firstlineno: self.mem.i32(addr + o.co_firstlineno()?)?,
            table: self.bytes_obj(self.mem.ptr(addr + table_field)?, MAX_TABLE)?,
            bytecode,
            instructions: if self.era.adaptive_code {
                addr + o.co_code_adaptive()?
            } else {
                0
            },
        });
        self.code_cache.borrow_mut().insert(addr, info.clone());
        Ok(info)
    }

    /// Is this object a code object? (3.13+ frames may hold other executables.)
    pub fn is_code(&self, obj: Addr) -> Result<bool> {
        let tp = self.type_of(obj)?;
        Ok(if self.types.code != 0 {
            tp == self.types.code
        } else {
            &*self.type_name(tp)? == "code"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::linetable::*;

    #[test]
    fn location_table_entries() {
        // one-line form (code 10): line unchanged, 2 units; code 11: +1 line, 1 unit;
        // no-location (15): 1 unit; long form (14) +2 lines.
        let table = [
            0x80 | (10 << 3) | 1,
            0,
            4,
            0x80 | (11 << 3),
            0,
            4,
            0x80 | (15 << 3),
            0x80 | (14 << 3),
            4,
            0,
            1,
            1,
        ];
        assert_eq!(locations_line(&table, 10, 0), Some(10));
        assert_eq!(locations_line(&table, 10, 1), Some(10));
        assert_eq!(locations_line(&table, 10, 2), Some(11));
        assert_eq!(locations_line(&table, 10, 3), None);
        assert_eq!(locations_line(&table, 10, 4), Some(13));
        assert_eq!(locations_line(&table, 10, 5), None);
        assert_eq!(locations_line(&[0x00, 0xff], 1, 0), None);
    }

    #[test]
    fn lnotab_and_310_tables() {
        assert_eq!(lnotab_line(&[6, 1, 8, 2], 5, 0), 5);
        assert_eq!(lnotab_line(&[6, 1, 8, 2], 5, 6), 6);
        assert_eq!(lnotab_line(&[6, 1, 8, 2], 5, 14), 8);
        assert_eq!(linetable_310_line(&[4, 0, 4, 0x80, 6, 3], 7, 2), Some(7));
        assert_eq!(linetable_310_line(&[4, 0, 4, 0x80, 6, 3], 7, 5), None);
        assert_eq!(linetable_310_line(&[4, 0, 4, 0x80, 6, 3], 7, 9), Some(10));
    }
}
