//! A wait cycle in words: one line that starts with its grade and walks the cycle from a
//! task ("deadlock: Task 'A' → Lock 0x… (held by 'B') → Task 'B' → ..."), and each breaker
//! as a short phrase ("Task 'C' (waiting on timer [fires in 2.0s])").

use crate::model::{Breaker, Cycle, EdgeKind, Grade, Id, IdMap, Kind, Object, Outside};
use std::collections::HashSet;

/// Most breakers (or other wakers) named in one cycle's line.
const MAX_NAMED: usize = 4;

/// Says the cycles of one snapshot (its objects looked up by id).
pub struct Sentences<'s> {
    objects: IdMap<&'s Object>,
}

impl<'s> Sentences<'s> {
    pub fn new(objects: &'s [Object]) -> Self {
        Sentences {
            objects: objects.iter().map(|o| (o.id, o)).collect(),
        }
    }

    /// The cycle's line.
    pub fn line(&self, c: &Cycle) -> String {
        let inside: HashSet<Id> = c.nodes.iter().copied().collect();
        let mut parts = Vec::with_capacity(c.nodes.len() + 1);
        for (k, &n) in c.nodes.iter().enumerate() {
            let mut s = self.name(n);
            let next_id = c.nodes[(k + 1) % c.nodes.len()];
            let next = self.who(next_id);
            match c.steps[k].kind {
                EdgeKind::HeldBy => s.push_str(&format!(" (held by {next})")),
                EdgeKind::CouldWake => {
                    let step = &c.steps[k];
                    let shown: Vec<String> = (step.wakers.iter())
                        .filter(|&&w| w != next_id)
                        .take(MAX_NAMED)
                        .map(|&w| {
                            if inside.contains(&w) {
                                self.who(w)
                            } else {
                                self.name(w)
                            }
                        })
                        .collect();
                    // Every waker but `next` (which is one: the edge leads to it).
                    let others = named(&shown, step.wakers_total.saturating_sub(1));
                    if others.is_empty() && c.grade == Grade::Deadlock {
                        s.push_str(&format!(" (only {next} could wake it)"));
                    } else if others.is_empty() {
                        s.push_str(&format!(" ({next} could wake it)"));
                    } else {
                        s.push_str(&format!(" ({next} could wake it; so could {others})"));
                    }
                }
                EdgeKind::Result => s.push_str(" (blocked in Future.result())"),
                EdgeKind::Scheduled => s.push_str(" (its coroutine is queued on the loop)"),
                EdgeKind::BlockedBy => s.push_str(&format!(" (its thread is blocked by {next})")),
                _ => {}
            }
            parts.push(s);
        }
        parts.push(self.label(c.nodes[0]));
        let path = parts.join(" → ");
        let breakers: Vec<String> = (c.breakers.iter())
            .take(MAX_NAMED)
            .map(|b| self.breaker(b))
            .collect();
        let breakers = named(&breakers, c.breakers_total);
        match c.grade {
            Grade::Deadlock => format!("deadlock: {path}"),
            Grade::Likely => {
                format!("likely deadlock: {path}; not ruled out, as it can still run: {breakers}")
            }
            Grade::NotDeadlock => {
                format!("wait cycle, not a deadlock: {path}; it can be broken by {breakers}")
            }
        }
    }

    /// The cycle's breakers, each as a phrase, and a last "N more" for those not listed.
    pub fn breakers(&self, c: &Cycle) -> Vec<String> {
        let mut out: Vec<String> = c.breakers.iter().map(|b| self.breaker(b)).collect();
        if c.breakers_total > out.len() {
            out.push(format!("{} more", c.breakers_total - out.len()));
        }
        out
    }

    fn breaker(&self, b: &Breaker) -> String {
        match b {
            Breaker::Node { id, waiting_on } => {
                let name = self.name(*id);
                match (self.kind(*id), waiting_on) {
                    (Some(Kind::Task), Some(on)) => {
                        format!("{name} (waiting on {})", self.label(*on))
                    }
                    (Some(Kind::Task), None) => format!("{name} (can run)"),
                    _ => name,
                }
            }
            Breaker::GivesUp { member, deadline } => {
                format!(
                    "{} giving up at {}",
                    self.label(*member),
                    self.label(*deadline)
                )
            }
            Breaker::Deadline(id) => format!("the deadline of {}", self.name(*id)),
            Breaker::Outside(o) => self.outside(o),
        }
    }

    fn outside(&self, o: &Outside) -> String {
        let what = |timed: bool| {
            if timed {
                "a timer"
            } else {
                "a queued callback"
            }
        };
        match o {
            Outside::Thread { name, id } => {
                format!("Thread '{}' ({id:#x})", name.as_deref().unwrap_or("?"))
            }
            Outside::Handle {
                timed,
                handle,
                event_loop,
            } => format!("{} {handle} on event loop {event_loop}", what(*timed)),
            Outside::UnreadHandle {
                timed,
                handle,
                event_loop,
                error,
            } => format!(
                "{} {handle} on event loop {event_loop}, whose callback could not be read ({error})",
                what(*timed)
            ),
            Outside::MoreHandles {
                event_loop,
                more,
                read,
            } => format!(
                "{more} more callbacks and timers of event loop {event_loop} (only the first {read} are read)"
            ),
            Outside::UnreadLoop { event_loop, class } => format!(
                "the callbacks and timers of event loop {event_loop} ({class}), which could not be read"
            ),
            Outside::IncompleteTask { task, error } => {
                let who = match self.objects.get(task) {
                    Some(o) => o.label.to_string(),
                    None => format!("task {task}"),
                };
                format!("{who} (its chain is incomplete: {error})")
            }
            Outside::UnreadCallbacks { future, error } => {
                format!("the done-callbacks of future {future} ({error})")
            }
            Outside::UnreadCallback {
                callback,
                future,
                error,
            } => format!("done-callback {callback} of future {future} ({error})"),
        }
    }

    fn kind(&self, id: Id) -> Option<Kind> {
        self.objects.get(&id).map(|o| o.kind)
    }

    /// A node's whole label.
    fn label(&self, id: Id) -> String {
        match self.objects.get(&id) {
            Some(o) => o.label.to_string(),
            None => id.to_string(),
        }
    }

    /// A node as a line names it: tasks, threads, timers and callbacks by their label,
    /// anything else by what it is and its address.
    fn name(&self, id: Id) -> String {
        match self.objects.get(&id) {
            Some(o)
                if matches!(
                    o.kind,
                    Kind::Task | Kind::Thread | Kind::Timer | Kind::Timeout | Kind::Callback
                ) =>
            {
                o.label.to_string()
            }
            Some(o) => format!("{} {id}", o.label.head),
            None => id.to_string(),
        }
    }

    /// A node named inside its own cycle: a task by its quoted name, anything else by its label.
    fn who(&self, id: Id) -> String {
        match self.objects.get(&id) {
            Some(o) => match (o.kind, &o.label.name) {
                (Kind::Task, Some(name)) => format!("'{name}'"),
                _ => o.label.to_string(),
            },
            None => id.to_string(),
        }
    }
}

/// Phrases joined for a line: those given, then "N more" for the rest of `total`.
fn named(shown: &[String], total: usize) -> String {
    let mut out: Vec<&str> = shown.iter().map(String::as_str).collect();
    let more = total.saturating_sub(out.len());
    let tail = format!("{more} more");
    if more > 0 {
        out.push(&tail);
    }
    out.join(", ")
}
