//! One line of `runs.jsonl`: a compact result of one finished run.

use crate::analysis::Classification;
use crate::job::Job;
use crate::report::RunResult;
use crate::train::Status;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A finished run of a sweep (one line of runs.jsonl).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Position in the full grid (0-based; first sweep key varies slowest).
    pub index: usize,
    /// [`job_hash`] of this point's resolved job: a run is reused only if it matches.
    pub job_hash: String,
    /// The swept values of this point, in the order of the job's `sweep` keys.
    pub assignments: IndexMap<String, Value>,
    /// `init.seed` of this point's job (null for initialisers without a seed).
    pub seed: Option<u64>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
    pub steps: u64,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub loss: f64,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub fit: f64,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub reg: f64,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub grad_norm: f64,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub train_accuracy: f64,
    pub classification: Classification,
    /// Rank of the logit matrix Z.
    pub rank: usize,
    /// Rank of the centred class-mean logit matrix.
    pub centred_rank: usize,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub simplex_cosine: f64,
    /// Closed-form optimal DNC loss for this model (null where not covered).
    pub dnc_loss: Option<f64>,
    /// Closed-form optimal paired low-rank loss (null where not covered).
    pub low_rank_loss: Option<f64>,
    /// The pair + simplex structure label (`p=2,q=6` or `other`; result.json `structure`).
    /// Empty in records written before this field existed.
    #[serde(default)]
    pub structure: String,
    /// final loss - that structure's optimal loss (null for `other` or no closed form).
    #[serde(default)]
    pub structure_gap: Option<f64>,
    /// The step-0 alignment statistic (result.json `dynamics.initial.alignment`; null for
    /// backbone runs and records written before the field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment: Option<f64>,
    /// result.json `dynamics.commit_step` (null: not settled, or not recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_step: Option<u64>,
    /// Wall time of the run (the only field that differs between repeated sweeps).
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub seconds: f64,
}

impl RunRecord {
    pub fn from_result(
        index: usize,
        job_hash: String,
        assignments: IndexMap<String, Value>,
        r: &RunResult,
    ) -> RunRecord {
        RunRecord {
            index,
            job_hash,
            assignments,
            seed: job_seed(&r.job),
            status: r.status,
            message: r.message.clone(),
            steps: r.steps,
            loss: r.final_.loss,
            fit: r.final_.fit,
            reg: r.final_.reg,
            grad_norm: r.final_.grad_norm,
            train_accuracy: r.final_.train_accuracy,
            classification: r.analysis.classification,
            rank: r.analysis.logits.rank,
            centred_rank: r.analysis.logits.centred_rank,
            simplex_cosine: r.analysis.logits.simplex_cosine,
            dnc_loss: r.reference.dnc_loss,
            low_rank_loss: r.reference.low_rank_loss,
            structure: r.structure.label.clone(),
            structure_gap: r.structure.loss_gap,
            alignment: r
                .dynamics
                .as_ref()
                .and_then(|d| d.initial)
                .map(|a| a.alignment)
                .filter(|a| a.is_finite()),
            commit_step: r.dynamics.as_ref().and_then(|d| d.commit_step),
            seconds: r.seconds,
        }
    }
}

/// `init.seed` of a job, when its initialiser has one.
pub fn job_seed(job: &Job) -> Option<u64> {
    serde_json::to_value(&job.init)
        .ok()
        .and_then(|v| v.get("seed").and_then(Value::as_u64))
}

/// A stable 64-bit FNV-1a hash (16 hex digits) of the job's canonical JSON (every default filled
/// in, fields in declaration order). Two jobs with the same hash ran the same computation.
pub fn job_hash(job: &Job) -> String {
    // `train.threads` does not change any result (bit-identical at every count): leave it out,
    // so that a sweep resumed with another thread count keeps its finished runs.
    let mut job = job.clone();
    job.train.threads = 1;
    let text = serde_json::to_string(&job).expect("job serialises");
    fnv1a(text.as_bytes())
}

pub(crate) fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
