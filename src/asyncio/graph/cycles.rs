//! Wait cycles: strongly connected components of the wait graph (iterative Tarjan), each
//! walked from a task and graded: a deadlock only when nothing outside the cycle can still
//! break it (see [`Grade`]); what can, or was not shown unable to, is kept typed as its
//! breakers. `render/cycles.rs` says it in words.

use crate::model::{Breaker, Cycle, Edge, EdgeKind, Fact, Grade, Kind, Object, Outside, Step};
use crate::target::AddrMap;
use std::collections::{HashMap, HashSet};

/// Most cycles we report.
const MAX_CYCLES: usize = 100;
/// Most breakers listed for one cycle (a server may have 100,000 tasks that can still run);
/// past it, one last entry counts the rest.
const MAX_BREAKERS: usize = 16;
/// Most wakers listed for one step of a cycle.
const MAX_WAKERS: usize = 1000;

/// What can still run besides the graph's nodes: threads and loop callbacks that wake
/// nothing we can see, and what could not be read.
pub struct Others<'a> {
    pub runners: &'a [Outside],
    pub unread: &'a [Outside],
}

/// Cycles of the edge graph (Tarjan's strongly connected components, iteratively; one
/// cycle named per component). `objects` are in address order (the search starts from
/// the smallest).
pub fn cycles(objects: &[Object], edges: &[Edge], outside: &Others<'_>) -> Vec<Cycle> {
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
    if sccs.is_empty() {
        return Vec::new();
    }
    let stuck_sure = stuck(&all, &adj, true);
    let stuck = stuck(&all, &adj, false);
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
                // Name the cycle from a task, the thing a reader looks for: the first by
                // name (then address), so that a program's cycle reads the same on every
                // run, wherever its objects were allocated.
                let first_task = (0..nodes.len())
                    .filter(|&i| all[nodes[i]].kind == Kind::Task)
                    .min_by_key(|&i| (all[nodes[i]].label.name.clone(), all[nodes[i]].id.0));
                if let Some(first_task) = first_task {
                    nodes.rotate_left(first_task);
                    used.rotate_left(first_task);
                }
                let g = Graded {
                    all: &all,
                    adj: &adj,
                    edges,
                    stuck: &stuck,
                    stuck_sure: &stuck_sure,
                    outside,
                };
                out.push(g.cycle(&nodes, &used));
                break;
            }
            seen.insert(next, path.len());
            path.push(next);
            at = next;
        }
    }
    out
}

/// The first `max` items, and how many there are in all (the rest are counted, not kept).
fn first<T>(all: impl Iterator<Item = T>, max: usize) -> (Vec<T>, usize) {
    let mut shown = Vec::new();
    let mut total = 0;
    for phrase in all {
        if total < max {
            shown.push(phrase);
        }
        total += 1;
    }
    (shown, total)
}

/// Can a node still make progress by itself, whatever the rest of the graph does?
fn live_by_itself(o: &Object) -> bool {
    match o.kind {
        // Deadlines, the outside world, other threads' work, and code we cannot see.
        Kind::Timer
        | Kind::Timeout
        | Kind::WaitFor
        | Kind::Socket
        | Kind::Stream
        | Kind::Subprocess
        | Kind::Executor
        | Kind::Callback
        | Kind::Object => true,
        Kind::Wait => o.details.get("timeout").is_some_and(|t| *t != Fact::Null),
        _ => false,
    }
}

/// Does a node end only when everything it waits on has ended? A gather, a TaskGroup and
/// `asyncio.wait` for all of its set (ALL_COMPLETED, FIRST_EXCEPTION) do, unless one of
/// them raises first (a gather without return_exceptions, a TaskGroup, FIRST_EXCEPTION):
/// whether it will is not in memory.
fn waits_for_all(o: &Object) -> bool {
    match o.kind {
        Kind::Gather | Kind::TaskGroup => true,
        Kind::Wait => o
            .details
            .get("return_when")
            .and_then(Fact::as_text)
            .is_some_and(|r| r != "FIRST_COMPLETED"),
        _ => false,
    }
}

