//! dict and set tables, and instance attributes (which live in dicts or inline values).

use super::Py;
use super::era::ManagedDict;
use super::object::{TPFLAGS_INLINE_VALUES, TPFLAGS_MANAGED_DICT};
use crate::error::{Error, Result};
use crate::target::{Addr, at};
use std::sync::Arc;

/// Most entries we walk in one dict or set table.
const MAX_ENTRIES: u64 = 1 << 22;
/// 3.11+ keeps the managed dict pointer just before the object (pre-header).
const MANAGED_DICT_OFFSET: u64 = 24;
/// 3.11 keeps the inline values pointer before the managed dict pointer.
const MANAGED_VALUES_OFFSET_311: u64 = 32;

/// The entry table of a dict's keys object: (entries address, count, entry size, key/value offsets).
struct Entries {
    at: Addr,
    count: u64,
    size: u64,
    key: u64,
    value: u64,
}

/// Where an instance keeps the attributes of its own.
enum Own {
    /// In a dict (`__dict__`, materialized).
    Dict(Addr),
    /// In a values array indexed like its class's shared keys.
    Values { values: Addr, keys: Addr },
    /// Nowhere (no `__dict__`, or never set).
    None,
}

impl Py<'_> {
    fn keys_entries(&self, keys: Addr) -> Result<Entries> {
        let o = self.off();
        let indices = keys + o.dk_indices()?;
        let count = self.mem.u64(keys + o.dk_nentries()?)?;
        if count > MAX_ENTRIES {
            return Err(Error::Limit {
                what: "dict entries",
                limit: MAX_ENTRIES,
            });
        }
        if self.era.compact_311 {
            let index_bytes = self.mem.u8(keys + o.dk_log2_index_bytes()?)?;
            if index_bytes > 40 {
                return Err(Error::Implausible {
                    what: "dict index size",
                    addr: keys,
                    value: index_bytes as u64,
                });
            }
            let general = self.mem.u8(keys + o.dk_kind()?)? == 0;
            let at = at(indices, 1u64 << index_bytes);
            Ok(if general {
                Entries {
                    at,
                    count,
                    size: o.dict_entry_size()?.0,
                    key: 8,
                    value: 16,
                }
            } else {
                Entries {
                    at,
                    count,
                    size: o.dict_unicode_entry_size()?.0,
                    key: 0,
                    value: 8,
                }
            })
        } else {
            let size = self.mem.u64(keys + o.dk_size()?)?;
            if size > MAX_ENTRIES * 2 {
                return Err(Error::Implausible {
                    what: "dict size",
                    addr: keys,
                    value: size,
                });
            }
            let width = match size {
                0..=0xff => 1,
                0x100..=0xffff => 2,
                0x1_0000..=0xffff_ffff => 4,
                _ => 8,
            };
            Ok(Entries {
                at: at(indices, size * width),
                count,
                size: o.dict_entry_size()?.0,
                key: 8,
                value: 16,
            })
        }
    }

    /// Address of value slot `i` of a split table's values array.
    fn split_value_slot(&self, values: Addr, i: u64) -> Result<Addr> {
        // ≤3.10 `ma_values` is a plain `PyObject **` array.
        let header = if self.era.compact_311 {
            self.off().dict_values_values()?.0
        } else {
            0
        };
        Ok(at(at(values, header), i.saturating_mul(8)))
    }

    /// All (key, value) pairs of a dict, live entries only.
    pub fn dict_items(&self, dict: Addr) -> Result<Vec<(Addr, Addr)>> {
        let o = self.off();
        let keys = self.mem.ptr(dict + o.ma_keys()?)?;
        let values = self.mem.ptr(dict + o.ma_values()?)?;
        let e = self.keys_entries(keys)?;
        let raw = self.mem.bytes(e.at, (e.count * e.size) as usize)?;
        let word = |b: &[u8], at: u64| {
            u64::from_le_bytes(
                b[at as usize..at as usize + 8]
                    .try_into()
                    .unwrap_or_default(),
            )
        };
        let mut out = Vec::new();
        for i in 0..e.count {
            let entry = &raw[(i * e.size) as usize..((i + 1) * e.size) as usize];
            let key = word(entry, e.key);
            if key == 0 {
                continue;
            }
            let value = if values != 0 {
                self.mem.ptr(self.split_value_slot(values, i)?)?
            } else {
                word(entry, e.value)
            };
            if value != 0 {
                out.push((key, value));
            }
        }
        Ok(out)
    }

    /// `d[name]` for a dict with str keys.
    pub fn dict_get(&self, dict: Addr, name: &str) -> Result<Option<Addr>> {
        // An unreadable key does not hide the others; "absent" is only said when every
        // key could be read.
        let mut unreadable = None;
        for (k, v) in self.dict_items(dict)? {
            match self.key_is(k, name) {
                Ok(true) => return Ok(Some(v)),
                Ok(false) => {}
                Err(e) => {
                    unreadable.get_or_insert(e);
                }
            }
        }
        unreadable.map_or(Ok(None), Err)
    }

    /// Is this dict key the str `name`? Keys are decoded once per address: attribute
    /// names are interned, so 100,000 instance dicts share a handful of key objects.
    fn key_is(&self, key: Addr, name: &str) -> Result<bool> {
        Ok(self.shared_str(key)?.as_deref() == Some(name))
    }

    /// A str that many objects share (dict keys, module names), decoded once per address;
    /// None when the object is not a str.
    pub fn shared_str(&self, obj: Addr) -> Result<Option<Arc<str>>> {
        if let Some(known) = self.key_cache.borrow().get(&obj) {
            return Ok(known.clone());
        }
        let text: Option<Arc<str>> = if self.is_str(obj)? {
            Some(self.str(obj)?.into())
        } else {
            None
        };
        self.key_cache.borrow_mut().insert(obj, text.clone());
        Ok(text)
    }

    /// Index of `name` in a shared-keys table (the class's cached keys).
    fn shared_key_index(&self, keys: Addr, name: &str) -> Result<Option<u64>> {
        let e = self.keys_entries(keys)?;
        let raw = self.mem.bytes(e.at, (e.count * e.size) as usize)?;
        let mut unreadable = None;
        for (i, entry) in raw.chunks_exact(e.size as usize).enumerate() {
            let key = u64::from_le_bytes(
                entry[e.key as usize..e.key as usize + 8]
                    .try_into()
                    .unwrap_or_default(),
            );
            if key == 0 {
                continue;
            }
            match self.key_is(key, name) {
                Ok(true) => return Ok(Some(i as u64)),
                Ok(false) => {}
                Err(e) => {
                    unreadable.get_or_insert(e);
                }
            }
        }
        unreadable.map_or(Ok(None), Err)
    }

    /// `obj.name` for plain data attributes, in Python's order: a `__slots__` member (its
    /// descriptor on the class comes first), the instance's own, else a class attribute
    /// found along the bases (e.g. `Future._state`, set on the class until it changes). A
    /// slot never set is absent, never its descriptor.
    pub fn attr(&self, obj: Addr, name: &str) -> Result<Option<Addr>> {
        if let Some(v) = self.slot(obj, name)? {
            return Ok(Some(v));
        }
        if let Some(v) = self.instance_attr(obj, name)? {
            return Ok(Some(v));
        }
        for &tp in self.type_chain(obj)?.iter() {
            let dict = self.mem.ptr(tp + self.off().tp_dict()?)?;
            if dict != 0
                && let Some(v) = self.dict_get(dict, name)?
            {
                return Ok((!self.is_member_descriptor(v)?).then_some(v));
            }
        }
        Ok(None)
    }

    /// Read instance attribute `name` from the object's `__dict__` or inline values.
    /// `Ok(None)` when the instance itself has no such attribute.
    pub fn instance_attr(&self, obj: Addr, name: &str) -> Result<Option<Addr>> {
        match self.own_attributes(obj)? {
            Own::Dict(dict) => self.dict_get(dict, name),
            Own::Values { values, keys } => match self.shared_key_index(keys, name)? {
                Some(i) => {
                    Ok(Some(self.mem.ptr(self.split_value_slot(values, i)?)?).filter(|&v| v != 0))
                }
                None => Ok(None),
            },
            Own::None => Ok(None),
        }
    }

    /// The values of every attribute the instance itself holds (its `__dict__` or inline
    /// values; not its `__slots__`), in the order of their keys.
    pub fn instance_values(&self, obj: Addr) -> Result<Vec<Addr>> {
        Ok(self
            .instance_items(obj)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    /// The same as (key, value): the key a str object (or any object, in a `__dict__`).
    pub fn instance_items(&self, obj: Addr) -> Result<Vec<(Addr, Addr)>> {
        match self.own_attributes(obj)? {
            Own::Dict(dict) => self.dict_items(dict),
            Own::Values { values, keys } => {
                let e = self.keys_entries(keys)?;
                let raw = self.mem.bytes(e.at, (e.count * e.size) as usize)?;
                let mut out = Vec::new();
                for (i, entry) in raw.chunks_exact(e.size as usize).enumerate() {
                    let key = &entry[e.key as usize..e.key as usize + 8];
                    let key = u64::from_le_bytes(key.try_into().unwrap_or_default());
                    if key == 0 {
                        continue;
                    }
                    let v = self.mem.ptr(self.split_value_slot(values, i as u64)?)?;
                    if v != 0 {
                        out.push((key, v));
                    }
                }
                Ok(out)
            }
            Own::None => Ok(Vec::new()),
        }
    }

    /// The instance's own `__dict__` object, when it has one (not inline values).
    pub fn instance_dict(&self, obj: Addr) -> Result<Option<Addr>> {
        Ok(match self.own_attributes(obj)? {
            Own::Dict(dict) => Some(dict),
            _ => None,
        })
    }

    /// Where an instance keeps the attributes of its own, by version and type flags.
    fn own_attributes(&self, obj: Addr) -> Result<Own> {
        let o = self.off();
        let tp = self.type_of(obj)?;
        let flags = self.type_flags(tp)?;
        let managed = self.era.managed_dict;
        if managed != ManagedDict::No && flags & TPFLAGS_MANAGED_DICT != 0 {
            let word = self.mem.u64(obj.saturating_sub(MANAGED_DICT_OFFSET))?;
            let values = |values: Addr| -> Result<Own> {
                let keys = self.mem.ptr(tp + o.ht_cached_keys()?)?;
                Ok(Own::Values { values, keys })
            };
            if managed == ManagedDict::InlineValues {
                if word != 0 {
                    return Ok(Own::Dict(word));
                }
                if flags & TPFLAGS_INLINE_VALUES != 0 {
                    let at_values = at(obj, self.mem.u64(tp + o.tp_basicsize()?)?);
                    // PyDictValues.valid (byte 3): the values were not moved into a dict.
                    if self.mem.u8(at(at_values, 3))? != 0 {
                        return values(at_values);
                    }
                }
                return Ok(Own::None);
            }
            if managed == ManagedDict::DictOrValues {
                // PyDictOrValues: odd = values pointer minus one, even = dict.
                return if word & 1 == 1 {
                    values(at(word, 1))
                } else if word != 0 {
                    Ok(Own::Dict(word))
                } else {
                    Ok(Own::None)
                };
            }
            if word != 0 {
                return Ok(Own::Dict(word));
            }
            let at_values = self
                .mem
                .ptr(obj.saturating_sub(MANAGED_VALUES_OFFSET_311))?;
            return if at_values != 0 {
                values(at_values)
            } else {
                Ok(Own::None)
            };
        }
        let dictoffset = self.mem.i64(tp + o.tp_dictoffset()?)?;
        if dictoffset <= 0 {
            return Ok(Own::None);
        }
        match self.mem.ptr(at(obj, dictoffset as u64))? {
            0 => Ok(Own::None),
            dict => Ok(Own::Dict(dict)),
        }
    }

    /// Keys of a set (or frozenset), skipping empty and deleted slots.
    pub fn set_items(&self, set: Addr) -> Result<Vec<Addr>> {
        let o = self.off();
        let mask = self.mem.u64(set + o.set_mask()?)?;
        if mask >= MAX_ENTRIES {
            return Err(Error::Limit {
                what: "set table size",
                limit: MAX_ENTRIES,
            });
        }
        let table = self.mem.ptr(set + o.set_table()?)?;
        let size = o.set_entry_size()?.0;
        let raw = self.mem.bytes(table, ((mask + 1) * size) as usize)?;
        Ok(raw
            .chunks_exact(size as usize)
            .map(|e| u64::from_le_bytes(e[..8].try_into().unwrap_or_default()))
            .filter(|&k| k != 0 && k != self.types.set_dummy)
            .collect())
    }
}
