//! Decoding on several cores. The per-task reads (a task's chain, its wait, the frames that
//! could wake it) are independent of each other; where the memory back end can be read from
//! any thread (a core file, `/proc/PID/mem`), each worker reads its share through its own
//! page cache and its own [`Py`] (its own caches of names and code), and the results come
//! back in the order of the items. A debugger's memory is read on the debugger's thread only.

use crate::cpython::Py;
use crate::target::elf::ElfFile;
use crate::target::files::WithFiles;
use crate::target::{Memory, Reader};
use std::sync::Arc;

/// Fewer items than this per thread are not worth a thread (its caches start cold).
const MIN_PER_THREAD: usize = 2_000;

/// Where workers read from, and how many run.
#[derive(Clone, Copy)]
pub struct Parallel<'a> {
    memory: Option<&'a (dyn Memory + Sync)>,
    files: &'a [(Arc<ElfFile>, u64)],
    threads: usize,
}

impl<'a> Parallel<'a> {
    /// Everything on the calling thread.
    pub fn none() -> Parallel<'static> {
        Parallel {
            memory: None,
            files: &[],
            threads: 1,
        }
    }

    /// Up to `threads` threads reading `memory`, completed by the read-only segments of
    /// `files` as the snapshot's own reader is.
    pub fn new(
        memory: &'a (dyn Memory + Sync),
        files: &'a [(Arc<ElfFile>, u64)],
        threads: usize,
    ) -> Self {
        Parallel {
            memory: Some(memory),
            files,
            threads: threads.max(1),
        }
    }

    /// `f` over every item, in order. The calling thread takes the first share with `py`;
    /// each other share runs on a thread of its own with a fresh reader and `Py` like `py`.
    /// What the workers read is added to `py`'s reader's statistics. The results come share
    /// by share, never copied into one vector (at 100,000 tasks a copy is tens of megabytes).
    pub fn map<T, R, F>(&self, py: &Py<'_>, items: &[T], f: F) -> impl Iterator<Item = R>
    where
        T: Sync,
        R: Send,
        F: Fn(&Py<'_>, &T) -> R + Sync,
    {
        let threads = self.threads.min(items.len() / MIN_PER_THREAD);
        let Some(memory) = self.memory.filter(|_| threads > 1) else {
            let all: Vec<R> = items.iter().map(|t| f(py, t)).collect();
            return vec![all].into_iter().flatten();
        };
        let per = items.len().div_ceil(threads);
        let (layout, types, files) = (&py.layout, &py.types, self.files);
        let (limits, hits, budget) = (&py.limits, &py.hits, &py.mem.budget());
        let f = &f;
        std::thread::scope(|s| {
            let workers: Vec<_> = (items.chunks(per).skip(1))
                .map(|share| {
                    s.spawn(move || {
                        let with_files = WithFiles::new(memory, files);
                        let reader = Reader::new(&with_files).with_budget(budget.clone());
                        let py = Py::new(&reader, layout.clone(), types.clone())
                            .bounded(limits.clone(), hits.clone());
                        let out: Vec<R> = share.iter().map(|t| f(&py, t)).collect();
                        (out, reader.stats())
                    })
                })
                .collect();
            let mut shares: Vec<Vec<R>> = vec![items[..per].iter().map(|t| f(py, t)).collect()];
            for w in workers {
                match w.join() {
                    Ok((share, stats)) => {
                        shares.push(share);
                        py.mem.add_stats(stats);
                    }
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            shares.into_iter().flatten()
        })
    }
}
