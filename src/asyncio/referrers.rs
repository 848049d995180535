//! What keeps a bare Future that no frame of its chain explains: a registry of pending
//! requests (`PENDING[key] = fut; await fut`), a list of waiters, an attribute of an object
//! the chain never names. Found by reading every object the collector tracks once per
//! question: containers (dicts, lists, sets, deques) by their items, every other object by
//! the attributes of its own. A dict that is an object's `__dict__` (a module's globals
//! among them) stands for that object. From the holder it climbs through containers to the
//! first object or module that names them, a few steps at most.
//!
//! Of several holders the one at the lowest address is taken (in it, the first place in
//! its own order): the choice cannot depend on the collector's list order, which a
//! collection reshuffles.

use crate::cpython::Py;
use crate::cpython::gc::Tracked;
use crate::cpython::object::{TPFLAGS_HEAPTYPE, TPFLAGS_TUPLE_SUBCLASS};
use crate::cpython::thread::ThreadStack;
use crate::model::{HeldBy, ObjectRef, Task};
use crate::target::{Addr, AddrHash, AddrMap};
use std::collections::HashSet;
use std::sync::Arc;

use super::tasks::task_kind;

/// Most tracked objects read for one question (a large server has a few million).
const MAX_TRACKED: usize = 8 << 20;
/// Containers climbed through from the future to the object or module that names them.
const MAX_STEPS: usize = 3;

const TPFLAGS_LIST_SUBCLASS: u64 = 1 << 25;
const TPFLAGS_DICT_SUBCLASS: u64 = 1 << 29;
const TPFLAGS_TYPE_SUBCLASS: u64 = 1 << 31;

/// Where a holder keeps the object: under an attribute (or global) name, a dict key, at a
/// list or deque index, or as a set member.
#[derive(Clone, Copy)]
enum Place {
    Attr(Addr),
    Key(Addr),
    Index(usize),
    Member,
}

/// One reference found: `holder` keeps the object at `place`.
#[derive(Clone, Copy)]
struct Ref {
    holder: Addr,
    place: Place,
}

/// For each task awaiting a bare Future that has no owner, no holding thread and no typed
/// wait, what keeps that future (`Awaited::held_by`), among the objects of every
/// interpreter (3.8: one collector for all, in the runtime).
pub fn held_by(
    py: &Py<'_>,
    runtime: Addr,
    interps: &[Addr],
    tasks: &mut [Task],
    threads: &[ThreadStack],
    warnings: &mut Vec<String>,
) {
    let mut wanted: AddrMap<Vec<usize>> = AddrMap::default();
    for (i, t) in tasks.iter().enumerate() {
        if let Some(a) = t.awaiting.as_ref()
            && a.resource.is_none()
            && a.owner.is_none()
            && a.thread.is_none()
            && super::graph::plain_future(py, a.address.0)
        {
            wanted.entry(a.address.0).or_default().push(i);
        }
    }
    if wanted.is_empty() {
        return;
    }
    let mut states = Vec::new();
    // Each module by its name in sys.modules.
    let mut modules = AddrMap::default();
    for &i in interps {
        match py.gc_state(runtime, i) {
            Ok(s) if !states.contains(&s) => states.push(s),
            Ok(_) => {}
            Err(e) => warnings.push(format!("the collector's state cannot be found: {e}")),
        }
        let named = py.sys_modules(i).and_then(|m| py.dict_items(m));
        for (k, v) in named.unwrap_or_default() {
            if let Ok(name) = py.str(k) {
                modules.entry(v).or_insert_with(|| Arc::<str>::from(name));
            }
        }
    }
    let mut tracked = Vec::new();
    for state in states {
        match py.gc_objects(state, MAX_TRACKED) {
            Ok(Tracked {
                objects,
                cut,
                collecting,
            }) => {
                if cut {
                    warnings.push(format!(
                        "the collector's lists were not all read (past {MAX_TRACKED} objects, or a damaged link): what holds a bare future was looked for among the objects read"
                    ));
                }
                if collecting {
                    warnings.push("a garbage collection was running: what holds a bare future may be missed (its lists were split)".into());
                }
                tracked.extend(objects);
            }
            Err(e) => warnings.push(format!(
                "the collector's lists cannot be read ({e}): what holds a bare future is not shown"
            )),
        }
    }
    // A function's locals copied into a dict (≤3.12, once something read `f_locals`) are
    // its frame's, not a holder of their own (a module's f_locals are its globals, which
    // are): the chains' and the threads' frames are known.
    let frames = (tasks.iter().flat_map(|t| t.frames.iter().map(|f| f.at.0)))
        .chain(threads.iter().flat_map(|(_, fs)| fs.iter().map(|f| f.0)));
    let snapshots: HashSet<Addr, AddrHash> = frames
        .filter_map(|f| {
            let copy = py.frame_locals_dict(f).ok().flatten()?;
            (py.frame_globals(f).ok() != Some(copy)).then_some(copy)
        })
        .collect();
    let index = Index::new(py, &tracked, &modules, &snapshots);
    for (fut, held) in index.climb(wanted.keys().copied()) {
        for &i in wanted.get(&fut).into_iter().flatten() {
            if let Some(a) = tasks[i].awaiting.as_mut() {
                a.held_by = Some(Box::new(held.clone()));
            }
        }
    }
}

