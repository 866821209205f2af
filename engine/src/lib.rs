//! ufm-engine: train and measure the deep unconstrained feature model (deep UFM).
//!
//! Modules form layers that only point down (docs/architecture.md; `engine/tests/layers.rs`
//! fails on an upward edge). Bottom to top: [`io`], [`simd`] and [`error`]; [`linalg`];
//! [`model`]; [`grad`]; the numerical layers [`theory`], [`analysis`] and [`optim`]; [`plugin`]
//! and [`data`]; [`backbone`]; [`train`]; the job file ([`job`]); [`init`]; [`report`] (a sink:
//! result types and files); [`run`] (one job from file to result); [`sweep`]; and the tools on
//! top ([`plot`], [`activations`], [`bench`](mod@bench)). A run's data flows job -> init -> train ->
//! analysis -> run (which adds the theory's reference values) -> report.

pub mod activations;
pub mod analysis;
pub mod backbone;
pub mod bench;
pub mod data;
pub mod error;
pub mod grad;
pub mod init;
pub mod io;
pub mod job;
pub mod linalg;
pub mod model;
pub mod optim;
#[cfg(feature = "plot")]
pub mod plot;
pub mod plugin;
pub mod report;
pub mod run;
pub mod simd;
pub mod sweep;
pub mod theory;
pub mod train;

pub use error::{Error, ErrorKind, JobError};

/// The engine's version (the workspace version).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
