//! Plugins end to end: every shipped optimiser and initialiser by name and by library path
//! (bit-identical), the C example compiled with the system compiler, the Rust SDK example, every
//! refusal case with its message, and failures during a run.
//!
//! The libraries come from the target directory: `libufm_plugin_std.so` is built with the
//! engine (a dependency), the Rust example by `cargo test --workspace` / `cargo build
//! --workspace`; the C example is compiled here with `cc`.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use ufm_engine::job::{parse_value, validate};
use ufm_engine::model::Params;
use ufm_engine::run::{execute, RunOutput};
use ufm_engine::train::Status;
use ufm_engine::Error;

fn dylib(stem: &str) -> String {
    format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// The newest build of library `stem` in the workspace target directory.
fn built_library(stem: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let name = dylib(stem);
    let candidates = [
        target.join(profile).join(&name),
        target.join(profile).join("deps").join(&name),
    ];
    candidates
        .iter()
        .filter_map(|p| Some((std::fs::metadata(p).ok()?.modified().ok()?, p.clone())))
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| {
            panic!(
                "{name} not found in {}/{profile}: build it with `cargo build --workspace{}`",
                target.display(),
                if profile == "release" {
                    " --release"
                } else {
                    ""
                }
            )
        })
}

fn std_lib() -> String {
    built_library("ufm_plugin_std").display().to_string()
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ufm-plugin-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compile the C example with the system C compiler and the given -D switches.
fn c_plugin(defines: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tag = if defines.is_empty() {
        "ok".to_string()
    } else {
        defines.join("_").to_lowercase()
    };
    let out = scratch().join(dylib(&format!("example_c_{tag}")));
    let mut cmd = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()));
    cmd.args([
        "-O2",
        "-shared",
        "-fPIC",
        "-ffp-contract=off",
        "-Wall",
        "-Werror",
        "-I",
    ])
    .arg(root.join("include"))
    .arg(root.join("plugins/examples/c/momentum.c"))
    .arg("-o")
    .arg(&out);
    for d in defines {
        cmd.arg(format!("-D{d}"));
    }
    let status = cmd.status().expect("the system C compiler `cc` runs");
    assert!(status.success(), "compiling the C example failed");
    out.display().to_string()
}

fn c_ok() -> &'static str {
    static LIB: OnceLock<String> = OnceLock::new();
    LIB.get_or_init(|| c_plugin(&[]))
}

fn job(init: Value, optimizer: Value) -> Value {
    json!({
        "schema_version": 1,
        "model": {"classes": 4, "per_class": 3, "width": 8, "layers": 2, "lambda": 1e-3},
        "init": init,
        "optimizer": optimizer,
        "train": {"max_steps": 40, "tol": 0, "record_every": 10}
    })
}

fn gaussian() -> Value {
    json!({"name": "gaussian", "std": 0.3, "seed": 7})
}

fn try_run(v: Value) -> Result<RunOutput, Error> {
    let job = parse_value(v)?;
    let spec = validate(&job)?;
    execute(&job, &spec, Path::new(""), None, &mut |_| {})
}

fn run(v: Value) -> RunOutput {
    try_run(v).unwrap_or_else(|e| panic!("run failed: {e}"))
}

fn refusal(v: Value) -> String {
    match try_run(v) {
        Ok(_) => panic!("expected the job to be refused"),
        Err(e) => e.to_string(),
    }
}

fn bits(p: &Params) -> Vec<u64> {
    p.mats
        .iter()
        .flat_map(|m| {
            (0..m.ncols()).flat_map(move |j| (0..m.nrows()).map(move |i| m[(i, j)].to_bits()))
        })
        .collect()
}

