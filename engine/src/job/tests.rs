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
        e.starts_with("model: K = 3, N = 6, d = 200000, L = 2 needs about")
            && e.contains("train.max_memory_gib = 4"),
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

// Regression tests for issue 10: inputs that used to panic, abort, grow memory without bound or
// be accepted. Each must now be a clear error naming its field (and return promptly).

#[test]
fn huge_sizes_are_refused_without_overflow_or_allocation() {
    // 2^63 wrapped to "0 parameters" before; 2^63 classes overflowed a Vec's capacity;
    // 2^31 classes aborted on a 16 GiB allocation; 2^62 layers grew memory without bound.
    for (path, value) in [
        ("model.width", serde_json::json!(9223372036854775808u64)),
        ("model.classes", serde_json::json!(9223372036854775808u64)),
        ("model.classes", serde_json::json!(2147483648u64)),
        ("model.layers", serde_json::json!(4611686018427387904u64)),
        ("model.per_class", serde_json::json!(u64::MAX)),
    ] {
        let e = error_of(with(path, value.clone()));
        assert!(e.starts_with("model: K = "), "{path} = {value}: {e}");
        assert!(
            e.contains("address space") || e.contains("train.max_memory_gib"),
            "{path} = {value}: {e}"
        );
    }
    let mut v = base();
    v["model"] = serde_json::json!({
        "class_sizes": [u64::MAX, u64::MAX, u64::MAX, u64::MAX],
        "width": 4, "layers": 2, "lambda": 0.01
    });
    let e = error_of(v);
    assert!(
        e.contains("N = 73786976294838206460") && e.contains("address space"),
        "{e}"
    );
    // Raising the limit does not lift the address-space bound.
    let mut v = with("model.width", serde_json::json!(9223372036854775808u64));
    v["train"] = serde_json::json!({"max_memory_gib": 1e300});
    assert!(error_of(v).contains("address space"));
}

#[test]
fn sweep_grids_are_counted_before_they_are_expanded() {
    let mut v = base();
    v["sweep"] = serde_json::json!({"init.seed": {"range": [0, 1_000_000_000_000_000_000i64]}});
    let e = error_of(v);
    assert!(
        e.starts_with("sweep: the grid has 1000000000000000000 points"),
        "{e}"
    );
    let mut v = base();
    v["sweep"] = serde_json::json!({
        "init.seed": {"range": [0, 100_000]},
        "optimizer.lr": {"range": [1, 100_001]}
    });
    let e = error_of(v);
    assert!(e.contains("10000000000 points (100000 x 100000)"), "{e}");
    // The widest range i64 allows: its length does not overflow either.
    let mut v = base();
    v["sweep"] = serde_json::json!({"init.seed": {"range": [i64::MIN, i64::MAX]}});
    assert!(error_of(v).starts_with("sweep: the grid has"));
    let job = parse_value(base()).unwrap();
    assert_eq!(count_points(&job).unwrap(), 0);
}

#[test]
fn sweep_axes_and_sections_are_read_strictly() {
    let mut v = base();
    v["sweep"] = serde_json::json!({"init.seed": {"range": [0, 2], "typo": [0]}});
    assert!(error_of(v).starts_with("sweep.init.seed.typo: unknown field `typo`"));
    let mut v = base();
    v["sweep"] = serde_json::json!({"init.seed": 3});
    assert!(error_of(v).contains("must be a list of values or {\"range\": [from, to]}"));
    // Sections given as JSON arrays were read positionally ("train": [] ran 100,000 steps).
    for section in ["model", "init", "optimizer", "train", "analysis", "sweep"] {
        let e = error_of(with(section, serde_json::json!([])));
        assert_eq!(
            e,
            format!("{section}: must be a JSON object {{...}}, got a list"),
            "{section}"
        );
    }
    let e = error_of(with(
        "optimizer.schedule",
        serde_json::json!(["constant", 0]),
    ));
    assert!(
        e.starts_with("optimizer.schedule: must be a JSON object"),
        "{e}"
    );
    let whole = serde_json::json!([1, "t", {}, {}, {}, {}, {}, null]);
    assert!(error_of(whole).contains("must be a JSON object"));
}

