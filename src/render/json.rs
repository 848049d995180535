//! The JSON contract (docs/json.md): the snapshot as it is, with each cycle's line and
//! breakers said as the text says them.

use super::cycles::Sentences;
use crate::model::{Edge, EventLoop, Grade, Id, Object, Snapshot, Stats, Step, Task, Thread};
use serde::Serialize;
use std::io::Write;

/// The document, field by field in the documented order.
#[derive(Serialize)]
struct Document<'s> {
    python: &'s str,
    layout: &'s str,
    tasks: &'s [Task],
    threads: &'s [Thread],
    loops: &'s [EventLoop],
    objects: &'s [Object],
    edges: &'s [Edge],
    cycles: Vec<CycleOut<'s>>,
    warnings: &'s [String],
    stats: &'s Stats,
}

#[derive(Serialize)]
struct CycleOut<'s> {
    nodes: &'s [Id],
    description: String,
    grade: Grade,
    steps: &'s [Step],
    breakers: Vec<String>,
}

fn document(s: &Snapshot) -> Document<'_> {
    let say = Sentences::new(&s.objects);
    Document {
        python: &s.python,
        layout: &s.layout,
        tasks: &s.tasks,
        threads: &s.threads,
        loops: &s.loops,
        objects: &s.objects,
        edges: &s.edges,
        cycles: (s.cycles.iter())
            .map(|c| CycleOut {
                nodes: &c.nodes,
                description: say.line(c),
                grade: c.grade,
                steps: &c.steps,
                breakers: say.breakers(c),
            })
            .collect(),
        warnings: &s.warnings,
        stats: &s.stats,
    }
}

pub fn render(s: &Snapshot) -> String {
    serde_json::to_string_pretty(&document(s)).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        + "\n"
}

/// The same, written into `w` as it is made.
pub fn render_into(s: &Snapshot, w: &mut dyn Write) -> Result<(), String> {
    serde_json::to_writer_pretty(&mut *w, &document(s)).map_err(|e| e.to_string())
}
