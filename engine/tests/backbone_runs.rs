//! Backbone runs end to end on the digits set kept in the repository: result sections, every
//! optimiser kind, determinism, checkpoint/resume bit-identity, sweeps, a plugin optimiser, and
//! the validation rules of the `data` / `backbone` sections.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use ufm_engine::job::{parse_value, validate};
use ufm_engine::run::{execute, execute_checkpointed, CheckpointOptions, RunOutput};

fn base_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/digits")
}

fn job(optimizer: Value, regularization: &str) -> Value {
    let mut model = json!({"classes": 10, "per_class": 12, "width": 12, "layers": 2,
                           "activation": "relu"});
    if regularization == "ufm" {
        model["lambda_h"] = json!(1e-4);
        model["lambda_w"] = json!(5e-3);
    } else {
        model["lambda"] = json!(1e-2);
    }
    json!({
        "schema_version": 1,
        "name": "tiny-digits",
        "model": model,
        "data": {"train": {"format": "npy", "x": "X.npy", "y": "y.npy"}, "holdout": true, "seed": 3},
        "backbone": {"layers": 2, "width": 16, "regularization": regularization},
        "init": {"name": "scaled", "seed": 1},
        "optimizer": optimizer,
        "train": {"max_steps": 40, "record_every": 10, "tol": 0}
    })
}

