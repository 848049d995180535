//! Object headers, types, and the scalar objects we decode: str, int, bytes, tuple, list.

use super::Py;
use crate::error::{Error, Result};
use crate::target::Addr;
use std::sync::Arc;

/// Type flags (Include/object.h), stable across 3.8+.
pub const TPFLAGS_INLINE_VALUES: u64 = 1 << 2;
pub const TPFLAGS_MANAGED_DICT: u64 = 1 << 4;
/// A class made at run time: a Python class, or (3.12+) a C class made from a spec.
pub const TPFLAGS_HEAPTYPE: u64 = 1 << 9;
pub const TPFLAGS_LONG_SUBCLASS: u64 = 1 << 24;
pub const TPFLAGS_TUPLE_SUBCLASS: u64 = 1 << 26;
pub const TPFLAGS_UNICODE_SUBCLASS: u64 = 1 << 28;

/// Deepest `tp_base` chain we follow.
const MAX_BASES: usize = 64;

/// A class as Python names it: the module that defined it and its name. Objects are typed
/// by this, never by their class's name alone (a library's own `Lock` is not asyncio's).
#[derive(Debug, PartialEq, Eq)]
pub struct ClassId {
    pub module: Arc<str>,
    pub name: Arc<str>,
}

impl Py<'_> {
    pub fn type_of(&self, obj: Addr) -> Result<Addr> {
        let t = self.mem.ptr(obj + self.off().ob_type()?)?;
        if t == 0 {
            return Err(Error::Implausible {
                what: "object with NULL type",
                addr: obj,
                value: 0,
            });
        }
        Ok(t)
    }

    pub fn type_flags(&self, tp: Addr) -> Result<u64> {
        self.mem.u64(tp + self.off().tp_flags()?)
    }

    /// `tp_name` of a type, e.g. `_asyncio.Task` or `coroutine` (cached per type).
    pub fn type_name(&self, tp: Addr) -> Result<Arc<str>> {
        if let Some(n) = self.type_name_cache.borrow().get(&tp) {
            return Ok(n.clone());
        }
        let name: Arc<str> = self
            .mem
            .c_string(self.mem.ptr(tp + self.off().tp_name()?)?, 256)?
            .into();
        self.type_name_cache.borrow_mut().insert(tp, name.clone());
        Ok(name)
    }

    /// The module and name of a type (cached per type). A heap type's module is the
    /// `__module__` in its dict, whatever its `tp_name` says; a static type's is what its
    /// `tp_name` has before the last dot (`builtins` when it has none).
    pub fn class_id(&self, tp: Addr) -> Result<Arc<ClassId>> {
        if let Some(c) = self.class_id_cache.borrow().get(&tp) {
            return Ok(c.clone());
        }
        // A class known by identity (a module's own attribute) needs no reading of its name.
        if let Some((_, (module, name))) = self.types.classes.iter().find(|(t, _)| *t == tp) {
            let id = Arc::new(ClassId {
                module: (*module).into(),
                name: (*name).into(),
            });
            self.class_id_cache.borrow_mut().insert(tp, id.clone());
            return Ok(id);
        }
        let tp_name = self.type_name(tp)?;
        let (prefix, name) = tp_name.rsplit_once('.').unwrap_or(("builtins", &tp_name));
        let module: Arc<str> = if self.type_flags(tp)? & TPFLAGS_HEAPTYPE != 0 {
            let dict = self.mem.ptr(tp + self.off().tp_dict()?)?;
            let module = match dict {
                0 => None,
                d => self.dict_get(d, "__module__")?,
            };
            let module = module.ok_or(Error::Implausible {
                what: "class without __module__",
                addr: tp,
                value: dict,
            })?;
            self.str(module)?.into()
        } else {
            prefix.into()
        };
        let id = Arc::new(ClassId {
            module,
            name: name.into(),
        });
        self.class_id_cache.borrow_mut().insert(tp, id.clone());
        Ok(id)
    }

    /// Is `obj` a `__slots__` member's descriptor (the builtin type, by identity)?
    pub fn is_member_descriptor(&self, obj: Addr) -> Result<bool> {
        let id = self.class_id(self.type_of(obj)?)?;
        Ok(&*id.module == "builtins" && &*id.name == "member_descriptor")
    }

    /// What `table` says of the first of its (module, name) classes that `obj` is an
    /// instance of (its own class or a base, along its type chain).
    pub fn class_in<T: Copy>(&self, obj: Addr, table: &[((&str, &str), T)]) -> Result<Option<T>> {
        for &t in self.type_chain(obj)?.iter() {
            let id = self.class_id(t)?;
            let found = table
                .iter()
                .find(|((m, n), _)| *id.module == **m && *id.name == **n);
            if let Some(&(_, v)) = found {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// `tp_basicsize`: the size of an instance's fixed part.
    pub fn type_basicsize(&self, tp: Addr) -> Result<u64> {
        self.mem.u64(tp + self.off().tp_basicsize()?)
    }

    pub fn obj_type_name(&self, obj: Addr) -> Result<Arc<str>> {
        self.type_name(self.type_of(obj)?)
    }

    /// Short type name as Python prints `type(x).__name__`: `_asyncio.Task` → `Task`.
    pub fn short_type_name(&self, obj: Addr) -> Result<Arc<str>> {
        let tp = self.type_of(obj)?;
        if let Some(n) = self.short_name_cache.borrow().get(&tp) {
            return Ok(n.clone());
        }
        let n = self.type_name(tp)?;
        let short: Arc<str> = match n.rsplit_once('.') {
            Some((_, short)) => short.into(),
            None => n,
        };
        self.short_name_cache.borrow_mut().insert(tp, short.clone());
        Ok(short)
    }

    /// The type and its bases, most derived first (bounded; read once per type).
    pub fn type_chain(&self, obj: Addr) -> Result<Arc<[Addr]>> {
        let tp = self.type_of(obj)?;
        if let Some(chain) = self.type_chain_cache.borrow().get(&tp) {
            return Ok(chain.clone());
        }
        let mut t = tp;
        let mut out = Vec::new();
        while t != 0 && out.len() < MAX_BASES {
            out.push(t);
            t = self.mem.ptr(t + self.off().tp_base()?)?;
        }
        let chain: Arc<[Addr]> = out.into();
        self.type_chain_cache.borrow_mut().insert(tp, chain.clone());
        Ok(chain)
    }

    fn flags_of(&self, obj: Addr) -> Result<u64> {
        self.type_flags(self.type_of(obj)?)
    }

    /// Decode a `str` object (PEP 393 compact or legacy layout), cut at the string limit.
    pub fn str(&self, obj: Addr) -> Result<String> {
        Ok(self.str_cut(obj)?.0)
    }

    /// The same, and the string's whole length when it was cut (`--limit string`).
    pub fn str_cut(&self, obj: Addr) -> Result<(String, Option<u64>)> {
        if self.flags_of(obj)? & TPFLAGS_UNICODE_SUBCLASS == 0 {
            return Err(Error::Implausible {
                what: "str (type is not a str subclass)",
                addr: obj,
                value: self.type_of(obj)?,
            });
        }
        let o = self.off();
        let whole = self.mem.u64(obj + o.ascii_length()?)?;
        if whole > isize::MAX as u64 {
            return Err(Error::Implausible {
                what: "str length",
                addr: obj,
                value: whole,
            });
        }
        let len = whole.min(self.limits.string);
        let cut = (len < whole).then_some(whole);
        let state = self.mem.u32(obj + o.ascii_state()?)?;
        let kind = (state >> 2) & 7;
        let compact = state & (1 << 5) != 0;
        let ascii = state & (1 << 6) != 0;
        let data = match (compact, ascii) {
            (true, true) => obj + o.ascii_size()?,
            (true, false) => obj + o.compact_size()?,
            (false, _) => self.mem.ptr(obj + o.unicode_data()?)?,
        };
        let width = match kind {
            1 | 2 | 4 => kind as u64,
            _ => {
                return Err(Error::Implausible {
                    what: "str kind",
                    addr: obj,
                    value: kind as u64,
                });
            }
        };
        // Every str ends in a NUL character right after its last one: a length that points
        // anywhere else is damage, not a long string.
        if cut.is_some() || len > 4096 {
            let end = crate::target::at(data, whole.saturating_mul(width));
            let nul = match width {
                1 => self.mem.u8(end)? as u32,
                2 => self.mem.u16(end)? as u32,
                _ => self.mem.u32(end)?,
            };
            if nul != 0 {
                return Err(Error::Implausible {
                    what: "str length (no NUL character after it)",
                    addr: obj,
                    value: whole,
                });
            }
        }
        if cut.is_some() {
            self.hit("string");
        }
        let raw = self.mem.bytes(data, (len * width) as usize)?;
        let text = match width {
            1 if ascii => String::from_utf8_lossy(&raw).into_owned(),
            1 => raw.iter().map(|&b| b as char).collect(),
            2 => char::decode_utf16(
                raw.chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]])),
            )
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
            _ => raw
                .chunks_exact(4)
                .map(|c| {
                    char::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .unwrap_or(char::REPLACEMENT_CHARACTER)
                })
                .collect(),
        };
        Ok((text, cut))
    }

    pub fn is_str(&self, obj: Addr) -> Result<bool> {
        Ok(self.flags_of(obj)? & TPFLAGS_UNICODE_SUBCLASS != 0)
    }

    pub fn is_int(&self, obj: Addr) -> Result<bool> {
        Ok(self.flags_of(obj)? & TPFLAGS_LONG_SUBCLASS != 0)
    }

    /// Decode an `int` that fits in i64.
    pub fn int(&self, obj: Addr) -> Result<i64> {
        if !self.is_int(obj)? {
            return Err(Error::Implausible {
                what: "int (type is not an int subclass)",
                addr: obj,
                value: self.type_of(obj)?,
            });
        }
        let o = self.off();
        let (negative, ndigits, digits_at) = if self.era.tagged_longs {
            let tag = self.mem.u64(obj + o.long_lv_tag()?)?;
            (tag & 3 == 2, tag >> 3, obj + o.long_value_digit()?)
        } else {
            let size = self.mem.i64(obj + o.ob_size()?)?;
            (size < 0, size.unsigned_abs(), obj + o.long_digit()?)
        };
        if ndigits > 3 {
            return Err(Error::Limit {
                what: "int digits",
                limit: 3,
            });
        }
        let mut v: u128 = 0;
        for i in 0..ndigits {
            v |= (self.mem.u32(digits_at + 4 * i)? as u128 & 0x3fff_ffff) << (30 * i);
        }
        let v = i64::try_from(v).map_err(|_| Error::Limit {
            what: "int value",
            limit: i64::MAX as u64,
        })?;
        Ok(if negative { -v } else { v })
    }

    /// Contents of a `bytes` object (bounded).
    pub fn bytes_obj(&self, obj: Addr, max: u64) -> Result<Vec<u8>> {
        let len = self.mem.u64(obj + self.off().ob_size()?)?;
        if len > max {
            return Err(Error::Limit {
                what: "bytes length",
                limit: max,
            });
        }
        self.mem.bytes(obj + self.off().bytes_sval()?, len as usize)
    }

    /// A list, tuple or deque of `n` items is read only within the items limit.
    pub(crate) fn within_items(&self, n: u64, what: &'static str) -> Result<()> {
        if n > self.limits.items {
            self.hit("items");
            return Err(Error::Limit {
                what,
                limit: self.limits.items,
            });
        }
        Ok(())
    }

    /// Items of a tuple.
    pub fn tuple(&self, obj: Addr) -> Result<Vec<Addr>> {
        let n = self.mem.u64(obj + self.off().ob_size()?)?;
        self.within_items(n, "tuple length")?;
        self.ptr_array(obj + self.off().tuple_item()?, n)
    }

    /// Items of a list.
    pub fn list(&self, obj: Addr) -> Result<Vec<Addr>> {
        let n = self.mem.u64(obj + self.off().ob_size()?)?;
        self.within_items(n, "list length")?;
        let items = self.mem.ptr(obj + self.off().list_item()?)?;
        self.ptr_array(items, n)
    }

    pub fn ptr_array(&self, at: Addr, n: u64) -> Result<Vec<Addr>> {
        let raw = self.mem.bytes(at, (n * 8) as usize)?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect())
    }
}
