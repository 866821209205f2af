//! End-to-end checks of the `ufm` binary: exit codes, files, messages, determinism and the
//! Figure-1 outcome the README promises.

use std::path::{Path, PathBuf};
use std::process::Command;

fn ufm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ufm"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ufm-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_job(dir: &Path, body: serde_json::Value) -> PathBuf {
    let p = dir.join("job.json");
    std::fs::write(&p, serde_json::to_string_pretty(&body).unwrap()).unwrap();
    p
}

fn small_job() -> serde_json::Value {
    serde_json::json!({
        "schema_version": 1,
        "name": "small",
        "model": {"classes": 4, "per_class": 3, "width": 8, "layers": 2, "lambda": 0.01},
        "init": {"name": "scaled", "seed": 1},
        "optimizer": {"name": "gd", "lr": 0.5},
        "train": {"max_steps": 300, "tol": 0, "record_every": 100}
    })
}

#[test]
fn figure1_converges_to_the_paired_low_rank_optimum_below_the_dnc_bound() {
    let out = tmp("fig1");
    let st = ufm()
        .args(["run", "-q"])
        .arg(repo().join("examples/jobs/figure1.json"))
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(r["classification"], "low_rank");
    assert_eq!(r["logits"]["rank"], 5);
    let loss = r["final"]["loss"].as_f64().unwrap();
    let dnc = r["reference"]["dnc_loss"].as_f64().unwrap();
    let lr = r["reference"]["low_rank_loss"].as_f64().unwrap();
    assert!(loss < dnc, "{loss} !< {dnc}");
    // GD reaches the closed-form paired optimum: the remaining gap is the unconverged tail
    // (|grad| ~ 4e-8 at the stopping point), far below 1e-8 relative.
    assert!((loss - lr).abs() < 1e-8 * lr, "{loss} vs {lr}");
    let csv = std::fs::read_to_string(out.join("curve.csv")).unwrap();
    assert!(csv.starts_with("step,loss,fit,reg,grad_norm,time,logit_rank,logit_sv1,logit_sv2,logit_sv3,simplex_cosine,structure,family_distance,nearest_pairs\n0,"));
    for name in ["H1", "W1", "W2"] {
        assert!(out.join("params").join(format!("{name}.npy")).exists());
    }
}

