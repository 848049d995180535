//! How far a decode goes into what the target can make large: a chain's depth, the number
//! of tasks and of graph objects, a string's length, a collection's length, the bytes read
//! and the time taken. Each has a default; `--limit NAME=N,...` raises it. Hitting one
//! costs only what it bounds (a string is cut, a chain stops, a collection is left out,
//! reads stop), and the answer says which limit was hit and how to raise it.

use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Frames of one await chain.
    pub depth: usize,
    /// Tasks shown.
    pub tasks: usize,
    /// Objects in the wait graph.
    pub objects: usize,
    /// Characters of one string (longer ones are cut).
    pub string: u64,
    /// Items of one list, tuple, dict, set or deque (longer ones are not read).
    pub items: u64,
    /// Bytes read from the target in all.
    pub bytes: u64,
    /// Seconds one decode may take.
    pub seconds: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            depth: 1024,
            tasks: 1 << 20,
            objects: 1 << 20,
            string: 1 << 16,
            items: 1 << 22,
            bytes: 16 << 30,
            seconds: 300.0,
        }
    }
}

/// Limits as the front ends pass them: the user's `--limit` text.
pub fn from_text<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Limits, D::Error> {
    let text: String = serde::Deserialize::deserialize(d)?;
    Limits::parse(&text).map_err(serde::de::Error::custom)
}

/// What hitting each limit costs, said in the warning.
const COSTS: &[(&str, &str)] = &[
    ("depth", "a deeper await chain is shown up to it"),
    ("tasks", "tasks past it are not shown"),
    ("objects", "the wait graph stops growing there"),
    (
        "string",
        "longer strings are cut; a cut task name ends in … and says its length",
    ),
    ("items", "a longer collection is not read"),
    ("bytes", "reads stopped there: what follows is partial"),
    ("seconds", "reads stopped then: what follows is partial"),
];

impl Limits {
    /// `NAME=N,NAME=N` (the CLI's and the debuggers' `--limit`) over the defaults.
    pub fn parse(text: &str) -> std::result::Result<Limits, String> {
        let mut out = Limits::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let names = || COSTS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("--limit {part}: NAME=N expected ({})", names()))?;
            let bad = || format!("--limit {part}: {value} is not a positive number");
            let n: f64 = value.parse().map_err(|_| bad())?;
            if n.is_nan() || n <= 0.0 {
                return Err(bad());
            }
            let whole = || -> std::result::Result<u64, String> {
                (n.fract() == 0.0 && n < 1e18)
                    .then_some(n as u64)
                    .ok_or_else(bad)
            };
            match name {
                "depth" => out.depth = whole()? as usize,
                "tasks" => out.tasks = whole()? as usize,
                "objects" => out.objects = whole()? as usize,
                "string" => out.string = whole()?,
                "items" => out.items = whole()?,
                "bytes" => out.bytes = whole()?,
                "seconds" => out.seconds = n,
                _ => {
                    return Err(format!(
                        "--limit {name}: no such limit (one of: {})",
                        names()
                    ));
                }
            }
        }
        Ok(out)
    }

    fn value(&self, name: &str) -> String {
        match name {
            "depth" => self.depth.to_string(),
            "tasks" => self.tasks.to_string(),
            "objects" => self.objects.to_string(),
            "string" => self.string.to_string(),
            "items" => self.items.to_string(),
            "bytes" => self.bytes.to_string(),
            _ => self.seconds.to_string(),
        }
    }

    /// The warning for each limit hit, in a fixed order.
    pub fn warnings(&self, hits: &Hits) -> Vec<String> {
        let hit = hits.0.lock().map(|h| h.clone()).unwrap_or_default();
        (COSTS.iter())
            .filter(|(name, _)| hit.contains(name))
            .map(|(name, cost)| {
                let v = self.value(name);
                format!("limit hit: {name}={v}: {cost}; raise it with --limit {name}=N")
            })
            .collect()
    }
}

/// The limits a decode hit (shared by its threads).
#[derive(Debug, Default)]
pub struct Hits(Mutex<BTreeSet<&'static str>>);

impl Hits {
    pub fn hit(&self, name: &'static str) {
        if let Ok(mut h) = self.0.lock() {
            h.insert(name);
        }
    }
}

/// The bytes and the time a decode may still spend, shared by its readers.
#[derive(Debug)]
pub struct Budget {
    max_bytes: u64,
    used: AtomicU64,
    deadline: Instant,
    pub hits: Arc<Hits>,
}

impl Budget {
    pub fn new(limits: &Limits, hits: Arc<Hits>) -> Budget {
        let seconds = Duration::try_from_secs_f64(limits.seconds).unwrap_or(Duration::MAX);
        let now = Instant::now();
        Budget {
            max_bytes: limits.bytes,
            used: AtomicU64::new(0),
            deadline: now
                .checked_add(seconds)
                .unwrap_or(now + Duration::from_secs(1 << 40)),
            hits,
        }
    }

    /// Spend `len` bytes of reads from the target.
    pub fn spend(&self, len: u64) -> Result<()> {
        if self
            .used
            .fetch_add(len, Ordering::Relaxed)
            .saturating_add(len)
            > self.max_bytes
        {
            self.hits.hit("bytes");
            return Err(Error::Limit {
                what: "bytes read from the target (--limit bytes)",
                limit: self.max_bytes,
            });
        }
        Ok(())
    }

    /// Is there time left?
    pub fn in_time(&self) -> Result<()> {
        if Instant::now() > self.deadline {
            self.hits.hit("seconds");
            return Err(Error::Limit {
                what: "seconds of decoding (--limit seconds)",
                limit: 0,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_and_refuse_what_is_not_one() {
        let l = Limits::parse("depth=5000, string=10,seconds=0.5").expect("parses");
        assert_eq!((l.depth, l.string, l.seconds), (5000, 10, 0.5));
        assert_eq!(l.items, Limits::default().items);
        for bad in [
            "depth",
            "depth=-1",
            "depth=1.5",
            "colour=3",
            "string=0",
            "items=x",
        ] {
            assert!(Limits::parse(bad).is_err(), "{bad}");
        }
        let hits = Hits::default();
        hits.hit("string");
        let w = l.warnings(&hits);
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("limit hit: string=10: "), "{w:?}");
    }
}
