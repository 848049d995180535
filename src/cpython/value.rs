//! Values as `--locals` shows them: read without running anything and bounded, typed by
//! the built-in types themselves (static types of module `builtins`), never by a name a
//! class of the program could also have.

use super::Py;
use super::object::TPFLAGS_HEAPTYPE;
use crate::error::Result;
use crate::model::{Id, Local, Value};
use crate::target::Addr;

/// Characters of a str, bytes of a bytes object, shown at most.
const SHOWN: usize = 80;

impl Py<'_> {
    /// Every set local of a frame, by name (cells read through), in the code's order.
    pub fn named_locals(&self, frame: Addr, code: Addr) -> Result<Vec<Local>> {
        let info = self.code(code)?;
        Ok((self.frame_locals(frame, code)?.into_iter())
            .filter_map(|(slot, v)| {
                let name = info.local_names.get(slot)?;
                Some(Local {
                    name: name.as_str().into(),
                    value: self.value(v),
                })
            })
            .collect())
    }

    /// The value at `v`, as far as it can be read.
    pub fn value(&self, v: Addr) -> Value {
        self.try_value(v)
            .unwrap_or(Value::Unreadable { address: Id(v) })
    }

    fn try_value(&self, v: Addr) -> Result<Value> {
        let tp = self.type_of(v)?;
        let class = self.class_id(tp)?;
        let builtin = &*class.module == "builtins" && self.type_flags(tp)? & TPFLAGS_HEAPTYPE == 0;
        let type_name = || -> std::sync::Arc<str> {
            if &*class.module == "builtins" {
                class.name.clone()
            } else {
                format!("{}.{}", class.module, class.name).into()
            }
        };
        if !builtin {
            return Ok(Value::Object {
                type_name: type_name(),
                address: Id(v),
            });
        }
        Ok(match &*class.name {
            "NoneType" => Value::None,
            "bool" => Value::Bool {
                value: self.int(v)? != 0,
            },
            "int" => match self.int(v) {
                Ok(value) => Value::Int { value },
                // Past 64 bits: its type and address.
                Err(_) => Value::Object {
                    type_name: type_name(),
                    address: Id(v),
                },
            },
            "float" => Value::Float {
                value: self.float(v)?,
            },
            "str" => {
                let s = self.str(v)?;
                let cut = s.chars().count() > SHOWN;
                Value::Str {
                    value: s.chars().take(SHOWN).collect(),
                    cut,
                }
            }
            "bytes" => {
                let o = self.off();
                let len = self.mem.u64(v + o.ob_size()?)?;
                let shown = len.min(SHOWN as u64) as usize;
                Value::Bytes {
                    value: self.mem.bytes(v + o.bytes_sval()?, shown)?,
                    cut: len > SHOWN as u64,
                }
            }
            "list" | "tuple" => Value::Container {
                type_name: type_name(),
                len: self.mem.u64(v + self.off().ob_size()?)?,
            },
            "dict" => Value::Container {
                type_name: type_name(),
                len: self.dict_items(v)?.len() as u64,
            },
            "set" | "frozenset" => Value::Container {
                type_name: type_name(),
                len: self.set_items(v)?.len() as u64,
            },
            _ => Value::Object {
                type_name: type_name(),
                address: Id(v),
            },
        })
    }
}