#[test]
fn run_inputs_are_checked_by_validation() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let check_err = |v: serde_json::Value| -> String {
        let job = parse_value(v).unwrap();
        match check(&job, dir) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    };
    let e = check_err(with(
        "optimizer",
        serde_json::json!({"plugin": "nosuch.so", "id": "x", "lr": 0.1}),
    ));
    assert!(e.starts_with("optimizer.plugin: plugin"), "{e}");
    assert!(e.ends_with("nosuch.so: no such file"), "{e}");
    let e = check_err(with(
        "optimizer",
        serde_json::json!({"plugin": "Cargo.toml", "id": "x", "lr": 0.1}),
    ));
    assert!(e.contains("not a loadable library"), "{e}");
    let e = check_err(with(
        "init",
        serde_json::json!({"plugin": "nosuch.so", "id": "x"}),
    ));
    assert!(e.starts_with("init.plugin:"), "{e}");
    let e = check_err(with(
        "init",
        serde_json::json!({"name": "npy", "dir": "nosuch"}),
    ));
    assert!(
        e.starts_with("init.dir:") && e.ends_with("is not a folder"),
        "{e}"
    );
    let e = check_err(with(
        "init",
        serde_json::json!({"name": "npy", "dir": "src"}),
    ));
    assert!(e.starts_with("init.dir: cannot open"), "{e}");
    // dnc / low_rank need width >= rank (K - 1 = 2, ceil(K/2) = 2 for K = 3).
    for name in ["dnc", "low_rank"] {
        let mut v = with("init", serde_json::json!({"name": name, "scale": 1.0}));
        v["model"]["width"] = 1.into();
        let e = check_err(v);
        assert!(e.starts_with("model.width: must be >= 2"), "{name}: {e}");
    }
    let e = check_err(with(
        "init",
        serde_json::json!({"name": "dnc", "scale": 1e308}),
    ));
    assert!(e.starts_with("init.scale: must be <= "), "{e}");
    // The largest allowed scale builds a finite start (the bound is not needlessly tight).
    let mut v = with("init", serde_json::json!({"name": "dnc", "scale": 1.0}));
    let max = max_structured_scale(3, 6);
    v["init"]["scale"] = max.into();
    let job = parse_value(v).unwrap();
    let spec = validate(&job).unwrap();
    check(&job, dir).unwrap();
    let p = crate::run::initial_params(&job, &spec, dir).unwrap();
    assert!(p
        .mats
        .iter()
        .all(|m| m.col_iter().all(|c| c.iter().all(|x| x.is_finite()))));
    // A sweep is checked point by point: the point that fails is named.
    let mut v = base();
    v["init"] = serde_json::json!({"name": "dnc", "scale": 1.0});
    v["sweep"] = serde_json::json!({"model.width": [4, 1]});
    let e = check_err(v);
    assert!(
        e.starts_with("model.width (sweep point 1: model.width = 1): must be >= 2"),
        "{e}"
    );
}

#[test]
fn validation_reports_the_largest_sweep_point() {
    let mut v = base();
    v["sweep"] = serde_json::json!({"model.width": [4, 64, 8]});
    let job = parse_value(v).unwrap();
    let c = check(&job, std::path::Path::new("")).unwrap();
    assert_eq!(c.runs, 3);
    assert_eq!(c.largest.width, 64);
    assert_eq!(c.largest_bytes, estimated_bytes(&c.largest));
    assert!(c.largest_bytes > estimated_bytes(&c.base));
}

#[test]
fn builtin_optimiser_sections_read_as_flat_structs_with_plugin_std_params() {
    // The rule's parameters are plugin-std's types inside the host's lr/schedule: unknown
    // fields are refused listing every field, type errors name the field, defaults are
    // plugin-std's, and the section writes back flat (the same keys, the same order).
    let momentum = serde_json::json!({"name": "momentum", "lr": 0.1, "momentm": 0.5});
    let e = error_of(with("optimizer", momentum));
    assert_eq!(
        e,
        "optimizer.momentm: unknown field `momentm`, expected one of `lr`, `momentum`, \
         `dampening`, `schedule`"
    );
    let e = error_of(with(
        "optimizer",
        serde_json::json!({"name": "adam", "lr": 0.1, "beta2": "x"}),
    ));
    assert!(
        e.starts_with("optimizer.beta2: invalid type: string"),
        "{e}"
    );
    let e = error_of(with(
        "optimizer",
        serde_json::json!({"name": "adamw", "lr": 0.1, "schedule": {"kind": "cosine", "warmup": -1}}),
    ));
    assert!(e.starts_with("optimizer.schedule"), "{e}");
    let e = error_of(with("optimizer", serde_json::json!({"name": "nesterov"})));
    assert_eq!(e, "optimizer: missing field `lr`");
    let job = parse_value(with(
        "optimizer",
        serde_json::json!({"name": "adamw", "lr": 0.01, "beta1": 0.8}),
    ))
    .unwrap();
    let OptimizerChoice::Builtin(BuiltinOptimizer::Adamw(c)) = &job.optimizer else {
        panic!("adamw")
    };
    // Independent of plugin-std's default functions: the documented defaults.
    assert_eq!(
        (
            c.lr,
            c.rule.beta1,
            c.rule.beta2,
            c.rule.eps,
            c.rule.weight_decay
        ),
        (0.01, 0.8, 0.999, 1e-8, 0.01)
    );
    let back = serde_json::to_string(&job.optimizer).unwrap();
    assert_eq!(
        back,
        r#"{"name":"adamw","lr":0.01,"beta1":0.8,"beta2":0.999,"eps":1e-8,"weight_decay":0.01}"#
    );
}

