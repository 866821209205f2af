//! From job text to a checked [`Job`] and its [`ModelSpec`]: strict parsing with field paths,
//! then range checks that name the field and the allowed range.

use super::errors::{from_serde, JobError};
use super::schema::{BuiltinInit, BuiltinOptimizer, InitChoice, Job, OptimizerChoice, Schedule};
use crate::model::{Activation, ModelSpec};

/// Parse job text strictly. Unknown fields and wrong types are errors naming their path.
pub fn parse_job(text: &str) -> Result<Job, JobError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| JobError::new("", format!("not valid JSON: {e}")))?;
    parse_value(value)
}

/// Parse an already-decoded JSON value as a job (used for expanded sweep points).
pub fn parse_value(value: serde_json::Value) -> Result<Job, JobError> {
    sections_are_objects(&value)?;
    serde_path_to_error::deserialize(value).map_err(from_serde)
}

/// The job and its sections must be JSON objects: serde would otherwise read a JSON array
/// positionally into a struct (`"train": []` as every default, a whole job as an 8-element
/// list), which nobody writes on purpose.
fn sections_are_objects(value: &serde_json::Value) -> Result<(), JobError> {
    let object = |v: &serde_json::Value, path: &str| {
        if v.is_object() {
            Ok(())
        } else {
            let what = match v {
                serde_json::Value::Array(_) => "a list",
                serde_json::Value::Null => "null",
                serde_json::Value::Bool(_) => "a boolean",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Object(_) => "an object",
            };
            Err(JobError::new(
                path,
                format!("must be a JSON object {{...}}, got {what}"),
            ))
        }
    };
    object(value, "")?;
    for section in ["model", "init", "optimizer", "train", "analysis", "sweep"] {
        if let Some(v) = value.get(section) {
            object(v, section)?;
        }
    }
    if let Some(v) = value.get("optimizer").and_then(|o| o.get("schedule")) {
        object(v, "optimizer.schedule")?;
    }
    Ok(())
}

fn at_least<T: PartialOrd + std::fmt::Display>(path: &str, v: T, min: T) -> Result<(), JobError> {
    if v >= min {
        Ok(())
    } else {
        Err(JobError::new(path, format!("must be >= {min}, got {v}")))
    }
}

fn finite_at_least(path: &str, v: f64, min: f64) -> Result<(), JobError> {
    if v.is_finite() && v >= min {
        Ok(())
    } else {
        Err(JobError::new(
            path,
            format!("must be a finite number >= {min}, got {v}"),
        ))
    }
}

fn finite_positive(path: &str, v: f64) -> Result<(), JobError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(JobError::new(
            path,
            format!("must be a finite number > 0, got {v}"),
        ))
    }
}

/// Check every range and cross-field rule; on success return the model.
///
/// Sizes are checked before anything of the model's size is allocated: the memory estimate is
/// computed in 128-bit arithmetic from K, N, d and L, compared with `train.max_memory_gib` and
/// with the address space, and only then is the model built.
pub fn validate(job: &Job) -> Result<ModelSpec, JobError> {
    if job.schema_version != 1 {
        return Err(JobError::new(
            "schema_version",
            format!(
                "must be 1 (the only version this ufm reads), got {}",
                job.schema_version
            ),
        ));
    }
    let t = &job.train;
    at_least("train.max_steps", t.max_steps, 1)?;
    at_least("train.record_every", t.record_every, 1)?;
    if let Some(m) = t.max_time {
        finite_positive("train.max_time", m)?;
    }
    finite_at_least("train.tol", t.tol, 0.0)?;
    finite_positive("train.max_memory_gib", t.max_memory_gib)?;
    let most = crate::linalg::threads::MAX_THREADS;
    if !(1..=most).contains(&t.threads) {
        return Err(JobError::new(
            "train.threads",
            format!("must be in 1..={most}, got {}", t.threads),
        ));
    }
    let spec = super::data::validate_backbone(job, model_spec(job)?)?;
    validate_init(&job.init)?;
    validate_structured(&job.init, &spec)?;
    validate_optimizer(&job.optimizer, &spec)?;
    let r = job.analysis.rank_tol;
    if !(r > 0.0 && r < 1.0) {
        return Err(JobError::new(
            "analysis.rank_tol",
            format!("must be in (0, 1), got {r}"),
        ));
    }
    Ok(spec)
}

