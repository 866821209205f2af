//! The committed include/ufm_plugin.h must equal what the pinned cbindgen generates.

use std::path::PathBuf;

fn generate() -> String {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut out);
    String::from_utf8(out).unwrap()
}

fn header_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../include/ufm_plugin.h")
}

#[test]
fn committed_header_is_current() {
    let committed = std::fs::read_to_string(header_path()).unwrap_or_default();
    assert!(
        committed == generate(),
        "include/ufm_plugin.h is stale; regenerate it with\n  \
         cargo test --release -p ufm-plugin-abi --test header -- --ignored regenerate"
    );
}

/// Writes the header (run explicitly, see the message above).
#[test]
#[ignore]
fn regenerate() {
    std::fs::write(header_path(), generate()).unwrap();
}
