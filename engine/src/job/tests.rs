//! Job parsing and validation: every error names its field path and the allowed range.

use super::*;

fn base() -> serde_json::Value {
    serde_json::json!({
        "schema_version": 1,
        "name": "t",
        "model": {"classes": 3, "per_class": 2, "width": 4, "layers": 2, "lambda": 0.01},
        "init": {"name": "gaussian", "std": 0.1, "seed": 3},
        "optimizer": {"name": "gd", "lr": 0.5}
    })
}

fn error_of(v: serde_json::Value) -> String {
    match parse_value(v)
        .and_then(|j| validate(&j).map(|_| j))
        .and_then(|j| expand_sweep(&j).map(|_| ()))
    {
        Ok(()) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn with(path: &str, value: serde_json::Value) -> serde_json::Value {
    let mut v = base();
    let mut cur = &mut v;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        cur = &mut cur[*p];
    }
    cur[parts[parts.len() - 1]] = value;
    v
}

#[test]
fn a_valid_job_gives_its_model() {
    let job = parse_value(base()).unwrap();
    let spec = validate(&job).unwrap();
    assert_eq!(spec.class_sizes, vec![2, 2, 2]);
    assert_eq!((spec.lambda_h, spec.lambda_w), (0.01, 0.01));
    assert_eq!(job.train.max_steps, 100_000, "defaults are filled in");
}

#[test]
fn out_of_range_values_name_path_and_range() {
    assert_eq!(
        error_of(with("model.width", 0.into())),
        "model.width: must be >= 1, got 0"
    );
    assert_eq!(
        error_of(with("model.classes", 1.into())),
        "model.classes: must be >= 2, got 1"
    );
    assert_eq!(
        error_of(with("model.layers", 0.into())),
        "model.layers: must be >= 1, got 0"
    );
    assert!(error_of(with("model.lambda", (-1.0).into()))
        .starts_with("model.lambda: must be a finite number >= 0"));
    assert!(error_of(with("optimizer.lr", 0.0.into()))
        .starts_with("optimizer.lr: must be a finite number > 0"));
    assert!(error_of(with("init.std", (-0.5).into())).starts_with("init.std: must be"));
    assert_eq!(
        error_of(with("schema_version", 2.into())),
        "schema_version: must be 1 (the only version this ufm reads), got 2"
    );
    let mut v = base();
    v["analysis"] = serde_json::json!({"rank_tol": 2.0});
    assert_eq!(error_of(v), "analysis.rank_tol: must be in (0, 1), got 2");
}

#[test]
fn unknown_fields_and_wrong_types_name_their_path() {
    let e = error_of(with("model.widht", 3.into()));
    assert!(
        e.starts_with("model.widht: unknown field `widht`, expected one of"),
        "{e}"
    );
    let e = error_of(with("init.stdd", 3.into()));
    assert!(e.starts_with("init.stdd: unknown field `stdd`"), "{e}");
    let e = error_of(with("init.std", "big".into()));
    assert!(e.starts_with("init.std: invalid type: string"), "{e}");
    let e = error_of(with("optimizer.name", "sgdd".into()));
    assert!(e.contains("unknown variant `sgdd`"), "{e}");
    let e = error_of(with("model.width", (-3).into()));
    assert!(
        e.starts_with("model.width: invalid value: integer `-3`"),
        "{e}"
    );
}

#[test]
fn class_and_lambda_alternatives_are_exclusive() {
    let mut v = base();
    v["model"]["class_sizes"] = serde_json::json!([2, 3]);
    assert!(error_of(v).contains("exactly one of per_class and class_sizes"));
    let mut v = base();
    v["model"]["lambda_h"] = serde_json::json!(0.1);
    assert!(error_of(v).contains("either lambda, or both lambda_h and lambda_w"));
    let mut v = base();
    v["model"].as_object_mut().unwrap().remove("per_class");
    v["model"]["class_sizes"] = serde_json::json!([5, 0, 2]);
    assert_eq!(error_of(v), "model.class_sizes[1]: must be >= 1, got 0");
}

#[test]
fn imbalanced_classes_and_split_lambdas() {
    let mut v = base();
    let m = v["model"].as_object_mut().unwrap();
    m.remove("per_class");
    m.remove("classes");
    m.remove("lambda");
    m.insert("class_sizes".into(), serde_json::json!([5, 1, 2]));
    m.insert("lambda_h".into(), serde_json::json!(0.1));
    m.insert("lambda_w".into(), serde_json::json!(0.2));
    let spec = validate(&parse_value(v).unwrap()).unwrap();
    assert_eq!(spec.class_sizes, vec![5, 1, 2]);
    assert_eq!((spec.lambda_h, spec.lambda_w), (0.1, 0.2));
}

#[test]
fn oversized_models_are_refused_before_allocating() {
    let e = error_of(with("model.width", 200_000.into()));
    assert!(
        e.starts_with("model: needs about") && e.contains("train.max_memory_gib = 4"),
        "{e}"
    );
}

#[test]
fn sweeps_expand_in_key_order_and_blame_bad_values() {
    let mut v = base();
    v["sweep"] = serde_json::json!({"model.width": [4, 8], "init.seed": {"range": [0, 3]}});
    let job = parse_value(v).unwrap();
    let grid = expand_sweep(&job).unwrap();
    assert_eq!(grid.len(), 6);
    assert_eq!(grid[1].assignments["init.seed"], 1);
    assert_eq!(grid[4].assignments["model.width"], 8);
    assert!(matches!(
        grid[4].job.init,
        InitChoice::Builtin(BuiltinInit::Gaussian(GaussianInit { seed: 1, .. }))
    ));
    assert!(grid[0].job.sweep.is_none());

    let mut v = base();
    v["sweep"] = serde_json::json!({"model.width": [4, 0]});
    assert_eq!(error_of(v), "sweep.model.width[1]: must be >= 1, got 0");
    let mut v = base();
    v["sweep"] = serde_json::json!({"model.depth": [1]});
    assert!(error_of(v).starts_with("sweep.model.depth[0]: unknown field `depth`"));
    let mut v = base();
    v["sweep"] = serde_json::json!({"nosuch.width": [1]});
    assert_eq!(
        error_of(v),
        "sweep.nosuch.width: no section `nosuch` in the job"
    );
    let mut v = base();
    v["sweep"] = serde_json::json!({"model": [1]});
    assert_eq!(
        error_of(v),
        "sweep.model: must name a scalar field, not an object or list"
    );
}

#[test]
fn committed_schema_matches_the_types() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/job.schema.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = serde_json::to_string_pretty(&json_schema()).unwrap() + "\n";
    assert!(
        committed == generated,
        "docs/job.schema.json is stale: regenerate it with `cargo run -p ufm-engine --bin ufm -- schema > docs/job.schema.json`"
    );
}

#[test]
fn every_example_job_validates() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/jobs");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            count += 1;
        }
    }
    assert!(count >= 3);
}