/// The largest estimate any run may have, whatever `train.max_memory_gib` says: every size
/// derived from it (d N, K d, ...) then fits in `usize` and in one allocation (`isize::MAX`).
const ADDRESS_SPACE_BYTES: u128 = isize::MAX as u128;

/// The model's sizes before the model is built: K, N, d, L (never allocated from).
#[derive(Clone, Copy, Debug)]
struct Dims {
    k: u128,
    n: u128,
    d: u128,
    l: u128,
    relu: bool,
    update: UpdateMemory,
}

/// What the d x d weights W_1..W_{L-1} cost during training, by update (`train.update`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateMemory {
    /// Parameters, gradient, the second parameter buffer and up to two optimiser states: 6x.
    Separate,
    /// The fused step: the weights once, plus the momentum state when `state`; no gradient
    /// and no second buffer (measured 1.02x the parameter bytes for GD at d = 8192,
    /// BENCHMARKS.md).
    Fused { state: bool },
}

/// The update a job's run will use, as [`crate::train::Trainer::fused_rule_for`] resolves it
/// (built-in gd / sgd / momentum by name, linear, L >= 2, factored gradient; `auto` from
/// width 1024), without building anything. Backbone runs always update separately.
pub fn update_memory(
    job: &Job,
    width: usize,
    layers: usize,
    activation: Activation,
) -> UpdateMemory {
    use crate::train::{UpdateMode, FUSED_AUTO_WIDTH};
    let factored = job.train.grad_path != crate::grad::GradPath::Layered
        && activation == Activation::Linear
        && layers >= 2
        && job.backbone.is_none();
    let state = match &job.optimizer {
        OptimizerChoice::Builtin(BuiltinOptimizer::Gd(_) | BuiltinOptimizer::Sgd(_)) => Some(false),
        OptimizerChoice::Builtin(BuiltinOptimizer::Momentum(_)) => Some(true),
        _ => None,
    };
    let fused = factored
        && state.is_some()
        && match job.train.update {
            UpdateMode::Separate => false,
            UpdateMode::Fused => true,
            UpdateMode::Auto => width >= FUSED_AUTO_WIDTH,
        };
    match state {
        Some(state) if fused => UpdateMemory::Fused { state },
        _ => UpdateMemory::Separate,
    }
}

/// Refuse a model whose memory estimate exceeds the limit or the address space, before it is
/// built. The message names the sizes so that the user sees which one is too large.
fn check_memory(dims: Dims, max_gib: f64) -> Result<(), JobError> {
    let bytes = bytes_for(dims);
    let what = format!(
        "K = {}, N = {}, d = {}, L = {}",
        dims.k, dims.n, dims.d, dims.l
    );
    let Some(bytes) = bytes.filter(|&b| b <= ADDRESS_SPACE_BYTES) else {
        return Err(JobError::new(
            "model",
            format!("{what} needs more memory than a 64-bit address space holds"),
        ));
    };
    let need = bytes as f64 / (1u64 << 30) as f64;
    if need > max_gib {
        return Err(JobError::new(
            "model",
            format!(
                "{what} needs about {need:.2} GiB, above train.max_memory_gib = {max_gib} \
                 (raise it to run anyway)"
            ),
        ));
    }
    Ok(())
}

/// Refuse a model of K classes, N samples, width d and L layers whose memory estimate exceeds
/// `max_gib` GiB or the address space, before anything of its size is built (for callers that
/// build models without a job, e.g. `ufm theory hessian`).
pub fn check_model_memory(
    k: usize,
    n_total: u128,
    d: usize,
    l: usize,
    relu: bool,
    max_gib: f64,
) -> Result<(), JobError> {
    check_memory(
        Dims {
            k: k as u128,
            n: n_total,
            d: d as u128,
            l: l as u128,
            relu,
            update: UpdateMemory::Separate,
        },
        max_gib,
    )
}

