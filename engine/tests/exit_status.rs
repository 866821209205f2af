//! The exit-status policy (README, "Commands"): 0 finished; 1 a run-time failure or a single
//! run that ended `diverged` / `failed`; 2 invalid input; 130 / 143 when cancelled by SIGINT /
//! SIGTERM, after writing what was done. And the inputs of issue 10 that used to panic, abort
//! or be accepted, through the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn ufm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ufm"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ufm-exit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_job(dir: &Path, body: &serde_json::Value) -> PathBuf {
    let p = dir.join("job.json");
    std::fs::write(&p, serde_json::to_string_pretty(body).unwrap()).unwrap();
    p
}

fn small_job() -> serde_json::Value {
    serde_json::json!({
        "schema_version": 1,
        "name": "small",
        "model": {"classes": 4, "per_class": 3, "width": 8, "layers": 2, "lambda": 0.01},
        "init": {"name": "scaled", "seed": 1},
        "optimizer": {"name": "gd", "lr": 0.5},
        "train": {"max_steps": 50, "tol": 0, "record_every": 10}
    })
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn finished_runs_exit_0_and_invalid_input_exits_2() {
    let dir = tmp("basic");
    let job = write_job(&dir, &small_job());
    let o = ufm()
        .args(["run", "-q"])
        .arg(&job)
        .arg("--out")
        .arg(dir.join("o"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = ufm().arg("validate").arg(&job).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let mut bad = small_job();
    bad["model"]["width"] = 0.into();
    let bad = write_job(&tmp("bad"), &bad);
    for cmd in ["run", "validate", "sweep"] {
        let o = ufm()
            .arg(cmd)
            .arg(&bad)
            .args(["--out", "/nonexistent/x"])
            .output();
        let o = match cmd {
            "validate" => ufm().arg(cmd).arg(&bad).output(),
            _ => o,
        }
        .unwrap();
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("model.width: must be >= 1, got 0"),
            "{cmd}"
        );
    }
    let o = ufm()
        .args(["merge", "--out"])
        .arg(dir.join("m"))
        .arg(dir.join("nosuch"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "merge: {}", stderr(&o));
    let o = ufm().arg("plot").arg(dir.join("nosuch")).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "plot: {}", stderr(&o));
    let o = ufm()
        .args([
            "theory",
            "compare",
            "--classes",
            "1",
            "--per-class",
            "2",
            "--layers",
            "2",
            "--lambda",
            "0.1",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "theory: {}", stderr(&o));
}

#[test]
fn a_diverged_run_exits_1_after_writing_its_files_and_skips_the_hessian() {
    let dir = tmp("diverged");
    let mut j = small_job();
    j["optimizer"]["lr"] = 1e6.into();
    j["analysis"] = serde_json::json!({"hessian": true});
    let o = ufm()
        .args(["run", "-q"])
        .arg(write_job(&dir, &j))
        .arg("--out")
        .arg(dir.join("o"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("status `diverged`"), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("o/result.json")).unwrap()).unwrap();
    assert_eq!(r["status"], "diverged");
    // It used to panic here ("SVD of the logit matrix did not converge").
    assert!(r.get("hessian").is_none());
    assert!(
        r["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("hessian: skipped"),
        "{r}"
    );
}

#[test]
fn lambda_zero_runs_with_null_references_and_a_reason() {
    let dir = tmp("lambda0");
    let mut j = small_job();
    j["model"]["lambda"] = 0.into();
    let o = ufm()
        .args(["run", "-q", "--json"])
        .arg(write_job(&dir, &j))
        .arg("--out")
        .arg(dir.join("o"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(r["reference"]["dnc_loss"].is_null() && r["reference"]["low_rank_loss"].is_null());
    assert!(r["reference"]["note"]
        .as_str()
        .unwrap()
        .contains("lambda > 0"));
    assert_eq!(r["final"]["reg"], 0.0);
}

/// Start `ufm run` on a long job, wait for its first curve rows, send `signal`.
fn cancelled_run(signal: i32, name: &str) -> (Output, PathBuf) {
    let dir = tmp(name);
    let mut j = small_job();
    j["train"] = serde_json::json!({"max_steps": 100_000_000u64, "tol": 0, "record_every": 1000});
    let child = ufm()
        .args(["run", "-q"])
        .arg(write_job(&dir, &j))
        .arg("--out")
        .arg(dir.join("o"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Give it time to install its handlers and start training (it never finishes by itself).
    std::thread::sleep(Duration::from_millis(700));
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(child.id() as i32, signal) };
    let start = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "the run did not stop"
    );
    (out, dir)
}

#[test]
fn signals_cancel_a_run_with_128_plus_the_signal_after_writing_its_files() {
    for (signal, code, name) in [(libc::SIGTERM, 143, "term"), (libc::SIGINT, 130, "int")] {
        let (o, dir) = cancelled_run(signal, name);
        assert_eq!(o.status.code(), Some(code), "{name}: {}", stderr(&o));
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("o/result.json")).unwrap())
                .unwrap();
        assert_eq!(r["status"], "cancelled", "{name}");
        assert!(dir.join("o/params/H1.npy").exists());
    }
}

#[test]
fn the_listed_hostile_inputs_are_clear_errors() {
    let dir = tmp("hostile");
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            serde_json::json!({"model": {"classes": 4, "per_class": 3, "width": 9223372036854775808u64, "layers": 2, "lambda": 0.01}}),
            "model: K = 4",
        ),
        (
            serde_json::json!({"model": {"class_sizes": [u64::MAX, u64::MAX, u64::MAX, u64::MAX], "width": 8, "layers": 2, "lambda": 0.01}}),
            "address space",
        ),
        (
            serde_json::json!({"model": {"classes": 2147483648u64, "per_class": 3, "width": 8, "layers": 2, "lambda": 0.01}}),
            "model: K = 2147483648",
        ),
        (
            serde_json::json!({"model": {"classes": 4, "per_class": 3, "width": 8, "layers": 4611686018427387904u64, "lambda": 0.01}}),
            "model: K = 4",
        ),
        (
            serde_json::json!({"sweep": {"init.seed": {"range": [0, 1_000_000_000_000_000_000i64]}}}),
            "sweep: the grid has",
        ),
        (
            serde_json::json!({"sweep": {"init.seed": {"range": [0, 100000]}, "optimizer.lr": {"range": [1, 100001]}}}),
            "10000000000 points",
        ),
        (
            serde_json::json!({"sweep": {"init.seed": {"range": [0, 2], "typo": [0]}}}),
            "sweep.init.seed.typo: unknown field",
        ),
        (
            serde_json::json!({"train": []}),
            "train: must be a JSON object",
        ),
        (
            serde_json::json!({"init": {"name": "dnc", "scale": 1e308}}),
            "init.scale: must be <=",
        ),
        (
            serde_json::json!({"init": {"name": "low_rank", "scale": 1.0}, "model": {"classes": 4, "per_class": 3, "width": 1, "layers": 2, "lambda": 0.01}}),
            "model.width: must be >= 2",
        ),
        (
            serde_json::json!({"init": {"name": "npy", "dir": "nosuch"}}),
            "init.dir:",
        ),
        (
            serde_json::json!({"optimizer": {"plugin": "nosuch.so", "id": "x", "lr": 0.1}}),
            "optimizer.plugin:",
        ),
    ];
    for (i, (patch, want)) in cases.iter().enumerate() {
        let mut j = small_job();
        for (k, v) in patch.as_object().unwrap() {
            j[k] = v.clone();
        }
        let job = write_job(&dir, &j);
        for cmd in ["validate", "run"] {
            let o = ufm().arg(cmd).arg(&job).arg("-q").output();
            let o = match cmd {
                "validate" => ufm().arg(cmd).arg(&job).output(),
                _ => o,
            }
            .unwrap();
            assert_eq!(o.status.code(), Some(2), "case {i} {cmd}: {}", stderr(&o));
            assert!(stderr(&o).contains(want), "case {i} {cmd}: {}", stderr(&o));
        }
    }
    // A whole job written as a list.
    let p = dir.join("list.json");
    std::fs::write(&p, r#"[1, "x", {}, {}, {}, {}, {}, null]"#).unwrap();
    let o = ufm().arg("validate").arg(&p).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    // A .npy start whose header declares (2^40, 2^40).
    let npy = dir.join("npy");
    std::fs::create_dir_all(&npy).unwrap();
    let dict =
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }";
    let mut header = dict.as_bytes().to_vec();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&[0u8; 64]);
    std::fs::write(npy.join("H1.npy"), bytes).unwrap();
    let mut j = small_job();
    j["init"] = serde_json::json!({"name": "npy", "dir": "npy"});
    let job = write_job(&dir, &j);
    let o = ufm().arg("validate").arg(&job).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("declares shape (1099511627776, 1099511627776)"),
        "{}",
        stderr(&o)
    );
    // A huge constructed point for `ufm theory hessian`.
    let o = ufm()
        .args([
            "theory",
            "hessian",
            "--structure",
            "dnc",
            "--root",
            "large",
            "--width",
        ])
        .args([
            "9223372036854775808",
            "--classes",
            "4",
            "--per-class",
            "3",
            "--layers",
            "2",
        ])
        .args(["--lambda", "0.01"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
