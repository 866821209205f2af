//! Job files: the serde schema, strict parsing and validation with field paths, sweep expansion.

mod data;
mod errors;
mod preflight;
mod schema;
mod sweep;
mod validate;

pub use data::{BackboneSection, DataSection, DataSource, Regularization};
pub use errors::JobError;
pub use preflight::{check_npy_dir, check_run_inputs, max_structured_scale, structured_rank};
pub use schema::*;
pub use sweep::{count_points, expand_sweep, for_each_point, GridPoint, MAX_SWEEP_POINTS};
pub use validate::{
    check_model_memory, estimated_bytes, estimated_bytes_for, parse_job, parse_value,
    update_memory, validate, UpdateMemory,
};

use crate::Error;
use std::path::{Path, PathBuf};

/// A job read from a file, validated, with the folder that relative paths in it refer to.
pub struct LoadedJob {
    pub job: Job,
    pub spec: crate::model::ModelSpec,
    pub base_dir: PathBuf,
    /// The sweep's grid points, each with its own validated job (empty without `sweep`).
    pub grid: Vec<GridPoint>,
}

/// Read, parse and validate the job file at `path`, expanding and validating its sweep, and
/// make the checks a run makes before training ([`check_run_inputs`]) for every point. A plugin
/// that cannot be loaded, lacks the id or refuses its params is [`Error::Plugin`]; anything
/// else wrong with the job is [`Error::Job`].
pub fn load(path: &Path) -> Result<LoadedJob, Error> {
    let job = read(path)?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut grid = Vec::with_capacity(count_points(&job)? as usize);
    let checked = check_with(&job, &base_dir, |p| grid.push(p))?;
    Ok(LoadedJob {
        job,
        spec: checked.base,
        base_dir,
        grid,
    })
}

/// Read and parse a job file (no range checks: see [`check_file`]).
pub fn read(path: &Path) -> Result<Job, JobError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| JobError::new("", format!("cannot read job file {}: {e}", path.display())))?;
    parse_job(&text)
}

/// The outcome of [`check`]: how many runs the job makes and the largest of them.
pub struct Checked {
    /// The base job's model (the job without its sweep).
    pub base: crate::model::ModelSpec,
    /// Runs: the sweep's points, or 1.
    pub runs: u64,
    /// The model of the point with the largest memory estimate (the base model without sweep).
    pub largest: crate::model::ModelSpec,
    /// Its memory estimate in bytes ([`estimated_bytes_for`] its update).
    pub largest_bytes: u64,
}

/// Everything `ufm run` / `ufm sweep` check before training, without training or keeping the
/// grid: the job, every sweep point one at a time (grids are counted before they are walked),
/// and each run's inputs (plugins, `.npy` headers, structured starts). Relative paths are
/// resolved against `base_dir`.
/// Errors as for [`load`].
pub fn check(job: &Job, base_dir: &Path) -> Result<Checked, Error> {
    check_with(job, base_dir, |_| {})
}

/// Check the job file at `path` as [`check`] does.
pub fn check_file(path: &Path) -> Result<Checked, Error> {
    let job = read(path)?;
    check(&job, path.parent().unwrap_or(Path::new("")))
}

/// The memory estimate of one run of `job` (model `spec`), for the update it will use.
fn job_bytes(job: &Job, spec: &crate::model::ModelSpec) -> u64 {
    let update = update_memory(job, spec.width, spec.layers, spec.activation);
    estimated_bytes_for(spec, update)
}

fn check_with(
    job: &Job,
    base_dir: &Path,
    mut keep: impl FnMut(GridPoint),
) -> Result<Checked, Error> {
    let base = validate(job)?;
    if job.sweep.is_none() {
        check_run_inputs(job, &base, base_dir)?;
        let bytes = job_bytes(job, &base);
        return Ok(Checked {
            largest: base.clone(),
            base,
            runs: 1,
            largest_bytes: bytes,
        });
    }
    let mut largest: Option<(u64, crate::model::ModelSpec)> = None;
    let runs = for_each_point(job, |index, point, spec| {
        check_run_inputs(&point.job, &spec, base_dir).map_err(|e| {
            let at: Vec<String> = point
                .assignments
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            let at = format!("sweep point {index}: {}", at.join(", "));
            match e {
                Error::Job(j) => JobError::new(format!("{} ({at})", j.path), j.message).into(),
                // A plugin's failure keeps its kind (UFM_STATUS_PLUGIN).
                e => e.context(&format!("({at})")),
            }
        })?;
        let bytes = job_bytes(&point.job, &spec);
        if largest.as_ref().is_none_or(|(b, _)| bytes > *b) {
            largest = Some((bytes, spec));
        }
        keep(point);
        Ok::<_, Error>(())
    })?;
    let (largest_bytes, largest) = largest.unwrap_or_else(|| (job_bytes(job, &base), base.clone()));
    Ok(Checked {
        base,
        runs,
        largest,
        largest_bytes,
    })
}

/// JSON Schema of the job file, generated from the types above.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Job)).expect("schema serialises")
}

#[cfg(test)]
mod tests;
