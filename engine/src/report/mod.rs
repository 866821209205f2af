//! Result files: result.json, curve.csv and the final parameters as .npy.

pub mod dynamics;
mod files;
mod result;

pub use dynamics::DynamicsReport;
pub use files::{curve_csv, write_run};
pub use result::{DataReport, FinalReport, Reference, RunResult, StructureReport};
