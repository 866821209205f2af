//! Closed forms of the balanced, lambda_h = lambda_w, cross-entropy deep linear UFM at points that
//! satisfy the alignment of Lemma 1 (paper section 3 and appendix B.3).
//!
//! At such a point the loss depends on the logit matrix Z alone:
//! `L(Z) = g(Z) + (L+1) lambda / 2 * sum_i s_i(Z)^(2/(L+1))` ([`reduced_loss`]). For the two
//! one-parameter families of the paper (DNC, `alpha S kron 1_n^T`, and the paired low-rank
//! structure of Eq. (5), odd K as in B.3) both terms have closed forms in the scale:
//! `fit` is g and `reg` is the regulariser `(L+1)/2 * lambda * c * (s sqrt n)^(2/(L+1))`, with
//! c = K - 1 for DNC, c = m 2^(2/(L+1)) for K = 2m and c = m 2^(2/(L+1)) + 1 for K = 2m + 1.

use faer::MatRef;
use serde::{Deserialize, Serialize};

/// One of the two logit structures the paper compares. The scale is alpha for DNC and beta for
/// the low-rank structure (the logit matrices are [`super::dnc_logits`] and
/// [`super::low_rank_logits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Structure {
    /// `Z = alpha (I - 11^T/K) kron 1_n^T`.
    Dnc,
    /// `Z = beta blockdiag(X, ..., X[, 1]) kron 1_n^T`, X = [[1, -1], [-1, 1]] (Eq. (5); for odd K
    /// the extra class has beta on its diagonal and 0 elsewhere, as in B.3).
    LowRank,
}

/// `log(1 + a e^-s + b e^-2s)` for s >= 0, a, b >= 0, accurate for large s.
fn log1p_exps(a: f64, b: f64, s: f64) -> f64 {
    let e = (-s).exp();
    (a * e + b * e * e).ln_1p()
}

/// d/ds of [`log1p_exps`]: `-(a e^-s + 2 b e^-2s) / (1 + a e^-s + b e^-2s)`.
fn log1p_exps_slope(a: f64, b: f64, s: f64) -> f64 {
    let e = (-s).exp();
    -(a * e + 2.0 * b * e * e) / (1.0 + a * e + b * e * e)
}

/// Exponent 2/(L+1) of the Schatten quasi-norm term.
pub(crate) fn schatten_exponent(layers: usize) -> f64 {
    2.0 / (layers as f64 + 1.0)
}

impl Structure {
    /// Both structures, DNC first.
    pub const ALL: [Structure; 2] = [Structure::Dnc, Structure::LowRank];

    /// The fit term g(Z(s)) (mean cross-entropy) at scale `s >= 0`, for K = `k` classes
    /// (independent of n).
    ///
    /// DNC: `log(1 + (K-1) e^-s)`. Low rank, K = 2m: `log(1 + (K-2) e^-s + e^-2s)`;
    /// K = 2m+1: `[2m log(1 + (K-2) e^-s + e^-2s) + log(1 + (K-1) e^-s)] / K`.
    pub fn fit(self, k: usize, s: f64) -> f64 {
        let kf = k as f64;
        match self {
            Structure::Dnc => log1p_exps(kf - 1.0, 0.0, s),
            Structure::LowRank => {
                let paired = log1p_exps(kf - 2.0, 1.0, s);
                if k.is_multiple_of(2) {
                    paired
                } else {
                    ((kf - 1.0) * paired + log1p_exps(kf - 1.0, 0.0, s)) / kf
                }
            }
        }
    }

    /// d fit / d s.
    pub fn fit_slope(self, k: usize, s: f64) -> f64 {
        let kf = k as f64;
        match self {
            Structure::Dnc => log1p_exps_slope(kf - 1.0, 0.0, s),
            Structure::LowRank => {
                let paired = log1p_exps_slope(kf - 2.0, 1.0, s);
                if k.is_multiple_of(2) {
                    paired
                } else {
                    ((kf - 1.0) * paired + log1p_exps_slope(kf - 1.0, 0.0, s)) / kf
                }
            }
        }
    }

    /// c in `sum_i s_i(Z(s))^(2/(L+1)) = c (s sqrt n)^(2/(L+1))`: the nonzero singular values of
    /// Z(s) are s sqrt(n) times (1 [K-1 times]) for DNC, (2 [m times]) for K = 2m and
    /// (2 [m times], 1) for K = 2m+1.
    pub fn reg_weight(self, k: usize, layers: usize) -> f64 {
        let a = schatten_exponent(layers);
        let m = (k / 2) as f64;
        match self {
            Structure::Dnc => k as f64 - 1.0,
            Structure::LowRank => m * 2f64.powf(a) + if k % 2 == 1 { 1.0 } else { 0.0 },
        }
    }

    /// The regulariser `(L+1)/2 * lambda * c * (s sqrt n)^(2/(L+1))` at scale s.
    pub fn reg(self, k: usize, n: usize, layers: usize, lambda: f64, s: f64) -> f64 {
        let a = schatten_exponent(layers);
        let base = s * (n as f64).sqrt();
        let pow = if base > 0.0 { base.powf(a) } else { 0.0 };
        0.5 * (layers as f64 + 1.0) * lambda * self.reg_weight(k, layers) * pow
    }

    /// d reg / d s = `lambda c n^(1/(L+1)) s^(2/(L+1) - 1)` (infinite at s = 0 for L >= 2).
    pub fn reg_slope(self, k: usize, n: usize, layers: usize, lambda: f64, s: f64) -> f64 {
        let a = schatten_exponent(layers);
        lambda * self.reg_weight(k, layers) * (n as f64).powf(0.5 * a) * s.powf(a - 1.0)
    }