fn merged(mut a: Value, b: &Value) -> Value {
    for (k, v) in b.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

#[test]
fn every_shipped_optimizer_runs_by_name_and_by_path_identically() {
    let cases = [
        ("gd", json!({}), json!({})),
        ("sgd", json!({}), json!({"batch_size": 5})),
        (
            "momentum",
            json!({"momentum": 0.8, "dampening": 0.1}),
            json!({}),
        ),
        ("nesterov", json!({"momentum": 0.7}), json!({})),
        (
            "adam",
            json!({"beta1": 0.85, "beta2": 0.99, "eps": 1e-7}),
            json!({}),
        ),
        ("adamw", json!({"weight_decay": 0.05}), json!({})),
        (
            "momentum",
            json!({}),
            json!({"schedule": {"kind": "cosine", "min_lr": 0.01, "warmup": 5}}),
        ),
    ];
    let mut finals = Vec::new();
    for (name, params, host) in cases {
        let host = merged(json!({"lr": 0.05}), &host);
        let by_name = merged(merged(json!({"name": name}), &params), &host);
        let by_path = merged(
            json!({"plugin": std_lib(), "id": name, "params": params}),
            &host,
        );
        let a = run(job(gaussian(), by_name));
        let b = run(job(gaussian(), by_path));
        assert_eq!(a.result.status, Status::MaxSteps, "{name}");
        assert_eq!(
            bits(&a.params),
            bits(&b.params),
            "{name}: by name != by path"
        );
        assert_eq!(a.curve, b.curve, "{name}");
        let first = a.curve.first().unwrap().loss;
        assert!(
            a.result.final_.loss < first,
            "{name}: loss did not decrease"
        );
        finals.push(bits(&a.params));
    }
    for i in 0..finals.len() {
        for j in 0..i {
            assert_ne!(
                finals[i], finals[j],
                "cases {i} and {j} gave the same parameters"
            );
        }
    }
}

#[test]
fn every_shipped_initializer_runs_by_name_and_by_path_identically() {
    let cases = [
        ("gaussian", json!({"std": 0.2})),
        ("scaled", json!({"scale": 1.5})),
        ("orthogonal", json!({"gain": 0.7})),
    ];
    for (name, params) in cases {
        let by_name = merged(json!({"name": name, "seed": 3, "multiplier": 0.5}), &params);
        let by_path = json!({"plugin": std_lib(), "id": name, "seed": 3, "multiplier": 0.5, "params": params});
        let mut a = job(by_name, json!({"name": "gd", "lr": 0.1}));
        let mut b = job(by_path, json!({"name": "gd", "lr": 0.1}));
        a["train"]["max_steps"] = json!(1);
        b["train"]["max_steps"] = json!(1);
        let (a, b) = (run(a), run(b));
        assert_eq!(bits(&a.params), bits(&b.params), "{name}");
    }
}

#[test]
fn sgd_with_the_full_batch_is_gd_bit_for_bit() {
    let gd = run(job(gaussian(), json!({"name": "gd", "lr": 0.1})));
    let full = run(job(
        gaussian(),
        json!({"name": "sgd", "lr": 0.1, "batch_size": 12}),
    ));
    assert_eq!(bits(&gd.params), bits(&full.params));
    assert_eq!(gd.curve, full.curve);
    let mini = run(job(
        gaussian(),
        json!({"name": "sgd", "lr": 0.1, "batch_size": 4}),
    ));
    let again = run(job(
        gaussian(),
        json!({"name": "sgd", "lr": 0.1, "batch_size": 4}),
    ));
    assert_ne!(
        bits(&gd.params),
        bits(&mini.params),
        "mini-batches change the path"
    );
    assert_eq!(
        bits(&mini.params),
        bits(&again.params),
        "batches are a function of the seed"
    );
    let mut other_seed = gaussian();
    other_seed["seed"] = json!(8);
    let other = run(job(
        other_seed,
        json!({"name": "sgd", "lr": 0.1, "batch_size": 4}),
    ));
    assert_ne!(bits(&mini.params), bits(&other.params));
}

#[test]
fn the_c_plugin_loads_trains_and_equals_builtin_momentum() {
    let c = run(job(
        gaussian(),
        json!({"plugin": c_ok(), "id": "example.c_momentum", "lr": 0.05, "params": {"momentum": 0.9}}),
    ));
    assert!(c.result.final_.loss < c.curve[0].loss);
    let builtin = run(job(
        gaussian(),
        json!({"name": "momentum", "lr": 0.05, "momentum": 0.9}),
    ));
    assert_eq!(
        bits(&c.params),
        bits(&builtin.params),
        "same rule, same bits"
    );
}

#[test]
fn the_rust_sdk_example_loads_and_trains() {
    let lib = built_library("ufm_plugin_example_rust")
        .display()
        .to_string();
    let out = run(job(
        gaussian(),
        json!({"plugin": lib, "id": "example.clipped_momentum", "lr": 0.05,
               "params": {"momentum": 0.9, "clip": 0.01}}),
    ));
    assert_eq!(out.result.status, Status::MaxSteps);
    assert!(out.result.final_.loss < out.curve[0].loss);
}

fn opt(lib: &str, id: &str) -> Value {
    json!({"plugin": lib, "id": id, "lr": 0.1, "params": {}})
}

#[test]
fn every_refusal_names_the_library_and_the_reason() {
    let missing = scratch().join("no-such-plugin.so").display().to_string();
    let e = refusal(job(gaussian(), opt(&missing, "x")));
    assert!(e.contains(&missing) && e.contains("no such file"), "{e}");

    let garbage = scratch().join(dylib("garbage"));
    std::fs::write(&garbage, b"not a shared library").unwrap();
    let garbage = garbage.display().to_string();
    let e = refusal(job(gaussian(), opt(&garbage, "x")));
    assert!(
        e.contains(&garbage) && e.contains("not a loadable library"),
        "{e}"
    );

    let cases = [
        (
            "UFM_EXAMPLE_NO_ENTRY",
            "does not export the entry symbol `ufm_plugin_get_entry`",
        ),
        (
            "UFM_EXAMPLE_OTHER_MAJOR",
            "ABI major version 2, this ufm needs 1",
        ),
        (
            "UFM_EXAMPLE_SMALL_ENTRY",
            "entry struct_size 8 is smaller than",
        ),
        (
            "UFM_EXAMPLE_NULL_UPDATE",
            "optimizer `example.c_momentum`: null function pointer update",
        ),
        (
            "UFM_EXAMPLE_DUPLICATE_ID",
            "duplicate optimizer id `example.c_momentum`",
        ),
    ];
    for (define, reason) in cases {
        let lib = c_plugin(&[define]);
        let e = refusal(job(gaussian(), opt(&lib, "example.c_momentum")));
        assert!(e.contains(&lib) && e.contains(reason), "{define}: {e}");
    }

    let e = refusal(job(gaussian(), opt(c_ok(), "example.nope")));
    assert!(
        e.contains(c_ok())
            && e.contains("no optimizer with id `example.nope`")
            && e.contains("example.c_momentum, example.c_failing"),
        "{e}"
    );
    let e = refusal(job(
        gaussian(),
        json!({"plugin": c_ok(), "id": "example.c_momentum", "lr": 0.1, "params": {"momentum": 2}}),
    ));
    assert!(
        e.contains(c_ok()) && e.contains("rejected its params: params.momentum: must be in [0, 1)"),
        "{e}"
    );
    let e = refusal(job(
        gaussian(),
        json!({"plugin": std_lib(), "id": "adam", "lr": 0.1, "params": {"beta1": 1.5}}),
    ));
    assert!(
        e.contains(&std_lib()) && e.contains("params.beta1: must be in [0, 1), got 1.5"),
        "{e}"
    );
    let e = refusal(job(
        gaussian(),
        json!({"plugin": std_lib(), "id": "adam", "lr": 0.1, "params": {"betaa": 0.5}}),
    ));
    assert!(e.contains("params.betaa: unknown field"), "{e}");
    let e = refusal(job(
        json!({"plugin": std_lib(), "id": "nope", "params": {}}),
        json!({"name": "gd", "lr": 0.1}),
    ));
    assert!(
        e.contains("no initializer with id `nope`") && e.contains("gaussian, scaled, orthogonal"),
        "{e}"
    );
}

#[test]
fn builtin_param_errors_name_the_job_field() {
    let e = refusal(job(
        gaussian(),
        json!({"name": "adam", "lr": 0.1, "beta2": 1.0}),
    ));
    assert_eq!(e, "optimizer.beta2: must be in [0, 1), got 1");
    let e = refusal(job(
        gaussian(),
        json!({"name": "sgd", "lr": 0.1, "batch_size": 13}),
    ));
    assert_eq!(
        e,
        "optimizer.batch_size: must be <= the number of samples N = 12, got 13"
    );
    let e = refusal(job(
        gaussian(),
        json!({"name": "gd", "lr": 0.1, "schedule": {"kind": "step", "every": 0}}),
    ));
    assert_eq!(e, "optimizer.schedule.every: must be >= 1, got 0");
}

#[test]
fn a_plugin_error_or_panic_fails_the_run_not_the_process() {
    let out = run(job(
        gaussian(),
        json!({"plugin": c_ok(), "id": "example.c_failing", "lr": 0.05, "params": {"fail_at": 3}}),
    ));
    assert_eq!(out.result.status, Status::Failed);
    assert_eq!(out.result.steps, 2);
    let msg = out.result.message.unwrap();
    assert!(
        msg.contains("gave up on purpose at step 3") && msg.contains(c_ok()),
        "{msg}"
    );

    let lib = built_library("ufm_plugin_example_rust")
        .display()
        .to_string();
    let out = run(job(
        gaussian(),
        json!({"plugin": lib, "id": "example.panics_at", "lr": 0.05, "params": {"at": 3}}),
    ));
    assert_eq!(out.result.status, Status::Failed);
    let msg = out.result.message.unwrap();
    assert!(msg.contains("plugin panicked: reached step 3"), "{msg}");
}

fn checkpointed(v: Value, dir: &Path, every: u64, resume: bool) -> RunOutput {
    use ufm_engine::run::{execute_checkpointed, CheckpointOptions};
    let job = parse_value(v).unwrap();
    let spec = validate(&job).unwrap();
    let ck = CheckpointOptions { dir, every, resume };
    execute_checkpointed(&job, &spec, Path::new(""), None, &mut |_| {}, ck)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The error a checkpointed run of `job` is refused with, checkpointing into (or, with
/// `resume`, resuming from) `dir`.
fn checkpoint_refusal(
    job: &ufm_engine::job::Job,
    spec: &ufm_engine::model::ModelSpec,
    dir: &Path,
    resume: bool,
) -> Error {
    let ck = ufm_engine::run::CheckpointOptions {
        dir,
        every: 0,
        resume,
    };
    ufm_engine::run::execute_checkpointed(job, spec, Path::new(""), None, &mut |_| {}, ck)
        .err()
        .expect("refused")
}

#[test]
fn a_resumed_run_ends_bit_identical_to_an_uninterrupted_one() {
    let optimizers = [
        json!({"name": "adam", "lr": 0.01, "schedule": {"kind": "cosine", "steps": 40, "warmup": 4}}),
        json!({"name": "sgd", "lr": 0.1, "batch_size": 5}),
        json!({"name": "nesterov", "lr": 0.05}),
        json!({"plugin": c_ok(), "id": "example.c_momentum", "lr": 0.05, "params": {}}),
    ];
    for (i, opt) in optimizers.into_iter().enumerate() {
        let full = run(job(gaussian(), opt.clone()));
        for cut in [20, 23] {
            let dir = scratch().join(format!("ck-{i}-{cut}"));
            let mut first = job(gaussian(), opt.clone());
            first["train"]["max_steps"] = json!(cut);
            let part = checkpointed(first, &dir, 10, false);
            assert_eq!(part.result.steps, cut);
            let resumed = checkpointed(job(gaussian(), opt.clone()), &dir, 10, true);
            assert_eq!(resumed.result.steps, 40);
            assert_eq!(
                bits(&resumed.params),
                bits(&full.params),
                "{opt} cut at {cut}"
            );
            assert_eq!(resumed.curve, full.curve, "{opt} cut at {cut}");
            assert_eq!(resumed.result.status, full.result.status);
        }
    }
    // A checkpoint belongs to its job.
    let dir = scratch().join("ck-other");
    let _ = checkpointed(
        job(gaussian(), json!({"name": "gd", "lr": 0.1})),
        &dir,
        0,
        false,
    );
    let j = parse_value(job(gaussian(), json!({"name": "adam", "lr": 0.1}))).unwrap();
    let spec = validate(&j).unwrap();
    let e = checkpoint_refusal(&j, &spec, &dir, true);
    assert!(e.to_string().contains("made for another job"), "{e}");
    // A refused checkpoint is the resumed run's input (exit status 2); a missing one too.
    assert_eq!(e.kind(), ufm_engine::ErrorKind::Input);
    let none = scratch().join("ck-none");
    let e = checkpoint_refusal(&j, &spec, &none, true);
    assert_eq!(e.kind(), ufm_engine::ErrorKind::Input);
    assert!(e.to_string().starts_with("cannot read checkpoint "), "{e}");
    // Shapes whose product overflows are refused, not wrapped: r x c with c = 2^63 + 1 (its own
    // inverse mod 2^64) and r = A c wraps to A, the true area of the first matrix, so unchecked
    // arithmetic would pass the size check and then try to allocate r x c.
    let meta_path = dir.join("meta.json");
    let good_meta = std::fs::read_to_string(&meta_path).unwrap();
    let mut meta: Value = serde_json::from_str(&good_meta).unwrap();
    let area = meta["shapes"][0][0].as_u64().unwrap() * meta["shapes"][0][1].as_u64().unwrap();
    let c = (1u64 << 63) + 1;
    let r = area.wrapping_mul(c);
    assert_eq!(r.wrapping_mul(c), area);
    meta["shapes"][0] = json!([r, c]);
    std::fs::write(&meta_path, meta.to_string()).unwrap();
    let gd = parse_value(job(gaussian(), json!({"name": "gd", "lr": 0.1}))).unwrap();
    let gd_spec = validate(&gd).unwrap();
    let e = checkpoint_refusal(&gd, &gd_spec, &dir, true);
    assert!(e.to_string().contains("data.bin has the wrong size"), "{e}");
    std::fs::write(&meta_path, good_meta).unwrap();
    // A malformed side file (dynamics.json) beside a good checkpoint is Input, naming it.
    std::fs::write(dir.join("dynamics.json"), b"{not json").unwrap();
    let e = checkpoint_refusal(&gd, &gd_spec, &dir, true);
    assert_eq!(e.kind(), ufm_engine::ErrorKind::Input);
    assert!(
        e.to_string().starts_with("checkpoint: ") && e.to_string().contains("dynamics.json"),
        "{e}"
    );
    // A checkpoint that cannot be written (its parent is a file) is an Io error naming it.
    let file = scratch().join("ck-parent-is-a-file");
    std::fs::write(&file, b"x").unwrap();
    let under = file.join("ck");
    let e = checkpoint_refusal(&j, &spec, &under, false);
    assert_eq!(e.kind(), ufm_engine::ErrorKind::Io);
    assert!(e.to_string().starts_with("cannot write checkpoint "), "{e}");
    match e {
        ufm_engine::Error::Io { path, .. } => assert_eq!(path, under),
        other => panic!("{other:?}"),
    }
}