#[test]
fn invalid_jobs_exit_2_with_a_field_path() {
    let dir = tmp("invalid");
    let mut j = small_job();
    j["model"]["width"] = 0.into();
    let out = ufm().arg("run").arg(write_job(&dir, j)).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("model.width: must be >= 1, got 0"), "{err}");
    assert!(out.stdout.is_empty());

    let out = ufm()
        .arg("validate")
        .arg(dir.join("missing.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let mut j = small_job();
    j["init"] = serde_json::json!({"name": "npy", "dir": "nowhere"});
    let out = ufm()
        .arg("run")
        .arg(write_job(&dir, j))
        .arg("--out")
        .arg(dir.join("o"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("init.dir"));
}

#[test]
fn unwritable_output_is_a_runtime_failure() {
    let dir = tmp("unwritable");
    let blocker = dir.join("file");
    std::fs::write(&blocker, "x").unwrap();
    let out = ufm()
        .arg("run")
        .arg(write_job(&dir, small_job()))
        .arg("--out")
        .arg(blocker.join("sub"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn same_job_gives_bit_identical_results_and_npy_round_trips() {
    let dir = tmp("determinism");
    let job = write_job(&dir, small_job());
    for run in ["a", "b"] {
        assert!(ufm()
            .args(["run", "-q"])
            .arg(&job)
            .arg("--out")
            .arg(dir.join(run))
            .status()
            .unwrap()
            .success());
    }
    for f in [
        "params/H1.npy",
        "params/W1.npy",
        "params/W2.npy",
        "curve.csv",
    ] {
        assert_eq!(
            std::fs::read(dir.join("a").join(f)).unwrap(),
            std::fs::read(dir.join("b").join(f)).unwrap(),
            "{f}"
        );
    }
    // Continue from the written parameters with the npy initialiser: the first curve row must
    // equal the last row of the first run (same state, read back bit for bit).
    let mut j = small_job();
    j["init"] = serde_json::json!({"name": "npy", "dir": "a/params"});
    let job2 = dir.join("job2.json");
    std::fs::write(&job2, j.to_string()).unwrap();
    assert!(ufm()
        .args(["run", "-q"])
        .arg(&job2)
        .arg("--out")
        .arg(dir.join("c"))
        .status()
        .unwrap()
        .success());
    let last_a = std::fs::read_to_string(dir.join("a/curve.csv"))
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    let first_c = std::fs::read_to_string(dir.join("c/curve.csv"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    // Every column but step and time (which restart at 0 for the continued run).
    let without_step_and_time = |line: &str| -> Vec<String> {
        line.split(',')
            .enumerate()
            .filter(|(i, _)| *i != 0 && *i != 5)
            .map(|(_, x)| x.to_string())
            .collect()
    };
    assert_eq!(
        without_step_and_time(&last_a),
        without_step_and_time(&first_c)
    );
}

#[test]
fn a_diverging_run_keeps_its_last_finite_state() {
    let dir = tmp("diverge");
    let mut j = small_job();
    j["optimizer"]["lr"] = 1e6.into();
    j["train"]["max_steps"] = 1000.into();
    let out = ufm()
        .args(["run", "--json", "-q"])
        .arg(write_job(&dir, j))
        .arg("--out")
        .arg(dir.join("o"))
        .output()
        .unwrap();
    // A diverged single run exits 1 (README, "Commands"), after writing its files.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["status"], "diverged");
    let steps = r["steps"].as_u64().unwrap();
    assert!(steps < 1000);
    assert!(r["final"]["loss"].as_f64().unwrap().is_finite());
    assert!(r["message"]
        .as_str()
        .unwrap()
        .contains(&format!("kept the state of step {steps}")));
    let csv = std::fs::read_to_string(dir.join("o/curve.csv")).unwrap();
    assert!(csv
        .lines()
        .last()
        .unwrap()
        .starts_with(&format!("{steps},")));
}

#[test]
fn a_sweep_job_is_refused_by_run() {
    let dir = tmp("sweep");
    let mut j = small_job();
    j["sweep"] = serde_json::json!({"init.seed": {"range": [0, 2]}});
    let out = ufm().arg("run").arg(write_job(&dir, j)).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ufm sweep"));
}

#[test]
fn ctrl_c_during_the_analysis_still_writes_the_training_results() {
    // One cheap step at d = 2000, then full SVDs of two 2000 x 2000 weights (several seconds
    // each): the interrupt at 3 s lands in the analysis. The run must finish promptly with its
    // training results (status max_steps after 1 step), the spectra not yet measured marked
    // "skipped", and every file written.
    let dir = tmp("sigint-analysis");
    let job = write_job(
        &dir,
        serde_json::json!({
            "schema_version": 1,
            "name": "wide",
            "model": {"classes": 4, "per_class": 2, "width": 2000, "layers": 3, "lambda": 0.01},
            "init": {"name": "scaled", "seed": 1},
            "optimizer": {"name": "gd", "lr": 0.1},
            "train": {"max_steps": 1, "tol": 0, "record_every": 1},
            "analysis": {"spectrum": "full"}
        }),
    );
    let out = dir.join("out");
    let mut child = ufm()
        .args(["run", "-q"])
        .arg(&job)
        .arg("--out")
        .arg(&out)
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let st = child.wait().unwrap();
    assert!(st.success(), "{st:?}");
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(r["status"], "max_steps");
    assert_eq!(r["steps"], 1);
    assert_eq!(r["cancelled"], true);
    let weights = r["weights"].as_array().unwrap();
    let skipped: Vec<_> = weights
        .iter()
        .filter(|w| w["spectrum"] == "skipped")
        .collect();
    assert!(!skipped.is_empty(), "{weights:?}");
    for w in skipped {
        assert!(w["rank"].is_null() && w["singular_values"].as_array().unwrap().is_empty());
        assert_eq!(w["singular_value_count"], 0);
    }
    // The training results are all there.
    assert!(r["final"]["loss"].as_f64().unwrap().is_finite());
    assert_eq!(r["logits"]["class_means"].as_array().unwrap().len(), 4);
    for f in [
        "curve.csv",
        "params/H1.npy",
        "params/W1.npy",
        "params/W2.npy",
        "params/W3.npy",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
}

/// Job-file mistakes are reported in JSON's words and the job's own spellings, never in Rust's
/// (`expected usize`, `Relu`, `Auto`).
#[test]
fn messages_name_json_types_and_job_spellings_not_rust_types() {
    let d = tmp("plain-messages");
    let mut job = small_job();
    job["model"]["classes"] = serde_json::json!(-4);
    let o = ufm()
        .arg("validate")
        .arg(write_job(&d, job))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("model.classes: invalid value: integer `-4`, expected a non-negative integer"),
        "{err}"
    );
    let mut job = small_job();
    job["model"]["activation"] = "relu".into();
    job["train"]["update"] = "fused".into();
    let o = ufm()
        .arg("run")
        .arg(write_job(&d, job))
        .arg("--out")
        .arg(d.join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("this job has activation relu, layers 2, grad_path auto"),
        "{err}"
    );
    for rust in ["usize", "Relu", "Auto", "f64"] {
        assert!(!err.contains(rust), "{rust} in {err}");
    }
    let _ = std::fs::remove_dir_all(&d);
}
