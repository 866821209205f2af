//! `ufm merge --status DIR...`: how far the shards of one sweep are, read from their folders
//! without merging or writing anything: per folder the shard it runs (from `sweep.json`), its
//! runs, how many are recorded, how many of those failed, how many are missing; and the same over
//! the union of the folders. Safe to run while the shards are still running (a torn last line
//! of `runs.jsonl` is not counted, exactly as a resume would not count it).

use super::record::RunRecord;
use super::shard::Shard;
use super::store::{read_runs, SweepMeta, RUNS_FILE};
use crate::train::Status;
use crate::Error;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One folder's progress.
#[derive(Clone, Debug, PartialEq)]
pub struct FolderStatus {
    pub dir: PathBuf,
    /// None when the folder does not hold a sweep yet (its task has not started).
    pub progress: Option<ShardProgress>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ShardProgress {
    /// The shard this folder was last run with (`ALL` for an unsharded sweep).
    pub shard: Shard,
    /// Grid points of that shard.
    pub runs: usize,
    /// Recorded (finished) runs of the shard.
    pub done: usize,
    /// Recorded runs whose status is `diverged` or `failed`.
    pub failed: usize,
    /// runs - done.
    pub missing: usize,
}

/// Progress of the folders of one sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepStatus {
    pub total_runs: usize,
    pub folders: Vec<FolderStatus>,
    /// Distinct grid points recorded in any folder.
    pub done: usize,
    pub failed: usize,
    /// total_runs - done.
    pub missing: usize,
}

/// A run that finished without a usable end point.
pub fn is_failed(r: &RunRecord) -> bool {
    matches!(r.status, Status::Diverged | Status::Failed)
}

/// Progress of `dirs`, which must hold the same sweep (folders without `sweep.json` count as not
/// started; at least one must hold a sweep).
pub fn status(dirs: &[&Path]) -> Result<SweepStatus, Error> {
    let mut first: Option<(PathBuf, SweepMeta)> = None;
    let mut folders = Vec::new();
    let mut recorded: BTreeSet<usize> = BTreeSet::new();
    let mut failed_points: BTreeSet<usize> = BTreeSet::new();
    for dir in dirs {
        if !dir.join(super::store::META_FILE).exists() {
            folders.push(FolderStatus {
                dir: dir.to_path_buf(),
                progress: None,
            });
            continue;
        }
        let meta = SweepMeta::read(dir)?;
        match &first {
            Some((d, m)) if m.sweep_hash != meta.sweep_hash => {
                return Err(Error::Input(format!(
                    "{}: holds another sweep than {} (sweep_hash {} vs {})",
                    dir.display(),
                    d.display(),
                    meta.sweep_hash,
                    m.sweep_hash
                )))
            }
            Some(_) => {}
            None => first = Some((dir.to_path_buf(), meta.clone())),
        }
        let shard = match &meta.shard {
            Some(s) => s
                .parse::<Shard>()
                .map_err(|e| Error::Input(format!("{}: sweep.json: shard: {e}", dir.display())))?,
            None => Shard::ALL,
        };
        let path = dir.join(RUNS_FILE);
        let records = if path.exists() {
            read_runs(&path)?.0
        } else {
            vec![]
        };
        let runs = (0..meta.total_runs).filter(|&i| shard.contains(i)).count();
        let mut done = 0;
        let mut failed = 0;
        for r in &records {
            if meta.point_hashes.get(r.index) != Some(&r.job_hash) {
                return Err(Error::Input(format!(
                    "{}: run {} does not belong to this sweep",
                    path.display(),
                    r.index
                )));
            }
            if shard.contains(r.index) {
                done += 1;
                failed += usize::from(is_failed(r));
            }
            if recorded.insert(r.index) && is_failed(r) {
                failed_points.insert(r.index);
            }
        }
        folders.push(FolderStatus {
            dir: dir.to_path_buf(),
            progress: Some(ShardProgress {
                shard,
                runs,
                done,
                failed,
                missing: runs - done,
            }),
        });
    }
    let Some((_, meta)) = first else {
        return Err(Error::Input(format!(
            "--status: none of the {} folders holds a sweep yet (no sweep.json): no shard has started",
            dirs.len()
        )));
    };
    Ok(SweepStatus {
        total_runs: meta.total_runs,
        folders,
        done: recorded.len(),
        failed: failed_points.len(),
        missing: meta.total_runs - recorded.len(),
    })
}
