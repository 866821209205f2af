//! The checks `ufm run` makes before training, made without training: `ufm validate` and
//! `ufm_job_validate` run them so that "valid" means "will start". Plugins are opened and asked
//! for the id with the job's params, `.npy` starts are checked by their headers (shape, dtype,
//! length; no data read), and `dnc` / `low_rank` starts by their rank and scale.

use super::errors::JobError;
use super::schema::{BuiltinInit, InitChoice, Job, OptimizerChoice, StructuredInit};
use crate::model::{ModelSpec, Params};
use crate::Error;
use std::path::Path;

/// Make every check that starting a run of `job` makes, short of drawing the start and
/// training. Relative paths are resolved against `base_dir` (the job file's folder). A plugin
/// failure is [`Error::Plugin`] (what starting the run reports), the rest [`Error::Job`].
pub fn check_run_inputs(job: &Job, spec: &ModelSpec, base_dir: &Path) -> Result<(), Error> {
    match &job.init {
        InitChoice::Plugin(p) => check_plugin(base_dir, true, &p.plugin, &p.id, &p.params)?,
        InitChoice::Builtin(BuiltinInit::Npy(n)) => {
            check_npy_dir(spec, &base_dir.join(&n.dir))?;
        }
        InitChoice::Builtin(BuiltinInit::Dnc(c)) => check_structured(spec, c, false)?,
        InitChoice::Builtin(BuiltinInit::LowRank(c)) => check_structured(spec, c, true)?,
        InitChoice::Builtin(_) => {}
    }
    if let OptimizerChoice::Plugin(p) = &job.optimizer {
        check_plugin(base_dir, false, &p.plugin, &p.id, &p.params)?;
    }
    Ok(())
}

/// Open the plugin `library` of the job's `init` (`initializer`) or `optimizer` section and
/// create its initialiser or optimiser `id` from `params`, as starting the run will. Every
/// failure is [`Error::Plugin`], its message starting with the field (`optimizer.plugin`,
/// `optimizer.id`, `optimizer.params`).
fn check_plugin(
    base_dir: &Path,
    initializer: bool,
    library: &str,
    id: &str,
    params: &serde_json::Value,
) -> Result<(), Error> {
    let (section, kind) = if initializer {
        ("init", "initializer")
    } else {
        ("optimizer", "optimizer")
    };
    let lib = crate::plugin::load(&crate::plugin::path(base_dir, library))
        .map_err(|e| e.context(&format!("{section}.plugin")))?;
    let ids = if initializer {
        lib.initializer_ids()
    } else {
        lib.optimizer_ids()
    };
    if !ids.contains(&id) {
        let detail = format!(
            "plugin {} has no {kind} `{id}` (it has: {})",
            lib.label,
            ids.join(", ")
        );
        return Err(Error::Plugin {
            library: lib.label.clone(),
            id: Some(id.to_string()),
            code: None,
            message: format!("{section}.id: {detail}"),
            detail,
        });
    }
    let created = if initializer {
        lib.initializer(id, params).map(drop)
    } else {
        lib.optimizer(id, params).map(drop)
    };
    created.map_err(|e| e.context(&format!("{section}.params")))
}

/// H1.npy, W1.npy, ... in `dir`: each a float64 2-D array of the model's shape whose file
/// holds all its data (headers only; the data is read when the run starts).
pub fn check_npy_dir(spec: &ModelSpec, dir: &Path) -> Result<(), JobError> {
    if !dir.is_dir() {
        return Err(JobError::new(
            "init.dir",
            format!("{} is not a folder", dir.display()),
        ));
    }
    for (name, (r, c)) in Params::names(spec.layers).iter().zip(spec.shapes()) {
        let path = dir.join(format!("{name}.npy"));
        let h = crate::io::npy::read_header(&path)
            .map_err(|e| JobError::new("init.dir", e.to_string()))?;
        if (h.rows, h.cols) != (r as u64, c as u64) {
            return Err(JobError::new(
                "init.dir",
                format!(
                    "{} has shape ({}, {}), the model needs ({r}, {c})",
                    path.display(),
                    h.rows,
                    h.cols
                ),
            ));
        }
    }
    Ok(())
}

/// The rank of the paper's logit matrix at a positive scale: K - 1 for DNC, one per pair (and
/// one for an odd last class) for the paired low-rank structure of Eq. (5).
pub fn structured_rank(classes: usize, low_rank: bool) -> usize {
    if low_rank {
        classes.div_ceil(2)
    } else {
        classes - 1
    }
}

/// A `dnc` / `low_rank` start needs a width of at least the rank of its logits, and a scale
/// whose logit matrix has a finite norm (its SVD is taken to build the start).
fn check_structured(spec: &ModelSpec, c: &StructuredInit, low_rank: bool) -> Result<(), JobError> {
    let name = if low_rank { "low_rank" } else { "dnc" };
    let rank = if c.scale > 0.0 {
        structured_rank(spec.classes(), low_rank)
    } else {
        0
    };
    if spec.width < rank {
        return Err(JobError::new(
            "model.width",
            format!(
                "must be >= {rank} (the rank of the `{name}` logits for K = {}), got {}",
                spec.classes(),
                spec.width
            ),
        ));
    }
    let max = max_structured_scale(spec.classes(), spec.samples());
    if c.scale > max {
        return Err(JobError::new(
            "init.scale",
            format!(
                "must be <= {max:.3e} for K = {}, N = {} (the start's logit matrix must have a \
                 finite norm), got {:?}",
                spec.classes(),
                spec.samples(),
                c.scale
            ),
        ));
    }
    if !(c.noise * 64.0).is_finite() {
        return Err(JobError::new(
            "init.noise",
            format!("must be <= {:.3e}, got {:?}", f64::MAX / 64.0, c.noise),
        ));
    }
    Ok(())
}

/// The largest logit scale whose `K x N` structure matrix has a finite sum of squares (the SVD
/// behind the aligned start needs it): `scale^2 * 4 K N < f64::MAX`, with a factor 4 of margin
/// for the low-rank blocks' singular value 2.
pub fn max_structured_scale(classes: usize, samples: usize) -> f64 {
    (f64::MAX / (4.0 * classes as f64 * samples as f64)).sqrt()
}
