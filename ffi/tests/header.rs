//! include/ufm.h must be exactly what the pinned cbindgen generates from ffi/src, with version
//! macros that match Cargo.toml. On a mismatch the test fails and prints the command that
//! regenerates the header.

use std::path::{Path, PathBuf};

const REGENERATE: &str = "UFM_BLESS=1 cargo test --release -p ufm-ffi --test header";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    crate_dir().join("../include/ufm.h")
}

/// The version macros, from Cargo.toml (through cargo's environment).
fn version_macros() -> String {
    format!(
        "#define UFM_VERSION_MAJOR {}\n#define UFM_VERSION_MINOR {}\n#define UFM_VERSION_PATCH {}\n#define UFM_VERSION_STRING \"{}\"\n/* The ABI version this header describes; check it against ufm_abi_version() at start-up. */\n#define UFM_ABI_VERSION {}\n",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION"),
        abi_version()
    )
}

/// `ABI_VERSION` as written in ffi/src/lib.rs.
fn abi_version() -> u32 {
    let src = std::fs::read_to_string(crate_dir().join("src/lib.rs")).unwrap();
    let line = src
        .lines()
        .find(|l| l.starts_with("const ABI_VERSION: u32 = "))
        .expect("ABI_VERSION in src/lib.rs");
    line.trim_start_matches("const ABI_VERSION: u32 = ")
        .trim_end_matches(';')
        .parse()
        .unwrap()
}

fn generate() -> String {
    let dir = crate_dir();
    let mut config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    config.after_includes = Some(version_macros());
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut out);
    String::from_utf8(out).unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn header_is_current() {
    let fresh = generate();
    let path = header_path();
    if std::env::var_os("UFM_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = read(&path);
    if committed != fresh {
        let first = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(fresh.lines().count()));
        panic!(
            "include/ufm.h is stale (first difference at line {}).\nRegenerate it with:\n    {REGENERATE}\nand commit it.",
            first + 1
        );
    }
}

#[test]
fn version_macros_match_cargo_toml() {
    let h = read(&header_path());
    let toml = std::fs::read_to_string(crate_dir().join("../Cargo.toml")).unwrap();
    let version = toml
        .lines()
        .skip_while(|l| l.trim() != "[workspace.package]")
        .find_map(|l| l.strip_prefix("version = \""))
        .map(|v| v.trim_end_matches('"').to_string())
        .expect("workspace.package.version in Cargo.toml");
    let mut parts = version.split('.');
    for name in ["MAJOR", "MINOR", "PATCH"] {
        let want = format!("#define UFM_VERSION_{name} {}\n", parts.next().unwrap());
        assert!(
            h.contains(&want),
            "ufm.h lacks `{}`; regenerate: {REGENERATE}",
            want.trim()
        );
    }
    let s = format!("#define UFM_VERSION_STRING \"{version}\"\n");
    assert!(
        h.contains(&s),
        "ufm.h lacks `{}`; regenerate: {REGENERATE}",
        s.trim()
    );
    let a = format!("#define UFM_ABI_VERSION {}\n", abi_version());
    assert!(
        h.contains(&a),
        "ufm.h lacks `{}`; regenerate: {REGENERATE}",
        a.trim()
    );
}
