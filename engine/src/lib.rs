//! ufm-engine: train and measure the deep unconstrained feature model (deep UFM).
//!
//! Data flows one way: job file -> validated spec ([`job`]) -> initialiser ([`init`]) -> trainer
//! ([`train`], using [`grad`] and [`optim`]) -> analysis ([`analysis`]) -> report ([`report`]).

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
pub mod plot;
pub mod plugin;
pub mod report;
pub mod run;
pub mod simd;
pub mod sweep;
pub mod theory;
pub mod train;

/// The engine's version (the workspace version).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
