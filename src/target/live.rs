//! Live processes on Linux: memory from `/proc/PID/mem`, modules from `/proc/PID/maps`.
//! Nothing is written to the target.
//!
//! While we read, every thread is held in a ptrace-stop (`PTRACE_SEIZE` + `PTRACE_INTERRUPT`,
//! as py-spy and pystack do), not stopped with SIGSTOP: a ptrace-stop belongs to the tracer,
//! so if awaitwhat dies in any way (SIGKILL, OOM killer, Ctrl-C) the kernel detaches every
//! thread and the target runs on. That is also why no SIGINT/SIGTERM handler is installed:
//! there is nothing left for one to undo. A target that was already stopped (SIGSTOP, job
//! control) is still stopped after we detach: that group-stop is the process's, not ours.
//!
//! `/proc/PID/mem` stays the read path: for the 4 KiB page reads of the cache it measured
//! about 20% faster than `process_vm_readv`.

use super::{Addr, Memory, Module};
use crate::error::{Error, Result};
use std::fs::File;
use std::io;
use std::marker::PhantomData;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

/// A live process, open for reading; with `attach(pid, true)` every thread is stopped
/// from `attach` until `resume` (or drop).
///
/// ptrace binds tracees to the tracer *thread*: the interrupt, the waits and the detaches
/// must come from the thread that called `attach`, so this type is neither `Send` nor `Sync`.
pub struct Process {
    pub pid: i32,
    mem: ProcessMemory,
    stopped: Stopped,
}

/// A process's memory, `/proc/PID/mem`: read from any thread (the ptrace stop is held by
/// the [`Process`], on the thread that made it).
pub struct ProcessMemory(File);

/// The threads we hold in a ptrace-stop, each with the signal its stop intercepted (0 if
/// none): that signal is handed back on detach, so nothing sent to the target is lost.
#[derive(Default)]
struct Stopped {
    threads: Vec<(i32, i32)>,
    since: Option<Instant>,
    lasted: Option<Duration>,
    _tracer_thread: PhantomData<*const ()>,
}

impl Process {
    /// Open the process and, if `pause`, stop all its threads until `resume` or drop.
    pub fn attach(pid: i32, pause: bool) -> Result<Process> {
        let stopped = if pause {
            Stopped::all(pid)?
        } else {
            Stopped::default()
        };
        let mem = File::open(format!("/proc/{pid}/mem")).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound if pause => exited(pid),
            io::ErrorKind::NotFound => missing(pid),
            _ => refusal(pid, pid, e),
        })?;
        Ok(Process {
            pid,
            mem: ProcessMemory(mem),
            stopped,
        })
    }

    /// Stop every thread now (a process attached with `pause` false): lets the caller do
    /// the work that needs no target memory first. Does nothing if already stopped.
    pub fn pause(&mut self) -> Result<()> {
        if self.stopped.since.is_none() {
            self.stopped = Stopped::all(self.pid)?;
        }
        Ok(())
    }

    /// Its memory, readable from other threads.
    pub fn memory(&self) -> &ProcessMemory {
        &self.mem
    }

    /// Let the target run again (detach every thread). Idempotent; drop calls it too.
    pub fn resume(&mut self) {
        self.stopped.release();
    }

    /// How long the target was stopped (so far, if it still is); None if it never was.
    pub fn paused(&self) -> Option<Duration> {
        let s = &self.stopped;
        s.lasted.or(s.since.map(|t| t.elapsed()))
    }

    /// False once every thread has exited (or is exiting): reads then fail, and a failed
    /// decode should be reported with [`exited`] rather than as an unreadable address.
    pub fn alive(&self) -> bool {
        std::fs::read_dir(format!("/proc/{}/task", self.pid))
            .is_ok_and(|mut tasks| tasks.any(|t| t.is_ok_and(|t| !gone(t.path().join("stat")))))
    }

    /// Its mapped files, by the paths it sees them at: the kernel writes them from our own
    /// root, so for a process chrooted at `/opt/sid` they start with `/opt/sid`, which is
    /// taken off (its own root, `/proc/PID/root`, is where they are read from).
    pub fn modules(&self) -> Result<Vec<Module>> {
        let root = std::fs::read_link(format!("/proc/{}/root", self.pid))
            .ok()
            .and_then(|r| r.to_str().map(|r| r.trim_end_matches('/').to_string()))
            .unwrap_or_default();
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", self.pid)).map_err(|e| {
            Error::Target(format!(
                "cannot list the mappings of process {}: {e}",
                self.pid
            ))
        })?;
        let mut out: Vec<Module> = Vec::new();
        for line in maps.lines() {
            let mut f = line.split_whitespace();
            let (Some(range), _, Some(offset), _, _, Some(path)) =
                (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            if !path.starts_with('/') || u64::from_str_radix(offset, 16) != Ok(0) {
                continue;
            }
            let Some(start) = range
                .split('-')
                .next()
                .and_then(|s| u64::from_str_radix(s, 16).ok())
            else {
                continue;
            };
            let path = match path.strip_prefix(root.as_str()) {
                Some(inside) if !root.is_empty() && inside.starts_with('/') => inside,
                _ => path,
            };
            if !out.iter().any(|m| m.path == path) {
                out.push(Module {
                    path: path.to_string(),
                    base: start,
                });
            }
        }
        Ok(out)
    }
}

