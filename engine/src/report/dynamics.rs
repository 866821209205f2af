//! result.json's `dynamics` section and the curve.csv / spectra.csv text of the logit
//! structure over time (docs/results.md).

use crate::train::{Alignment, CurveRow, Status};
use serde::{Deserialize, Serialize};

/// When the run committed to its final structure, and how its start was aligned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DynamicsReport {
    /// The first record step from which on the identified structure (curve.csv `structure`)
    /// never changes again; null when the final structure is `other` (never settled in the
    /// family).
    pub commit_step: Option<u64>,
    /// The integration time of that step (curve.csv `time`).
    pub commit_time: Option<f64>,
    /// The structure committed to (the last row's), e.g. `p=0,q=10`, or `other`.
    pub commit_structure: String,
    /// False when the run did not converge (max_steps, max_time, diverged, cancelled, failed):
    /// the commitment is then that of the recorded prefix, a lower bound on the commitment
    /// step of a longer run.
    pub final_: bool,
    /// Alignment of the step-0 class-mean logits (null when step 0 was not measured, e.g. a
    /// resumed run without the side file).
    pub initial: Option<Alignment>,
}

impl DynamicsReport {
    /// From the curve rows with logit columns (None when no row has them: backbone runs).
    pub fn from_curve(
        curve: &[CurveRow],
        status: Status,
        initial: Option<Alignment>,
    ) -> Option<DynamicsReport> {
        let rows: Vec<&CurveRow> = curve.iter().filter(|r| r.logits.is_some()).collect();
        let labels: Vec<Option<(usize, usize)>> = rows
            .iter()
            .filter_map(|r| r.logits.map(|l| l.structure))
            .collect();
        let i = crate::train::dynamics::commitment_index(&labels)?;
        let last = rows.last()?.logits?;
        let settled = last.structure.is_some();
        Some(DynamicsReport {
            commit_step: settled.then(|| rows[i].step),
            commit_time: settled.then(|| rows[i].time),
            commit_structure: last.label(),
            final_: status == Status::Converged,
            initial,
        })
    }
}

/// Shortest round-trip text of a finite value; empty for NaN (a value that does not exist).
fn num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        format!("{x:?}")
    }
}

/// The curve.csv header.
pub const CURVE_HEADER: &str = "step,loss,fit,reg,grad_norm,time,logit_rank,logit_sv1,logit_sv2,logit_sv3,simplex_cosine,structure,family_distance,nearest_pairs";

/// One curve.csv line (without the newline).
pub fn curve_line(r: &CurveRow) -> String {
    let mut s = format!(
        "{},{:?},{:?},{:?},{:?},{}",
        r.step,
        r.loss,
        r.fit,
        r.reg,
        r.grad_norm,
        num(r.time)
    );
    match &r.logits {
        Some(l) => s.push_str(&format!(
            ",{},{},{},{},{},{},{},{}",
            l.rank,
            num(l.sv[0]),
            num(l.sv[1]),
            num(l.sv[2]),
            num(l.simplex_cosine),
            l.label(),
            num(l.family_distance),
            l.nearest_pairs
        )),
        None => s.push_str(",,,,,,,,"),
    }
    s
}

/// spectra.csv (`train.record_spectra`): `step,matrix,index,value`, one line per singular value.
pub fn spectra_csv(spectra: &[crate::train::SpectraRow], layers: usize) -> String {
    let names = crate::model::Params::names(layers);
    let mut s = String::from("step,matrix,index,value\n");
    for (step, mats) in spectra {
        for (name, values) in names.iter().zip(mats) {
            for (i, v) in values.iter().enumerate() {
                s.push_str(&format!("{step},{name},{i},{}\n", num(*v)));
            }
        }
    }
    s
}
