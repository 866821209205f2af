//! Theory of the balanced, lambda_h = lambda_w, cross-entropy deep UFM (paper sections 3, B.3-B.9):
//! closed-form reduced losses of the DNC and low-rank structures ([`closed_form`]), their globally
//! optimal scales ([`minimise`]), critical scales ([`critical`](mod@critical)), constructed logits and
//! Lemma-1-aligned parameters ([`construct`]), the regions of Theorems 1 and 7 ([`regions`]),
//! serialisable reports for the CLI ([`report`]), and the loss-landscape tools: exact
//! Hessian-vector products ([`hvp`]), dense spectra, Lanczos and Hutchinson ([`spectrum`]), and
//! the Hessian report with the symmetry-orbit and Theorem 5 dimensions ([`hessian`]).
//! docs/theory.md documents every formula and check.
//!
//! Paper corrections found while checking every formula numerically (see the tests):
//! - Eq. (19) must read `lambda n^(1/(L+1)) = alpha^((L-1)/(L+1)) / ((K-1) + e^alpha)`.
//! - Eq. (27) (even-K low rank) is correct as printed.
//! - For odd K the B.3 low-rank matrix (extra class with beta on its diagonal only) is never a
//!   critical point of the full loss for beta > 0: the extra class's softmax error has a component
//!   along (1_{2m}, 0), outside the range of Z, so dL/dW_L != 0. Its "critical scales" here are
//!   the stationary points of the one-parameter reduced loss only (enough for Theorem 1's bound).
//! - Theorem 7: the B.9 construction checks out numerically ([`relu_low_rank_params`]), and the
//!   region its inequalities give is strictly larger than the stated "K >= 10, L >= 5 or
//!   K >= 16, L = 4": at L = 4 also K = 14 (B.9's own even-K bound), and for L >= 6 smaller K
//!   (e.g. K = 8 at L = 6, K = 6 at L = 8). The statement is sound but not tight.
//! - Theorem 5 / B.7: the set of parameters producing a critical Z* of rank r has dimension
//!   L (r d - r(r+1)/2) (a product of Stiefel manifolds) whatever the singular-value
//!   multiplicities, not L (r d - r^2) for DNC: the orbit rank and the Hessian nullity agree on it.
//!   So D_DNC / D_Z* starts above 1 at d = K, contrary to the statement.
//! - Theorem 4 / B.6: the sufficient condition `alpha n / K e^alpha / (K-1+e^alpha) >= 1` is
//!   not sufficient (strict saddles where it holds, e.g. K = 10, n = 5, L = 5, lambda = 2^-6); its
//!   factor n is a normalisation slip. Off the symmetry orbit the smallest eigenvalue at the DNC
//!   point of scale alpha is `lambda min(1, (L+1) alpha / K - (L-1))` (K >= 4): a minimum up to
//!   symmetry iff alpha >= K (L-1)/(L+1) ([`theorem4_check`]; the negative side is proven by an
//!   explicit direction, the rest observed on a grid in the tests).
//! - The pair + simplex family ([`family`]) interpolates between DNC and Eq. (5).

pub mod check;
pub mod closed_form;
pub mod construct;
pub mod critical;
pub mod family;
pub mod hessian;
pub mod hvp;
pub mod lambda;
pub mod minimise;
pub mod regions;
pub mod report;
pub mod spectrum;

#[cfg(test)]
mod family_tests;
#[cfg(test)]
mod hessian_tests;
#[cfg(test)]
mod tests;

pub use check::{check_model, ModelArg, ModelError};
pub use closed_form::{
    cross_entropy, dnc_fit, dnc_loss, low_rank_fit, low_rank_loss, numerical_singular_values,
    reduced_loss, Structure,
};
pub use construct::{
    aligned_params, dnc_logits, low_rank_logits, relu_blocks, relu_low_rank_params,
    relu_low_rank_scale, structure_logits,
};
pub use critical::{
    critical_scales, dnc_lambda_max, dnc_roots, lambda_max, low_rank_lambda_max, low_rank_roots,
};
pub use family::{family_point, FamilyOptimum, PairSimplex};
pub use hessian::{
    constructed_point, hessian_report, orbit_dimension, orbit_tangents, theorem4_check,
    HessianOptions, HessianReport, Method, Root, Theorem4Check, Theorem5,
};
pub use hvp::{flatten, unflatten, HessianOp};
pub use lambda::effective_lambda;
pub use minimise::{optimal, optimal_dnc, optimal_low_rank, Optimum};
pub use regions::{theorem1_holds, theorem1_paper, theorem7_holds, theorem7_paper, Theorem};
pub use report::{
    compare, compare_with_hessian, critical, family_rows, parse_lambda, parse_range, region,
    theorem4_grid, CompareReport, CriticalReport, FamilyHessian, FamilyRow, RegionReport,
    RegionRow, Theorem4Report, Theorem4Row,
};