/// The tracked objects, sorted into containers and the rest, with every object's own
/// `__dict__` noted (so a dict holder can stand for its object).
struct Index<'a, 'r> {
    py: &'a Py<'r>,
    containers: Vec<(Addr, Container)>,
    is_container: HashSet<Addr, AddrHash>,
    /// Objects with attributes of their own kept inline (no `__dict__` object).
    inline: Vec<Addr>,
    /// Each `__dict__` → its object.
    dict_of: AddrMap<Addr>,
    modules: &'a AddrMap<Arc<str>>,
}

#[derive(Clone, Copy, PartialEq)]
enum Container {
    Dict,
    List,
    Set,
    Deque,
}

impl<'a, 'r> Index<'a, 'r> {
    fn new(
        py: &'a Py<'r>,
        tracked: &[Addr],
        modules: &'a AddrMap<Arc<str>>,
        skip: &HashSet<Addr, AddrHash>,
    ) -> Self {
        let mut index = Index {
            py,
            containers: Vec::new(),
            is_container: HashSet::default(),
            inline: Vec::new(),
            dict_of: AddrMap::default(),
            modules,
        };
        for &o in tracked.iter().filter(|o| !skip.contains(o)) {
            // A damaged object costs only itself.
            let Ok(tp) = py.type_of(o) else { continue };
            let Ok(flags) = py.type_flags(tp) else {
                continue;
            };
            // Classes keep their attributes in a dict of their own (seen as a container);
            // tuples are argument packs and keys, not somewhere a program keeps a future.
            if flags & (TPFLAGS_TYPE_SUBCLASS | TPFLAGS_TUPLE_SUBCLASS) != 0 {
                continue;
            }
            if let Some(c) = container(py, tp, flags) {
                index.containers.push((o, c));
                index.is_container.insert(o);
                continue;
            }
            // A Task keeps the future it awaits (a pure-Python one as an attribute).
            if task_kind(py, o).ok().flatten().is_some() {
                continue;
            }
            match py.instance_dict(o) {
                Ok(Some(d)) => {
                    index.dict_of.insert(d, o);
                }
                Ok(None) => index.inline.push(o),
                Err(_) => {}
            }
        }
        index
    }

    /// Every reference to one of `targets`, by target, in the order of the holders.
    fn refs(&self, targets: &HashSet<Addr, AddrHash>) -> AddrMap<Vec<Ref>> {
        let py = self.py;
        let mut out: AddrMap<Vec<Ref>> = AddrMap::default();
        let mut note = |target: Addr, holder: Addr, place: Place| {
            if targets.contains(&target) && holder != target {
                out.entry(target).or_default().push(Ref { holder, place });
            }
        };
        for &(o, kind) in &self.containers {
            match kind {
                Container::Dict => {
                    // An object's `__dict__` stands for the object: its keys are attributes.
                    let holder = self.dict_of.get(&o).copied();
                    for (k, v) in py.dict_items(o).unwrap_or_default() {
                        match holder {
                            Some(h) => note(v, h, Place::Attr(k)),
                            None => note(v, o, Place::Key(k)),
                        }
                    }
                }
                Container::List => {
                    for (i, v) in py.list(o).unwrap_or_default().into_iter().enumerate() {
                        note(v, o, Place::Index(i));
                    }
                }
                Container::Deque => {
                    for (i, v) in py.deque(o).unwrap_or_default().into_iter().enumerate() {
                        note(v, o, Place::Index(i));
                    }
                }
                Container::Set => {
                    for v in py.set_items(o).unwrap_or_default() {
                        note(v, o, Place::Member);
                    }
                }
            }
        }
        for &o in &self.inline {
            for (k, v) in py.instance_items(o).unwrap_or_default() {
                note(v, o, Place::Attr(k));
            }
        }
        out
    }

