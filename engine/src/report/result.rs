//! result.json (the contract of docs/results.md), built from a finished run.

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
    /// Why the values above are null, when they are.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
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
        let none = |why: &str| Reference {
            note: Some(why.to_string()),
            ..Reference::default()
        };
        let Some(n) = spec.per_class() else {
            return none("the closed forms need balanced classes (model.per_class)");
        };
        let Some(lambda) = effective_lambda(spec.lambda_h, spec.lambda_w, spec.layers) else {
            return none(
                "the closed forms need lambda_h and lambda_w both > 0, or equal (lambda_eff in \
                 docs/results.md)",
            );
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
    pub tol: f64,
}

impl StructureReport {
    /// Identify the structure of the K x K class means (`class_means[c]` = mean logit vector of
    /// class c) and compare `loss` with its optimum.
    pub fn for_run(spec: &ModelSpec, class_means: &[Vec<f64>], loss: f64) -> StructureReport {
        let tol = crate::analysis::STRUCTURE_TOL;
        let k = class_means.len();
        let m = faer::Mat::from_fn(k, k, |i, c| {
            class_means[c].get(i).copied().unwrap_or(f64::NAN)
        });
        let Some(id) = crate::analysis::identify(m.as_ref(), tol) else {
            return StructureReport {
                label: "other".into(),
                tol,
                ..Default::default()
            };
        };
        let optimal_loss = match (spec.per_class(), spec.lambda(), spec.loss) {
            (Some(n), Some(lambda), crate::model::LossKind::CrossEntropy) => {
                crate::theory::PairSimplex::new(k, id.p())
                    .ok()
                    .map(|m| m.optimum(n, spec.layers, lambda).loss)
            }
            _ => None,
        };
        StructureReport {
            label: id.label(),
            pairs: Some(id.p()),
            simplex_size: Some(id.q()),
            pair_scale: (id.p() > 0).then_some(id.pair_scale),
            simplex_scale: (id.q() > 1).then_some(id.simplex_scale),
            loss_gap: optimal_loss.map(|o| loss - o),
            optimal_loss,
            pair_classes: id.pairs,
            simplex_classes: id.simplex,
            tol,
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