/// Which nodes can never proceed: the greatest set in which every node waits on something
/// (every edge is a wait of its `from` end) and on nothing outside the set. A node with
/// no known way forward (no edges: anyone could complete a bare future) is not in it.
/// `all_needed`: a node that waits for all of its children ([`waits_for_all`]) leaves the
/// set only when every child has (it surely ends); else when any has (it may end, should
/// a child raise). Linear: each node leaves the set once, and tells the nodes that wait on
/// it once.
fn stuck(all: &[&Object], adj: &[Vec<(usize, usize)>], all_needed: bool) -> Vec<bool> {
    let n = all.len();
    let mut back: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (a, out) in adj.iter().enumerate() {
        for &(b, _) in out {
            back[b].push(a);
        }
    }
    let mut stuck: Vec<bool> = (0..n)
        .map(|i| !adj[i].is_empty() && !live_by_itself(all[i]))
        .collect();
    // Edges still to leave the set before a node does: one, or all of them.
    let mut left: Vec<usize> = (0..n)
        .map(|i| match all_needed && waits_for_all(all[i]) {
            true => adj[i].len(),
            false => 1,
        })
        .collect();
    let mut todo: Vec<usize> = (0..n).filter(|&i| !stuck[i]).collect();
    while let Some(free) = todo.pop() {
        for &w in &back[free] {
            if stuck[w] {
                left[w] -= 1;
                if left[w] == 0 {
                    stuck[w] = false;
                    todo.push(w);
                }
            }
        }
    }
    stuck
}

struct Graded<'g, 'o> {
    all: &'g [&'g Object],
    adj: &'g [Vec<(usize, usize)>],
    edges: &'g [Edge],
    /// Nodes that cannot proceed unless a gather's or a group's child raises...
    stuck: &'g [bool],
    /// ...and those that cannot proceed at all: what waits for all its children is
    /// stuck while any child is.
    stuck_sure: &'g [bool],
    outside: &'g Others<'o>,
}

impl Graded<'_, '_> {
    fn cycle(&self, nodes: &[usize], via: &[usize]) -> Cycle {
        let all = self.all;
        let inside: HashSet<usize> = nodes.iter().copied().collect();
        let steps: Vec<Step> = via
            .iter()
            .zip(nodes)
            .map(|(&ei, &from)| {
                let wakers = if self.edges[ei].kind == EdgeKind::CouldWake {
                    self.wakers(from)
                } else {
                    Vec::new()
                };
                Step {
                    kind: self.edges[ei].kind,
                    wakers_total: wakers.len(),
                    wakers: (wakers.into_iter().take(MAX_WAKERS))
                        .map(|w| all[w].id)
                        .collect(),
                }
            })
            .collect();
        let woken = steps.iter().any(|s| s.kind == EdgeKind::CouldWake);
        let (grade, (breakers, breakers_total)) = if !nodes.iter().all(|&n| self.stuck_sure[n]) {
            // Something a node of the cycle waits on can still move.
            let mut found: Vec<(usize, usize)> = Vec::new();
            for &n in nodes {
                for &(d, _) in &self.adj[n] {
                    if !inside.contains(&d) && !self.stuck[d] && !found.iter().any(|f| f.1 == d) {
                        found.push((n, d));
                    }
                }
            }
            let say = |&(n, d): &(usize, usize)| match all[d].kind {
                // A member's own deadline: it gives up, and lets go of what it holds.
                Kind::Timeout | Kind::WaitFor => Breaker::GivesUp {
                    member: all[n].id,
                    deadline: all[d].id,
                },
                _ => self.breaker(d),
            };
            // And a member that moves by itself: the deadline of a `wait_for` in the cycle.
            let own = (nodes.iter().filter(|&&n| live_by_itself(all[n])))
                .map(|&n| Breaker::Deadline(all[n].id));
            (
                Grade::NotDeadlock,
                first(found.iter().map(say).chain(own), MAX_BREAKERS),
            )
        } else if !nodes.iter().all(|&n| self.stuck[n]) {
            // Only a gather's or a group's child that can still run, and might raise, could
            // end the wait for all of them: not ruled out, not to be counted on.
            let mut found: Vec<usize> = Vec::new();
            for &n in nodes {
                for &(d, _) in &self.adj[n] {
                    if !inside.contains(&d) && !self.stuck[d] && !found.contains(&d) {
                        found.push(d);
                    }
                }
            }
            (
                Grade::Likely,
                first(found.into_iter().map(|d| self.breaker(d)), MAX_BREAKERS),
            )
        } else if !woken {
            // Locks held and tasks awaited: only the cycle's own members could move it.
            (Grade::Deadlock, (Vec::new(), 0))
        } else {
            // An Event, a Queue...: anything that can still run might wake it.
            let live = (0..all.len()).filter(|&i| all[i].kind == Kind::Task && !self.stuck[i]);
            let could = first(
                live.map(|i| self.breaker(i))
                    .chain(self.outside.runners.iter().cloned().map(Breaker::Outside))
                    .chain(self.outside.unread.iter().cloned().map(Breaker::Outside)),
                MAX_BREAKERS,
            );
            if could.1 == 0 {
                (Grade::Deadlock, (Vec::new(), 0))
            } else {
                (Grade::Likely, could)
            }
        };
        Cycle {
            nodes: nodes.iter().map(|&n| all[n].id).collect(),
            grade,
            steps,
            breakers,
            breakers_total,
        }
    }

