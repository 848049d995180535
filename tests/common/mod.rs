//! Shared by the Rust integration tests: the interpreters, a scenario runner, and the
//! comparison of a decoded snapshot with the oracle a scenario wrote in-process.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The CPython builds the matrix covers (pyenv's, with DWARF).
pub const VERSIONS: &[&str] = &[
    "3.6.15", "3.7.16", "3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0",
];

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The interpreter for a version; a missing interpreter fails the test (never skips it).
pub fn python(version: &str) -> PathBuf {
    let root = std::env::var("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").expect("HOME")).join(".pyenv"));
    let minor = version.rsplit_once('.').map(|(m, _)| m).unwrap_or(version);
    let p = root
        .join("versions")
        .join(version)
        .join("bin")
        .join(format!("python{minor}"));
    assert!(
        p.is_file(),
        "interpreter {} is missing: install CPython {version} with pyenv (scripts/setup does)",
        p.display()
    );
    p
}

/// A running scenario; killed on drop.
pub struct Scenario {
    pub child: Child,
    pub dir: PathBuf,
    pub oracle: Value,
}

impl Drop for Scenario {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn start(version: &str, scenario: &str) -> Scenario {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "awaitwhat-{}-{n}-{scenario}-{version}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let oracle_path = dir.join("oracle.json");
    let child = Command::new(python(version))
        .arg(
            repo()
                .join("tests/scenarios")
                .join(format!("{scenario}.py")),
        )
        .arg(&oracle_path)
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr file"))
        .spawn()
        .expect("start scenario");
    let mut s = Scenario {
        child,
        dir,
        oracle: Value::Null,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !oracle_path.is_file() {
        if let Ok(Some(status)) = s.child.try_wait() {
            let err = std::fs::read_to_string(s.dir.join("stderr")).unwrap_or_default();
            panic!(
                "scenario {scenario} on {version} exited ({status}) before writing its oracle:\n{err}"
            );
        }
        assert!(
            Instant::now() < deadline,
            "scenario {scenario} on {version} wrote no oracle within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    s.oracle = serde_json::from_str(&std::fs::read_to_string(&oracle_path).expect("read oracle"))
        .expect("oracle JSON");
    s
}

/// Write a core of the scenario with gdb's `gcore` (gdb detaches; the process runs on).
pub fn gcore(s: &Scenario) -> PathBuf {
    let core = s.dir.join("core");
    let out = Command::new("gdb")
        .args(["-nx", "-batch", "-iex", "set auto-load off", "-p"])
        .arg(s.child.id().to_string())
        .arg("-ex")
        .arg(format!("gcore {}", core.display()))
        .arg("-ex")
        .arg("detach")
        .output()
        .expect("gdb is needed to write cores (scripts/setup installs it)");
    assert!(
        core.is_file(),
        "gcore wrote no core: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    core
}

fn frames(v: &Value) -> Vec<(String, String, i64)> {
    v.as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    (
                        f["function"].as_str().unwrap_or("").to_string(),
                        f["file"].as_str().unwrap_or("").to_string(),
                        f["line"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Compare a decoded snapshot (our JSON) with the oracle; returns every mismatch found.
pub fn compare(oracle: &Value, got: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    if oracle["python"] != got["python"] {
        errors.push(format!(
            "python: oracle {} got {}",
            oracle["python"], got["python"]
        ));
    }
    let empty = vec![];
    let want = oracle["tasks"].as_array().unwrap_or(&empty);
    let have = got["tasks"].as_array().unwrap_or(&empty);
    for w in want {
        let addr = &w["address"];
        let Some(h) = have.iter().find(|h| h["address"] == *addr) else {
            errors.push(format!("task {addr} missing"));
            continue;
        };
        if frames(&w["frames"]) != frames(&h["frames"]) {
            errors.push(format!(
                "task {addr} frames:\n  oracle {:?}\n  got    {:?}",
                frames(&w["frames"]),
                frames(&h["frames"])
            ));
        }
        // ≤3.7: the oracle's name is the scenario's label; the task has none.
        let nameless = w["nameless"].as_bool() == Some(true);
        match w["name"].as_str() {
            _ if nameless && !h["name"].is_null() => errors.push(format!(
                "task {addr} name: none expected, got {}",
                h["name"]
            )),
            _ if nameless => {}
            Some(n) if h["name"].as_str() != Some(n) => {
                errors.push(format!("task {addr} name: oracle {n} got {}", h["name"]))
            }
            None if !h["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("Task-") && n[5..].parse::<u64>().is_ok()) =>
            {
                errors.push(format!("task {addr} default name: got {}", h["name"]))
            }
            _ => {}
        }
        if !w["awaiting"].is_null()
            && (w["awaiting"]["address"] != h["awaiting"]["address"]
                || w["awaiting"]["type"] != h["awaiting"]["type"])
        {
            errors.push(format!(
                "task {addr} awaiting: oracle {} got {}",
                w["awaiting"], h["awaiting"]
            ));
        }
    }
    for h in have {
        if !want.iter().any(|w| w["address"] == h["address"]) {
            errors.push(format!(
                "task {} decoded but not in the oracle",
                h["address"]
            ));
        }
    }
    errors
}

pub fn cdylib() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let lib = dir.join("libawaitwhat.so");
    assert!(
        lib.is_file(),
        "{} is missing: run `cargo build` (or --release) before the tests",
        lib.display()
    );
    lib
}