fn model_spec(job: &Job) -> Result<ModelSpec, JobError> {
    let m = &job.model;
    // K and N first, without allocating anything of size K or N.
    let (k, n_total) = match (&m.per_class, &m.class_sizes) {
        (Some(_), Some(_)) => {
            return Err(JobError::new(
                "model",
                "give exactly one of per_class and class_sizes, not both",
            ))
        }
        (None, None) => {
            return Err(JobError::new(
                "model",
                "give exactly one of per_class and class_sizes",
            ))
        }
        (Some(n), None) => {
            let k = m
                .classes
                .ok_or_else(|| JobError::new("model.classes", "required with per_class"))?;
            at_least("model.classes", k, 2)?;
            at_least("model.per_class", *n, 1)?;
            (k, k as u128 * *n as u128)
        }
        (None, Some(sizes)) => {
            if sizes.len() < 2 {
                return Err(JobError::new(
                    "model.class_sizes",
                    format!("must list >= 2 classes, got {}", sizes.len()),
                ));
            }
            if let Some(k) = m.classes {
                if k != sizes.len() {
                    return Err(JobError::new(
                        "model.classes",
                        format!("is {k} but class_sizes lists {} classes", sizes.len()),
                    ));
                }
            }
            for (i, &n) in sizes.iter().enumerate() {
                at_least(&format!("model.class_sizes[{i}]"), n, 1)?;
            }
            (sizes.len(), sizes.iter().map(|&n| n as u128).sum())
        }
    };
    at_least("model.width", m.width, 1)?;
    at_least("model.layers", m.layers, 1)?;
    let (lambda_h, lambda_w) = match (m.lambda, m.lambda_h, m.lambda_w) {
        (Some(l), None, None) => {
            finite_at_least("model.lambda", l, 0.0)?;
            (l, l)
        }
        (None, Some(h), Some(w)) => {
            finite_at_least("model.lambda_h", h, 0.0)?;
            finite_at_least("model.lambda_w", w, 0.0)?;
            (h, w)
        }
        _ => {
            return Err(JobError::new(
                "model",
                "give either lambda, or both lambda_h and lambda_w",
            ))
        }
    };
    let dims = Dims {
        k: k as u128,
        n: n_total,
        d: m.width as u128,
        l: m.layers as u128,
        relu: m.activation == Activation::Relu,
        update: update_memory(job, m.width, m.layers, m.activation),
    };
    check_memory(dims, job.train.max_memory_gib)?;
    // Within the limit (and the address space): K, N fit in usize and can be allocated.
    let class_sizes = match (&m.per_class, &m.class_sizes) {
        (Some(n), None) => vec![*n; k],
        (None, Some(sizes)) => sizes.clone(),
        _ => unreachable!("checked above"),
    };
    Ok(ModelSpec {
        class_sizes,
        width: m.width,
        layers: m.layers,
        activation: m.activation,
        loss: m.loss,
        lambda_h,
        lambda_w,
    })
}