    /// The reduced loss `fit + reg` at scale s (equal to the full loss at Lemma-1-aligned
    /// parameters whose logits are Z(s)).
    pub fn loss(self, k: usize, n: usize, layers: usize, lambda: f64, s: f64) -> f64 {
        self.fit(k, s) + self.reg(k, n, layers, lambda, s)
    }

    /// d loss / d s.
    pub fn loss_slope(self, k: usize, n: usize, layers: usize, lambda: f64, s: f64) -> f64 {
        self.fit_slope(k, s) + self.reg_slope(k, n, layers, lambda, s)
    }

    /// The lambda at which s is a stationary scale: `-fit'(s) / (reg'(s) / lambda)`
    /// (the stationarity condition `loss'(s) = 0` solved for lambda; lambda enters linearly).
    ///
    /// For DNC this is `n^(-1/(L+1)) s^((L-1)/(L+1)) / ((K-1) + e^s)`, the corrected Eq. (19);
    /// for even-K low rank it is Eq. (27) solved for lambda.
    pub fn stationary_lambda(self, k: usize, n: usize, layers: usize, s: f64) -> f64 {
        let a = schatten_exponent(layers);
        let denom = self.reg_weight(k, layers) * (n as f64).powf(0.5 * a);
        -self.fit_slope(k, s) * s.powf(1.0 - a) / denom
    }
}

/// DNC fit term `log(1 + (K-1) e^-alpha)`.
pub fn dnc_fit(k: usize, alpha: f64) -> f64 {
    Structure::Dnc.fit(k, alpha)
}

/// DNC reduced loss `log(1 + (K-1)e^-alpha) + (L+1)/2 (K-1) lambda (alpha sqrt n)^(2/(L+1))`.
pub fn dnc_loss(k: usize, n: usize, layers: usize, lambda: f64, alpha: f64) -> f64 {
    Structure::Dnc.loss(k, n, layers, lambda, alpha)
}

/// Low-rank fit term (Eq. (5), odd K as in B.3).
pub fn low_rank_fit(k: usize, beta: f64) -> f64 {
    Structure::LowRank.fit(k, beta)
}

/// Low-rank reduced loss (Eq. (5), odd K as in B.3).
pub fn low_rank_loss(k: usize, n: usize, layers: usize, lambda: f64, beta: f64) -> f64 {
    Structure::LowRank.loss(k, n, layers, lambda, beta)
}

/// Mean softmax cross-entropy of the columns of `z` (K x N) whose labels follow `class_sizes`
/// (columns in class order), computed with a per-column log-sum-exp (log1p form, accurate to a
/// few eps relative even when the loss is tiny).
pub fn cross_entropy(z: MatRef<'_, f64>, class_sizes: &[usize]) -> f64 {
    let n_total: usize = class_sizes.iter().sum();
    assert_eq!(z.nrows(), class_sizes.len(), "z must have K rows");
    assert_eq!(z.ncols(), n_total, "z must have N columns");
    let mut total = 0.0;
    let mut j = 0;
    for (c, &nc) in class_sizes.iter().enumerate() {
        for _ in 0..nc {
            let col = z.col(j);
            let (mut arg, mut max) = (0, f64::NEG_INFINITY);
            for (i, &x) in col.iter().enumerate() {
                if x > max {
                    (arg, max) = (i, x);
                }
            }
            // lse(z) - z_c = (max - z_c) + log1p(sum over i != argmax of e^(z_i - max)):
            // exact 0 + log1p(...) for a correctly classified column, so tiny losses keep their
            // relative accuracy.
            let rest: f64 = col
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != arg)
                .map(|(_, &x)| (x - max).exp())
                .sum();
            total += (max - col[c]) + rest.ln_1p();
            j += 1;
        }
    }
    total / n_total as f64
}

/// Relative threshold below which a singular value counts as zero: `max(rows, cols) * eps`
/// times the largest one (the usual numerical-rank rule). Needed because `s^(2/(L+1))` is
/// steep at 0: a rounding-level singular value of 1e-16 would contribute (1e-16)^(2/5) ~ 4e-7
/// at L = 4.
pub(crate) fn rank_threshold(rows: usize, cols: usize, s_max: f64) -> f64 {
    rows.max(cols) as f64 * f64::EPSILON * s_max
}

/// The singular values of `z` above `rank_threshold`, in nonincreasing order.
pub fn numerical_singular_values(z: MatRef<'_, f64>) -> Vec<f64> {
    let s = z
        .singular_values()
        .expect("SVD of the logit matrix did not converge");
    let s_max = s.first().copied().unwrap_or(0.0);
    let tol = rank_threshold(z.nrows(), z.ncols(), s_max);
    s.into_iter().filter(|&x| x > tol && x > 0.0).collect()
}

/// The loss at any Lemma-1-aligned point with logits `z`:
/// `g(z) + (L+1) lambda / 2 * sum_i s_i(z)^(2/(L+1))` with g the mean cross-entropy, labels from
/// `class_sizes` (columns in class order) and singular values below [`numerical_singular_values`]'
/// threshold treated as 0. This is also the minimum of the regulariser over all factorisations of
/// z (the Schatten quasi-norm identity), so it lower-bounds the loss at any parameters giving z.
pub fn reduced_loss(z: MatRef<'_, f64>, class_sizes: &[usize], layers: usize, lambda: f64) -> f64 {
    let a = schatten_exponent(layers);
    let reg: f64 = numerical_singular_values(z).iter().map(|s| s.powf(a)).sum();
    cross_entropy(z, class_sizes) + 0.5 * (layers as f64 + 1.0) * lambda * reg
}
