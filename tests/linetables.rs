//! Our three line-table decoders against CPython's own answers (dis.findlinestarts,
//! co_lines(), co_positions()) for every function of several stdlib modules, per version.

mod common;

use awaitwhat::cpython::linetable::{linetable_310_line, lnotab_line, locations_line};
use std::process::Command;

#[test]
fn line_tables_agree_with_cpython_on_real_functions() {
    let mut failures = Vec::new();
    for version in common::VERSIONS {
        let out = Command::new(common::python(version))
            .arg(common::repo().join("tests/linetables/dump.py"))
            .output()
            .expect("run dump.py");
        assert!(
            out.status.success(),
            "{version}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let data: serde_json::Value = serde_json::from_slice(&out.stdout).expect("dump JSON");
        let minor = data["version"][1].as_u64().unwrap();
        let functions = data["functions"].as_array().unwrap();
        let mut instructions = 0;
        for f in functions {
            let first = f["first"].as_i64().unwrap() as i32;
            let hex = f["table"].as_str().unwrap();
            let table: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            for (i, want) in f["lines"].as_array().unwrap().iter().enumerate() {
                let want = want.as_i64().map(|l| l as i32);
                let got = match minor {
                    11.. => locations_line(&table, first, i as u32),
                    10 => linetable_310_line(&table, first, i as u32 * 2),
                    _ => Some(lnotab_line(&table, first, i as u32 * 2)),
                };
                instructions += 1;
                if got != want && failures.len() < 20 {
                    failures.push(format!(
                        "{version} {} instruction {i}: CPython {want:?}, ours {got:?}",
                        f["name"]
                    ));
                }
            }
        }
        assert!(
            functions.len() > 500 && instructions > 50_000,
            "{version}: too little data ({} functions)",
            functions.len()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
