//! The interpreter's own description of its layout: `_Py_DebugOffsets` at the start of
//! `_PyRuntime` (3.13+) and `_asyncio`'s `.AsyncioDebug` table (3.14+). They are read from
//! target memory; where each entry sits inside those tables is itself data, extracted from
//! DWARF into `offsets/` like every other field. The running interpreter's values win over
//! a table; every disagreement is a warning that names the field.

use super::Offsets;
use crate::error::Result;
use crate::target::{Addr, Reader};

/// The cookie `_Py_DebugOffsets` starts with.
pub const COOKIE: &[u8; 8] = b"xdebugpy";
/// No offset inside an object is this large; a bigger value means a garbled table.
const MAX_OFFSET: u64 = 1 << 20;

/// (our field, the `_Py_DebugOffsets` entry that publishes it).
pub const RUNTIME: &[(&str, &str)] = &[
    (
        "_PyRuntimeState.interpreters.head",
        "_Py_DebugOffsets.runtime_state.interpreters_head",
    ),
    (
        "PyInterpreterState.next",
        "_Py_DebugOffsets.interpreter_state.next",
    ),
    (
        "PyInterpreterState.threads.head",
        "_Py_DebugOffsets.interpreter_state.threads_head",
    ),
    (
        "PyInterpreterState.imports.modules",
        "_Py_DebugOffsets.interpreter_state.imports_modules",
    ),
    (
        "PyInterpreterState.gc",
        "_Py_DebugOffsets.interpreter_state.gc",
    ),
    ("PyThreadState.next", "_Py_DebugOffsets.thread_state.next"),
    (
        "PyThreadState.interp",
        "_Py_DebugOffsets.thread_state.interp",
    ),
    (
        "PyThreadState.current_frame",
        "_Py_DebugOffsets.thread_state.current_frame",
    ),
    (
        "PyThreadState.thread_id",
        "_Py_DebugOffsets.thread_state.thread_id",
    ),
    (
        "PyThreadState.native_thread_id",
        "_Py_DebugOffsets.thread_state.native_thread_id",
    ),
    (
        "_PyInterpreterFrame.previous",
        "_Py_DebugOffsets.interpreter_frame.previous",
    ),
    (
        "_PyInterpreterFrame.f_executable",
        "_Py_DebugOffsets.interpreter_frame.executable",
    ),
    (
        "_PyInterpreterFrame.instr_ptr",
        "_Py_DebugOffsets.interpreter_frame.instr_ptr",
    ),
    (
        "_PyInterpreterFrame.localsplus",
        "_Py_DebugOffsets.interpreter_frame.localsplus",
    ),
    (
        "_PyInterpreterFrame.owner",
        "_Py_DebugOffsets.interpreter_frame.owner",
    ),
    (
        "_PyInterpreterFrame.stackpointer",
        "_Py_DebugOffsets.interpreter_frame.stackpointer",
    ),
    (
        "PyCodeObject.co_filename",
        "_Py_DebugOffsets.code_object.filename",
    ),
    ("PyCodeObject.co_name", "_Py_DebugOffsets.code_object.name"),
    (
        "PyCodeObject.co_qualname",
        "_Py_DebugOffsets.code_object.qualname",
    ),
    (
        "PyCodeObject.co_linetable",
        "_Py_DebugOffsets.code_object.linetable",
    ),
    (
        "PyCodeObject.co_firstlineno",
        "_Py_DebugOffsets.code_object.firstlineno",
    ),
    (
        "PyCodeObject.co_localsplusnames",
        "_Py_DebugOffsets.code_object.localsplusnames",
    ),
    (
        "PyCodeObject.co_code_adaptive",
        "_Py_DebugOffsets.code_object.co_code_adaptive",
    ),
    ("PyObject.ob_type", "_Py_DebugOffsets.pyobject.ob_type"),
    (
        "PyTypeObject.tp_name",
        "_Py_DebugOffsets.type_object.tp_name",
    ),
    (
        "PyTypeObject.tp_flags",
        "_Py_DebugOffsets.type_object.tp_flags",
    ),
    (
        "PyTypeObject.tp_basicsize",
        "_Py_DebugOffsets.type_object.tp_basicsize",
    ),
    (
        "PyTypeObject.tp_dictoffset",
        "_Py_DebugOffsets.type_object.tp_dictoffset",
    ),
    (
        "PyHeapTypeObject.ht_cached_keys",
        "_Py_DebugOffsets.heap_type_object.ht_cached_keys",
    ),
    (
        "PyTupleObject.ob_item",
        "_Py_DebugOffsets.tuple_object.ob_item",
    ),
    (
        "PyListObject.ob_item",
        "_Py_DebugOffsets.list_object.ob_item",
    ),
    ("PySetObject.mask", "_Py_DebugOffsets.set_object.mask"),
    ("PySetObject.table", "_Py_DebugOffsets.set_object.table"),
    (
        "PyDictObject.ma_keys",
        "_Py_DebugOffsets.dict_object.ma_keys",
    ),
    (
        "PyDictObject.ma_values",
        "_Py_DebugOffsets.dict_object.ma_values",
    ),
    (
        "PyFloatObject.ob_fval",
        "_Py_DebugOffsets.float_object.ob_fval",
    ),
    (
        "PyLongObject.long_value.lv_tag",
        "_Py_DebugOffsets.long_object.lv_tag",
    ),
    (
        "PyLongObject.long_value.ob_digit",
        "_Py_DebugOffsets.long_object.ob_digit",
    ),
    (
        "PyBytesObject.ob_sval",
        "_Py_DebugOffsets.bytes_object.ob_sval",
    ),
    (
        "PyASCIIObject.length",
        "_Py_DebugOffsets.unicode_object.length",
    ),
    (
        "PyASCIIObject.state",
        "_Py_DebugOffsets.unicode_object.state",
    ),
    (
        "PyASCIIObject.sizeof",
        "_Py_DebugOffsets.unicode_object.asciiobject_size",
    ),
    (
        "PyCompactUnicodeObject.sizeof",
        "_Py_DebugOffsets.unicode_object.compactunicodeobject_size",
    ),
    (
        "PyGenObject.gi_iframe",
        "_Py_DebugOffsets.gen_object.gi_iframe",
    ),
    (
        "PyGenObject.gi_frame_state",
        "_Py_DebugOffsets.gen_object.gi_frame_state",
    ),
];

