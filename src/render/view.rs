//! What part of a snapshot the text shows: some tasks (by name, address or pattern; by
//! what they wait on; by a function in their chain) and how many frames of each. The same
//! options in the CLI, gdb and lldb (as JSON through the C ABI).

use crate::model::{IdMap, Kind, Snapshot, Task};
use crate::select::TaskMatch;
use serde::Deserialize;
use std::sync::Arc;

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
    /// Files without the standard library's and the package directories' prefixes
    /// (`asyncio/locks.py`, `aiohttp/client.py`).
    #[serde(default)]
    pub short_paths: bool,
}

impl View {
    pub fn is_everything(&self) -> bool {
        self.task.is_none()
            && self.waiting_on.is_none()
            && self.contains.is_none()
            && self.depth.is_none()
            && !self.short_paths
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
        let mut threads = s.threads.clone();
        if self.short_paths {
            let mut short = Shortened::default();
            let frames = tasks.iter_mut().flat_map(|t| t.frames.iter_mut());
            for f in frames.chain(threads.iter_mut().flat_map(|t| t.frames.iter_mut())) {
                f.file = short.of(&f.file);
            }
        }
        // Everything else as it is (not `..s.clone()`: that would copy every task too).
        Ok(Snapshot {
            python: s.python.clone(),
            layout: s.layout.clone(),
            tasks,
            threads,
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

/// Files shortened once each: a server's 100,000 tasks run a few dozen files.
#[derive(Default)]
struct Shortened(std::collections::HashMap<Arc<str>, Arc<str>>);

impl Shortened {
    fn of(&mut self, file: &Arc<str>) -> Arc<str> {
        (self.0.entry(file.clone()))
            .or_insert_with(|| Arc::from(short_path(file)))
            .clone()
    }
}

/// A file without the directories every reader knows: a package directory's
/// (`…/site-packages/`, `…/dist-packages/`) or the standard library's (`…/lib/python3.12/`).
pub fn short_path(file: &str) -> &str {
    for marker in ["/site-packages/", "/dist-packages/"] {
        if let Some(i) = file.rfind(marker) {
            return &file[i + marker.len()..];
        }
    }
    if let Some(i) = file.rfind("/lib/python3") {
        let rest = &file[i + "/lib/python".len()..];
        if let Some(j) = rest.find('/') {
            return &rest[j + 1..];
        }
    }
    file
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

#[cfg(test)]
mod tests {
    use super::short_path;

    #[test]
    fn short_paths_drop_only_the_known_prefixes() {
        let cases = [
            ("/usr/lib/python3.12/asyncio/locks.py", "asyncio/locks.py"),
            ("/opt/py/lib/python3.13t/selectors.py", "selectors.py"),
            (
                "/venv/lib/python3.11/site-packages/aiohttp/client.py",
                "aiohttp/client.py",
            ),
            (
                "/usr/lib/python3/dist-packages/anyio/_core/_eventloop.py",
                "anyio/_core/_eventloop.py",
            ),
            ("/srv/app/handlers.py", "/srv/app/handlers.py"),
            ("app.py", "app.py"),
        ];
        for (file, short) in cases {
            assert_eq!(short_path(file), short, "{file}");
        }
    }
}
