//! Callables as asyncio stores them in callbacks: functions (qualified name, closure cells by
//! name), bound methods, builtin methods, `functools.partial`; plus floats, `__slots__`
//! members and deques, which the typed waits read.

use super::Py;
use crate::error::{Error, Result};
use crate::target::{Addr, at};
use std::sync::Arc;

/// Items per deque block (`BLOCKLEN` in _collectionsmodule.c, fixed since 3.5).
const DEQUE_BLOCK: u64 = 64;

/// What a callback object is.
#[derive(Debug, Clone)]
pub enum Callable {
    /// A Python function: its qualified name, its module (`__module__`, "" if not a str)
    /// and its address (for closure lookups).
    Function {
        qualname: String,
        module: Arc<str>,
        func: Addr,
    },
    /// A bound method: the function's qualified name and module, and `self`.
    Method {
        qualname: String,
        module: Arc<str>,
        receiver: Addr,
    },
    /// A C function or method: its name and `self`.
    Builtin { name: String, receiver: Addr },
    /// `functools.partial(fn, *args)`.
    Partial {
        func: Box<Callable>,
        args: Vec<Addr>,
    },
    /// Anything else: its type name and address.
    Other { type_name: String, addr: Addr },
}

impl Callable {
    /// Is this (or, for a method, its function) defined in `module` under one of `names`
    /// (a qualified name, or its last parts: `Task.__wakeup` also matches a nested class)?
    /// A function is known by its module and name, never its name alone.
    pub fn defined_as(&self, module: &str, names: &[&str]) -> bool {
        let (Callable::Function {
            qualname,
            module: m,
            ..
        }
        | Callable::Method {
            qualname,
            module: m,
            ..
        }) = self
        else {
            return false;
        };
        **m == *module
            && (names.iter()).any(|n| {
                qualname == n || (qualname.strip_suffix(n)).is_some_and(|head| head.ends_with('.'))
            })
    }
}

/// Deepest chain of methods and partials `callable` follows.
const MAX_NESTED_CALLABLES: u32 = 16;

