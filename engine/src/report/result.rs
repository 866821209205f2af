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
    /// Why the values above are null, when they are.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

impl Reference {
    pub fn for_model(spec: &ModelSpec) -> Reference {
        let none = |why: &str| Reference {
            note: Some(why.to_string()),
            ..Reference::default()
        };
        let Some(n) = spec.per_class() else {
            return none("the closed forms need balanced classes (model.per_class)");
        };
        let Some(lambda) = spec.lambda() else {
            return none("the closed forms need one lambda (lambda_h = lambda_w)");
        };
        if spec.loss != crate::model::LossKind::CrossEntropy {
            return none("the closed forms are for the cross-entropy loss");
        }
        if lambda <= 0.0 {
            // Without weight decay the loss has no minimiser: it decreases towards 0 as the
            // logit scale grows, for DNC and low-rank alike.
            return none(
                "the closed forms need lambda > 0 (at lambda = 0 the loss has no minimiser: \
                 it tends to 0 as the logit scale grows)",
            );
        }
        let k = spec.classes();
        let dnc = crate::theory::optimal_dnc(k, n, spec.layers, lambda);
        let lr = crate::theory::optimal_low_rank(k, n, spec.layers, lambda);
        Reference {
            dnc_loss: Some(dnc.loss),
            dnc_scale: Some(dnc.scale),
            low_rank_loss: Some(lr.loss),
            low_rank_scale: Some(lr.scale),
            note: None,
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
    /// Analyses that were skipped and why (e.g. the Hessian report of a diverged run).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
}
