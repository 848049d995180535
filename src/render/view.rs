//! What part of a snapshot the text shows: some tasks (by name, address or pattern; by
//! what they wait on; by a function in their chain) and how many frames of each. The same
//! options in the CLI, gdb and lldb (as JSON through the C ABI).

use crate::model::{IdMap, Kind, Snapshot, Task};
use crate::select::TaskMatch;
use serde::Deserialize;

/// The user's choices; all empty: everything.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct View {
    /// A task's name, its address (`0x…`), or a regular expression on names.
    pub task: Option<String>,
    /// What the task waits on: an object kind (`lock`, `event`, `timer`, `future`, `task`…;
    /// `socket` also takes streams).
    pub waiting_on: Option<String>,
    /// A function (its name or qualified name) somewhere in the task's chain.
    pub contains: Option<String>,
    /// The innermost frames shown of each chain.
    pub depth: Option<usize>,
    /// The text in colour (ANSI styles, for a terminal).
    #[serde(default)]
    pub colour: bool,
}

impl View {
    pub fn is_everything(&self) -> bool {
        self.task.is_none()
            && self.waiting_on.is_none()
            && self.contains.is_none()
            && self.depth.is_none()
    }

    /// Is every filter understood (a pattern, a kind)? Checked before anything is read.
    pub fn check(&self) -> Result<(), String> {
        self.task.as_deref().map(TaskMatch::parse).transpose()?;
        self.waiting_on.as_deref().map(kinds).transpose()?;
        Ok(())
    }

    /// `s` with only the tasks this view shows (and their frames cut to `depth`); an error
    /// names what matched nothing, or what could not be understood.
    pub fn apply(&self, s: &Snapshot) -> Result<Snapshot, String> {
        let objects: IdMap<Kind> = s.objects.iter().map(|o| (o.id, o.kind)).collect();
        let by_task = self.task.as_deref().map(TaskMatch::parse).transpose()?;
        let kinds = self.waiting_on.as_deref().map(kinds).transpose()?;
        let mut tasks: Vec<Task> = Vec::new();
        for t in &s.tasks {
            let shown = by_task.as_ref().is_none_or(|m| m.matches(t))
                && kinds
                    .as_ref()
                    .is_none_or(|k| waits_on(t, &objects).is_some_and(|w| k.contains(&w)))
                && self.contains.as_deref().is_none_or(|f| contains(t, f));
            if shown {
                let mut t = t.clone();
                if let Some(d) = self.depth {
                    let cut = t.frames.len().saturating_sub(d);
                    t.frames.drain(..cut);
                    t.frames_cut += cut;
                }
                tasks.push(t);
            }
        }
        if tasks.is_empty() && !s.tasks.is_empty() {
            if let Some(TaskMatch::Address(a)) = by_task {
                return Err(format!(
                    "--task {a:#x}: no pending task is at that address (of {} tasks)",
                    s.tasks.len()
                ));
            }
            return Err(format!(
                "no task matches {} (of {} tasks)",
                self.said(),
                s.tasks.len()
            ));
        }
        // Everything else as it is (not `..s.clone()`: that would copy every task too).
        Ok(Snapshot {
            python: s.python.clone(),
            layout: s.layout.clone(),
            tasks,
            threads: s.threads.clone(),
            loops: s.loops.clone(),
            objects: s.objects.clone(),
            edges: s.edges.clone(),
            cycles: s.cycles.clone(),
            warnings: s.warnings.clone(),
            stats: s.stats.clone(),
        })
    }

    /// The filters, as the user gave them.
    fn said(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.task {
            parts.push(format!("--task '{t}'"));
        }
        if let Some(k) = &self.waiting_on {
            parts.push(format!("--waiting-on {k}"));
        }
        if let Some(f) = &self.contains {
            parts.push(format!("--contains {f}"));
        }
        parts.join(" ")
    }
}

/// The kinds `--waiting-on` names: one of the vocabulary's, `socket` for streams too.
fn kinds(text: &str) -> Result<Vec<Kind>, String> {
    if text == "socket" {
        return Ok(vec![Kind::Socket, Kind::Stream]);
    }
    match Kind::ALL.iter().find(|k| k.as_str() == text) {
        Some(&k) => Ok(vec![k]),
        None => {
            let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            Err(format!(
                "--waiting-on {text}: not a kind of wait (one of: {})",
                all.join(", ")
            ))
        }
    }
}

/// The kind of what a task waits on: the typed object, else the awaited object's node
/// (a task, a gather...), else a future.
fn waits_on(t: &Task, objects: &IdMap<Kind>) -> Option<Kind> {
    let a = t.awaiting.as_ref()?;
    let typed = a.resource.and_then(|id| objects.get(&id)).copied();
    Some(
        typed
            .or_else(|| objects.get(&a.address).copied())
            .unwrap_or(Kind::Future),
    )
}

fn contains(t: &Task, function: &str) -> bool {
    (t.frames.iter()).any(|f| {
        &*f.function == function
            || &*f.qualname == function
            || f.qualname
                .rsplit_once('.')
                .is_some_and(|(_, last)| last == function)
    })
}
