//! Graphviz DOT: tasks as notes carrying a short traceback, one shape per kind of object,
//! colour by state, edges labelled with the await site, inferred edges dashed, cycle edges
//! red. Node ids come from object addresses, so two snapshots diff cleanly.
//!
//! Tasks that look alike (same frames, same state, waiting on the same objects) are drawn
//! once as "×N", so a program with thousands of identical workers stays readable and
//! renders quickly; past `MAX_NODES` the rest is left out with a note.

use crate::model::{EdgeKind, Grade, Id, IdMap, Kind, Object, ObjectState, Snapshot, State, Task};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

/// (from, to, kind, the grade of the cycle it is on): edges that coalescing makes identical
/// are drawn once.
type DrawnEdge = (String, String, &'static str, Option<Grade>);

/// The colour of a cycle's edges: red for a deadlock, orange when it is likely one, blue
/// for a cycle that something outside breaks.
fn cycle_colour(g: Grade) -> &'static str {
    match g {
        Grade::Deadlock => "red",
        Grade::Likely => "darkorange",
        Grade::NotDeadlock => "royalblue",
    }
}

/// Most nodes drawn; the JSON form always has everything.
const MAX_NODES: usize = 2000;
/// Frames shown per task node.
const MAX_FRAMES: usize = 12;

fn shape(kind: Kind) -> &'static str {
    match kind {
        Kind::Task => "note",
        Kind::Lock | Kind::Semaphore | Kind::Condition => "box",
        Kind::Event | Kind::Barrier => "diamond",
        Kind::Queue => "cylinder",
        Kind::Timer | Kind::Timeout => "octagon",
        Kind::Gather | Kind::Wait | Kind::WaitFor | Kind::AsCompleted => "trapezium",
        Kind::Shield => "house",
        Kind::TaskGroup => "folder",
        Kind::Executor | Kind::Thread | Kind::ConcurrentFuture => "component",
        Kind::Loop => "box3d",
        Kind::Stream | Kind::Socket => "cds",
        Kind::Subprocess => "tab",
        Kind::Callback => "rarrow",
        Kind::Future | Kind::Object => "ellipse",
    }
}

