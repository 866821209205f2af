//! Result files: result.json, curve.csv and the final parameters as .npy.

pub mod dynamics;
mod files;
pub mod npy;
mod result;

pub use dynamics::DynamicsReport;
pub use files::{curve_csv, write_atomic, write_run};
pub use result::{
    effective_lambda, DataReport, FinalReport, Reference, RunResult, StructureReport,
};
