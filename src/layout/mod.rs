//! Every struct offset the decoder uses, in one `Layout` value.
//!
//! The field list below is the single place a field is named: DWARF extraction, the
//! generated tables in `offsets/` and the decoder's accessors all come from it.
//! Which fields a version has is data; code that needs a field asks for it and gets a
//! `MissingField` error naming it when no source describes it.

pub mod debug_offsets;
pub mod dwarf;
pub mod saved;
pub mod table;

use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// A CPython version, from `PY_VERSION_HEX` or a version string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
    pub micro: u8,
}

impl Version {
    pub fn from_hex(hex: u64) -> Version {
        Version {
            major: (hex >> 24) as u8,
            minor: (hex >> 16) as u8,
            micro: (hex >> 8) as u8,
        }
    }
    /// Parse "3.12.1", "3.12" or "3.12.1+ (main, ...)".
    pub fn parse(s: &str) -> Option<Version> {
        let head: String = s
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut it = head
            .split('.')
            .filter(|p| !p.is_empty())
            .map(|p| p.parse::<u8>().ok());
        let major = it.next()??;
        let minor = it.next()??;
        let micro = it.next().flatten().unwrap_or(0);
        Some(Version {
            major,
            minor,
            micro,
        })
    }
    pub fn at_least(&self, major: u8, minor: u8) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
    pub fn minor_string(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.micro)
    }
}

/// Where the offsets came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Dwarf,
    Table,
    DebugOffsets,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Dwarf => "dwarf",
            Source::Table => "table",
            Source::DebugOffsets => "debug-offsets",
        }
    }
}

/// A field's offset (or a struct's size), as the layout gives it. Added to an address it
/// never overflows: a sum past the end of the address space is 0, which no read accepts,
/// so a corrupted pointer costs a read error, never a panic or a wrap to a real address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Off(pub u64);

impl std::ops::Add<Off> for u64 {
    type Output = u64;
    #[inline]
    fn add(self, o: Off) -> u64 {
        self.checked_add(o.0).unwrap_or(0)
    }
}

impl std::ops::Add<Off> for &u64 {
    type Output = u64;
    #[inline]
    fn add(self, o: Off) -> u64 {
        *self + o
    }
}

/// From a field's address back to its struct (intrusive lists): 0 below zero.
impl std::ops::Sub<Off> for u64 {
    type Output = u64;
    #[inline]
    fn sub(self, o: Off) -> u64 {
        self.saturating_sub(o.0)
    }
}

