//! Renderers: pure functions from a `Snapshot` to text.

pub mod json;
pub mod text;

use crate::model::Snapshot;

/// Render in a named format: `text` or `json`.
pub fn render(s: &Snapshot, format: &str) -> Result<String, String> {
    match format {
        "text" => Ok(text::render(s)),
        "json" => Ok(json::render(s)),
        other => Err(format!("unknown format '{other}' (expected text or json)")),
    }
}