/// The error for a target that went away while we held or read it.
pub fn exited(pid: i32) -> Error {
    Error::Target(format!("process {pid} exited while being read"))
}

fn missing(pid: i32) -> Error {
    Error::Target(format!(
        "no process {pid}: check the pid, e.g. with `ps -e`"
    ))
}

impl Stopped {
    /// Seize and interrupt every thread of `pid`, listing them again until no new one
    /// appeared (a thread not yet stopped may have started one). Threads that exit meanwhile
    /// are skipped. On error, the threads already held are released by drop.
    fn all(pid: i32) -> Result<Stopped> {
        let mut s = Stopped {
            threads: Vec::new(),
            since: Some(Instant::now()),
            lasted: None,
            _tracer_thread: PhantomData,
        };
        let mut tried = Vec::new();
        loop {
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|_| {
                if tried.is_empty() {
                    missing(pid)
                } else {
                    exited(pid)
                }
            })?;
            let new: Vec<i32> = tasks
                .filter_map(|t| t.ok()?.file_name().to_str()?.parse().ok())
                .filter(|tid| !tried.contains(tid))
                .collect();
            if new.is_empty() {
                break;
            }
            for tid in new {
                tried.push(tid);
                match stop(tid) {
                    Ok(Some(signal)) => s.threads.push((tid, signal)),
                    Ok(None) => {}
                    Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                    // A zombie thread cannot be seized (EPERM); it runs no code either.
                    Err(_) if gone(format!("/proc/{pid}/task/{tid}/stat")) => {}
                    Err(e) => return Err(refusal(pid, tid, e)),
                }
            }
        }
        if s.threads.is_empty() {
            return Err(exited(pid));
        }
        Ok(s)
    }

    /// Detach every thread, giving back the signal its stop intercepted. A thread that
    /// died meanwhile fails with ESRCH: there is nothing to give back to it.
    fn release(&mut self) {
        for (tid, signal) in self.threads.drain(..) {
            let _ = ptrace(libc::PTRACE_DETACH, tid, signal as usize);
        }
        if let Some(since) = self.since.take() {
            self.lasted = Some(since.elapsed());
        }
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        self.release();
    }
}

/// Seize one thread, interrupt it and wait until it is in a ptrace-stop. Returns the signal
/// that stop intercepted (a signal-delivery-stop, to be passed back on detach) or 0, and
/// None if the thread exited first. Any ptrace-stop will do: the thread runs no code in it.
fn stop(tid: i32) -> io::Result<Option<i32>> {
    ptrace(libc::PTRACE_SEIZE, tid, 0)?;
    interrupt(tid).inspect_err(|_| {
        let _ = ptrace(libc::PTRACE_DETACH, tid, 0);
    })
}

