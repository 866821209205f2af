//! Job inputs: structure-aware mutation of the example jobs and of small seed jobs covering
//! every section and variant, then job text -> parse -> `check` (what `ufm validate` does) ->
//! run (tiny models, at most 20 steps) -> result.json text. A job that `check` accepts but whose
//! run refuses its input is a *mismatch*: validation missed a check the run makes.

use crate::rng::Rng;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Where the generated jobs' relative paths point: a folder with a valid `.npy` start for the
/// seeds' model, a folder of broken `.npy` files, a file that is not a library, and the plugin
/// libraries of the build.
pub struct Env {
    pub dir: PathBuf,
    pub std_plugin: PathBuf,
    pub example_plugin: PathBuf,
}

/// The build's output folder (`target/<profile>`): the first ancestor of this executable that
/// holds libufm.so.
pub fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .find(|d| d.join(lib_name("ufm")).exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| exe.parent().unwrap_or(Path::new(".")).to_path_buf())
}

/// The newest build of library `stem`: in the build folder or its deps/ (a library built only
/// as a dependency is not copied up).
pub fn library(stem: &str) -> PathBuf {
    let dir = build_dir();
    let name = lib_name(stem);
    [dir.join(&name), dir.join("deps").join(&name)]
        .into_iter()
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| dir.join(name))
}

