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
/// lambdas use [`effective_lambda`]). For ReLU models these are
/// the linear-model values, a lower bound on the ReLU DNC loss (paper B.9).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Reference {
    pub dnc_loss: Option<f64>,
    pub dnc_scale: Option<f64>,
    pub low_rank_loss: Option<f64>,
    pub low_rank_scale: Option<f64>,
}

/// The single lambda with the same DNC and low-rank optima as weight decay lambda_h on H1 and
/// lambda_w on W_1..W_L: lambda_eff = (lambda_h lambda_w^L)^(1/(L+1)).
///
/// Why: at a Lemma-1-aligned point every logit singular value s is a product x_0 x_1 ... x_L of
/// the matching singular values of H1, W_1, .., W_L, and
/// min { lambda_h x_0^2 + lambda_w sum_l x_l^2 : prod x = s } = (L+1) (lambda_h lambda_w^L)^(1/(L+1)) s^(2/(L+1))
/// (AM-GM on lambda_h x_0^2, lambda_w x_1^2, ..., equality when all L+1 terms are equal), which is
/// the equal-lambda value (L+1) lambda s^(2/(L+1)) with lambda = lambda_eff. The fit term only
/// sees Z, so the closed forms of theory/ hold with lambda_eff. None when exactly one of them
/// is 0 (the infimum is then the unregularised one and is not attained).
pub fn effective_lambda(lambda_h: f64, lambda_w: f64, layers: usize) -> Option<f64> {
    if lambda_h == lambda_w {
        return Some(lambda_h);
    }
    if !(lambda_h > 0.0 && lambda_w > 0.0) {
        return None;
    }
    let l = layers as f64;
    Some(((lambda_h.ln() + l * lambda_w.ln()) / (l + 1.0)).exp())
}

impl Reference {
    /// The closed-form DNC and low-rank optima (with [`effective_lambda`] when lambda_h and
    /// lambda_w differ, e.g. UFM-style regularisation of a backbone run).
    pub fn for_model(spec: &ModelSpec) -> Reference {
        let lambda = effective_lambda(spec.lambda_h, spec.lambda_w, spec.layers);
        let (Some(n), Some(lambda)) = (spec.per_class(), lambda) else {
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
    /// Present for backbone runs: the data and the trainable tensors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataReport>,
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