    /// From each of `futures` outwards: the first object or module that names it, through
    /// at most [`MAX_STEPS`] containers; else the outermost container reached. One pass
    /// over the tracked objects per step, for all of them at once.
    fn climb(&self, futures: impl Iterator<Item = Addr>) -> Vec<(Addr, HeldBy)> {
        let mut out = Vec::new();
        // Each future's climb so far: the object reached, and the path from it to the future.
        let mut climbing: Vec<(Addr, Addr, String)> =
            futures.map(|f| (f, f, String::new())).collect();
        for step in 0..=MAX_STEPS {
            let targets = climbing.iter().map(|c| c.1).collect();
            let refs = self.refs(&targets);
            let mut next = Vec::new();
            for (fut, at, path) in climbing {
                let of = refs.get(&at).map_or(&[][..], Vec::as_slice);
                let named = first(of.iter().filter(|r| !self.is_container.contains(&r.holder)));
                let inner = first(of.iter().filter(|r| self.is_container.contains(&r.holder)));
                match (named, inner) {
                    (Some(r), _) => {
                        if let Place::Attr(key) = r.place
                            && let Ok(name) = self.py.str(key)
                        {
                            out.push((fut, self.held(r.holder, format!("{name}{path}"))));
                        }
                    }
                    (None, Some(r)) => {
                        let path = format!("{}{path}", self.place(r.place));
                        if step == MAX_STEPS {
                            out.push((fut, self.held(r.holder, path)));
                        } else {
                            next.push((fut, r.holder, path));
                        }
                    }
                    // Nothing holds the future; or nothing names the container reached.
                    (None, None) if step > 0 => out.push((fut, self.held(at, path))),
                    (None, None) => {}
                }
            }
            if next.is_empty() {
                break;
            }
            climbing = next;
        }
        out
    }

    fn held(&self, obj: Addr, path: String) -> HeldBy {
        let py = self.py;
        let module = self.modules.get(&obj).cloned();
        let type_name = (py.type_of(obj).ok())
            .and_then(|t| py.class_id(t).ok())
            .map_or_else(|| "?".into(), |c| format!("{}.{}", c.module, c.name).into());
        HeldBy {
            object: ObjectRef {
                address: crate::model::Id(obj),
                type_name,
            },
            module,
            path,
        }
    }

    /// A place as Python would subscript it: `['key']`, `[2]`, `{…}` for a set member.
    fn place(&self, p: Place) -> String {
        match p {
            Place::Attr(k) => format!(".{}", self.py.str(k).unwrap_or_else(|_| "?".into())),
            Place::Member => "{…}".into(),
            Place::Index(i) => format!("[{i}]"),
            Place::Key(k) => format!("[{}]", key_repr(self.py, k)),
        }
    }
}

/// Of several references, the one whose holder lies lowest (the first such in its order).
fn first<'x>(refs: impl Iterator<Item = &'x Ref>) -> Option<&'x Ref> {
    let mut best: Option<&Ref> = None;
    for r in refs {
        if best.is_none_or(|b| r.holder < b.holder) {
            best = Some(r);
        }
    }
    best
}

/// A dict key as `repr()` shows it, for a short plain str or an int; else `…`.
fn key_repr(py: &Py<'_>, k: Addr) -> String {
    if py.is_str(k).unwrap_or(false)
        && let Ok(s) = py.str(k)
        && s.len() <= 64
        && s.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        && !s.contains(['\'', '\\'])
    {
        return format!("'{s}'");
    }
    if py.is_int(k).unwrap_or(false)
        && let Ok(i) = py.int(k)
    {
        return i.to_string();
    }
    "…".into()
}

/// The kind of container a type is: dicts and lists by their flags (subclasses share the
/// layout); sets and deques only as the built-in types themselves.
fn container(py: &Py<'_>, tp: Addr, flags: u64) -> Option<Container> {
    if flags & TPFLAGS_DICT_SUBCLASS != 0 {
        return Some(Container::Dict);
    }
    if flags & TPFLAGS_LIST_SUBCLASS != 0 {
        return Some(Container::List);
    }
    let class = py.class_id(tp).ok()?;
    match (&*class.module, &*class.name) {
        ("builtins", "set" | "frozenset") if flags & TPFLAGS_HEAPTYPE == 0 => Some(Container::Set),
        ("collections", "deque") => Some(Container::Deque),
        _ => None,
    }
}
