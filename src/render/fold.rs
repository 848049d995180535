//! Folded stacks: tasks with the same chain (the same functions at the same lines) that
//! wait on the same kind of thing are one entry, with a count and a few of their names.
//! A server's 10,000 handlers are one block; the task that is different stands out.

use crate::model::{Id, IdMap, Kind, Object, Snapshot, Task};

/// Folding starts above this many tasks: a small program is shown task by task.
pub const FOLD_ABOVE: usize = 20;
/// Fewer identical tasks than this are shown one by one.
const FOLD_MIN: usize = 3;

/// One entry of the text: a task, or a group of tasks alike (the first stands for all).
pub struct Entry<'s> {
    /// Where its first task is in the snapshot's order.
    first: usize,
    pub tasks: Vec<&'s Task>,
}

/// What makes two tasks alike: their type, every frame (function, file, line) and how many
/// a view left out, whether they run, and what they wait on, as far as it is not the object itself (its kind and facts;
/// a bare future's type and what owns or holds it, by type).
#[derive(PartialEq, Eq, Hash)]
struct Key<'s> {
    type_name: &'s str,
    frames: Vec<(&'s str, &'s str, Option<i32>)>,
    frames_cut: usize,
    running: bool,
    wait: Option<String>,
}

fn key<'s>(t: &'s Task, objects: &IdMap<&Object>) -> Key<'s> {
    let wait = t.awaiting.as_ref().map(|a| {
        match a.resource.and_then(|id| objects.get(&id)) {
            // Timers alike differ only in when they fire.
            Some(r) if r.kind == Kind::Timer => format!("{:?}", r.kind),
            Some(r) => format!("{:?} {}", r.kind, r.label),
            None => {
                let role = objects.get(&a.address).map(|o| o.kind);
                let owner = a.owner.as_ref().map(|o| &*o.object.type_name);
                let held = a.held_by.as_ref().map(|h| (&*h.object.type_name, &*h.path));
                format!(
                    "{} {role:?} {owner:?} {held:?} {}",
                    a.type_name,
                    a.thread.is_some()
                )
            }
        }
    });
    Key {
        type_name: &t.type_name,
        frames: (t.frames.iter())
            .map(|f| (&*f.function, &*f.file, f.line))
            .collect(),
        frames_cut: t.frames_cut,
        running: t.running_on_thread.is_some(),
        wait,
    }
}

/// The entries of the text, in the order of their first task. Tasks fold only when there
/// are more than [`FOLD_ABOVE`] and `fold` is set.
pub fn entries<'s>(s: &'s Snapshot, objects: &IdMap<&'s Object>, fold: bool) -> Vec<Entry<'s>> {
    let one = |(first, t)| Entry {
        first,
        tasks: vec![t],
    };
    if !fold || s.tasks.len() <= FOLD_ABOVE {
        return s.tasks.iter().enumerate().map(one).collect();
    }
    let mut groups: std::collections::HashMap<Key<'s>, usize> = Default::default();
    let mut out: Vec<Entry<'s>> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, t) in s.tasks.iter().enumerate() {
        let k = key(t, objects);
        // A running task is always shown on its own: it is what the loop is doing.
        if k.running {
            out.push(one((i, t)));
            members.push(vec![i]);
            continue;
        }
        match groups.get(&k) {
            Some(&g) => {
                out[g].tasks.push(t);
                members[g].push(i);
            }
            None => {
                groups.insert(k, out.len());
                out.push(one((i, t)));
                members.push(vec![i]);
            }
        }
    }
    // A group too small to fold is shown task by task, each in its own place.
    let mut shown = Vec::with_capacity(out.len());
    for (e, at) in out.into_iter().zip(members) {
        if e.tasks.len() >= FOLD_MIN {
            shown.push(e);
        } else {
            shown.extend(at.into_iter().zip(e.tasks).map(one));
        }
    }
    shown.sort_by_key(|e| e.first);
    shown
}

/// What a group's members wait on, said once: the one object they all share, or how many
/// of that kind (each its own).
pub fn shared_wait(tasks: &[&Task]) -> Option<String> {
    let resources: Vec<Option<Id>> = (tasks.iter())
        .map(|t| t.awaiting.as_ref().and_then(|a| a.resource))
        .collect();
    let first = resources.first().copied().flatten()?;
    if resources.iter().all(|r| *r == Some(first)) {
        Some(format!("all {} wait on this one", tasks.len()))
    } else {
        let mut distinct: Vec<Id> = resources.into_iter().flatten().collect();
        distinct.sort_unstable();
        distinct.dedup();
        Some(format!("each on its own: {} objects", distinct.len()))
    }
}