fn fill(o: &Object) -> &'static str {
    use Kind::*;
    match (o.kind, &o.state) {
        (_, Some(ObjectState::Future(State::Cancelled))) => "lightgrey",
        (_, Some(ObjectState::Future(State::Finished))) => "palegreen",
        (Task, _) => "lightyellow",
        (Lock | Semaphore | Condition | Event | Queue | Barrier, _) => "lightblue",
        (Timer | Timeout, _) => "lavender",
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

/// Which drawn node stands for each object id (a group's first member for coalesced tasks).
fn coalesce(s: &Snapshot, in_cycle: &HashSet<Id>) -> (HashMap<Id, Id>, HashMap<Id, usize>) {
    let tasks: IdMap<&Task> = s.tasks.iter().map(|t| (t.address, t)).collect();
    let mut out_edges: IdMap<Vec<(EdgeKind, Id)>> = IdMap::default();
    for e in &s.edges {
        out_edges.entry(e.from).or_default().push((e.kind, e.to));
    }
    let mut groups: BTreeMap<String, Vec<Id>> = BTreeMap::new();
    for o in s
        .objects
        .iter()
        .filter(|o| o.kind == Kind::Task && !in_cycle.contains(&o.id))
    {
        let Some(t) = tasks.get(&o.id) else {
            continue;
        };
        let mut edges = out_edges.get(&o.id).cloned().unwrap_or_default();
        edges.sort();
        let frames: Vec<String> = t
            .frames
            .iter()
            .map(|f| format!("{}:{}:{:?}", f.qualname, f.file, f.line))
            .collect();
        let key = format!("{}|{}|{:?}|{:?}", t.state, t.type_name, frames, edges);
        groups.entry(key).or_default().push(o.id);
    }
    let mut rep = HashMap::new();
    let mut size = HashMap::new();
    for members in groups.values().filter(|m| m.len() > 1) {
        let first = members[0];
        size.insert(first, members.len());
        for &m in members {
            rep.insert(m, first);
        }
    }
    (rep, size)
}

pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut title = format!(
        "Python {} — {} task{}, {} wait cycle{}",
        s.python,
        s.tasks.len(),
        plural(s.tasks.len()),
        s.cycles.len(),
        plural(s.cycles.len())
    );
    let graded: Vec<String> = Grade::ALL
        .iter()
        .map(|g| (g, s.cycles.iter().filter(|c| c.grade == *g).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(g, n)| format!("{n} {g} ({})", cycle_colour(*g)))
        .collect();
    if !graded.is_empty() {
        let _ = write!(title, ": {}", graded.join(", "));
    }
    let _ = writeln!(out, "digraph awaitwhat {{");
    let _ = writeln!(
        out,
        "  graph [rankdir=LR, label=\"{}\", labelloc=t, fontname=\"monospace\"];",
        esc(&title)
    );
    let _ = writeln!(
        out,
        "  node [fontname=\"monospace\", fontsize=10, style=filled];"
    );
    let _ = writeln!(out, "  edge [fontname=\"monospace\", fontsize=9];");
    let mut cycle_edges: HashMap<(Id, Id), Grade> = HashMap::new();
    for c in &s.cycles {
        for pair in c
            .nodes
            .iter()
            .copied()
            .zip(c.nodes.iter().copied().cycle().skip(1))
        {
            cycle_edges.entry(pair).or_insert(c.grade);
        }
    }
    let in_cycle: HashSet<Id> = s
        .cycles
        .iter()
        .flat_map(|c| c.nodes.iter().copied())
        .collect();
    let (rep, size) = coalesce(s, &in_cycle);
    let drawn_id = |id: Id| rep.get(&id).copied().unwrap_or(id);
    let tasks: IdMap<&Task> = s.tasks.iter().map(|t| (t.address, t)).collect();
    let mut drawn = HashSet::new();
    let mut left_out = 0;
    for o in &s.objects {
        let id = drawn_id(o.id);
        if id != o.id {
            continue; // a coalesced member: its group's first task is drawn
        }
        if drawn.len() >= MAX_NODES {
            left_out += 1;
            continue;
        }
        drawn.insert(id);
        let mut label = format!("{}\\l{}\\l", esc(&o.label.to_string()), o.id);
        if let Some(t) = tasks.get(&o.id) {
            let count = size
                .get(&o.id)
                .map(|n| format!("×{n} "))
                .unwrap_or_default();
            label = format!(
                "{count}{} [{}]\\l{}\\l",
                esc(&o.label.to_string()),
                t.state,
                o.id
            );
            for f in t.frames.iter().take(MAX_FRAMES) {
                let _ = write!(
                    label,
                    "{} {}:{}\\l",
                    esc(&f.qualname),
                    esc(short(&f.file)),
                    f.line.unwrap_or(0)
                );
            }
            if t.frames.len() > MAX_FRAMES {
                let _ = write!(label, "... {} more\\l", t.frames.len() - MAX_FRAMES);
            }
        }
        let _ = writeln!(
            out,
            "  {} [shape={}, fillcolor={}, label=\"{label}\"];",
            node_id(&id.to_string()),
            shape(o.kind),
            fill(o)
        );
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "  more [shape=plaintext, style=\"\", label=\"… {left_out} more objects not drawn (see --json)\"];"
        );
    }
    // Edges between drawn nodes, merged when coalescing makes them identical.
    // Keyed by the ids as written, so the edges come out in the order of their text.
    let mut edges: BTreeMap<DrawnEdge, (usize, Option<String>)> = BTreeMap::new();
    for e in &s.edges {
        let (from, to) = (drawn_id(e.from), drawn_id(e.to));
        if !drawn.contains(&from) || !drawn.contains(&to) {
            continue;
        }
        let cyc = cycle_edges.get(&(e.from, e.to)).copied();
        let key = (from.to_string(), to.to_string(), e.kind.as_str(), cyc);
        let entry = edges.entry(key).or_insert((0, None));
        entry.0 += 1;
        if entry.1.is_none() {
            entry.1 = e.site.as_ref().map(|s| {
                let site = format!("{}:{}", short(&s.file), s.line);
                (if e.inferred { "~" } else { "" }).to_string() + &site
            });
        }
    }
    for ((from, to, kind, cyc), (count, site)) in edges {
        let inferred = site.as_deref().is_some_and(|s| s.starts_with('~'))
            || matches!(kind, "held-by" | "could-wake");
        let mut label = kind.to_string();
        if let Some(site) = site {
            let _ = write!(label, " {}", site.trim_start_matches('~'));
        }
        if count > 1 {
            let _ = write!(label, " ×{count}");
        }
        let mut attrs = vec![format!("label=\"{}\"", esc(&label))];
        if inferred {
            attrs.push("style=dashed".into());
        }
        if let Some(g) = cyc {
            let c = cycle_colour(g);
            attrs.push(format!("color={c}, penwidth=2, fontcolor={c}"));
        }
        let _ = writeln!(
            out,
            "  {} -> {} [{}];",
            node_id(&from),
            node_id(&to),
            attrs.join(", ")
        );
    }
    out.push_str("}\n");
    out
}
