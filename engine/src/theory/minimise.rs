//! Global minimisation of the reduced DNC / low-rank losses over the scale s >= 0.
//!
//! The objective `fit(s) + lambda c (L+1)/2 (s sqrt n)^(2/(L+1))` is not convex (the power is
//! concave), but it is smooth on s > 0 and grows without bound, so its global minimum over
//! s >= 0 is attained either at s = 0 (loss log K) or at a stationary scale. All stationary
//! scales are bracketed and refined to machine precision by [`critical_scales`]; the best
//! candidate wins.

use serde::{Deserialize, Serialize};

use super::closed_form::Structure;
use super::critical::critical_scales;

/// The global minimum of a reduced loss over the scale, and the scale attaining it
/// (0 when the zero solution is optimal).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Optimum {
    pub loss: f64,
    pub scale: f64,
}

/// Global minimum over s >= 0 of the reduced loss of `structure`.
///
/// Preconditions: k >= 2, n >= 1, layers >= 1, lambda > 0 finite.
pub fn optimal(structure: Structure, k: usize, n: usize, layers: usize, lambda: f64) -> Optimum {
    let mut best = Optimum {
        loss: (k as f64).ln(),
        scale: 0.0,
    };
    for s in critical_scales(structure, k, n, layers, lambda) {
        let loss = structure.loss(k, n, layers, lambda, s);
        if loss < best.loss {
            best = Optimum { loss, scale: s };
        }
    }
    best
}

/// Best DNC solution: min over alpha >= 0 of the DNC reduced loss.
pub fn optimal_dnc(k: usize, n: usize, layers: usize, lambda: f64) -> Optimum {
    optimal(Structure::Dnc, k, n, layers, lambda)
}

/// Best low-rank solution: min over beta >= 0 of the low-rank reduced loss.
pub fn optimal_low_rank(k: usize, n: usize, layers: usize, lambda: f64) -> Optimum {
    optimal(Structure::LowRank, k, n, layers, lambda)
}
