//! The engine's layers only point down (docs/architecture.md): a module may name (`crate::m`,
//! `use crate::{m, ..}`) only modules of lower layers. This reads engine/src, finds every
//! `crate::` path in each top-level module's non-test code and fails on an upward or sideways
//! edge, naming the file. Unit tests (files `tests.rs`, `*_tests.rs` and `#[cfg(test)] mod`
//! blocks) may use any layer: they compare a layer with an independent computation above it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bottom to top. A module may use the modules of the layers before its own (not its own layer's
/// other modules: they are independent). Crate-root items (`crate::version`) are allowed
/// everywhere; `error` is in the bottom layer so every layer can return it.
const LAYERS: &[&[&str]] = &[
    &["error", "simd", "io"],
    &["linalg"],
    &["model"],
    &["grad"],
    &["theory", "analysis", "optim"],
    &["plugin", "data"],
    &["backbone"],
    &["train"],
    &["job"],
    &["init"],
    &["report"],
    &["run"],
    &["sweep"],
    &["activations", "bench"],
    &["plot"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// Remove `//` comments (doc comments name modules in links without using them) and string
/// literals' contents are left alone (no `crate::` in the engine's strings).
fn strip_comments(src: &str) -> String {
    src.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Cut `src` at its first `#[cfg(test)]` item (the engine keeps test modules last in a file).
fn without_tests(src: &str) -> &str {
    match src.find("#[cfg(test)]") {
        Some(i) => &src[..i],
        None => src,
    }
}

/// The top-level modules named by `crate::` paths in `src`, including grouped imports
/// `use crate::{a::X, b}`.
fn crate_refs(src: &str) -> BTreeSet<String> {
    let src = strip_comments(without_tests(src));
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = src.as_str();
    while let Some(i) = rest.find("crate::") {
        // Skip `$crate::` and identifiers ending in `crate` (`ufm_crate::`).
        let before = rest[..i].chars().last();
        let after = &rest[i + "crate::".len()..];
        rest = after;
        if matches!(before, Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            // Top-level items of the group: split on commas at brace depth 0.
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            out.insert(ident(item.trim()));
        } else {
            out.insert(ident(after));
        }
    }
    out.retain(|m| !m.is_empty() && m != "self");
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every upward or sideways edge in the sources under `src`: (file, from, to).
fn violations(src: &Path) -> Vec<(String, String, String)> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    for path in files {
        let rel = path.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        let name = rel.file_name().unwrap().to_string_lossy();
        if module == "bin" || module == "lib" || name == "tests.rs" || name.ends_with("_tests.rs") {
            continue;
        }
        let from = layer_of(&module)
            .unwrap_or_else(|| panic!("engine/src/{module} is in no layer: add it to LAYERS"));
        let text = std::fs::read_to_string(&path).unwrap();
        for target in crate_refs(&text) {
            if target == module {
                continue;
            }
            match layer_of(&target) {
                // A crate-root item (a function or re-export of lib.rs).
                None => {}
                Some(to) if to < from => {}
                Some(_) => bad.push((rel.display().to_string(), module.clone(), target)),
            }
        }
    }
    bad
}

#[test]
fn engine_modules_only_use_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = violations(&src);
    let list: Vec<String> = bad
        .iter()
        .map(|(f, a, b)| format!("engine/src/{f}: {a} uses {b}"))
        .collect();
    assert!(
        bad.is_empty(),
        "layer violations (docs/architecture.md):\n{}",
        list.join("\n")
    );
}

#[test]
fn every_engine_module_is_in_a_layer() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(m) = line.trim().strip_prefix("pub mod ") {
            let m = m.trim_end_matches(';');
            assert!(layer_of(m).is_some(), "module {m} is in no layer");
        }
    }
}

#[test]
fn parser_finds_plain_grouped_and_nested_paths() {
    let src = "use crate::model::Params;\n\
               use crate::{grad::{A, B}, linalg, self};\n\
               fn f() { crate::theory::x(); $crate::run::y(); my_crate::sweep::z(); }\n\
               // crate::report in a comment is not a use\n\
               #[cfg(test)]\nmod tests { use crate::run::execute; }\n";
    let got: Vec<String> = crate_refs(src).into_iter().collect();
    assert_eq!(got, ["grad", "linalg", "model", "theory"]);
}

#[test]
fn a_planted_upward_edge_fails() {
    // A copy of two modules, one of which (model, layer 2) names run (layer 11).
    let dir = std::env::temp_dir().join(format!("ufm-layers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("model")).unwrap();
    std::fs::write(
        dir.join("model/mod.rs"),
        "use crate::linalg::matmul;\npub fn f() { crate::run::execute(); }\n",
    )
    .unwrap();
    std::fs::write(dir.join("optim.rs"), "use crate::{theory::x, grad};\n").unwrap();
    let bad = violations(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        bad,
        [
            ("model/mod.rs".into(), "model".into(), "run".into()),
            ("optim.rs".into(), "optim".into(), "theory".into()),
        ]
    );
}