macro_rules! fields {
    ($( $(#[$doc:meta])* $field:ident : $ty:literal $path:literal ),* $(,)?) => {
        /// Offsets (or sizes) of the fields the decoder reads; `None` when unknown.
        #[derive(Debug, Clone, Default)]
        pub struct Offsets {
            $( $(#[$doc])* pub $field: Option<u64>, )*
            /// The version they describe, named when a field is missing.
            pub for_version: Option<Version>,
        }

        /// Every field as `Type.path`, the key used in DWARF extraction and `offsets/` files.
        pub const FIELDS: &[&str] = &[ $( concat!($ty, ".", $path) ),* ];

        impl Offsets {
            fn slot(&mut self, key: &str) -> Option<&mut Option<u64>> {
                match key { $( concat!($ty, ".", $path) => Some(&mut self.$field), )* _ => None }
            }
            pub fn to_map(&self) -> BTreeMap<String, u64> {
                let mut m = BTreeMap::new();
                $( if let Some(v) = self.$field { m.insert(concat!($ty, ".", $path).to_string(), v); } )*
                m
            }
            $( #[inline] pub fn $field(&self) -> Result<Off> {
                self.$field.map(Off).ok_or_else(|| Error::MissingField {
                    field: concat!($ty, ".", $path),
                    version: self.for_version.map_or_else(|| "?".into(), |v| v.to_string()),
                })
            } )*
        }
    };
}

impl Offsets {
    /// Fill from a `Type.path -> value` map; unknown keys are returned so callers can warn.
    pub fn from_map(map: &BTreeMap<String, u64>) -> (Offsets, Vec<String>) {
        let mut o = Offsets::default();
        let mut unknown = Vec::new();
        for (k, v) in map {
            match o.slot(k) {
                Some(slot) => *slot = Some(*v),
                None => unknown.push(k.clone()),
            }
        }
        (o, unknown)
    }
}

fields! {
    // runtime, interpreters, threads
    rt_interpreters_head: "_PyRuntimeState" "interpreters.head",
    is_next: "PyInterpreterState" "next",
    is_tstate_head: "PyInterpreterState" "tstate_head",
    is_threads_head: "PyInterpreterState" "threads.head",
    is_modules: "PyInterpreterState" "modules",
    is_imports_modules: "PyInterpreterState" "imports.modules",
    ts_next: "PyThreadState" "next",
    ts_interp: "PyThreadState" "interp",
    ts_frame: "PyThreadState" "frame",
    ts_cframe: "PyThreadState" "cframe",
    ts_current_frame: "PyThreadState" "current_frame",
    ts_thread_id: "PyThreadState" "thread_id",
    ts_native_thread_id: "PyThreadState" "native_thread_id",
    cframe_current_frame: "_PyCFrame" "current_frame",
    tsi_asyncio_tasks_head: "_PyThreadStateImpl" "asyncio_tasks_head",
    tsi_asyncio_running_task: "_PyThreadStateImpl" "asyncio_running_task",
    is_asyncio_tasks_head: "PyInterpreterState" "asyncio_tasks_head",
    llist_next: "llist_node" "next",
    // frame objects (3.8-3.10)
    f_back: "PyFrameObject" "f_back",
    f_code: "PyFrameObject" "f_code",
    f_lasti: "PyFrameObject" "f_lasti",
    f_stacktop: "PyFrameObject" "f_stacktop",
    f_valuestack: "PyFrameObject" "f_valuestack",
    f_stackdepth: "PyFrameObject" "f_stackdepth",
    f_state: "PyFrameObject" "f_state",
    f_localsplus: "PyFrameObject" "f_localsplus",
    f_globals: "PyFrameObject" "f_globals",
    f_locals: "PyFrameObject" "f_locals",
    // interpreter frames (3.11+)
    if_code: "_PyInterpreterFrame" "f_code",
    if_executable: "_PyInterpreterFrame" "f_executable",
    if_previous: "_PyInterpreterFrame" "previous",
    if_prev_instr: "_PyInterpreterFrame" "prev_instr",
    if_instr_ptr: "_PyInterpreterFrame" "instr_ptr",
    if_stacktop: "_PyInterpreterFrame" "stacktop",
    if_stackpointer: "_PyInterpreterFrame" "stackpointer",
    if_owner: "_PyInterpreterFrame" "owner",
    if_locals: "_PyInterpreterFrame" "f_locals",
    if_localsplus: "_PyInterpreterFrame" "localsplus",
    if_globals: "_PyInterpreterFrame" "f_globals",
    // code objects
    co_filename: "PyCodeObject" "co_filename",
    co_name: "PyCodeObject" "co_name",
    co_qualname: "PyCodeObject" "co_qualname",
    co_firstlineno: "PyCodeObject" "co_firstlineno",
    co_lnotab: "PyCodeObject" "co_lnotab",
    co_linetable: "PyCodeObject" "co_linetable",
    co_code: "PyCodeObject" "co_code",
    co_code_adaptive: "PyCodeObject" "co_code_adaptive",
    co_stacksize: "PyCodeObject" "co_stacksize",
    co_nlocals: "PyCodeObject" "co_nlocals",
    co_nlocalsplus: "PyCodeObject" "co_nlocalsplus",
    co_varnames: "PyCodeObject" "co_varnames",
    co_localsplusnames: "PyCodeObject" "co_localsplusnames",
    co_freevars: "PyCodeObject" "co_freevars",
    co_cellvars: "PyCodeObject" "co_cellvars",
    co_names: "PyCodeObject" "co_names",
    co_nfreevars: "PyCodeObject" "co_nfreevars",
    // generators, coroutines, async generators
    gi_frame: "PyGenObject" "gi_frame",
    gi_running: "PyGenObject" "gi_running",
    gi_code: "PyGenObject" "gi_code",
    gi_qualname: "PyGenObject" "gi_qualname",
    gi_frame_state: "PyGenObject" "gi_frame_state",
    gi_iframe: "PyGenObject" "gi_iframe",
    ags_gen: "PyAsyncGenASend" "ags_gen",
    agt_gen: "PyAsyncGenAThrow" "agt_gen",
    cw_coroutine: "PyCoroWrapper" "cw_coroutine",
    // objects and types
    ob_type: "PyObject" "ob_type",
    ob_size: "PyVarObject" "ob_size",
    tp_name: "PyTypeObject" "tp_name",
    tp_basicsize: "PyTypeObject" "tp_basicsize",
    tp_flags: "PyTypeObject" "tp_flags",
    tp_base: "PyTypeObject" "tp_base",
    tp_dictoffset: "PyTypeObject" "tp_dictoffset",
    tp_dict: "PyTypeObject" "tp_dict",
    ht_cached_keys: "PyHeapTypeObject" "ht_cached_keys",
    // str, bytes, int, tuple, list
    ascii_length: "PyASCIIObject" "length",
    ascii_state: "PyASCIIObject" "state",
    ascii_size: "PyASCIIObject" "sizeof",
    compact_size: "PyCompactUnicodeObject" "sizeof",
    unicode_data: "PyUnicodeObject" "data",
    bytes_sval: "PyBytesObject" "ob_sval",
    long_digit: "PyLongObject" "ob_digit",
    long_lv_tag: "PyLongObject" "long_value.lv_tag",
    long_value_digit: "PyLongObject" "long_value.ob_digit",
    tuple_item: "PyTupleObject" "ob_item",
    list_item: "PyListObject" "ob_item",
    // dict, set, weakref, module
    ma_keys: "PyDictObject" "ma_keys",
    ma_values: "PyDictObject" "ma_values",
    dk_size: "PyDictKeysObject" "dk_size",
    dk_log2_size: "PyDictKeysObject" "dk_log2_size",
    dk_log2_index_bytes: "PyDictKeysObject" "dk_log2_index_bytes",
    dk_kind: "PyDictKeysObject" "dk_kind",
    dk_nentries: "PyDictKeysObject" "dk_nentries",
    dk_indices: "PyDictKeysObject" "dk_indices",
    dict_entry_size: "PyDictKeyEntry" "sizeof",
    dict_unicode_entry_size: "PyDictUnicodeEntry" "sizeof",
    dict_values_values: "PyDictValues" "values",
    set_mask: "PySetObject" "mask",
    set_table: "PySetObject" "table",
    set_entry_size: "setentry" "sizeof",
    wr_object: "PyWeakReference" "wr_object",
    md_dict: "PyModuleObject" "md_dict",
    // the collector's lists of tracked objects: who holds an object (3.8: in the runtime)
    rt_gc: "_PyRuntimeState" "gc",
    is_gc: "PyInterpreterState" "gc",
    gc_generations: "_gc_runtime_state" "generations",
    gc_permanent: "_gc_runtime_state" "permanent_generation",
    gc_collecting: "_gc_runtime_state" "collecting",
    gc_generation_size: "gc_generation" "sizeof",
    gc_head_size: "PyGC_Head" "sizeof",
    md_state: "PyModuleObject" "md_state",
    // callables
    func_code: "PyFunctionObject" "func_code",
    func_closure: "PyFunctionObject" "func_closure",
    func_qualname: "PyFunctionObject" "func_qualname",
    func_module: "PyFunctionObject" "func_module",
    partial_fn: "partialobject" "fn",
    partial_args: "partialobject" "args",
    d_member: "PyMemberDescrObject" "d_member",
    member_offset: "PyMemberDef" "offset",
    float_value: "PyFloatObject" "ob_fval",
    deque_leftblock: "dequeobject" "leftblock",
    deque_leftindex: "dequeobject" "leftindex",
    block_data: "block" "data",
    block_rightlink: "block" "rightlink",
    cell_ref: "PyCellObject" "ob_ref",
    im_func: "PyMethodObject" "im_func",
    im_self: "PyMethodObject" "im_self",
    m_ml: "PyCFunctionObject" "m_ml",
    m_self: "PyCFunctionObject" "m_self",
    ml_name: "PyMethodDef" "ml_name",
    // enum constants: generator/frame states and frame owners (their numbering changes)
    frame_created: "enum" "FRAME_CREATED",
    frame_suspended: "enum" "FRAME_SUSPENDED",
    frame_suspended_yield_from: "enum" "FRAME_SUSPENDED_YIELD_FROM",
    frame_executing: "enum" "FRAME_EXECUTING",
    frame_cleared: "enum" "FRAME_CLEARED",
    owned_by_generator: "enum" "FRAME_OWNED_BY_GENERATOR",
    owned_by_cstack: "enum" "FRAME_OWNED_BY_CSTACK",
    owned_by_interpreter: "enum" "FRAME_OWNED_BY_INTERPRETER",
    owned_by_thread_state: "enum" "FRAME_OWNED_BY_THREAD_STATE",
    // where `_Py_DebugOffsets` (3.13+) publishes each field it covers (see `debug_offsets`)
    dbo_runtime_state_interpreters_head: "_Py_DebugOffsets" "runtime_state.interpreters_head",
    dbo_interpreter_state_next: "_Py_DebugOffsets" "interpreter_state.next",
    dbo_interpreter_state_threads_head: "_Py_DebugOffsets" "interpreter_state.threads_head",
    dbo_interpreter_state_imports_modules: "_Py_DebugOffsets" "interpreter_state.imports_modules",
    dbo_interpreter_state_gc: "_Py_DebugOffsets" "interpreter_state.gc",
    dbo_thread_state_next: "_Py_DebugOffsets" "thread_state.next",
    dbo_thread_state_interp: "_Py_DebugOffsets" "thread_state.interp",
    dbo_thread_state_current_frame: "_Py_DebugOffsets" "thread_state.current_frame",
    dbo_thread_state_thread_id: "_Py_DebugOffsets" "thread_state.thread_id",
    dbo_thread_state_native_thread_id: "_Py_DebugOffsets" "thread_state.native_thread_id",
    dbo_interpreter_frame_previous: "_Py_DebugOffsets" "interpreter_frame.previous",
    dbo_interpreter_frame_executable: "_Py_DebugOffsets" "interpreter_frame.executable",
    dbo_interpreter_frame_instr_ptr: "_Py_DebugOffsets" "interpreter_frame.instr_ptr",
    dbo_interpreter_frame_localsplus: "_Py_DebugOffsets" "interpreter_frame.localsplus",
    dbo_interpreter_frame_owner: "_Py_DebugOffsets" "interpreter_frame.owner",
    dbo_interpreter_frame_stackpointer: "_Py_DebugOffsets" "interpreter_frame.stackpointer",
    dbo_code_object_filename: "_Py_DebugOffsets" "code_object.filename",
    dbo_code_object_name: "_Py_DebugOffsets" "code_object.name",
    dbo_code_object_qualname: "_Py_DebugOffsets" "code_object.qualname",
    dbo_code_object_linetable: "_Py_DebugOffsets" "code_object.linetable",
    dbo_code_object_firstlineno: "_Py_DebugOffsets" "code_object.firstlineno",
    dbo_code_object_localsplusnames: "_Py_DebugOffsets" "code_object.localsplusnames",
    dbo_code_object_co_code_adaptive: "_Py_DebugOffsets" "code_object.co_code_adaptive",
    dbo_pyobject_ob_type: "_Py_DebugOffsets" "pyobject.ob_type",
    dbo_type_object_tp_name: "_Py_DebugOffsets" "type_object.tp_name",
    dbo_type_object_tp_flags: "_Py_DebugOffsets" "type_object.tp_flags",
    dbo_type_object_tp_basicsize: "_Py_DebugOffsets" "type_object.tp_basicsize",
    dbo_type_object_tp_dictoffset: "_Py_DebugOffsets" "type_object.tp_dictoffset",
    dbo_heap_type_object_ht_cached_keys: "_Py_DebugOffsets" "heap_type_object.ht_cached_keys",
    dbo_tuple_object_ob_item: "_Py_DebugOffsets" "tuple_object.ob_item",
    dbo_list_object_ob_item: "_Py_DebugOffsets" "list_object.ob_item",
    dbo_set_object_mask: "_Py_DebugOffsets" "set_object.mask",
    dbo_set_object_table: "_Py_DebugOffsets" "set_object.table",
    dbo_dict_object_ma_keys: "_Py_DebugOffsets" "dict_object.ma_keys",
    dbo_dict_object_ma_values: "_Py_DebugOffsets" "dict_object.ma_values",
    dbo_float_object_ob_fval: "_Py_DebugOffsets" "float_object.ob_fval",
    dbo_long_object_lv_tag: "_Py_DebugOffsets" "long_object.lv_tag",
    dbo_long_object_ob_digit: "_Py_DebugOffsets" "long_object.ob_digit",
    dbo_bytes_object_ob_sval: "_Py_DebugOffsets" "bytes_object.ob_sval",
    dbo_unicode_object_length: "_Py_DebugOffsets" "unicode_object.length",
    dbo_unicode_object_state: "_Py_DebugOffsets" "unicode_object.state",
    dbo_unicode_object_asciiobject_size: "_Py_DebugOffsets" "unicode_object.asciiobject_size",
    dbo_unicode_object_compactunicodeobject_size: "_Py_DebugOffsets" "unicode_object.compactunicodeobject_size",
    dbo_gen_object_gi_iframe: "_Py_DebugOffsets" "gen_object.gi_iframe",
    dbo_gen_object_gi_frame_state: "_Py_DebugOffsets" "gen_object.gi_frame_state",
    dbo_cookie_size: "_Py_DebugOffsets" "sizeof",
    // and the `.AsyncioDebug` table of `_asyncio` (3.14+)
    ado_asyncio_task_object_task_name: "_Py_AsyncioModuleDebugOffsets" "asyncio_task_object.task_name",
    ado_asyncio_task_object_task_coro: "_Py_AsyncioModuleDebugOffsets" "asyncio_task_object.task_coro",
    ado_asyncio_task_object_task_node: "_Py_AsyncioModuleDebugOffsets" "asyncio_task_object.task_node",
    ado_asyncio_interpreter_state_asyncio_tasks_head: "_Py_AsyncioModuleDebugOffsets" "asyncio_interpreter_state.asyncio_tasks_head",
    ado_asyncio_thread_state_asyncio_running_task: "_Py_AsyncioModuleDebugOffsets" "asyncio_thread_state.asyncio_running_task",
    ado_asyncio_thread_state_asyncio_tasks_head: "_Py_AsyncioModuleDebugOffsets" "asyncio_thread_state.asyncio_tasks_head",
    ado_size: "_Py_AsyncioModuleDebugOffsets" "sizeof",
    // _asyncio
    fut_loop: "FutureObj" "fut_loop",
    fut_callback0: "FutureObj" "fut_callback0",
    fut_callbacks: "FutureObj" "fut_callbacks",
    fut_source_tb: "FutureObj" "fut_source_tb",
    fut_cancel_msg: "FutureObj" "fut_cancel_msg",
    fut_state: "FutureObj" "fut_state",
    fut_awaited_by: "FutureObj" "fut_awaited_by",
    fut_awaited_by_is_set: "FutureObj" "fut_awaited_by_is_set",
    task_fut_waiter: "TaskObj" "task_fut_waiter",
    task_coro: "TaskObj" "task_coro",
    task_name: "TaskObj" "task_name",
    task_num_cancels_requested: "TaskObj" "task_num_cancels_requested",
    fi_future: "futureiterobject" "future",
    ww_task: "TaskWakeupMethWrapper" "ww_task",
    sw_task: "TaskStepMethWrapper" "sw_task",
    task_node: "TaskObj" "task_node",
    state_non_asyncio_tasks: "asyncio_state" "non_asyncio_tasks",
    state_non_asyncio_eager_tasks: "asyncio_state" "non_asyncio_eager_tasks",
}

/// The offsets for one target, and where they came from.
#[derive(Debug, Clone)]
pub struct Layout {
    pub version: Version,
    pub source: Source,
    pub off: Offsets,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_field_names_the_version_it_is_missing_for() {
        let off = Offsets {
            for_version: Version::parse("3.12.1"),
            ..Offsets::default()
        };
        let e = off.task_coro().unwrap_err().to_string();
        assert!(e.contains("for Python 3.12.1"), "{e}");
        assert!(e.contains("TaskObj.task_coro"), "{e}");
    }

    #[test]
    fn an_offset_past_the_address_space_reads_nothing() {
        assert_eq!(u64::MAX - 4 + Off(8), 0);
        assert_eq!(0x1000 + Off(8), 0x1008);
        assert_eq!(4 - Off(8), 0);
    }
}
