//! DWARF layouts saved on disk by build id, so that the next run on the same interpreter
//! does not parse its DWARF again (a quarter of a second for Debian's compressed -dbg
//! files; the debug info of one build never changes).
//!
//! The directory is `$AWAITWHAT_CACHE`, else `$XDG_CACHE_HOME/awaitwhat`, else
//! `~/.cache/awaitwhat`; `AWAITWHAT_CACHE=off` (or empty) turns saving off. A file's name
//! holds the build id and a fingerprint of the field list and of the extractor's source, so
//! a layout extracted by another version of awaitwhat is never used. Saving is best effort:
//! a directory that cannot be written only costs the next run the parse.

use super::FIELDS;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

/// Largest saved layout we read back (a real one is about 10 KB).
const MAX_FILE: u64 = 1 << 20;

/// The saved layout of the build with this id, if there is one and it reads back whole.
pub fn load(build_id: &[u8]) -> Option<BTreeMap<String, u64>> {
    let path = file(build_id)?;
    if std::fs::metadata(&path).ok()?.len() > MAX_FILE {
        return None;
    }
    let fields: BTreeMap<String, u64> = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    // Only names this version asks for: anything else is not a file we wrote.
    fields
        .keys()
        .all(|k| FIELDS.contains(&k.as_str()))
        .then_some(fields)
}

/// Save a layout for the next run (written aside, then renamed: a reader never sees half).
pub fn store(build_id: &[u8], fields: &BTreeMap<String, u64>) {
    let Some(path) = file(build_id) else { return };
    let Some(dir) = path.parent() else { return };
    let Ok(text) = serde_json::to_vec(fields) else {
        return;
    };
    let aside = dir.join(format!(".{}.{}", std::process::id(), fingerprint()));
    let saved = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&aside, text))
        .and_then(|()| std::fs::rename(&aside, &path));
    if saved.is_err() {
        let _ = std::fs::remove_file(&aside);
    }
}

fn file(build_id: &[u8]) -> Option<PathBuf> {
    if build_id.is_empty() {
        return None;
    }
    let id: String = build_id.iter().map(|b| format!("{b:02x}")).collect();
    Some(dir()?.join(format!("layout-{id}-{:016x}.json", fingerprint())))
}

fn dir() -> Option<PathBuf> {
    let env = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    match std::env::var_os("AWAITWHAT_CACHE") {
        Some(v) if v.is_empty() || v == "off" => None,
        Some(v) => Some(PathBuf::from(v)),
        None => env("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|base| base.join("awaitwhat")),
    }
}

/// What a saved layout depends on besides the build: the fields asked for and how they
/// are extracted.
fn fingerprint() -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    FIELDS.hash(&mut h);
    include_str!("dwarf.rs").hash(&mut h);
    env!("CARGO_PKG_VERSION").hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_layouts_come_back_only_for_their_build() {
        let dir = std::env::temp_dir().join(format!("awaitwhat-saved-{}", std::process::id()));
        // SAFETY: no other test reads AWAITWHAT_CACHE.
        unsafe { std::env::set_var("AWAITWHAT_CACHE", &dir) };
        let fields: BTreeMap<String, u64> = [(FIELDS[0].to_string(), 16)].into();
        assert_eq!(load(b"\x01\x02"), None);
        store(b"\x01\x02", &fields);
        assert_eq!(load(b"\x01\x02"), Some(fields));
        assert_eq!(load(b"\x01\x03"), None);
        // A file that names a field we never ask for is not ours.
        let path = file(b"\x01\x02").unwrap();
        std::fs::write(&path, br#"{"no such field": 1}"#).unwrap();
        assert_eq!(load(b"\x01\x02"), None);
        std::fs::write(&path, b"not json").unwrap();
        assert_eq!(load(b"\x01\x02"), None);
        unsafe { std::env::set_var("AWAITWHAT_CACHE", "off") };
        assert_eq!(file(b"\x01\x02"), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
