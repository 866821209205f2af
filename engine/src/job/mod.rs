//! Job files: the serde schema, strict parsing and validation with field paths, sweep expansion.

mod data;
mod errors;
mod schema;
mod sweep;
mod validate;

pub use data::{BackboneSection, DataSection, DataSource, Regularization};
pub use errors::JobError;
pub use schema::*;
pub use sweep::{expand_sweep, GridPoint};
pub use validate::{estimated_bytes, parse_job, parse_value, validate};

use std::path::{Path, PathBuf};

/// A job read from a file, validated, with the folder that relative paths in it refer to.
pub struct LoadedJob {
    pub job: Job,
    pub spec: crate::model::ModelSpec,
    pub base_dir: PathBuf,
    /// The sweep's grid points, each with its own validated job (empty without `sweep`).
    pub grid: Vec<GridPoint>,
}

/// Read, parse and validate the job file at `path`, expanding and validating its sweep.
pub fn load(path: &Path) -> Result<LoadedJob, JobError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| JobError::new("", format!("cannot read job file {}: {e}", path.display())))?;
    let job = parse_job(&text)?;
    let spec = validate(&job)?;
    let grid = expand_sweep(&job)?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(LoadedJob {
        job,
        spec,
        base_dir,
        grid,
    })
}

/// JSON Schema of the job file, generated from the types above.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Job)).expect("schema serialises")
}

#[cfg(test)]
mod tests;
