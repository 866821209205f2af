//! The theory a run's result.json is compared with: the closed-form DNC and low-rank optima
//! ([`reference`]) and the pair + simplex structure the run ended in ([`structure_report`]).
//! Computed here, in the run layer, so that report stays a sink that only writes what it is given.

use crate::model::ModelSpec;
use crate::report::{Reference, StructureReport};

/// The closed-form DNC and low-rank optima (with [`crate::theory::effective_lambda`] when lambda_h and
/// lambda_w differ, e.g. UFM-style regularisation of a backbone run).
pub fn reference(spec: &ModelSpec) -> Reference {
    let none = |why: &str| Reference {
        note: Some(why.to_string()),
        ..Reference::default()
    };
    let Some(n) = spec.per_class() else {
        return none("the closed forms need balanced classes (model.per_class)");
    };
    let Some(lambda) = crate::theory::effective_lambda(spec.lambda_h, spec.lambda_w, spec.layers)
    else {
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

/// Identify the structure of the K x K class means (`class_means[c]` = mean logit vector of
/// class c) and compare `loss` with its optimum.
pub fn structure_report(spec: &ModelSpec, class_means: &[Vec<f64>], loss: f64) -> StructureReport {
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
