//! Graphviz DOT: tasks as notes carrying a short traceback, one shape per kind of object,
//! colour by state, edges labelled with the await site, inferred edges dashed, cycle edges
//! red. Node ids come from object addresses, so two snapshots diff cleanly.

use crate::model::{Object, Snapshot};
use std::collections::HashSet;
use std::fmt::Write;

fn shape(kind: &str) -> &'static str {
    match kind {
        "task" => "note",
        "lock" | "semaphore" | "condition" => "box",
        "event" | "barrier" => "diamond",
        "queue" => "cylinder",
        "timer" | "timeout" => "octagon",
        "gather" | "wait" | "wait_for" | "as_completed" => "trapezium",
        "shield" => "house",
        "taskgroup" => "folder",
        "executor" | "thread" => "component",
        _ => "ellipse",
    }
}

fn fill(o: &Object) -> &'static str {
    match (o.kind.as_str(), o.state.as_deref()) {
        (_, Some("cancelled")) => "lightgrey",
        (_, Some("finished")) => "palegreen",
        ("task", _) => "lightyellow",
        ("lock" | "semaphore" | "condition" | "event" | "queue" | "barrier", _) => "lightblue",
        ("timer" | "timeout", _) => "lavender",
        _ => "white",
    }
}

/// Escape for a DOT double-quoted string; `\l` line ends are added by the caller.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', " ")
}

fn node_id(id: &str) -> String {
    format!("n{}", id.trim_start_matches("0x"))
}

fn short(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph awaitwhat {{");
    let _ = writeln!(
        out,
        "  graph [rankdir=LR, label=\"{}\", labelloc=t, fontname=\"monospace\"];",
        esc(&format!(
            "Python {} — {} tasks, {} cycles",
            s.python,
            s.tasks.len(),
            s.cycles.len()
        ))
    );
    let _ = writeln!(
        out,
        "  node [fontname=\"monospace\", fontsize=10, style=filled];"
    );
    let _ = writeln!(out, "  edge [fontname=\"monospace\", fontsize=9];");
    let cycle_edges: HashSet<(&str, &str)> = s
        .cycles
        .iter()
        .flat_map(|c| {
            c.nodes
                .iter()
                .zip(c.nodes.iter().cycle().skip(1))
                .map(|(a, b)| (a.as_str(), b.as_str()))
        })
        .collect();
    for o in &s.objects {
        let mut label = format!("{}\\l{}\\l", esc(&o.label), o.id);
        if o.kind == "task"
            && let Some(t) = s.tasks.iter().find(|t| t.address == o.id)
        {
            label = format!("{} [{}]\\l{}\\l", esc(&o.label), esc(&t.state), o.id);
            for f in t.frames.iter().take(12) {
                let _ = write!(
                    label,
                    "{} {}:{}\\l",
                    esc(&f.qualname),
                    esc(short(&f.file)),
                    f.line.unwrap_or(0)
                );
            }
            if t.frames.len() > 12 {
                let _ = write!(label, "... {} more\\l", t.frames.len() - 12);
            }
        }
        let _ = writeln!(
            out,
            "  {} [shape={}, fillcolor={}, label=\"{label}\"];",
            node_id(&o.id),
            shape(&o.kind),
            fill(o)
        );
    }
    for e in &s.edges {
        let mut attrs = vec![format!(
            "label=\"{}\"",
            esc(&match &e.site {
                Some(site) => format!("{} {}", e.kind, short(site)),
                None => e.kind.clone(),
            })
        )];
        if e.inferred {
            attrs.push("style=dashed".into());
        }
        if cycle_edges.contains(&(e.from.as_str(), e.to.as_str())) {
            attrs.push("color=red, penwidth=2, fontcolor=red".into());
        }
        let _ = writeln!(
            out,
            "  {} -> {} [{}];",
            node_id(&e.from),
            node_id(&e.to),
            attrs.join(", ")
        );
    }
    out.push_str("}\n");
    out
}
