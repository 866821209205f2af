//! The parallel runner: the grid points of this shard that are not finished yet, one run per
//! rayon worker, each run single-threaded (`Par::Seq`), so a run's result is the same whatever
//! the thread count or sharding.

use super::record::{job_hash, RunRecord};
use super::shard::Shard;
use super::store::{Axis, SweepMeta, SweepStore, SUMMARY_FILE};
use super::summary::{summarize, Summary};
use crate::job::{GridPoint, LoadedJob, SweepAxis};
use crate::run::execute;
use crate::train::Status;
use crate::Error;
use indexmap::IndexMap;
use rayon::prelude::*;
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// How to run a sweep.
#[derive(Clone, Copy, Debug)]
pub struct SweepOptions {
    /// Worker threads (>= 1).
    pub threads: usize,
    pub shard: Shard,
    /// Also write each run's result.json, curve.csv and params/ into `DIR/runs/<index>/`.
    pub keep_runs: bool,
}

/// What the runner reports while it works.
pub enum SweepEvent<'a> {
    /// Work is about to start: runs to do now, and runs of this shard already finished.
    Start { todo: usize, skipped: usize },
    /// A run finished and was recorded.
    Finished(&'a RunRecord),
}

/// The outcome of [`run_sweep`].
pub struct SweepReport {
    /// Runs in the whole grid.
    pub total: usize,
    /// Runs of this shard.
    pub in_shard: usize,
    /// Runs of this shard that were already finished.
    pub skipped: usize,
    /// Runs finished by this call.
    pub ran: usize,
    /// True when the sweep was cancelled before every run of the shard finished.
    pub cancelled: bool,
    pub summary: Summary,
    pub seconds: f64,
}

/// The grid of a loaded job: its sweep points, or the job itself as one point.
pub fn grid_of(loaded: &LoadedJob) -> Vec<GridPoint> {
    if loaded.grid.is_empty() {
        vec![GridPoint {
            assignments: IndexMap::new(),
            job: loaded.job.clone(),
        }]
    } else {
        loaded.grid.clone()
    }
}

/// The `sweep.json` description of a loaded job.
pub fn meta_of(loaded: &LoadedJob, grid: &[GridPoint]) -> SweepMeta {
    let axes = loaded
        .job
        .sweep
        .as_ref()
        .map(|s| {
            s.iter()
                .map(|(key, axis)| Axis {
                    key: key.clone(),
                    values: match axis {
                        SweepAxis::List(v) => v.clone(),
                        SweepAxis::Range { range: [a, b] } => (*a..*b).map(Value::from).collect(),
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    SweepMeta {
        ufm_version: crate::version().to_string(),
        sweep_hash: job_hash(&loaded.job),
        total_runs: grid.len(),
        axes,
        point_hashes: grid.iter().map(|p| job_hash(&p.job)).collect(),
        job: loaded.job.clone(),
        shard: None,
    }
}

/// Write summary.json for the finished `records` of the sweep in `dir`.
pub fn write_summary(
    dir: &Path,
    meta: &SweepMeta,
    grid_assignments: &[IndexMap<String, Value>],
    records: &[RunRecord],
) -> Result<Summary, Error> {
    let summary = summarize(meta, grid_assignments, records);
    let json = serde_json::to_string_pretty(&summary).expect("summary serialises");
    crate::io::write_atomic(&dir.join(SUMMARY_FILE), json.as_bytes())
        .map_err(|e| Error::Runtime(format!("cannot write into {}: {e}", dir.display())))?;
    Ok(summary)
}

/// Run the unfinished points of `opts.shard` of the job's grid into `dir`, skipping finished
/// ones, then write summary.json. Raising `cancel` stops starting runs and cancels the runs in
/// flight (which are not recorded); the call then returns with `cancelled = true`.
pub fn run_sweep(
    loaded: &LoadedJob,
    dir: &Path,
    opts: SweepOptions,
    cancel: &AtomicBool,
    on_event: &(dyn Fn(SweepEvent) + Sync),
) -> Result<SweepReport, Error> {
    let started = Instant::now();
    if opts.threads == 0 {
        return Err(Error::Input("--threads: must be >= 1".into()));
    }
    let grid = grid_of(loaded);
    let mut meta = meta_of(loaded, &grid);
    if opts.shard != Shard::ALL {
        meta.shard = Some(opts.shard.to_string());
    }
    let (store, existing) = SweepStore::open(dir, &meta)?;
    let done: std::collections::HashSet<usize> = existing.iter().map(|r| r.index).collect();
    let in_shard: Vec<usize> = (0..grid.len())
        .filter(|&i| opts.shard.contains(i))
        .collect();
    let todo: Vec<usize> = in_shard
        .iter()
        .copied()
        .filter(|i| !done.contains(i))
        .collect();
    // Longest runs first (estimated cost: parameters x max_steps), so the pool does not end with
    // one worker busy on a big run while the others idle. Order does not affect any result.
    let mut todo = todo;
    todo.sort_by_key(|&i| {
        let job = &grid[i].job;
        let cost = crate::job::validate(job)
            .map(|s| s.parameter_count() as u128 * u128::from(job.train.max_steps))
            .unwrap_or(0);
        (std::cmp::Reverse(cost), i)
    });
    let skipped = in_shard.len() - todo.len();
    on_event(SweepEvent::Start {
        todo: todo.len(),
        skipped,
    });

    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let stop = AtomicBool::new(false);
    let ran = std::sync::atomic::AtomicUsize::new(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| Error::Runtime(format!("cannot start {} threads: {e}", opts.threads)))?;
    let fail = |e: Error| {
        stop.store(true, Ordering::Relaxed);
        let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(e);
    };
    pool.install(|| {
        todo.par_iter().with_max_len(1).for_each(|&index| {
            if stop.load(Ordering::Relaxed) || cancel.load(Ordering::Relaxed) {
                return;
            }
            let point = &grid[index];
            let spec = match crate::job::validate(&point.job) {
                Ok(s) => s,
                Err(e) => return fail(Error::Input(format!("sweep point {index}: {e}"))),
            };
            let output = match execute(
                &point.job,
                &spec,
                &loaded.base_dir,
                Some(cancel),
                &mut |_| {},
            ) {
                Ok(o) => o,
                Err(e) => return fail(e.context(&format!("sweep point {index}"))),
            };
            if output.result.status == Status::Cancelled {
                return; // not finished: it runs again on resume
            }
            if opts.keep_runs {
                let run_dir = dir.join("runs").join(format!("{index:06}"));
                if let Err(m) = crate::run::write_folder(&run_dir, &output) {
                    return fail(m);
                }
            }
            let record = RunRecord::from_result(
                index,
                meta.point_hashes[index].clone(),
                point.assignments.clone(),
                &output.result,
            );
            if let Err(e) = store.append(&record) {
                return fail(e);
            }
            ran.fetch_add(1, Ordering::Relaxed);
            on_event(SweepEvent::Finished(&record));
        });
    });
    // Summarise what the file holds (parsed back), exactly as a resumed or merged sweep does.
    let (records, _) = super::store::read_runs(&store.dir().join(super::store::RUNS_FILE))?;
    let assignments: Vec<IndexMap<String, Value>> =
        grid.iter().map(|p| p.assignments.clone()).collect();
    let summary = write_summary(store.dir(), &meta, &assignments, &records)?;
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let ran = ran.into_inner();
    Ok(SweepReport {
        total: grid.len(),
        in_shard: in_shard.len(),
        skipped,
        ran,
        cancelled: skipped + ran < in_shard.len(),
        summary,
        seconds: started.elapsed().as_secs_f64(),
    })
}