fn validate_init(init: &InitChoice) -> Result<(), JobError> {
    match init {
        InitChoice::Builtin(b) => {
            let multiplier = match b {
                BuiltinInit::Gaussian(c) => {
                    finite_at_least("init.std", c.std, 0.0)?;
                    c.multiplier
                }
                BuiltinInit::Scaled(c) => {
                    finite_at_least("init.scale", c.scale, 0.0)?;
                    c.multiplier
                }
                BuiltinInit::Orthogonal(c) => {
                    if !c.gain.is_finite() {
                        return Err(JobError::new(
                            "init.gain",
                            format!("must be finite, got {}", c.gain),
                        ));
                    }
                    c.multiplier
                }
                BuiltinInit::Npy(c) => {
                    if c.dir.is_empty() {
                        return Err(JobError::new("init.dir", "must not be empty"));
                    }
                    c.multiplier
                }
                BuiltinInit::Dnc(c) | BuiltinInit::LowRank(c) => {
                    finite_at_least("init.scale", c.scale, 0.0)?;
                    finite_at_least("init.noise", c.noise, 0.0)?;
                    c.multiplier
                }
            };
            if !multiplier.is_finite() {
                return Err(JobError::new(
                    "init.multiplier",
                    format!("must be finite, got {multiplier}"),
                ));
            }
            // The start must stay finite: a draw times the init's magnitude times the
            // multiplier, with a margin of 64 for the draw (|N(0, 1)| draws stay far below).
            let (field, magnitude) = match b {
                BuiltinInit::Gaussian(c) => ("init.std", c.std),
                BuiltinInit::Scaled(c) => ("init.scale", c.scale),
                BuiltinInit::Orthogonal(c) => ("init.gain", c.gain.abs()),
                BuiltinInit::Npy(_) => ("init.multiplier", 0.0),
                BuiltinInit::Dnc(c) | BuiltinInit::LowRank(c) => ("init.noise", c.noise),
            };
            if !(magnitude * multiplier.abs().max(1.0) * 64.0).is_finite() {
                return Err(JobError::new(
                    field,
                    format!(
                        "times init.multiplier ({multiplier:?}) must stay below {:.3e} so that \
                         the start is finite, got {magnitude:?}",
                        f64::MAX / 64.0
                    ),
                ));
            }
            Ok(())
        }
        InitChoice::Plugin(p) => {
            if !p.multiplier.is_finite() {
                return Err(JobError::new(
                    "init.multiplier",
                    format!("must be finite, got {}", p.multiplier),
                ));
            }
            validate_plugin_ref("init", &p.plugin, &p.id)
        }
    }
}

fn validate_structured(init: &InitChoice, spec: &ModelSpec) -> Result<(), JobError> {
    let name = match init {
        InitChoice::Builtin(BuiltinInit::Dnc(_)) => "dnc",
        InitChoice::Builtin(BuiltinInit::LowRank(_)) => "low_rank",
        _ => return Ok(()),
    };
    if spec.activation != Activation::Linear {
        return Err(JobError::new(
            "init.name",
            format!("`{name}` needs a linear model (model.activation = linear)"),
        ));
    }
    if spec.per_class().is_none() {
        return Err(JobError::new(
            "init.name",
            format!("`{name}` needs balanced classes (model.per_class)"),
        ));
    }
    Ok(())
}

fn validate_schedule(schedule: Option<&Schedule>) -> Result<(), JobError> {
    let warmup_ok = |_: u64| Ok::<(), JobError>(());
    match schedule {
        None | Some(Schedule::Constant { .. }) => Ok(()),
        Some(Schedule::Step {
            every,
            gamma,
            warmup,
        }) => {
            at_least("optimizer.schedule.every", *every, 1)?;
            finite_positive("optimizer.schedule.gamma", *gamma)?;
            warmup_ok(*warmup)
        }
        Some(Schedule::Cosine {
            steps,
            min_lr,
            warmup,
        }) => {
            if let Some(s) = steps {
                at_least("optimizer.schedule.steps", *s, 1)?;
            }
            finite_at_least("optimizer.schedule.min_lr", *min_lr, 0.0)?;
            warmup_ok(*warmup)
        }
    }
}

fn validate_optimizer(opt: &OptimizerChoice, spec: &ModelSpec) -> Result<(), JobError> {
    let (lr, schedule, batch) = match opt {
        OptimizerChoice::Builtin(b) => {
            // The rule's own params are checked by the rule's code (what a plugin load runs
            // too), on the typed section: its field is `optimizer.<field>` here.
            if let Err(e) = b.check_params() {
                return Err(JobError::new(format!("optimizer.{}", e.field), e.message));
            }
            b.host_settings()
        }
        OptimizerChoice::Plugin(p) => {
            validate_plugin_ref("optimizer", &p.plugin, &p.id)?;
            (p.lr, p.schedule.as_ref(), p.batch_size)
        }
    };
    finite_positive("optimizer.lr", lr)?;
    validate_schedule(schedule)?;
    if let Some(b) = batch {
        at_least("optimizer.batch_size", b, 1)?;
        if b > spec.samples() {
            return Err(JobError::new(
                "optimizer.batch_size",
                format!(
                    "must be <= the number of samples N = {}, got {b}",
                    spec.samples()
                ),
            ));
        }
    }
    Ok(())
}