fn run(v: Value) -> RunOutput {
    let job = parse_value(v).unwrap();
    let spec = validate(&job).unwrap();
    execute(&job, &spec, &base_dir(), None, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"))
}

fn bits(p: &ufm_engine::model::Params) -> Vec<u64> {
    p.mats
        .iter()
        .flat_map(|m| {
            (0..m.ncols()).flat_map(move |j| (0..m.nrows()).map(move |i| m[(i, j)].to_bits()))
        })
        .collect()
}

#[test]
fn a_backbone_run_reports_the_head_and_the_data() {
    let out = run(job(json!({"name": "gd", "lr": 0.05}), "ufm"));
    let r = &out.result;
    let d = r.data.as_ref().unwrap();
    assert_eq!(
        (d.input_dim, d.train_samples, d.test_samples),
        (64, 120, 1797 - 120)
    );
    // Backbone: 16 x 64 + 16 and 12 x 16 + 12.
    assert_eq!(d.backbone_parameters, 16 * 64 + 16 + 12 * 16 + 12);
    assert_eq!(d.tensors, ["W1", "W2", "B1_W", "B1_b", "B2_W", "B2_b"]);
    // The loss fell and the head is measured at h(X) (12 x 120), weights W1, W2.
    assert!(out.curve.last().unwrap().loss < out.curve[0].loss);
    assert_eq!(r.analysis.layers[0].name, "H1");
    assert_eq!(r.analysis.layers[0].singular_values.len(), 12);
    assert_eq!(r.analysis.weights.len(), 2);
    let acc = r.final_.test_accuracy.unwrap();
    assert!((0.0..=1.0).contains(&acc));
    // UFM regularisation: the DNC bound at lambda_eff = (1e-4 * 5e-3^2)^(1/3).
    let lam = (1e-4f64 * 5e-3 * 5e-3).powf(1.0 / 3.0);
    let want = ufm_engine::theory::optimal_dnc(10, 12, 2, lam).loss;
    assert!((r.reference.dnc_loss.unwrap() - want).abs() < 1e-12 * want);
    // Output tensors: H1, W1, W2, then the backbone's.
    assert_eq!(out.params.mats.len(), 7);
    assert_eq!(out.params.mats[0].shape(), (12, 120));
    assert_eq!(out.params.mats[3].shape(), (16, 64));
    // Standard regularisation: no H term, so no bound.
    let out = run(job(json!({"name": "gd", "lr": 0.05}), "standard"));
    assert!(out.result.reference.dnc_loss.is_none());
    assert!(out.curve.last().unwrap().loss < out.curve[0].loss);
}

#[test]
fn every_optimiser_runs_and_runs_are_deterministic() {
    for opt in [
        json!({"name": "gd", "lr": 0.05}),
        json!({"name": "sgd", "lr": 0.05, "batch_size": 30}),
        json!({"name": "momentum", "lr": 0.02}),
        json!({"name": "nesterov", "lr": 0.02}),
        json!({"name": "adam", "lr": 1e-3}),
        json!({"name": "adamw", "lr": 1e-3, "schedule": {"kind": "cosine", "warmup": 5}}),
    ] {
        let a = run(job(opt.clone(), "ufm"));
        let b = run(job(opt.clone(), "ufm"));
        assert_eq!(bits(&a.params), bits(&b.params), "{opt}");
        assert!(
            a.curve.last().unwrap().loss < a.curve[0].loss,
            "{opt}: {:?}",
            a.curve
        );
    }
}

#[test]
fn a_resumed_backbone_run_is_bit_identical() {
    let dir = std::env::temp_dir().join(format!("ufm-backbone-ck-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for opt in [
        json!({"name": "adam", "lr": 1e-3}),
        json!({"name": "sgd", "lr": 0.05, "batch_size": 25}),
    ] {
        let full = run(job(opt.clone(), "standard"));
        let ck = |v: Value, resume: bool| {
            let j = parse_value(v).unwrap();
            let spec = validate(&j).unwrap();
            let opts = CheckpointOptions {
                dir: &dir,
                every: 10,
                resume,
            };
            execute_checkpointed(&j, &spec, &base_dir(), None, &mut |_| {}, opts).unwrap()
        };
        let mut first = job(opt.clone(), "standard");
        first["train"]["max_steps"] = json!(23);
        assert_eq!(ck(first, false).result.steps, 23);
        let resumed = ck(job(opt.clone(), "standard"), true);
        assert_eq!(bits(&resumed.params), bits(&full.params), "{opt}");
        assert_eq!(resumed.curve, full.curve, "{opt}");
        // The data section is part of the checkpoint's identity.
        let mut other = job(opt.clone(), "standard");
        other["data"]["seed"] = json!(4);
        let j = parse_value(other).unwrap();
        let spec = validate(&j).unwrap();
        let opts = CheckpointOptions {
            dir: &dir,
            every: 10,
            resume: true,
        };
        assert!(execute_checkpointed(&j, &spec, &base_dir(), None, &mut |_| {}, opts).is_err());
    }
}

#[test]
fn npy_init_continues_from_a_finished_run() {
    let out = run(job(json!({"name": "gd", "lr": 0.05}), "ufm"));
    let dir = std::env::temp_dir().join(format!("ufm-backbone-npy-{}", std::process::id()));
    ufm_engine::run::write_folder(&dir, &out).unwrap();
    for name in ["H1", "W1", "W2", "B1_W", "B1_b", "B2_W", "B2_b"] {
        assert!(dir.join(format!("params/{name}.npy")).exists(), "{name}");
    }
    let mut v = job(json!({"name": "gd", "lr": 0.05}), "ufm");
    v["init"] = json!({"name": "npy", "dir": dir.join("params").display().to_string()});
    v["train"]["max_steps"] = json!(1);
    let cont = run(v);
    // Step 0 of the continuation is the final state of the first run.
    assert_eq!(
        cont.curve[0].loss.to_bits(),
        out.curve.last().unwrap().loss.to_bits()
    );
}

#[test]
fn data_and_backbone_rules_name_the_field() {
    let err = |v: Value| {
        let job = parse_value(v).unwrap();
        validate(&job).unwrap_err().to_string()
    };
    let good = job(json!({"name": "gd", "lr": 0.05}), "ufm");
    let mut v = good.clone();
    v.as_object_mut().unwrap().remove("data");
    assert!(err(v).contains("backbone: needs a `data` section"));
    let mut v = good.clone();
    v.as_object_mut().unwrap().remove("backbone");
    assert!(err(v).contains("data: needs a `backbone`"));
    let mut v = good.clone();
    v["backbone"]["regularization"] = json!("standard");
    assert!(err(v).contains("model.lambda"));
    let mut v = good.clone();
    v["backbone"]["layers"] = json!(0);
    assert!(err(v).contains("backbone.layers: must be >= 1"));
    let mut v = good.clone();
    v["init"] = json!({"name": "dnc", "scale": 5.0});
    assert!(err(v).contains("init.name"));
    let mut v = good.clone();
    v["data"]["test"] = json!({"format": "npy", "x": "X.npy", "y": "y.npy"});
    assert!(err(v).contains("data.holdout"));
    let mut v = good.clone();
    v["data"]["train"]["format"] = json!("csv");
    assert!(parse_value(v).is_err());
    let mut v = good.clone();
    v["backbone"]["depth"] = json!(3);
    assert!(parse_value(v).unwrap_err().to_string().contains("depth"));
    // Run-time data errors are input errors naming the file.
    let mut v = good.clone();
    v["data"]["train"]["x"] = json!("missing.npy");
    let j = parse_value(v).unwrap();
    let spec = validate(&j).unwrap();
    match execute(&j, &spec, &base_dir(), None, &mut |_| {}) {
        Err(ufm_engine::Error::Input(m)) => assert!(m.contains("missing.npy"), "{m}"),
        other => panic!("expected an input error, got {:?}", other.err()),
    }
    let mut v = good;
    v["model"]["per_class"] = json!(175);
    let j = parse_value(v).unwrap();
    let spec = validate(&j).unwrap();
    match execute(&j, &spec, &base_dir(), None, &mut |_| {}) {
        Err(ufm_engine::Error::Input(m)) => {
            assert!(m.contains("class 8 has 174 samples"), "{m}")
        }
        other => panic!("expected an input error, got {:?}", other.err()),
    }
}

#[test]
fn sweeps_over_backbone_fields_run() {
    let dir = std::env::temp_dir().join(format!("ufm-backbone-sweep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut v = job(json!({"name": "gd", "lr": 0.05}), "ufm");
    let digits = base_dir();
    v["data"]["train"]["x"] = json!(digits.join("X.npy").display().to_string());
    v["data"]["train"]["y"] = json!(digits.join("y.npy").display().to_string());
    v["sweep"] = json!({"backbone.width": [8, 16], "data.seed": [0, 1]});
    let path = dir.join("job.json");
    std::fs::write(&path, v.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ufm"))
        .args(["sweep", path.to_str().unwrap(), "--out"])
        .arg(dir.join("out"))
        .args(["--threads", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = std::fs::read_to_string(dir.join("out/runs.jsonl")).unwrap();
    assert_eq!(runs.lines().count(), 4, "{runs}");
}

#[test]
fn data_file_errors_reach_the_run_with_the_data_prefix_and_their_kind() {
    let fail = |v: Value| {
        let job = parse_value(v).unwrap();
        let spec = validate(&job).unwrap();
        match execute(&job, &spec, &base_dir(), None, &mut |_| {}) {
            Ok(_) => panic!("the run should fail"),
            Err(e) => e,
        }
    };
    let mut v = job(json!({"name": "gd", "lr": 0.05}), "ufm");
    v["data"]["train"]["x"] = json!("no-such-file.npy");
    let e = fail(v);
    assert_eq!(e.kind(), ufm_engine::ErrorKind::Input);
    let m = e.to_string();
    assert!(
        m.starts_with("data: cannot open ") && m.contains("no-such-file.npy"),
        "{m}"
    );
    // More samples than a class has: still Input, still "data: ".
    let mut v = job(json!({"name": "gd", "lr": 0.05}), "ufm");
    v["model"]["per_class"] = json!(100_000);
    let e = fail(v);
    assert_eq!(e.kind(), ufm_engine::ErrorKind::Input);
    let m = e.to_string();
    assert!(
        m.starts_with("data: ") && m.contains("asks for 100000"),
        "{m}"
    );
}
