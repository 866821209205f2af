//! Sweeps: run every point of a job's `sweep` grid in parallel (one run per thread, rayon),
//! record each finished run as one line of `runs.jsonl`, aggregate into `summary.json`.
//!
//! - [`record`]: the compact per-run line ([`RunRecord`]) and the job hash that identifies a run.
//! - [`store`]: the sweep folder: `sweep.json` (what the folder holds), `runs.jsonl` (append-only,
//!   one fsync'd line per finished run, a torn last line is dropped on restart).
//! - [`summary`]: per-group aggregation with Wilson 95% intervals.
//! - [`shard`]: deterministic `--shard I/N` split of the grid.
//! - [`merge()`]: combine shard folders into one.
//! - [`status()`]: progress of shard folders (done, failed, missing) without merging.
//! - [`runner`]: the parallel runner.
//!
//! The format is documented in `docs/sweep.md`.

pub mod auc;
pub mod merge;
pub mod record;
pub mod runner;
pub mod shard;
pub mod status;
pub mod store;
pub mod summary;

pub use merge::merge;
pub use record::{job_hash, RunRecord};
pub use runner::{run_sweep, SweepEvent, SweepOptions, SweepReport};
pub use shard::Shard;
pub use status::{status, FolderStatus, ShardProgress, SweepStatus};
pub use store::{SweepMeta, SweepStore};
pub use summary::{summarize, wilson, Summary};