fn validate_plugin_ref(section: &str, plugin: &str, id: &str) -> Result<(), JobError> {
    if plugin.is_empty() {
        return Err(JobError::new(
            format!("{section}.plugin"),
            "must be a library path",
        ));
    }
    if id.is_empty() {
        return Err(JobError::new(
            format!("{section}.id"),
            "must name an id the plugin exports",
        ));
    }
    Ok(())
}

/// A generous estimate of the memory one run needs, in bytes: parameters, gradient, the
/// trainer's second parameter buffer and optimiser state (up to two buffers), the gradient
/// workspace, the end-of-run analysis, which materialises every d x N feature matrix, and the
/// per-matrix and per-sample bookkeeping. Saturates at `u64::MAX` (a validated model is far
/// below). This is the separate update's; [`estimated_bytes_for`] takes the update.
pub fn estimated_bytes(spec: &ModelSpec) -> u64 {
    estimated_bytes_for(spec, UpdateMemory::Separate)
}

/// As [`estimated_bytes`], for the update `update` (see [`update_memory`]).
pub fn estimated_bytes_for(spec: &ModelSpec, update: UpdateMemory) -> u64 {
    let dims = Dims {
        k: spec.classes() as u128,
        n: spec.class_sizes.iter().map(|&n| n as u128).sum(),
        d: spec.width as u128,
        l: spec.layers as u128,
        relu: spec.activation == Activation::Relu,
        update,
    };
    bytes_for(dims).map_or(u64::MAX, |b| u64::try_from(b).unwrap_or(u64::MAX))
}

/// The estimate of [`estimated_bytes`] in checked 128-bit arithmetic (`None` on overflow).
fn bytes_for(
    Dims {
        k,
        n,
        d,
        l,
        relu,
        update,
    }: Dims,
) -> Option<u128> {
    let relu = u128::from(relu);
    let dn = d.checked_mul(n)?;
    let dd_layers = l.checked_sub(1)?.checked_mul(d.checked_mul(d)?)?;
    let kd = k.checked_mul(d)?;
    let kn = k.checked_mul(n)?;
    let small = dn.checked_add(kd)?;
    // Parameters, gradient, second buffer, optimiser states: 6 copies of every matrix for the
    // separate update; the fused one keeps the d x d weights once (twice with momentum) and
    // adds its own d x K factor buffers (two slots of 2L - 1, one transposed copy of W_L).
    let copies = match update {
        UpdateMemory::Separate => small.checked_add(dd_layers)?.checked_mul(6)?,
        UpdateMemory::Fused { state } => small
            .checked_mul(6)?
            .checked_add(dd_layers.checked_mul(1 + u128::from(state))?)?
            .checked_add(l.checked_mul(4)?.checked_mul(kd)?)?,
    };
    let workspace = kn
        .checked_mul(2)?
        .checked_add(l.checked_mul(kd)?.checked_mul(2)?)?
        .checked_add(l.checked_sub(1)?.checked_mul(dn)?.checked_mul(1 + relu)?)?
        .checked_add(dn.checked_mul(2)?)?;
    // The dense SVD of one d x max(N, d) matrix: its copy, the bidiagonalisation's workspace
    // and faer's packing buffers, measured at ~3.5 copies (engine/tests/memory_estimate.rs).
    let analysis = l
        .checked_mul(dn)?
        .checked_mul(2)?
        .checked_add(d.checked_mul(n.max(d))?.checked_mul(4)?)?;
    let floats = copies.checked_add(workspace)?.checked_add(analysis)?;
    // Labels and class sizes (8 bytes per sample and class), ~256 bytes per matrix.
    let bookkeeping = n
        .checked_add(k)?
        .checked_mul(8)?
        .checked_add(l.checked_mul(256)?)?;
    floats.checked_mul(8)?.checked_add(bookkeeping)
}
