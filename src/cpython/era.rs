//! What changed between CPython versions, named once. The readers ask these questions
//! instead of comparing version numbers, so each difference is decided in one place (here)
//! and a reader says which difference it depends on.

use crate::layout::Version;

/// How frames are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Frames {
    /// ≤3.9: `PyFrameObject`s (`f_code`, `f_lasti`, `f_back`, `f_localsplus`), the value
    /// stack ending at `f_stacktop`; a generator says whether it runs (`gi_running`).
    Objects,
    /// 3.10: frame objects that record their state (`f_state`) and stack depth.
    States,
    /// 3.11–3.12: `_PyInterpreterFrame`s (`f_code`, `prev_instr`, `stacktop`), the thread's
    /// innermost one through its `cframe`.
    Interpreter,
    /// 3.13: `f_executable` (which may hold a non-code object) and `instr_ptr`; the thread
    /// points at its innermost frame itself.
    Executable,
    /// 3.14+: the executable, the locals and the value stack hold tagged stack references,
    /// and the value stack ends at `stackpointer`.
    Tagged,
}

/// How a code object maps instructions to lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineTable {
    /// ≤3.9: `co_lnotab`, offsets in bytes.
    Lnotab,
    /// 3.10: `co_linetable`, offsets in code units.
    Lines310,
    /// 3.11+: the location table.
    Locations,
}

/// Where an instance keeps its attributes when its class manages its dict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedDict {
    /// ≤3.10: only through `tp_dictoffset`.
    No,
    /// 3.11: a dict pointer and a values pointer before the object.
    Pointers,
    /// 3.12: one word before the object: a dict, or values (tagged by its low bit).
    DictOrValues,
    /// 3.13+: a dict pointer before the object, values inline after it.
    InlineValues,
}

/// Where asyncio keeps its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskRegistry {
    /// 3.6: `_asyncio`'s static `all_tasks` weak set (no module attribute names it), and
    /// the pure-Python `Task` class's own `_all_tasks`.
    Statics,
    /// 3.7–3.11: the `_all_tasks` weak set.
    AllTasks,
    /// 3.12–3.13: the `_scheduled_tasks` weak set and the `_eager_tasks` set.
    Scheduled,
    /// 3.14+: a linked list per thread (and per interpreter for tasks of finished threads).
    Linked,
}

/// The differences the readers depend on, for one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Era {
    /// 3.7+: the interpreters hang off `_PyRuntime`; 3.6 lists them from the static
    /// `interp_head` of `pystate.c`.
    pub runtime_struct: bool,
    /// 3.8+: tasks have names.
    pub task_names: bool,
    /// 3.7+: a future keeps each callback with its context (`(callback, context)` tuples),
    /// and a C future its first one apart (`fut_callback0`); 3.6 lists bare callables.
    pub callback_contexts: bool,
    /// 3.7+: `loop.sock_recv` and the like are coroutines whose frames hold the socket;
    /// 3.6's return a plain future.
    pub socket_coroutines: bool,
    pub frames: Frames,
    pub line_table: LineTable,
    pub managed_dict: ManagedDict,
    pub registry: TaskRegistry,
    /// 3.10+: instruction offsets count 2-byte code units, not bytes.
    pub code_units: bool,
    /// 3.11+: code runs from `co_code_adaptive`, whose opcodes vary by version and by
    /// specialisation.
    pub adaptive_code: bool,
    /// 3.11+: dict keys record their index width (`dk_log2_index_bytes`), split values
    /// have a prefix, and code objects name their locals in `co_localsplusnames`.
    pub compact_311: bool,
    /// 3.12+: ints keep their sign and size in `lv_tag`.
    pub tagged_longs: bool,
    /// 3.12+: `LOAD_ATTR` carries its name index in the upper bits of its argument.
    pub shifted_load_attr: bool,
    /// The `RESUME` opcodes (3.11–3.12): what follows a suspended frame's instruction in
    /// `await`, where nothing else says so.
    pub resume: Option<[u8; 2]>,
    /// 3.11+: tasks count their cancel requests.
    pub cancel_requests: bool,
    /// 3.12+: `sys.modules` lives in the interpreter's `imports`.
    pub imports_struct: bool,
    /// 3.11+: an interpreter lists its threads in `threads.head`.
    pub threads_head: bool,
    /// 3.13+: the runtime exports `_Py_DebugOffsets`.
    pub debug_offsets: bool,
    /// 3.14+: futures record who awaits them (`fut_awaited_by`).
    pub awaited_by: bool,
}

impl Era {
    pub fn of(v: Version) -> Era {
        let at_least = |minor| v.at_least(3, minor);
        Era {
            runtime_struct: at_least(7),
            task_names: at_least(8),
            callback_contexts: at_least(7),
            socket_coroutines: at_least(7),
            frames: match v.minor {
                _ if at_least(14) => Frames::Tagged,
                13 => Frames::Executable,
                11 | 12 => Frames::Interpreter,
                10 => Frames::States,
                _ => Frames::Objects,
            },
            line_table: match v.minor {
                _ if at_least(11) => LineTable::Locations,
                10 => LineTable::Lines310,
                _ => LineTable::Lnotab,
            },
            managed_dict: match v.minor {
                _ if at_least(13) => ManagedDict::InlineValues,
                12 => ManagedDict::DictOrValues,
                11 => ManagedDict::Pointers,
                _ => ManagedDict::No,
            },
            registry: match v.minor {
                _ if at_least(14) => TaskRegistry::Linked,
                12 | 13 => TaskRegistry::Scheduled,
                6 => TaskRegistry::Statics,
                _ => TaskRegistry::AllTasks,
            },
            code_units: at_least(10),
            adaptive_code: at_least(11),
            compact_311: at_least(11),
            tagged_longs: at_least(12),
            shifted_load_attr: at_least(12),
            resume: match v.minor {
                11 => Some([151, 150]), // RESUME, RESUME_QUICK
                12 => Some([151, 240]), // RESUME, INSTRUMENTED_RESUME
                _ => None,
            },
            cancel_requests: at_least(11),
            imports_struct: at_least(12),
            threads_head: at_least(11),
            debug_offsets: at_least(13),
            awaited_by: at_least(14),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn era(minor: u8) -> Era {
        Era::of(Version {
            major: 3,
            minor,
            micro: 0,
        })
    }

    #[test]
    fn frames_by_version() {
        let kinds: Vec<Frames> = (6..=15).map(|m| era(m).frames).collect();
        use Frames::*;
        assert_eq!(
            kinds,
            [
                Objects,
                Objects,
                Objects,
                Objects,
                States,
                Interpreter,
                Interpreter,
                Executable,
                Tagged,
                Tagged
            ]
        );
    }

    #[test]
    fn only_311_and_312_need_the_resume_opcodes() {
        for m in 6..=15 {
            assert_eq!(era(m).resume.is_some(), m == 11 || m == 12, "3.{m}");
        }
    }
}
