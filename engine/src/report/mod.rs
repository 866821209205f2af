//! Result files: result.json, curve.csv and the final parameters as .npy.

mod files;
mod result;

pub use files::{curve_csv, write_run};
pub use result::{DataReport, FinalReport, Reference, RunResult, StructureReport};
