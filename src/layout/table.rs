//! The generated tables in `offsets/`, embedded at compile time, and their file format.

use super::{Offsets, Version};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// One `offsets/*.json` file: written by `awaitwhat offsets extract`, never by hand.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TableFile {
    /// Full version of the build the table was generated from, e.g. "3.12.1".
    pub python: String,
    /// Which files' DWARF it came from (file names only).
    pub generated_from: Vec<String>,
    /// Made from a debug interpreter (`Py_DEBUG`, `python3.Xd`), whose structs differ.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub debug_build: bool,
    /// `Type.path` → offset or size; `enum.NAME` → constant (signed, hence i64).
    pub offsets: BTreeMap<String, i64>,
}

/// (file name, contents) of every table, embedded.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("3.6.json", include_str!("../../offsets/3.6.json")),
    ("3.7.json", include_str!("../../offsets/3.7.json")),
    ("3.8.json", include_str!("../../offsets/3.8.json")),
    ("3.9.json", include_str!("../../offsets/3.9.json")),
    ("3.10.json", include_str!("../../offsets/3.10.json")),
    ("3.11.json", include_str!("../../offsets/3.11.json")),
    (
        "3.11-debian.json",
        include_str!("../../offsets/3.11-debian.json"),
    ),
    ("3.12.json", include_str!("../../offsets/3.12.json")),
    ("3.13.json", include_str!("../../offsets/3.13.json")),
    ("3.14.json", include_str!("../../offsets/3.14.json")),
    ("3.15.json", include_str!("../../offsets/3.15.json")),
    ("3.14d.json", include_str!("../../offsets/3.14d.json")),
    ("3.15d.json", include_str!("../../offsets/3.15d.json")),
];

impl TableFile {
    /// The values as the layout stores them (two's complement for negative constants).
    pub fn values(&self) -> BTreeMap<String, u64> {
        self.offsets
            .iter()
            .map(|(k, v)| (k.clone(), *v as u64))
            .collect()
    }
}

pub fn parse(text: &str) -> Result<TableFile> {
    serde_json::from_str(text).map_err(|e| Error::Target(format!("bad offsets table: {e}")))
}

/// Versions we have a table for, e.g. "3.8, 3.9, ...".
pub fn supported() -> String {
    let mut minors: Vec<(u8, u8)> = EMBEDDED
        .iter()
        .filter_map(|(_, text)| parse(text).ok().and_then(|t| Version::parse(&t.python)))
        .map(|v| (v.major, v.minor))
        .collect();
    minors.sort();
    minors.dedup();
    minors
        .iter()
        .map(|(major, minor)| format!("{major}.{minor}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The embedded table for this version and build (a debug interpreter's, else the
/// release one): the one generated from exactly this version if there is one (Debian's
/// 3.11.2 next to pyenv's 3.11.7), else the nearest patch release of the same minor version.
pub fn for_version(version: Version, debug_build: bool) -> Option<(TableFile, Offsets)> {
    let tables: Vec<TableFile> = EMBEDDED
        .iter()
        .filter_map(|(_, text)| parse(text).ok())
        .collect();
    let has_debug = tables.iter().any(|t| {
        t.debug_build && Version::parse(&t.python).is_some_and(|v| v.minor == version.minor)
    });
    let mut same_minor: Vec<(Version, TableFile)> = tables
        .into_iter()
        .filter(|t| t.debug_build == (debug_build && has_debug))
        .filter_map(|t| Version::parse(&t.python).map(|v| (v, t)))
        .filter(|(v, _)| (v.major, v.minor) == (version.major, version.minor))
        .collect();
    same_minor.sort_by_key(|(v, _)| (v.micro as i32 - version.micro as i32).abs());
    same_minor.into_iter().next().map(|(_, t)| {
        let (o, _) = Offsets::from_map(&t.values());
        (t, o)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_debug_interpreter_gets_its_own_table_where_there_is_one() {
        let table = |v: &str, debug| for_version(Version::parse(v).unwrap(), debug).unwrap().0;
        assert!(table("3.14.10", true).debug_build);
        assert!(!table("3.14.10", false).debug_build);
        // No debug table for 3.12: the release one (3.13+ check it against the interpreter).
        assert!(!table("3.12.1", true).debug_build);
    }
}
