//! result.json: the contract of DESIGN.md section 4, built from a finished run.

use crate::analysis::Analysis;
use crate::job::Job;
use crate::model::ModelSpec;
use crate::train::Status;
use serde::{Deserialize, Serialize};

/// Loss and accuracy at the final parameters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FinalReport {
    pub loss: f64,
    pub fit: f64,
    pub reg: f64,
    pub grad_norm: f64,
    pub train_accuracy: f64,
}

/// Closed-form optimal DNC and paired low-rank losses for this model (null where the closed
/// forms do not apply: imbalanced classes, lambda_h != lambda_w, MSE). For ReLU models these are
/// the linear-model values, a lower bound on the ReLU DNC loss (paper B.9).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Reference {
    pub dnc_loss: Option<f64>,
    pub dnc_scale: Option<f64>,
    pub low_rank_loss: Option<f64>,
    pub low_rank_scale: Option<f64>,
}

impl Reference {
    pub fn for_model(spec: &ModelSpec) -> Reference {
        let (Some(n), Some(lambda)) = (spec.per_class(), spec.lambda()) else {
            return Reference::default();
        };
        if spec.loss != crate::model::LossKind::CrossEntropy {
            return Reference::default();
        }
        let k = spec.classes();
        let dnc = crate::theory::optimal_dnc(k, n, spec.layers, lambda);
        let lr = crate::theory::optimal_low_rank(k, n, spec.layers, lambda);
        Reference {
            dnc_loss: Some(dnc.loss),
            dnc_scale: Some(dnc.scale),
            low_rank_loss: Some(lr.loss),
            low_rank_scale: Some(lr.scale),
        }
    }
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
    #[serde(rename = "final")]
    pub final_: FinalReport,
    #[serde(flatten)]
    pub analysis: Analysis,
    pub reference: Reference,
    /// The Hessian report at the final parameters, when `analysis.hessian` is true (absent
    /// otherwise, or if it could not be computed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hessian: Option<crate::theory::HessianReport>,
}