/// The part of [`stop`] after the seize; if it fails, `stop` lets the thread go again.
fn interrupt(tid: i32) -> io::Result<Option<i32>> {
    ptrace(libc::PTRACE_INTERRUPT, tid, 0)?;
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes only to `status`, a live local.
        if unsafe { libc::waitpid(tid, &mut status, libc::__WALL) } != -1 {
            break;
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ECHILD) => return Ok(None),
            _ => return Err(e),
        }
    }
    if !libc::WIFSTOPPED(status) {
        return Ok(None); // exited or killed
    }
    // Event stops (the interrupt, a group-stop) carry the event in bits 16..; a
    // signal-delivery-stop has none, and its WSTOPSIG is the signal held back.
    Ok(Some(if status >> 16 == 0 {
        libc::WSTOPSIG(status)
    } else {
        0
    }))
}

/// One ptrace request on `tid` with no address; `data` is 0 or a signal number.
fn ptrace(request: libc::c_uint, tid: i32, data: usize) -> io::Result<()> {
    let null = std::ptr::null_mut::<libc::c_void>();
    // SAFETY: SEIZE, INTERRUPT and DETACH read no memory of ours: addr is unused, data is
    // an integer (options or a signal number) passed in a pointer-sized argument.
    let r = unsafe {
        libc::ptrace(
            request,
            tid,
            null,
            std::ptr::without_provenance_mut::<libc::c_void>(data),
        )
    };
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Why we may not trace `tid` of `pid` (or read its memory), as one sentence saying what
/// to do: another tracer, another user, Yama, or the process is gone.
fn refusal(pid: i32, tid: i32, e: io::Error) -> Error {
    let code = e.raw_os_error();
    if code == Some(libc::ESRCH) {
        return exited(pid);
    }
    if !matches!(code, Some(libc::EPERM | libc::EACCES)) {
        return Error::Target(format!("cannot trace process {pid}: {e}"));
    }
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap_or_default();
    let field = |name: &str| -> Vec<u32> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    if let Some(&tracer) = field("TracerPid:").first().filter(|&&t| t != 0) {
        let comm = std::fs::read_to_string(format!("/proc/{tracer}/comm")).unwrap_or_default();
        return Error::Target(format!(
            "process {pid} is already traced by PID {tracer} ({}): detach that debugger, or run awaitwhat inside it (py-await-stacks in gdb, awaitwhat stacks in lldb)",
            comm.trim()
        ));
    }
    let yama = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(0);
    if yama >= 3 {
        return Error::Target(format!(
            "cannot trace process {pid}: Yama ptrace_scope is 3, which forbids tracing until reboot"
        ));
    }
    if !has_cap_sys_ptrace() {
        // SAFETY: getuid has no preconditions.
        let me = unsafe { libc::getuid() };
        // Uid: real, effective, saved, filesystem; the first three must all be ours.
        if let Some(&other) = field("Uid:").iter().take(3).find(|&&u| u != me) {
            return Error::Target(format!(
                "no permission to trace process {pid}: it runs as uid {other}; run awaitwhat as that user or as root"
            ));
        }
        if yama >= 1 {
            return Error::Target(format!(
                "cannot trace process {pid}: Yama ptrace_scope is {yama}: run as root, or `sudo sysctl kernel.yama.ptrace_scope=0`, or grant CAP_SYS_PTRACE"
            ));
        }
    }
    Error::Target(format!(
        "cannot trace process {pid}: {e} (a setgid or non-dumpable process, or a sandbox; try as root)"
    ))
}

/// Whether we hold CAP_SYS_PTRACE (capability 19: a bit of CapEff in /proc/self/status).
fn has_cap_sys_ptrace() -> bool {
    const CAP_SYS_PTRACE: u32 = 19;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let hex = s
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))?
                .trim()
                .to_owned();
            u64::from_str_radix(&hex, 16).ok()
        })
        .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0)
}

