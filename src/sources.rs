//! Source lines for the frames of a snapshot, from the files readable where awaitwhat runs.
//! Reads no target memory: the CLI does it after letting a live target go.

use crate::model::{Frame, Snapshot};
use std::collections::HashMap;
use std::sync::Arc;

/// Source lines for every frame whose file is readable here (under `sysroot`).
pub fn add(snap: &mut Snapshot, sysroot: &str) {
    add_source_lines(
        sysroot.trim_end_matches('/'),
        snap.tasks
            .iter_mut()
            .flat_map(|t| t.frames.iter_mut())
            .chain(snap.threads.iter_mut().flat_map(|t| t.frames.iter_mut())),
    );
}

/// Source lines for frames whose file is readable here (each file read once, each line
/// shared by every frame that shows it).
fn add_source_lines<'a>(root: &str, frames: impl Iterator<Item = &'a mut Frame>) {
    let mut files: HashMap<Arc<str>, Option<Vec<Arc<str>>>> = HashMap::new();
    for f in frames {
        let Some(line) = f.line.filter(|&l| l > 0) else {
            continue;
        };
        let lines = files.entry(f.file.clone()).or_insert_with(|| {
            let path = format!("{root}{}", f.file);
            let meta = std::fs::metadata(&path).ok()?;
            if !meta.is_file() || meta.len() > 16 << 20 {
                return None;
            }
            let text = std::fs::read(&path).ok()?;
            Some(
                String::from_utf8_lossy(&text)
                    .lines()
                    .map(|l| Arc::from(l.trim()))
                    .collect(),
            )
        });
        f.source = lines
            .as_ref()
            .and_then(|l| l.get(line as usize - 1))
            .cloned();
    }
}
