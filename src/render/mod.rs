//! Renderers: pure functions from a `Snapshot` to text.

pub mod dot;
pub mod json;
pub mod text;

use crate::model::Snapshot;

/// Render in a named format: `text`, `json`, `dot`, or `stats` (one line: what the decode cost).
pub fn render(s: &Snapshot, format: &str) -> Result<String, String> {
    match format {
        "text" => Ok(text::render(s)),
        "json" => Ok(json::render(s)),
        "dot" => Ok(dot::render(s)),
        "stats" => Ok(format!(
            "awaitwhat: {} read callbacks, {} bytes read, {} failed reads\n",
            s.stats.callbacks, s.stats.bytes_read, s.stats.failed_reads
        )),
        other => Err(format!(
            "unknown format '{other}' (expected text, json, dot or stats)"
        )),
    }
}
