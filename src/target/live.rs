//! Live processes on Linux: memory from `/proc/PID/mem`, modules from `/proc/PID/maps`.
//! The process is stopped (SIGSTOP) while we read and continued afterwards, unless it was
//! already stopped. Nothing is written to it.

use super::{Addr, Memory, Module};
use crate::error::{Error, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;

pub struct Process {
    pub pid: i32,
    mem: File,
    resume: bool,
}

fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

impl Process {
    /// Open the process and, if `pause`, stop it until this value is dropped.
    pub fn attach(pid: i32, pause: bool) -> Result<Process> {
        let mem = File::open(format!("/proc/{pid}/mem")).map_err(|e| {
            Error::Target(format!(
                "cannot read the memory of process {pid}: {e} (are you allowed to ptrace it?)"
            ))
        })?;
        let mut resume = false;
        if pause && !matches!(state(pid), Some('T' | 't')) {
            // SAFETY: kill(2) with a valid signal number has no memory-safety preconditions.
            if unsafe { libc::kill(pid, libc::SIGSTOP) } != 0 {
                return Err(Error::Target(format!(
                    "cannot stop process {pid}: {}",
                    std::io::Error::last_os_error()
                )));
            }
            resume = true;
            for _ in 0..2000 {
                if matches!(state(pid), Some('T' | 't')) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_micros(500));
            }
        }
        Ok(Process { pid, mem, resume })
    }

    pub fn modules(&self) -> Result<Vec<Module>> {
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

impl Memory for Process {
    fn read(&self, addr: Addr, buf: &mut [u8]) -> Result<()> {
        self.mem
            .read_exact_at(buf, addr)
            .map_err(|_| Error::Unreadable {
                addr,
                len: buf.len(),
            })
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.resume {
            // SAFETY: as in `attach`.
            unsafe { libc::kill(self.pid, libc::SIGCONT) };
        }
    }
}