/// The task of this `/proc/.../stat` file has exited, is a zombie, or is exiting
/// (PF_EXITING in its flags: a SIGKILLed process loses its memory before it is a zombie).
fn gone(stat: impl AsRef<std::path::Path>) -> bool {
    const PF_EXITING: u32 = 0x4;
    let Ok(stat) = std::fs::read_to_string(stat) else {
        return true;
    };
    // After "pid (comm)": state, ppid, pgrp, session, tty_nr, tpgid, flags...
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, f)| f.split_whitespace().collect());
    let flags: u32 = fields.get(6).and_then(|f| f.parse().ok()).unwrap_or(0);
    matches!(fields.first(), None | Some(&("Z" | "X"))) || flags & PF_EXITING != 0
}

impl Memory for Process {
    fn chunk(&self) -> u64 {
        self.mem.chunk()
    }

    fn cache_budget(&self) -> usize {
        self.mem.cache_budget()
    }

    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        self.mem.read(addr, buf)
    }
}

/// Most bytes of a live process a reader keeps ([`Memory::cache_budget`]).
const LIVE_CACHE_BUDGET: usize = 16 << 20;

impl Memory for ProcessMemory {
    /// 4 pages: at 1,000 tasks a 16-page chunk read 11 MB for what 4 pages read in 7 MB
    /// (29 ms against 25 ms in all); at 100,000 the same time, 20 MB less kept.
    fn chunk(&self) -> u64 {
        4 * super::cache::PAGE
    }

    /// Reading a chunk again is one `pread`: a 100,000-task server's 177 MB need not all
    /// be kept (our own footprint counts as much as our speed).
    fn cache_budget(&self) -> usize {
        LIVE_CACHE_BUDGET
    }

    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        self.0
            .read_exact_at(buf, addr)
            .map_err(|_| Error::Unreadable {
                addr,
                len: buf.len(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command};

    fn sleeper() -> Child {
        Command::new("sleep").arg("100").spawn().unwrap()
    }

    /// State letter and TracerPid of `pid`.
    fn seen(pid: u32) -> (String, String) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let field = |name: &str| {
            let line = status.lines().find(|l| l.starts_with(name)).unwrap();
            line[name.len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_owned()
        };
        (field("State:"), field("TracerPid:"))
    }

    /// `seen`, once the state is `want` or a second passed (a resumed thread takes a moment
    /// to go back to sleep).
    fn wait_state(pid: u32, want: &str) -> (String, String) {
        for _ in 0..200 {
            let s = seen(pid);
            if s.0 == want {
                return s;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        seen(pid)
    }

    #[test]
    fn pauses_only_until_resume() {
        let mut child = sleeper();
        let pid = child.id();
        // TracerPid names the tracer thread: this test's.
        // SAFETY: gettid has no preconditions.
        let me = unsafe { libc::gettid() }.to_string();
        let mut p = Process::attach(pid as i32, true).unwrap();
        assert_eq!(seen(pid), ("t".into(), me));
        assert!(p.alive());
        p.resume();
        let paused = p.paused().unwrap();
        p.resume();
        assert_eq!(p.paused(), Some(paused), "resume is idempotent");
        assert_eq!(wait_state(pid, "S"), ("S".into(), "0".into()));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn a_stopped_target_stays_stopped() {
        let mut child = sleeper();
        let pid = child.id();
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
        wait_state(pid, "T");
        drop(Process::attach(pid as i32, true).unwrap());
        assert_eq!(wait_state(pid, "T"), ("T".into(), "0".into()));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn without_pause_no_ptrace() {
        let mut child = sleeper();
        let pid = child.id();
        let p = Process::attach(pid as i32, false).unwrap();
        assert_eq!(seen(pid).1, "0");
        assert_eq!(p.paused(), None);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!p.alive());
    }
}
