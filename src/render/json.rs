//! The JSON contract (docs/json.md).

use crate::model::Snapshot;

pub fn render(s: &Snapshot) -> String {
    serde_json::to_string_pretty(s).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")) + "\n"
}
