//! `ufm analyze` against an independent numpy computation (tests/python/analyze_check.py), and
//! its refusals of bad export folders. The Python with numpy comes from the cross-language tests'
//! toolbox (`target/test-tools/venv`, or `UFM_TEST_PYTHON`); a missing tool is a failure with a
//! clear message, as for the binding tests.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../../ffi/tests/toolbox/mod.rs"]
mod toolbox;

/// The cargo target directory (where the toolbox keeps its venv).
fn target_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"))
}

fn ufm() -> &'static str {
    env!("CARGO_BIN_EXE_ufm")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ufm-analyze-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn measurements_agree_with_numpy() {
    let python = &toolbox::tools(&target_root()).python;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/analyze_check.py");
    let work = scratch("numpy");
    let out = Command::new(python)
        .arg(&script)
        .arg(ufm())
        .arg(&work)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A uint8 .npy of the given shape (format 1.0).
fn npy_u8(path: &Path, shape: &[usize], data: &[u8]) {
    let dims = if shape.len() == 1 {
        format!("({},)", shape[0])
    } else {
        format!("({}, {})", shape[0], shape[1])
    };
    let mut header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {dims}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

fn analyze(dir: &Path) -> (i32, String) {
    let out = Command::new(ufm())
        .arg("analyze")
        .arg(dir)
        .arg("--no-plots")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_export_folders_are_refused_with_exit_status_2() {
    let d = scratch("bad");
    let (code, err) = analyze(&d);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("labels.npy"), "{err}");
    npy_u8(&d.join("labels.npy"), &[4], &[0, 1, 0, 1]);
    let (code, err) = analyze(&d);
    assert!(code == 2 && err.contains("layers"), "{err}");
    std::fs::create_dir_all(d.join("layers")).unwrap();
    npy_u8(&d.join("layers/a.npy"), &[3, 2], &[0; 6]);
    let (code, err) = analyze(&d);
    assert!(
        code == 2 && err.contains("expected 4 rows") && err.contains("found 3"),
        "{err}"
    );
    npy_u8(&d.join("layers/a.npy"), &[4, 2], &[1, 2, 3, 4, 5, 6, 7, 9]);
    npy_u8(&d.join("labels.npy"), &[4], &[0, 2, 0, 2]);
    let (code, err) = analyze(&d);
    assert!(code == 2 && err.contains("class 1 has no samples"), "{err}");
    npy_u8(&d.join("labels.npy"), &[4], &[0, 1, 0, 1]);
    std::fs::create_dir_all(d.join("weights")).unwrap();
    npy_u8(&d.join("weights/w.npy"), &[3, 5], &[1; 15]);
    let (code, err) = analyze(&d);
    assert!(
        code == 2 && err.contains("has 5 columns") && err.contains("2 features"),
        "{err}"
    );
    std::fs::remove_file(d.join("weights/w.npy")).unwrap();
    let (code, err) = analyze(&d);
    assert_eq!(code, 0, "{err}");
}