/// (our field, the `_Py_AsyncioModuleDebugOffsets` entry that publishes it).
pub const ASYNCIO: &[(&str, &str)] = &[
    (
        "TaskObj.task_name",
        "_Py_AsyncioModuleDebugOffsets.asyncio_task_object.task_name",
    ),
    (
        "TaskObj.task_coro",
        "_Py_AsyncioModuleDebugOffsets.asyncio_task_object.task_coro",
    ),
    (
        "TaskObj.task_node",
        "_Py_AsyncioModuleDebugOffsets.asyncio_task_object.task_node",
    ),
    (
        "PyInterpreterState.asyncio_tasks_head",
        "_Py_AsyncioModuleDebugOffsets.asyncio_interpreter_state.asyncio_tasks_head",
    ),
    (
        "_PyThreadStateImpl.asyncio_running_task",
        "_Py_AsyncioModuleDebugOffsets.asyncio_thread_state.asyncio_running_task",
    ),
    (
        "_PyThreadStateImpl.asyncio_tasks_head",
        "_Py_AsyncioModuleDebugOffsets.asyncio_thread_state.asyncio_tasks_head",
    ),
];

/// What applying a table did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Fields the table covered (and so came from the running interpreter).
    pub covered: usize,
    pub warnings: Vec<String>,
}

/// Check that `_PyRuntime` starts with the cookie and the expected `PY_VERSION_HEX`.
pub fn check_runtime(
    mem: &Reader<'_>,
    runtime: Addr,
    version_hex: u64,
) -> std::result::Result<(), String> {
    let head = mem
        .bytes(runtime, 16)
        .map_err(|e| format!("cannot read _Py_DebugOffsets: {e}"))?;
    if &head[..8] != COOKIE {
        return Err("_PyRuntime does not start with the _Py_DebugOffsets cookie".into());
    }
    let found = u64::from_le_bytes(head[8..16].try_into().unwrap_or_default());
    if found >> 16 != version_hex >> 16 {
        return Err(format!(
            "_Py_DebugOffsets says version {found:#x}, Py_Version says {version_hex:#x}"
        ));
    }
    Ok(())
}

/// Read every entry of the table at `base` that `off` knows the position of, and make the
/// running interpreter's value the one used. `source` names what `off` came from.
pub fn apply(
    mem: &Reader<'_>,
    base: Addr,
    pairs: &[(&str, &str)],
    off: &mut Offsets,
    source: &str,
) -> Result<Applied> {
    let mut map = off.to_map();
    let mut applied = Applied::default();
    for (ours, position) in pairs {
        let Some(&at) = map.get(*position) else {
            continue;
        };
        let value = mem.u64(base + at)?;
        if value >= MAX_OFFSET {
            applied.warnings.push(format!(
                "_Py_DebugOffsets entry for {ours} is implausible ({value:#x}); ignored"
            ));
            continue;
        }
        applied.covered += 1;
        match map.get(*ours) {
            Some(&known) if known != value => {
                applied.warnings.push(format!(
                    "{source} says {ours} is at {known}, the running interpreter's debug offsets say {value}; using {value}"
                ));
                map.insert(ours.to_string(), value);
            }
            Some(_) => {}
            None => {
                map.insert(ours.to_string(), value);
            }
        }
    }
    *off = Offsets::from_map(&map).0;
    Ok(applied)
}
