//! result.json (the contract of docs/results.md): the types a finished run fills in. Nothing
//! here computes: the reference values and the structure are computed by [`crate::run`].

use crate::analysis::Analysis;
use crate::job::Job;
use crate::train::Status;
use serde::{Deserialize, Serialize};

/// Loss and accuracy at the final parameters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FinalReport {
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
    /// Accuracy on the test split of a backbone run (`data.test` or `data.holdout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
}

/// What a backbone run trained on (absent for the deep UFM).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DataReport {
    /// d0, values per input sample.
    pub input_dim: usize,
    pub train_samples: usize,
    /// 0 without a test split.
    pub test_samples: usize,
    pub backbone_parameters: usize,
    /// The trainable tensors in the optimiser's index order (W1.., then B1_W, B1_b, ..).
    pub tensors: Vec<String>,
}

/// Closed-form optimal DNC and paired low-rank losses for this model (null where the closed
/// forms do not apply: imbalanced classes, exactly one of lambda_h, lambda_w zero, MSE; unequal
/// lambdas use [`crate::theory::effective_lambda`]). For ReLU models these are
/// the linear-model values, a lower bound on the ReLU DNC loss (paper B.9).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Reference {
    pub dnc_loss: Option<f64>,
    pub dnc_scale: Option<f64>,
    pub low_rank_loss: Option<f64>,
    pub low_rank_scale: Option<f64>,
    /// Why the values above are null, when they are.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

/// The pair + simplex structure the run ended in (`analysis::structure`), identified from the
/// class-mean logits, and how far the run's loss is above that structure's optimal loss.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StructureReport {
    /// `p=2,q=6` (p pairs, simplex over q classes), or `other`.
    pub label: String,
    /// p (null for `other`).
    pub pairs: Option<usize>,
    /// The classes of each pair, e.g. [[0, 3], [1, 7]] (0-based).
    pub pair_classes: Vec<[usize; 2]>,
    /// q (null for `other`).
    pub simplex_size: Option<usize>,
    pub simplex_classes: Vec<usize>,
    /// The measured pair scale beta (mean over the pairs) and simplex scale gamma.
    pub pair_scale: Option<f64>,
    pub simplex_scale: Option<f64>,
    /// The structure's optimal reduced loss over both scales (`ufm theory compare`, `family`);
    /// null for `other` or where the closed forms do not apply (as `reference`). For ReLU
    /// models the linear-model value.
    pub optimal_loss: Option<f64>,
    /// final loss - optimal_loss.
    pub loss_gap: Option<f64>,
    /// The relative tolerance of the identification.
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub tol: f64,
}

/// Everything result.json holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResult {
    pub ufm_version: String,
    /// The job as run, with every default filled in.
    pub job: Job,
    pub status: Status,
    /// Why the run stopped early (divergence, cancellation, optimiser failure), if it did.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
    pub steps: u64,
    pub seconds: f64,
    /// "factored" or "layered": the gradient algorithm that ran.
    pub grad_path: String,
    /// Present for backbone runs: the data and the trainable tensors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataReport>,
    #[serde(rename = "final")]
    pub final_: FinalReport,
    #[serde(flatten)]
    pub analysis: Analysis,
    pub reference: Reference,
    /// The pair + simplex structure of the final logits (beside `classification`).
    #[serde(default)]
    pub structure: StructureReport,
    /// The Hessian report at the final parameters, when `analysis.hessian` is true (absent
    /// otherwise, or if it could not be computed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hessian: Option<crate::theory::HessianReport>,
    /// Analyses that were skipped and why (e.g. the Hessian report of a diverged run).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
    /// The commitment step and the initial alignment (absent for backbone runs).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dynamics: Option<super::DynamicsReport>,
}
