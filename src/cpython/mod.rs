//! Reading CPython objects from a paused target: one `Py` value holds the memory reader,
//! the layout and the addresses of the type objects we recognise.

pub mod callable;
pub mod code;
pub mod dict;
pub mod era;
pub mod frame;
pub mod gc;
pub mod generator;
pub mod linetable;
pub mod object;
pub mod thread;
pub mod value;

use crate::layout::{Layout, Offsets, Version};
use crate::target::{Addr, AddrMap, Reader};
use era::Era;
use std::cell::RefCell;
use std::sync::Arc;

/// Addresses of static type objects and sentinels, from the symbol tables; 0 when unknown.
#[derive(Debug, Clone, Default)]
pub struct KnownTypes {
    pub coroutine: Addr,
    pub generator: Addr,
    pub async_generator: Addr,
    pub code: Addr,
    pub cell: Addr,
    pub set_dummy: Addr,
    /// Classes known by identity, (type, (module, name)): `_asyncio.Task` and `.Future`,
    /// the module's own attributes. Their instances are recognised even when the type's
    /// name cannot be read (a damaged core).
    pub classes: Vec<(Addr, (&'static str, &'static str))>,
    /// 3.6: what only symbol tables name.
    pub statics: Statics,
}

/// 3.6, which has no `_PyRuntime`, keeps what the decoder starts from in static
/// variables, named only by symbol tables: their addresses, 0 when unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Statics {
    /// `_asyncio`'s `all_tasks` (a pointer to its weak set of C tasks).
    pub all_tasks: Addr,
    /// `_asyncio`'s `current_tasks` (a pointer to its dict of running tasks by loop).
    pub current_tasks: Addr,
    /// The collector's `generations` array of `gcmodule.c`.
    pub generations: Addr,
    /// The collector's `collecting` flag.
    pub collecting: Addr,
}

/// A class's slots looked up so far: (attribute name, offset in an instance, if a slot).
type SlotOffsets = Vec<(Arc<str>, Option<u64>)>;

/// Everything the object readers share for one snapshot.
pub struct Py<'r> {
    pub mem: &'r Reader<'r>,
    pub layout: Layout,
    /// What this version does differently (decided once, from the version).
    pub era: Era,
    pub types: KnownTypes,
    code_cache: RefCell<AddrMap<Arc<code::CodeInfo>>>,
    type_name_cache: RefCell<AddrMap<Arc<str>>>,
    class_id_cache: RefCell<AddrMap<Arc<object::ClassId>>>,
    /// `__name__` of each type, shared by every object of the type.
    short_name_cache: RefCell<AddrMap<Arc<str>>>,
    type_chain_cache: RefCell<AddrMap<Arc<[Addr]>>>,
    /// Dict keys by address: the str, or None for a key that is not one.
    key_cache: RefCell<AddrMap<Option<Arc<str>>>>,
    /// Slot offsets by type: (attribute name, offset in the instance, if it is a slot).
    slot_cache: RefCell<AddrMap<SlotOffsets>>,
    /// 3.11+ instructions by code object (`code_ahead_calls`).
    bytecode_cache: RefCell<AddrMap<Arc<[u8]>>>,
    /// How far reads go into what the target can make large, and which limits were hit.
    pub limits: crate::limits::Limits,
    pub hits: Arc<crate::limits::Hits>,
}

impl<'r> Py<'r> {
    pub fn new(mem: &'r Reader<'r>, mut layout: Layout, types: KnownTypes) -> Self {
        // A missing field's error names the version it is missing for.
        layout.off.for_version = Some(layout.version);
        Py {
            mem,
            era: Era::of(layout.version),
            layout,
            types,
            code_cache: RefCell::default(),
            type_name_cache: RefCell::default(),
            class_id_cache: RefCell::default(),
            short_name_cache: RefCell::default(),
            type_chain_cache: RefCell::default(),
            key_cache: RefCell::default(),
            slot_cache: RefCell::default(),
            bytecode_cache: RefCell::default(),
            limits: Default::default(),
            hits: Default::default(),
        }
    }

    /// The same, under these limits, noting the ones hit in `hits`.
    pub fn bounded(
        mut self,
        limits: crate::limits::Limits,
        hits: Arc<crate::limits::Hits>,
    ) -> Self {
        self.limits = limits;
        self.hits = hits;
        self
    }

    /// Note that a limit was hit (`limits.rs` names them).
    pub fn hit(&self, name: &'static str) {
        self.hits.hit(name);
    }
    pub fn off(&self) -> &Offsets {
        &self.layout.off
    }
    pub fn version(&self) -> Version {
        self.layout.version
    }
    /// The full version, once known (≤3.10: from `sys.version`).
    pub fn set_version(&mut self, v: Version) {
        self.layout.version = v;
        self.layout.off.for_version = Some(v);
        self.era = Era::of(v);
    }
}
