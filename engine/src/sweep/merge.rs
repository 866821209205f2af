//! `ufm merge DIR... --out OUT`: combine the folders of one sweep run in shards (or pieces) into
//! one folder with all runs (sorted by grid index) and one summary. Folders of different sweeps
//! (different sweep_hash) are refused.

use super::record::RunRecord;
use super::runner::write_summary;
use super::store::{read_runs, SweepMeta, RUNS_FILE};
use super::summary::Summary;
use crate::job::expand_sweep;
use crate::Error;
use indexmap::IndexMap;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Merge `dirs` into `out` (which may be one of them). Returns the merged summary.
pub fn merge(dirs: &[&Path], out: &Path) -> Result<Summary, Error> {
    let Some(first) = dirs.first() else {
        return Err(Error::Input("merge: give at least one sweep folder".into()));
    };
    let mut meta = SweepMeta::read(first)?;
    meta.shard = None; // the merged folder is no shard
    let mut by_index: BTreeMap<usize, RunRecord> = BTreeMap::new();
    for dir in dirs {
        let m = SweepMeta::read(dir)?;
        if m.sweep_hash != meta.sweep_hash {
            return Err(Error::Input(format!(
                "{}: holds another sweep than {} (sweep_hash {} vs {}); only shards of one job can be merged",
                dir.display(),
                first.display(),
                m.sweep_hash,
                meta.sweep_hash
            )));
        }
        let path = dir.join(RUNS_FILE);
        if !path.exists() {
            continue;
        }
        let (records, _) = read_runs(&path)?;
        for r in records {
            if meta.point_hashes.get(r.index) != Some(&r.job_hash) {
                return Err(Error::Input(format!(
                    "{}: run {} does not belong to this sweep",
                    path.display(),
                    r.index
                )));
            }
            by_index.entry(r.index).or_insert(r);
        }
    }
    let grid = if meta.job.sweep.is_some() {
        expand_sweep(&meta.job).map_err(|e| Error::Input(format!("sweep.json: {e}")))?
    } else {
        vec![]
    };
    let assignments: Vec<IndexMap<String, Value>> = if grid.is_empty() {
        vec![IndexMap::new()]
    } else {
        grid.into_iter().map(|p| p.assignments).collect()
    };
    std::fs::create_dir_all(out)
        .map_err(|e| Error::Runtime(format!("cannot create {}: {e}", out.display())))?;
    let records: Vec<RunRecord> = by_index.into_values().collect();
    let mut text = String::new();
    for r in &records {
        text.push_str(&serde_json::to_string(r).expect("record serialises"));
        text.push('\n');
    }
    meta.write(out)?;
    crate::io::write_atomic(&out.join(RUNS_FILE), text.as_bytes())
        .map_err(|e| Error::Runtime(format!("cannot write into {}: {e}", out.display())))?;
    write_summary(out, &meta, &assignments, &records)
}
