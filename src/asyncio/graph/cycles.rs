//! Wait cycles: strongly connected components of the wait graph (iterative Tarjan), each
//! named in one line from a task, e.g. `deadlock: Task 'A' → Lock 0x… (held by 'B') → …`.

use crate::model::{Cycle, Edge, EdgeKind, Kind, Object};
use crate::target::AddrMap;
use std::collections::{HashMap, HashSet};

/// Most cycles we report.
const MAX_CYCLES: usize = 100;

/// Cycles of the edge graph (Tarjan's strongly connected components, iteratively; one
/// cycle named per component).
/// `objects` are in address order (the search starts from the smallest).
pub fn cycles(objects: &[Object], edges: &[Edge]) -> Vec<Cycle> {
    let all: Vec<&Object> = objects.iter().collect();
    let index: AddrMap<usize> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id.0, i))
        .collect();
    let node_of = |id: crate::model::Id| index.get(&id.0).copied();
    let mut adj: Vec<Vec<(usize, usize)>> = vec![Vec::new(); all.len()];
    for (ei, e) in edges.iter().enumerate() {
        if let (Some(a), Some(b)) = (node_of(e.from), node_of(e.to)) {
            adj[a].push((b, ei));
        }
    }
    let sccs = tarjan(&adj);
    let mut out = Vec::new();
    for comp in sccs {
        if out.len() >= MAX_CYCLES {
            break;
        }
        let self_loop = comp.len() == 1 && adj[comp[0]].iter().any(|(b, _)| *b == comp[0]);
        if comp.len() < 2 && !self_loop {
            continue;
        }
        let set: HashSet<usize> = comp.iter().copied().collect();
        // Walk inside the component from its smallest node until we return to a seen node.
        let start = *comp.iter().min().unwrap_or(&comp[0]);
        let mut path = vec![start];
        let mut via: Vec<usize> = Vec::new();
        let mut seen = HashMap::from([(start, 0usize)]);
        let mut at = start;
        while let Some(&(next, ei)) = adj[at].iter().find(|(b, _)| set.contains(b)) {
            via.push(ei);
            if let Some(&pos) = seen.get(&next) {
                let mut nodes: Vec<usize> = path[pos..].to_vec();
                let mut used: Vec<usize> = via[pos..].to_vec();
                // Name the cycle from a task, the thing a reader looks for.
                if let Some(first_task) = nodes.iter().position(|&n| all[n].kind == Kind::Task) {
                    nodes.rotate_left(first_task);
                    used.rotate_left(first_task);
                }
                out.push(describe_cycle(&all, &nodes, &used, edges));
                break;
            }
            seen.insert(next, path.len());
            path.push(next);
            at = next;
        }
    }
    out
}

fn describe_cycle(all: &[&Object], nodes: &[usize], via: &[usize], edges: &[Edge]) -> Cycle {
    let name = |i: usize| -> String {
        let o = all[i];
        if o.kind == Kind::Task {
            o.label.clone()
        } else {
            format!(
                "{} {}",
                o.label.split(" [").next().unwrap_or(&o.label),
                o.id
            )
        }
    };
    let mut parts = Vec::new();
    for (k, &n) in nodes.iter().enumerate() {
        let mut s = name(n);
        let e = &edges[via[k]];
        let next = all[nodes[(k + 1) % nodes.len()]]
            .label
            .trim_start_matches("Task ");
        match e.kind {
            EdgeKind::HeldBy => s.push_str(&format!(" (held by {next})")),
            EdgeKind::CouldWake => s.push_str(&format!(" (only {next} could wake it)")),
            EdgeKind::Result => s.push_str(" (blocked in Future.result())"),
            EdgeKind::Scheduled => s.push_str(" (its coroutine is queued on the loop)"),
            EdgeKind::BlockedBy => s.push_str(&format!(" (its thread is blocked by {next})")),
            _ => {}
        }
        parts.push(s);
    }
    parts.push(name(nodes[0]));
    Cycle {
        nodes: nodes.iter().map(|&n| all[n].id).collect(),
        description: format!("deadlock: {}", parts.join(" → ")),
    }
}

/// Strongly connected components that hold a cycle (two nodes or more, or a node with an
/// edge to itself), iterative Tarjan.
fn tarjan(adj: &[Vec<(usize, usize)>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let (mut index, mut low, mut on) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut out, mut next) = (Vec::new(), Vec::new(), 0);
    let mut work: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        work.clear();
        work.push((root, 0usize));
        while let Some(&mut (v, ref mut child)) = work.last_mut() {
            if *child == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on[v] = true;
            }
            if let Some(&(w, _)) = adj[v].get(*child) {
                *child += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                // Most components are one node with no edge to itself: no cycle, no vector.
                if stack.last() == Some(&v) && !adj[v].iter().any(|(w, _)| *w == v) {
                    stack.pop();
                    on[v] = false;
                    continue;
                }
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                out.push(comp);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Details, Id};
    use crate::target::Addr;

    fn obj(addr: Addr, kind: Kind, label: &str) -> Object {
        Object {
            id: Id(addr),
            kind,
            label: label.into(),
            state: None,
            details: Details::new(),
        }
    }

    fn edge(from: Addr, to: Addr, kind: EdgeKind) -> Edge {
        Edge {
            from: Id(from),
            to: Id(to),
            kind,
            site: None,
            inferred: false,
        }
    }

    #[test]
    fn names_a_cycle_from_its_task_and_ignores_chains() {
        // loop → task → concurrent future → loop, plus a chain hanging off it.
        let objects = Vec::from([
            obj(0x10, Kind::Loop, "event loop [_UnixSelectorEventLoop]"),
            obj(0x20, Kind::Task, "Task 'blocker'"),
            obj(0x30, Kind::ConcurrentFuture, "concurrent Future [pending]"),
            obj(0x40, Kind::Task, "Task 'main'"),
        ]);
        let edges = vec![
            edge(0x40, 0x20, EdgeKind::Awaits),
            edge(0x10, 0x20, EdgeKind::BlockedBy),
            edge(0x20, 0x30, EdgeKind::Result),
            edge(0x30, 0x10, EdgeKind::Scheduled),
        ];
        let found = cycles(&objects, &edges);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].nodes, [Id(0x20), Id(0x30), Id(0x10)]);
        assert_eq!(
            found[0].description,
            "deadlock: Task 'blocker' (blocked in Future.result()) → concurrent Future 0x30 \
             (its coroutine is queued on the loop) → event loop 0x10 (its thread is blocked \
             by 'blocker') → Task 'blocker'"
        );
    }

    #[test]
    fn no_cycle_in_a_tree() {
        let objects = Vec::from([
            obj(1, Kind::Task, "Task 'a'"),
            obj(2, Kind::Task, "Task 'b'"),
        ]);
        assert!(cycles(&objects, &[edge(1, 2, EdgeKind::Awaits)]).is_empty());
    }
}