#[test]
fn train_threads_is_checked_and_defaults_to_one() {
    let job = parse_value(base()).unwrap();
    assert_eq!(job.train.threads, 1);
    for bad in [0, 1025] {
        let e = error_of(with("train.threads", serde_json::json!(bad)));
        assert!(e.contains("train.threads") && e.contains("1..=1024"), "{e}");
    }
    let ok = parse_value(with("train.threads", serde_json::json!(2))).unwrap();
    assert!(validate(&ok).is_ok());
}

/// Wide fused GD runs are estimated at the fused update's memory, not at 6x the parameters:
/// d = 8192, L = 3 fits the default 4 GiB limit fused, and the same job with the separate
/// update is refused (it needs ~3x the 1.07 GB of parameters, measured in BENCHMARKS.md).
#[test]
fn wide_fused_jobs_are_estimated_at_the_fused_update() {
    let mut v = base();
    v["model"] = serde_json::json!({"classes": 10, "per_class": 5, "width": 8192, "layers": 3, "lambda": 0.001});
    v["init"] = serde_json::json!({"name": "scaled"});
    let job = parse_value(v.clone()).unwrap();
    assert_eq!(
        update_memory(&job, 8192, 3, crate::model::Activation::Linear),
        UpdateMemory::Fused { state: false }
    );
    assert!(validate(&job).is_ok());
    v["train"] = serde_json::json!({"update": "separate"});
    let e = error_of(v.clone());
    assert!(e.contains("train.max_memory_gib"), "{e}");
    v["train"] = serde_json::json!({"update": "auto"});
    v["model"]["width"] = serde_json::json!(512);
    let job = parse_value(v).unwrap();
    assert_eq!(
        update_memory(&job, 512, 3, crate::model::Activation::Linear),
        UpdateMemory::Separate
    );
}

/// `train.threads` changes no result, so it is neither written when 1 nor part of a job's
/// hash: sweeps recorded before the field existed, or resumed with another count, keep their
/// finished runs.
#[test]
fn train_threads_is_left_out_of_the_job_hash() {
    use crate::sweep::record::job_hash;
    let one = parse_value(base()).unwrap();
    let two = parse_value(with("train.threads", serde_json::json!(2))).unwrap();
    assert!(!serde_json::to_string(&one).unwrap().contains("threads"));
    assert!(serde_json::to_string(&two)
        .unwrap()
        .contains("\"threads\":2"));
    assert_eq!(job_hash(&one), job_hash(&two));
    let other = parse_value(with("train.max_steps", serde_json::json!(7))).unwrap();
    assert_ne!(job_hash(&one), job_hash(&other));
}

#[test]
fn builtin_rule_ranges_name_the_job_field() {
    // Each rule's range check (plugin-std's `check`, what creating the rule runs) reports its
    // field apart from the message; validation names it `optimizer.<field>`. The expected
    // texts are written out here, not derived from the plugin's.
    for (section, want) in [
        (
            serde_json::json!({"name": "momentum", "lr": 0.1, "dampening": 1.5}),
            "optimizer.dampening: must be in [0, 1], got 1.5",
        ),
        (
            serde_json::json!({"name": "nesterov", "lr": 0.1, "momentum": -0.1}),
            "optimizer.momentum: must be in [0, 1], got -0.1",
        ),
        (
            serde_json::json!({"name": "adam", "lr": 0.1, "eps": 0.0}),
            "optimizer.eps: must be a finite number > 0, got 0",
        ),
        (
            serde_json::json!({"name": "adamw", "lr": 0.1, "weight_decay": -1.0}),
            "optimizer.weight_decay: must be a finite number >= 0, got -1",
        ),
        (
            serde_json::json!({"name": "flow", "lr": 0.1, "rtol": 1.0}),
            "optimizer.rtol: must be in (0, 1), got 1",
        ),
        (
            serde_json::json!({"name": "flow", "lr": 0.1, "atol": -1.0}),
            "optimizer.atol: must be finite and >= 0, got -1",
        ),
    ] {
        let job = parse_value(with("optimizer", section)).unwrap();
        let e = validate(&job).unwrap_err();
        assert_eq!(e.to_string(), want);
        // The same value refused by the rule itself, through the plugin ABI, in its words.
        let b = match &job.optimizer {
            OptimizerChoice::Builtin(b) => b,
            other => panic!("expected a built-in optimiser, got {other:?}"),
        };
        let refused = crate::plugin::builtin()
            .optimizer(b.id(), &b.plugin_params())
            .err()
            .expect("the rule refuses it too");
        let tail = want.strip_prefix("optimizer.").unwrap();
        assert!(
            refused.to_string().ends_with(&format!("params.{tail}")),
            "{refused}"
        );
    }
}
