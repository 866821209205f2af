//! libufm.so exports exactly the functions `include/ufm.h` declares: no more (a symbol from a
//! linked Rust crate, such as the plugin entry `ufm_plugin_get_entry`, would become part of the
//! ABI by accident and clash with plugins), no less (every declared function links).
//!
//! Reads the dynamic symbol table with `nm -D --defined-only` (binutils).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn library() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let dir = target.join(profile);
    // The newest of the uplifted library and the one in deps/ (both are this build's).
    [dir.join("libufm.so"), dir.join("deps").join("libufm.so")]
        .into_iter()
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p)
        .expect("libufm.so is built before the ffi tests (cargo test builds the cdylib)")
}

/// Function names declared in the header: `<type> ufm_name(` at the start of a line.
fn header_functions() -> BTreeSet<String> {
    let h = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/ufm.h"))
        .expect("include/ufm.h");
    h.lines()
        .filter(|l| !l.starts_with("//") && !l.starts_with("typedef") && !l.starts_with(' '))
        .filter_map(|l| {
            let open = l.find('(')?;
            let name = l[..open].rsplit([' ', '*']).next()?;
            name.starts_with("ufm_").then(|| name.to_string())
        })
        .collect()
}

#[test]
fn exported_symbols_are_exactly_the_header_functions() {
    let lib = library();
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&lib)
        .output()
        .expect("nm (binutils) is needed for this test");
    assert!(out.status.success(), "nm failed on {}", lib.display());
    let exported: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, kind, name) = (f.next()?, f.next()?, f.next()?);
            // Code and data symbols; versioned names are stripped of their version.
            matches!(kind, "T" | "D" | "B" | "R" | "W" | "V" | "i")
                .then(|| name.split('@').next().unwrap_or(name).to_string())
        })
        .collect();
    let declared = header_functions();
    // A tripwire for the header parser (and a reminder to update it when the ABI grows): the
    // header declares 39 functions today.
    assert_eq!(declared.len(), 40, "header functions: {declared:?}");
    let extra: Vec<_> = exported.difference(&declared).collect();
    let missing: Vec<_> = declared.difference(&exported).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{}: exported but not in ufm.h: {extra:?}; in ufm.h but not exported: {missing:?}",
        lib.display()
    );
}