impl Py<'_> {
    pub fn float(&self, obj: Addr) -> Result<f64> {
        if &*self.obj_type_name(obj)? != "float" {
            return Err(Error::Implausible {
                what: "float (type is not float)",
                addr: obj,
                value: 0,
            });
        }
        Ok(f64::from_bits(
            self.mem.u64(obj + self.off().float_value()?)?,
        ))
    }

    pub fn is_none(&self, obj: Addr) -> Result<bool> {
        Ok(obj == 0 || &*self.obj_type_name(obj)? == "NoneType")
    }

    /// A truth value for bool/None/int objects (`_locked`, `_value`...).
    pub fn truthy(&self, obj: Addr) -> Result<bool> {
        if self.is_none(obj)? {
            return Ok(false);
        }
        Ok(self.int(obj)? != 0)
    }

    /// A `__slots__` member of an instance, found through the member descriptors of its class.
    pub fn slot(&self, obj: Addr, name: &str) -> Result<Option<Addr>> {
        let tp = self.type_of(obj)?;
        let known = self.slot_cache.borrow().get(&tp).and_then(|names| {
            names
                .iter()
                .find(|(n, _)| &**n == name)
                .map(|(_, offset)| *offset)
        });
        let offset = match known {
            Some(offset) => offset,
            None => {
                let offset = self.slot_offset(obj, name)?;
                self.slot_cache
                    .borrow_mut()
                    .entry(tp)
                    .or_default()
                    .push((name.into(), offset));
                offset
            }
        };
        match offset {
            Some(offset) => Ok(Some(self.mem.ptr(obj + offset)?).filter(|&v| v != 0)),
            None => Ok(None),
        }
    }

    /// Where the slot `name` of `obj`'s class lives in an instance (looked up once per
    /// class: the member descriptor in the class dicts of its MRO).
    fn slot_offset(&self, obj: Addr, name: &str) -> Result<Option<u64>> {
        for &tp in self.type_chain(obj)?.iter() {
            let dict = self.mem.ptr(tp + self.off().tp_dict()?)?;
            if dict == 0 {
                continue;
            }
            if let Some(descr) = self.dict_get(dict, name)? {
                if !self.is_member_descriptor(descr)? {
                    return Ok(None);
                }
                let member = self.mem.ptr(descr + self.off().d_member()?)?;
                let offset = self.mem.i64(member + self.off().member_offset()?)?;
                if !(16..1 << 16).contains(&offset) {
                    return Err(Error::Implausible {
                        what: "slot offset",
                        addr: member,
                        value: offset as u64,
                    });
                }
                return Ok(Some(offset as u64));
            }
        }
        Ok(None)
    }

    /// Items of a `collections.deque`, left to right.
    pub fn deque(&self, obj: Addr) -> Result<Vec<Addr>> {
        let o = self.off();
        let n = self.mem.u64(obj + o.ob_size()?)?;
        self.within_items(n, "deque length")?;
        let mut block = self.mem.ptr(obj + o.deque_leftblock()?)?;
        let mut index = self.mem.u64(obj + o.deque_leftindex()?)?;
        let mut out = Vec::with_capacity(n as usize);
        while (out.len() as u64) < n {
            if index >= DEQUE_BLOCK {
                block = self.mem.ptr(block + o.block_rightlink()?)?;
                index = 0;
            }
            out.push(self.mem.ptr(at(block + o.block_data()?, 8 * index))?);
            index += 1;
        }
        Ok(out)
    }

    /// Length of a deque or list (or 0 for None), e.g. a waiters collection.
    pub fn len_of(&self, obj: Addr) -> Result<u64> {
        if self.is_none(obj)? {
            return Ok(0);
        }
        self.mem.u64(obj + self.off().ob_size()?)
    }

    /// Value of the closure variable `name` of a function.
    pub fn closure_var(&self, func: Addr, name: &str) -> Result<Option<Addr>> {
        let o = self.off();
        let code = self.mem.ptr(func + o.func_code()?)?;
        let Some(i) = self.code(code)?.free_names.iter().position(|n| n == name) else {
            return Ok(None);
        };
        let closure = self.mem.ptr(func + o.func_closure()?)?;
        if closure == 0 {
            return Ok(None);
        }
        let Some(&cell) = self.tuple(closure)?.get(i) else {
            return Ok(None);
        };
        Ok(Some(self.mem.ptr(cell + o.cell_ref()?)?).filter(|&v| v != 0))
    }

    fn function_qualname(&self, func: Addr) -> Result<String> {
        self.str(self.mem.ptr(func + self.off().func_qualname()?)?)
    }

    /// A function's `__module__` ("" when it is not a str: None, or something else).
    fn function_module(&self, func: Addr) -> Result<Arc<str>> {
        let module = self.mem.ptr(func + self.off().func_module()?)?;
        Ok(self.shared_str(module)?.unwrap_or_else(|| "".into()))
    }

    pub fn callable(&self, obj: Addr) -> Result<Callable> {
        self.callable_within(obj, MAX_NESTED_CALLABLES)
    }

    /// `callable`, following at most `depth` more methods and partials inwards (corrupted
    /// memory can make a partial its own function).
    fn callable_within(&self, obj: Addr, depth: u32) -> Result<Callable> {
        let Some(depth) = depth.checked_sub(1) else {
            return Err(Error::Limit {
                what: "nested methods and partials",
                limit: MAX_NESTED_CALLABLES.into(),
            });
        };
        let o = self.off();
        let type_name = self.obj_type_name(obj)?;
        Ok(match &*type_name {
            "function" => Callable::Function {
                qualname: self.function_qualname(obj)?,
                module: self.function_module(obj)?,
                func: obj,
            },
            "method" => {
                let func = self.mem.ptr(obj + o.im_func()?)?;
                let (qualname, module) = match self.callable_within(func, depth)? {
                    Callable::Function {
                        qualname, module, ..
                    } => (qualname, module),
                    other => (format!("{other:?}"), "".into()),
                };
                Callable::Method {
                    qualname,
                    module,
                    receiver: self.mem.ptr(obj + o.im_self()?)?,
                }
            }
            // `builtin_method`: a method of a C class that needs its defining class
            // (PyCMethodObject, 3.9+), laid out as a builtin_function_or_method.
            "builtin_function_or_method" | "builtin_method" => {
                let def = self.mem.ptr(obj + o.m_ml()?)?;
                let name = self.mem.c_string(self.mem.ptr(def + o.ml_name()?)?, 256)?;
                Callable::Builtin {
                    name,
                    receiver: self.mem.ptr(obj + o.m_self()?)?,
                }
            }
            "TaskWakeupMethWrapper" => Callable::Builtin {
                name: "task_wakeup".into(),
                receiver: self.mem.ptr(obj + o.ww_task()?)?,
            },
            "functools.partial" => {
                let func = self.callable_within(self.mem.ptr(obj + o.partial_fn()?)?, depth)?;
                let args = self.tuple(self.mem.ptr(obj + o.partial_args()?)?)?;
                Callable::Partial {
                    func: Box::new(func),
                    args,
                }
            }
            _ => Callable::Other {
                type_name: type_name.to_string(),
                addr: obj,
            },
        })
    }
}
