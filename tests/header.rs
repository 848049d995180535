//! `include/awaitwhat.h` must be what cbindgen generates from `src/ffi.rs` today.

use std::path::Path;

#[test]
fn c_header_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = root.join("include/awaitwhat.h");
    if std::env::var_os("AW_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write header");
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/awaitwhat.h is stale: regenerate with AW_UPDATE_HEADER=1 cargo test --test header"
    );
}
