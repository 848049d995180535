//! Which tasks the user names (`--task`, `awaitwhat task`): by address, by name, or by a
//! regular expression on names.

use crate::model::{Id, Task};

/// How `--task` picks tasks: an address, else the exact name, else a pattern on names.
pub enum TaskMatch {
    Address(u64),
    NameOrPattern(String, regex::Regex),
}

impl TaskMatch {
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(hex) = text.strip_prefix("0x") {
            // The user's own words, never text of ours read back.
            let digit =
                |acc: u64, c: char| acc.checked_mul(16)?.checked_add(c.to_digit(16)?.into());
            return (hex.chars().try_fold(0u64, digit))
                .filter(|_| !hex.is_empty())
                .map(TaskMatch::Address)
                .ok_or_else(|| format!("--task {text}: not an address"));
        }
        let pattern = regex::Regex::new(&format!("^(?:{text})$")).map_err(|e| {
            // The regex crate's message draws the pattern over several lines: its last says why.
            let e = e.to_string();
            let why = e.lines().last().unwrap_or("").trim_start_matches("error: ");
            format!("--task '{text}': not a name or a regular expression ({why})")
        })?;
        Ok(TaskMatch::NameOrPattern(text.to_string(), pattern))
    }

    pub fn matches(&self, t: &Task) -> bool {
        match self {
            TaskMatch::Address(a) => t.address == Id(*a),
            TaskMatch::NameOrPattern(name, pattern) => t
                .name
                .as_deref()
                .is_some_and(|n| n == name || pattern.is_match(n)),
        }
    }
}