    /// Every node a could-wake edge from `from` leads to.
    fn wakers(&self, from: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self.adj[from]
            .iter()
            .filter(|(_, ei)| self.edges[*ei].kind == EdgeKind::CouldWake)
            .map(|(w, _)| *w)
            .collect();
        out.dedup();
        out
    }

    /// A node that can still move, and (a task) the first thing it waits on that can.
    fn breaker(&self, i: usize) -> Breaker {
        let waiting_on = (self.adj[i].iter())
            .find(|(d, _)| !self.stuck[*d])
            .map(|(d, _)| self.all[*d].id);
        Breaker::Node {
            id: self.all[i].id,
            waiting_on,
        }
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
    use crate::model::{Details, Id, Label};
    use crate::render::cycles::Sentences;
    use crate::target::Addr;

    fn obj(addr: Addr, kind: Kind, label: &str) -> Object {
        // A task's `label` is its name.
        let label = match kind {
            Kind::Task => Label::named("Task", label),
            _ => Label::new(label),
        };
        Object {
            id: Id(addr),
            kind,
            label,
            state: None,
            details: Details::new(),
        }
    }

    /// No threads or loop callbacks besides the graph, and nothing unread.
    const NOTHING_ELSE: Others<'static> = Others {
        runners: &[],
        unread: &[],
    };

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
            obj(0x10, Kind::Loop, "event loop"),
            obj(0x20, Kind::Task, "blocker"),
            obj(0x30, Kind::ConcurrentFuture, "concurrent Future"),
            obj(0x40, Kind::Task, "main"),
        ]);
        let edges = vec![
            edge(0x40, 0x20, EdgeKind::Awaits),
            edge(0x10, 0x20, EdgeKind::BlockedBy),
            edge(0x20, 0x30, EdgeKind::Result),
            edge(0x30, 0x10, EdgeKind::Scheduled),
        ];
        let found = cycles(&objects, &edges, &NOTHING_ELSE);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].nodes, [Id(0x20), Id(0x30), Id(0x10)]);
        assert_eq!(
            Sentences::new(&objects).line(&found[0]),
            "deadlock: Task 'blocker' (blocked in Future.result()) → concurrent Future 0x30 \
             (its coroutine is queued on the loop) → event loop 0x10 (its thread is blocked \
             by 'blocker') → Task 'blocker'"
        );
    }

    /// main gathers reader and sleeper; reader waits on an event only main could set.
    fn gathered(return_when: Option<&str>) -> (Vec<Object>, Vec<Edge>) {
        let mut group = match return_when {
            None => obj(0x20, Kind::Gather, "gather"),
            Some(_) => obj(0x20, Kind::Wait, "asyncio.wait"),
        };
        group.details.insert("return_when", return_when);
        let objects = vec![
            obj(0x10, Kind::Task, "main"),
            group,
            obj(0x30, Kind::Task, "reader"),
            obj(0x40, Kind::Task, "sleeper"),
            obj(0x50, Kind::Event, "Event"),
            obj(0x60, Kind::Timer, "timer"),
        ];
        let edges = vec![
            edge(0x10, 0x20, EdgeKind::Awaits),
            edge(0x20, 0x30, EdgeKind::Gather),
            edge(0x20, 0x40, EdgeKind::Gather),
            edge(0x30, 0x50, EdgeKind::Wait),
            edge(0x50, 0x10, EdgeKind::CouldWake),
            edge(0x40, 0x60, EdgeKind::Sleep),
        ];
        (objects, edges)
    }

    #[test]
    fn a_gathered_task_that_can_run_does_not_end_the_gather() {
        // The sleeper ending does not end the gather, which waits for the reader too: only
        // an exception from the sleeper could. Not a deadlock proven, nor ruled out.
        for return_when in [None, Some("ALL_COMPLETED"), Some("FIRST_EXCEPTION")] {
            let (objects, edges) = gathered(return_when);
            let found = cycles(&objects, &edges, &NOTHING_ELSE);
            assert_eq!(found.len(), 1, "{return_when:?}");
            assert_eq!(found[0].grade, Grade::Likely, "{return_when:?}");
            let say = Sentences::new(&objects);
            assert_eq!(say.breakers(&found[0]).len(), 1);
            assert!(say.breakers(&found[0])[0].starts_with("Task 'sleeper'"));
        }
        // asyncio.wait(FIRST_COMPLETED) ends when the sleeper does: no deadlock.
        let (objects, edges) = gathered(Some("FIRST_COMPLETED"));
        let found = cycles(&objects, &edges, &NOTHING_ELSE);
        assert_eq!(found[0].grade, Grade::NotDeadlock);
    }

    #[test]
    fn no_cycle_in_a_tree() {
        let objects = Vec::from([obj(1, Kind::Task, "a"), obj(2, Kind::Task, "b")]);
        assert!(cycles(&objects, &[edge(1, 2, EdgeKind::Awaits)], &NOTHING_ELSE).is_empty());
    }

    /// A holds the lock and waits on the event; B waits on the lock and could set the
    /// event; C could set it too, and waits on `c_waits`.
    fn lock_event(c_waits: Kind) -> (Vec<Object>, Vec<Edge>) {
        let objects = vec![
            obj(0x10, Kind::Task, "A"),
            obj(0x20, Kind::Task, "B"),
            obj(0x30, Kind::Task, "C"),
            obj(0x40, Kind::Lock, "Lock"),
            obj(0x50, Kind::Event, "Event"),
            obj(0x60, c_waits, "what C waits on"),
        ];
        let edges = vec![
            edge(0x10, 0x50, EdgeKind::Wait),
            edge(0x50, 0x20, EdgeKind::CouldWake),
            edge(0x50, 0x30, EdgeKind::CouldWake),
            edge(0x20, 0x40, EdgeKind::Acquire),
            edge(0x40, 0x10, EdgeKind::HeldBy),
            edge(0x30, 0x60, EdgeKind::Sleep),
        ];
        (objects, edges)
    }

    #[test]
    fn a_waker_that_can_still_run_breaks_the_cycle() {
        // C sleeps: its timer fires, then it sets the event.
        let (objects, edges) = lock_event(Kind::Timer);
        let found = cycles(&objects, &edges, &NOTHING_ELSE);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].grade, Grade::NotDeadlock);
        let say = Sentences::new(&objects);
        assert_eq!(
            say.breakers(&found[0]),
            ["Task 'C' (waiting on what C waits on)"]
        );
        assert_eq!(found[0].steps[1].wakers, [Id(0x20), Id(0x30)]);
        let line = say.line(&found[0]);
        assert!(line.starts_with("wait cycle, not a deadlock: "), "{line}");
        assert!(!line.contains("only"), "{line}");
    }

    #[test]
    fn a_waker_stuck_on_the_cycle_does_not() {
        // C waits on the same lock: it can never set the event.
        let (objects, mut edges) = lock_event(Kind::Timer);
        edges.pop();
        edges.push(edge(0x30, 0x40, EdgeKind::Acquire));
        let found = cycles(&objects, &edges, &NOTHING_ELSE);
        let say = Sentences::new(&objects);
        assert_eq!(found[0].grade, Grade::Deadlock);
        assert!(say.line(&found[0]).starts_with("deadlock: "));
        // Something else that can still run leaves it unproven.
        let runner = [Outside::Thread {
            name: Some("x".into()),
            id: 0x99,
        }];
        let some = Others {
            runners: &runner,
            unread: &[],
        };
        let found = cycles(&objects, &edges, &some);
        assert_eq!(found[0].grade, Grade::Likely);
        assert_eq!(say.breakers(&found[0]), ["Thread 'x' (0x99)"]);
        assert!(say.line(&found[0]).starts_with("likely deadlock: "));
    }

    #[test]
    fn many_tasks_that_can_still_run_are_counted_not_listed() {
        let (mut objects, mut edges) = lock_event(Kind::Timer);
        edges.pop();
        edges.push(edge(0x30, 0x40, EdgeKind::Acquire));
        // 20 tasks that can run (nothing known to wait on).
        objects.extend((0..20).map(|i| obj(0x1000 + i, Kind::Task, "idle")));
        let found = cycles(&objects, &edges, &NOTHING_ELSE);
        assert_eq!(found[0].grade, Grade::Likely);
        let say = Sentences::new(&objects);
        let breakers = say.breakers(&found[0]);
        assert_eq!(breakers.len(), MAX_BREAKERS + 1);
        assert_eq!(breakers[MAX_BREAKERS], "4 more");
        let line = say.line(&found[0]);
        assert!(line.ends_with(", 16 more"), "{line}");
    }
}
