//! From job text to a checked [`Job`] and its [`ModelSpec`]: strict parsing with field paths,
//! then range checks that name the field and the allowed range.

use super::errors::{from_serde, JobError};
use super::schema::{BuiltinInit, InitChoice, Job, OptimizerChoice, Schedule};
use crate::model::{Activation, ModelSpec};

/// Parse job text strictly. Unknown fields and wrong types are errors naming their path.
pub fn parse_job(text: &str) -> Result<Job, JobError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| JobError::new("", format!("not valid JSON: {e}")))?;
    parse_value(value)
}

/// Parse an already-decoded JSON value as a job (used for expanded sweep points).
pub fn parse_value(value: serde_json::Value) -> Result<Job, JobError> {
    serde_path_to_error::deserialize(value).map_err(from_serde)
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
    let spec = super::data::validate_backbone(job, model_spec(job)?)?;
    validate_init(&job.init)?;
    validate_structured(&job.init, &spec)?;
    validate_optimizer(&job.optimizer, &spec)?;
    let t = &job.train;
    at_least("train.max_steps", t.max_steps, 1)?;
    at_least("train.record_every", t.record_every, 1)?;
    finite_at_least("train.tol", t.tol, 0.0)?;
    finite_positive("train.max_memory_gib", t.max_memory_gib)?;
    let r = job.analysis.rank_tol;
    if !(r > 0.0 && r < 1.0) {
        return Err(JobError::new(
            "analysis.rank_tol",
            format!("must be in (0, 1), got {r}"),
        ));
    }
    let need = estimated_bytes(&spec) as f64 / (1u64 << 30) as f64;
    if need > t.max_memory_gib {
        return Err(JobError::new(
            "model",
            format!(
                "needs about {need:.2} GiB, above train.max_memory_gib = {} (raise it to run anyway)",
                t.max_memory_gib
            ),
        ));
    }
    Ok(spec)
}

fn model_spec(job: &Job) -> Result<ModelSpec, JobError> {
    let m = &job.model;
    let class_sizes = match (&m.per_class, &m.class_sizes) {
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
            vec![*n; k]
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
            sizes.clone()
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
            // The rule's own params are checked by the rule itself (the same code a plugin
            // load runs); its messages name `params.X`, which is `optimizer.X` here.
            if let Err(e) = crate::plugin::builtin().optimizer(b.id(), &b.plugin_params()) {
                let msg = e
                    .split_once(" rejected its params: ")
                    .map_or(e.as_str(), |x| x.1);
                return Err(match msg.strip_prefix("params.") {
                    Some(rest) => match rest.split_once(": ") {
                        Some((field, m)) => JobError::new(format!("optimizer.{field}"), m),
                        None => JobError::new("optimizer", rest),
                    },
                    None => JobError::new("optimizer", msg),
                });
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
/// workspace, and the end-of-run analysis, which materialises every d x N feature matrix.
pub fn estimated_bytes(spec: &ModelSpec) -> u64 {
    let (k, d, n, l) = (
        spec.classes() as u64,
        spec.width as u64,
        spec.samples() as u64,
        spec.layers as u64,
    );
    let params = d * n + (l - 1) * d * d + k * d;
    let relu = u64::from(spec.activation == Activation::Relu);
    let workspace = 2 * k * n + 2 * l * k * d + (l - 1) * d * n * (1 + relu) + 2 * d * n;
    let analysis = 2 * l * d * n + 3 * d * n.max(d);
    8 * (6 * params + workspace + analysis)
}