pub fn lib_name(stem: &str) -> String {
    format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

impl Env {
    /// Create the folder `dir` with its fixtures.
    pub fn create(dir: &Path) -> Env {
        std::fs::create_dir_all(dir.join("npy_ok")).expect("fuzz scratch folder");
        std::fs::create_dir_all(dir.join("npy_bad")).expect("fuzz scratch folder");
        // The seeds' npy model: K = 3, n = 2, d = 4, L = 2.
        let spec = engine::model::ModelSpec::balanced(
            3,
            2,
            4,
            2,
            engine::model::Activation::Linear,
            engine::model::LossKind::CrossEntropy,
            0.01,
        );
        let names = engine::model::Params::names(2);
        for (name, (r, c)) in names.iter().zip(spec.shapes()) {
            let m = faer_like(r, c);
            engine::io::npy::write_matrix(
                &dir.join("npy_ok").join(format!("{name}.npy")),
                m.as_ref(),
            )
            .expect("write npy");
        }
        // Broken files under the same names: a header declaring (2^40, 2^40), a 1-D array,
        // float32, truncated data.
        let bad = dir.join("npy_bad");
        std::fs::write(
            bad.join("H1.npy"),
            crate::npy::header_bytes("<f8", false, "(1099511627776, 1099511627776)", 16),
        )
        .ok();
        std::fs::write(
            bad.join("W1.npy"),
            crate::npy::header_bytes("<f8", false, "(16,)", 128),
        )
        .ok();
        std::fs::write(
            bad.join("W2.npy"),
            crate::npy::header_bytes("<f4", true, "(3, 4)", 48),
        )
        .ok();
        std::fs::write(dir.join("not_a_library.so"), b"not a library").ok();
        Env {
            dir: dir.to_path_buf(),
            std_plugin: library("ufm_plugin_std"),
            example_plugin: library("ufm_plugin_example_rust"),
        }
    }
}

fn faer_like(r: usize, c: usize) -> faer::Mat<f64> {
    faer::Mat::from_fn(r, c, |i, j| ((i * 7 + j * 3) % 11) as f64 / 10.0 - 0.5)
}

/// The seed jobs: the examples, shrunk, and small jobs that cover every variant.
pub fn seeds(env: &Env) -> Vec<Value> {
    let mut seeds: Vec<Value> = [
        include_str!("../../examples/jobs/smoke.json"),
        include_str!("../../examples/jobs/figure1.json"),
        include_str!("../../examples/jobs/figure6.json"),
        include_str!("../../examples/jobs/dnc_stability.json"),
        include_str!("../../examples/jobs/figure1_sgd_small_init.json"),
    ]
    .iter()
    .map(|t| serde_json::from_str(t).expect("example job is JSON"))
    .collect();
    let model = json!({"classes": 3, "per_class": 2, "width": 4, "layers": 2, "lambda": 0.01});
    let train = json!({"max_steps": 10, "record_every": 2});
    let std_plugin = env.std_plugin.display().to_string();
    let example = env.example_plugin.display().to_string();
    let inits = [
        json!({"name": "gaussian", "std": 0.1, "seed": 1, "multiplier": 1.0}),
        json!({"name": "scaled", "scale": 1.0, "seed": 2}),
        json!({"name": "orthogonal", "gain": 1.0, "seed": 3}),
        json!({"name": "npy", "dir": "npy_ok"}),
        json!({"name": "npy", "dir": "npy_bad"}),
        json!({"name": "dnc", "scale": 2.0, "noise": 0.01, "seed": 4}),
        json!({"name": "low_rank", "scale": 2.0, "seed": 5}),
        json!({"plugin": std_plugin, "id": "gaussian", "params": {"std": 0.2}, "seed": 6}),
        json!({"plugin": "not_a_library.so", "id": "gaussian"}),
    ];
    let optimizers = [
        json!({"name": "gd", "lr": 0.5}),
        json!({"name": "sgd", "lr": 0.1, "batch_size": 2}),
        json!({"name": "momentum", "lr": 0.1, "momentum": 0.9, "dampening": 0.0}),
        json!({"name": "nesterov", "lr": 0.1, "momentum": 0.5}),
        json!({"name": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
        json!({"name": "adamw", "lr": 0.01, "weight_decay": 0.01,
               "schedule": {"kind": "cosine", "steps": 5, "min_lr": 0.0, "warmup": 2}}),
        json!({"name": "gd", "lr": 0.5, "schedule": {"kind": "step", "every": 3, "gamma": 0.5}}),
        json!({"plugin": std_plugin, "id": "adam", "lr": 0.01, "params": {}}),
        json!({"plugin": example, "id": "example.momentum", "lr": 0.1, "params": {"momentum": 0.5}}),
    ];
    for (i, init) in inits.iter().enumerate() {
        let opt = &optimizers[i % optimizers.len()];
        seeds.push(
            json!({"schema_version": 1, "name": format!("seed{i}"), "model": model,
                          "init": init, "optimizer": opt, "train": train}),
        );
    }
    for (i, opt) in optimizers.iter().enumerate() {
        seeds.push(json!({"schema_version": 1, "model": model,
                          "init": inits[i % 3], "optimizer": opt, "train": train}));
    }
    seeds.push(json!({"schema_version": 1,
        "model": {"class_sizes": [1, 2, 3], "width": 3, "layers": 3, "activation": "relu",
                  "loss": "mse", "lambda_h": 0.01, "lambda_w": 0.02},
        "init": {"name": "gaussian", "std": 0.5}, "optimizer": {"name": "gd", "lr": 0.1},
        "train": train, "analysis": {"rank_tol": 1e-6, "hessian": true}}));
    seeds.push(json!({"schema_version": 1, "model": model,
        "init": {"name": "gaussian", "std": 0.5}, "optimizer": {"name": "gd", "lr": 0.1},
        "train": train, "analysis": {"hessian": true},
        "sweep": {"model.width": [2, 3], "init.seed": {"range": [0, 2]}}}));
    seeds
}

/// Values that sit at the edges of what a field may hold.
fn interesting(rng: &mut Rng) -> Value {
    match rng.below(40) {
        0 => json!(0),
        1 => json!(1),
        2 => json!(-1),
        3 => json!(2),
        4 => json!(3),
        5 => json!(2147483648u64),
        6 => json!(4294967296u64),
        7 => json!(9007199254740993u64),
        8 => json!(4611686018427387904u64),
        9 => json!(9223372036854775808u64),
        10 => json!(u64::MAX),
        11 => json!(i64::MIN),
        12 => json!(1e308),
        13 => json!(-1e308),
        14 => json!(1e-308),
        15 => json!(5e-324),
        16 => json!(0.5),
        17 => json!(-0.0),
        18 => json!(""),
        19 => json!("x"),
        20 => json!(true),
        21 => Value::Null,
        22 => json!([]),
        23 => json!({}),
        24 => json!([0, 1]),
        25 => json!({"range": [0, 3]}),
        26 => json!("2^-10"),
        27 => json!(1e154),
        28 => json!(1e-12),
        29 => json!(100000),
        30 => json!(rng.range(0, 10)),
        31 => json!(rng.range(0, 1000)),
        32 => json!(rng.unit() * 10.0 - 5.0),
        33 => json!(f64::MAX),
        34 => json!(f64::MIN_POSITIVE),
        35 => json!(1e6),
        36 => json!("\u{0}\u{1}é"),
        37 => json!(["a", 1, null]),
        38 => json!({"name": "gaussian", "std": 1}),
        _ => json!(rng.next_u64()),
    }
}

const KEYS: &[&str] = &[
    "schema_version",
    "name",
    "model",
    "init",
    "optimizer",
    "train",
    "analysis",
    "sweep",
    "classes",
    "per_class",
    "class_sizes",
    "width",
    "layers",
    "activation",
    "loss",
    "lambda",
    "lambda_h",
    "lambda_w",
    "std",
    "seed",
    "multiplier",
    "scale",
    "gain",
    "dir",
    "noise",
    "plugin",
    "id",
    "params",
    "lr",
    "batch_size",
    "momentum",
    "dampening",
    "beta1",
    "beta2",
    "eps",
    "weight_decay",
    "schedule",
    "kind",
    "every",
    "gamma",
    "warmup",
    "steps",
    "min_lr",
    "max_steps",
    "tol",
    "record_every",
    "grad_path",
    "max_memory_gib",
    "rank_tol",
    "hessian",
    "range",
    "typo",
];

const STRINGS: &[&str] = &[
    "gaussian",
    "scaled",
    "orthogonal",
    "npy",
    "dnc",
    "low_rank",
    "gd",
    "sgd",
    "momentum",
    "nesterov",
    "adam",
    "adamw",
    "linear",
    "relu",
    "cross_entropy",
    "mse",
    "auto",
    "factored",
    "layered",
    "constant",
    "step",
    "cosine",
    "npy_ok",
    "npy_bad",
    "not_a_library.so",
    "nosuch.so",
    "/",
    ".",
    "model.width",
    "init.seed",
    "optimizer.lr",
    "train.max_steps",
    "model.lambda",
    "model",
    "sweep",
];

/// Every path to a value inside `v` (objects by key, arrays by index).
fn paths(v: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(o) => {
            for (k, c) in o {
                prefix.push(PathStep::Key(k.clone()));
                paths(c, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                prefix.push(PathStep::Index(i));
                paths(c, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at<'a>(v: &'a mut Value, path: &[PathStep]) -> &'a mut Value {
    path.iter().fold(v, |v, s| match s {
        PathStep::Key(k) => &mut v[k.as_str()],
        PathStep::Index(i) => &mut v[*i],
    })
}

/// One structural mutation of `v`.
fn mutate(v: &mut Value, rng: &mut Rng, seeds: &[Value]) {
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    let path = rng.pick(&all).clone();
    let target = at(v, &path);
    match rng.below(12) {
        0..=3 => *target = interesting(rng),
        4 => *target = json!(rng.pick(STRINGS)),
        5 => {
            // Remove a key from an object (or the value's parent entry).
            if let Value::Object(o) = target {
                if !o.is_empty() {
                    let k = o.keys().nth(rng.below(o.len() as u64) as usize).cloned();
                    if let Some(k) = k {
                        o.shift_remove(&k);
                    }
                }
            }
        }
        6 => {
            if let Value::Object(o) = target {
                o.insert(rng.pick(KEYS).to_string(), interesting(rng));
            } else {
                *target = interesting(rng);
            }
        }
        7 => {
            // Graft a section of another seed.
            let other = rng.pick(seeds);
            let mut op = Vec::new();
            paths(other, &mut Vec::new(), &mut op);
            let p = rng.pick(&op).clone();
            let mut o = other.clone();
            *target = at(&mut o, &p).clone();
        }
        8 => *target = json!([target.clone()]),
        9 => {
            // A sweep over a random field.
            let key = format!(
                "{}.{}",
                rng.pick(&["model", "init", "optimizer", "train", "analysis"]),
                rng.pick(KEYS)
            );
            let axis = if rng.chance(0.5) {
                json!([interesting(rng), interesting(rng)])
            } else {
                let a = rng.range(0, 4) as i64;
                json!({"range": [a, a + rng.range(0, 3) as i64]})
            };
            if let Some(o) = v.as_object_mut() {
                o.insert("sweep".into(), json!({ key: axis }));
            }
        }
        10 => {
            if let Value::Number(n) = target {
                if let Some(x) = n.as_f64() {
                    let f = *rng.pick(&[0.0, -1.0, 2.0, 1e3, 1e-3, 1e300, 0.5]);
                    *target = json!(x * f);
                }
            } else {
                *target = interesting(rng);
            }
        }
        _ => {
            if let Value::Object(o) = target {
                o.insert("name".into(), json!(rng.pick(STRINGS)));
            }
        }
    }
}

/// Byte-level damage to the JSON text (the parser's share).
fn damage(text: &mut String, rng: &mut Rng) {
    let len = text.len().max(1);
    let at = (rng.below(len as u64) as usize).min(text.len());
    let at = (0..=at)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    match rng.below(6) {
        0 => text.truncate(at),
        1 => text.insert(
            at,
            *rng.pick(&['{', '}', '[', ']', '"', ',', ':', '\\', '\u{0}', 'é']),
        ),
        2 => text.insert_str(at, "1e999"),
        3 => text.insert_str(at, "123456789012345678901234567890"),
        4 => {
            let dup = text[at..].chars().take(20).collect::<String>();
            text.insert_str(at, &dup);
        }
        _ => text.insert_str(
            at,
            "\"sweep\": {\"model.width\": {\"range\": [0, 1000000000]}},",
        ),
    }
}

/// Shrink a seed so that a run takes milliseconds (most inputs; the rest keep their sizes).
fn shrink(v: &mut Value, rng: &mut Rng) {
    if !rng.chance(0.9) {
        return;
    }
    if let Some(m) = v.get_mut("model").and_then(Value::as_object_mut) {
        if m.contains_key("per_class") {
            m.insert("classes".into(), json!(rng.range(2, 5)));
            m.insert("per_class".into(), json!(rng.range(1, 3)));
        }
        m.insert("width".into(), json!(rng.range(1, 8)));
        m.insert("layers".into(), json!(rng.range(1, 4)));
    }
    if let Some(o) = v.as_object_mut() {
        let t = o.entry("train").or_insert(json!({}));
        if let Some(t) = t.as_object_mut() {
            t.insert("max_steps".into(), json!(rng.range(1, 20)));
            t.insert("record_every".into(), json!(rng.range(1, 5)));
        }
    }
}

/// The i-th job text of the stream seeded with `seed`.
pub fn generate(seeds: &[Value], seed: u64, index: u64) -> String {
    let mut rng = Rng::new(seed.wrapping_mul(0x1000_0001).wrapping_add(index));
    let mut v = rng.pick(seeds).clone();
    shrink(&mut v, &mut rng);
    for _ in 0..rng.range(0, 4) {
        mutate(&mut v, &mut rng, seeds);
    }
    let mut text = if rng.chance(0.5) {
        serde_json::to_string_pretty(&v)
    } else {
        serde_json::to_string(&v)
    }
    .unwrap_or_default();
    if rng.chance(0.08) {
        damage(&mut text, &mut rng);
    }
    text
}

/// How one job input ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Refused by parsing or validation (a clear error).
    Invalid,
    /// Valid, but not run by the harness (a sweep, or larger than it runs).
    Checked,
    /// Valid and run to the end.
    Ran,
    /// Valid, but the run failed at run time (reported, not a panic).
    RunFailed,
    /// Valid according to `check`, but the run refused its input.
    Mismatch(String),
    /// A plugin initialiser's start was not finite: only known once drawn, so refused when
    /// the run starts, not by validation (docs/job.md).
    PluginStartRefused,
}

/// The largest model the harness trains (bytes of the engine's estimate).
const RUN_MAX_BYTES: u64 = 4 << 20;

/// Validate `text` as `ufm validate` does and, when valid and small, run it for at most 20
/// steps and serialise its result.
pub fn exercise(text: &str, env: &Env) -> Outcome {
    let Ok(job) = engine::job::parse_job(text) else {
        return Outcome::Invalid;
    };
    if engine::job::count_points(&job).is_ok_and(|n| n > 200) {
        // Walking a large grid point by point is what `check` would do; the harness keeps
        // each input short. Counting it is the size check.
        return Outcome::Checked;
    }
    let Ok(checked) = engine::job::check(&job, &env.dir) else {
        return Outcome::Invalid;
    };
    if job.sweep.is_some() {
        return Outcome::Checked;
    }
    let spec = checked.base;
    let params = spec.parameter_count();
    let limit = if job.analysis.hessian { 200 } else { 5000 };
    if checked.largest_bytes > RUN_MAX_BYTES || params > limit {
        return Outcome::Checked;
    }
    let mut job = job;
    job.train.max_steps = job.train.max_steps.min(20);
    match engine::run::execute(&job, &spec, &env.dir, None, &mut |_| {}) {
        Ok(out) => {
            let _ = serde_json::to_string(&out.result);
            Outcome::Ran
        }
        // The non-finite start check is the job error at field `init` (run::initial_params).
        Err(engine::Error::Job(e))
            if matches!(job.init, engine::job::InitChoice::Plugin(_)) && e.path == "init" =>
        {
            Outcome::PluginStartRefused
        }
        Err(e) => match e.kind() {
            engine::ErrorKind::Job
            | engine::ErrorKind::Input
            | engine::ErrorKind::Plugin
            | engine::ErrorKind::Limit => Outcome::Mismatch(e.to_string()),
            _ => Outcome::RunFailed,
        },
    }
}
