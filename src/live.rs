//! A snapshot of a live process that holds the process as briefly as possible.
//!
//! By default the decode runs while the target runs, through a [`Journal`]; then every
//! thread is stopped and the journal's reads are made again. A hung program is idle, so
//! they almost always give the same bytes, and then the snapshot is exactly that of the
//! stopped process: the target was held only for the check. If anything changed (or the
//! decode failed), the target stays stopped and is decoded again, as in [`Pause::Whole`].

use crate::discover::{self, Options};
use crate::error::Result;
use crate::model::Snapshot;
use crate::snapshot;
use crate::target::journal::{Check, Journal};
use crate::target::live::{self, Process};
use std::time::{Duration, Instant};

/// How long the target is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// Read while it runs; hold it to check the reads, and decode again only if they changed.
    Check,
    /// Hold it for the whole read.
    Whole,
    /// Never hold it (`--nonblocking`): read while it runs, then read again to see whether
    /// anything changed meanwhile; if something did, the answer says it mixes moments.
    Never,
}

/// How the snapshot was taken, for `--stats`.
pub struct Reading {
    /// When the hold began, from the start of `take`, and how long it lasted.
    pub paused_from: Duration,
    pub paused: Duration,
    pub how: String,
}

/// Attach to `pid`, read it as `pause` says (decoding on up to `threads` threads), and let
/// it go before returning.
pub fn take(pid: i32, opts: &Options, pause: Pause, threads: usize) -> Result<(Snapshot, Reading)> {
    let start = Instant::now();
    let mut process = Process::attach(pid, false)?;
    // The debug info is parsed before anything is read; the source lines are read by the
    // caller once the target runs again.
    discover::prepare(&process.modules()?, opts);
    let reading = Options {
        no_source: true,
        ..opts.clone()
    };
    let mut how = String::from("read while stopped");
    if pause == Pause::Never {
        return nonblocking(&process, &reading, threads);
    }
    if pause == Pause::Check {
        let modules = process.modules()?;
        let journal = Journal::new(process.memory());
        let first = snapshot::take_shared(&journal, &modules, &reading, threads);
        let notes = journal.finish();
        let paused_from = start.elapsed();
        hold(&mut process)?;
        let check = notes.check(&process);
        let moved = process.modules().ok().as_ref() != Some(&modules);
        how = match (first, check) {
            (Ok(snap), Check::Unchanged { reads, bytes }) if !moved => {
                process.resume();
                let how = format!(
                    "read while running, then {reads} reads ({:.1} MB) found unchanged while stopped",
                    bytes as f64 / 1e6
                );
                return Ok((snap, finish(&process, paused_from, how)));
            }
            (Err(e), _) => {
                format!("read again while stopped (reading it while it ran failed: {e})")
            }
            (_, Check::Changed { addr }) => {
                format!("read again while stopped (memory at {addr:#x} changed while it was read)")
            }
            (_, Check::TooMany) => "read again while stopped (too many reads to check)".into(),
            (_, Check::Unchanged { .. }) => {
                "read again while stopped (its mappings changed while it was read)".into()
            }
        };
    }
    let paused_from = start.elapsed();
    hold(&mut process)?;
    let snap = process
        .modules()
        .and_then(|modules| snapshot::take_shared(process.memory(), &modules, &reading, threads));
    // Reads of a process that died fail at whatever address came next: say why.
    let snap = if process.alive() {
        snap
    } else {
        Err(live::exited(pid))
    };
    process.resume();
    Ok((snap?, finish(&process, paused_from, how)))
}

/// Read `process` while it runs, never stopping it; the same reads made again say whether
/// the answer is that of one moment. A process that churns (tasks made and finished by
/// the thousand) may give pointers to freed objects: those cost their task or field, and
/// the answer's warning says it was torn.
fn nonblocking(
    process: &Process,
    reading: &Options,
    threads: usize,
) -> Result<(Snapshot, Reading)> {
    let modules = process.modules()?;
    let journal = Journal::new(process.memory());
    let snap = snapshot::take_shared(&journal, &modules, reading, threads);
    let notes = journal.finish();
    let check = notes.check(process);
    let mut snap = match snap {
        Ok(snap) => snap,
        Err(_) if !process.alive() => return Err(live::exited(process.pid)),
        Err(e) => return Err(e),
    };
    let torn = |why: String| {
        format!(
            "read without stopping the process (--nonblocking): {why}, so the answer may mix moments (without --nonblocking it is that of one)"
        )
    };
    let how = match check {
        Check::Unchanged { reads, bytes } => format!(
            "read while running, never stopped; {reads} reads ({:.1} MB) gave the same bytes again",
            bytes as f64 / 1e6
        ),
        Check::Changed { addr } => {
            snap.warnings.push(torn(format!(
                "memory at {addr:#x} changed while it was read"
            )));
            "read while running, never stopped; memory changed meanwhile".into()
        }
        Check::TooMany => {
            snap.warnings
                .push(torn("too many reads to check them all".into()));
            "read while running, never stopped; too many reads to check".into()
        }
    };
    Ok((snap, finish(process, Duration::ZERO, how)))
}

/// Stop every thread; a process that is gone by now exited while we read it.
fn hold(process: &mut Process) -> Result<()> {
    process.pause().map_err(|e| {
        if process.alive() {
            e
        } else {
            live::exited(process.pid)
        }
    })
}

fn finish(process: &Process, paused_from: Duration, how: String) -> Reading {
    Reading {
        paused_from,
        paused: process.paused().unwrap_or_default(),
        how,
    }
}
