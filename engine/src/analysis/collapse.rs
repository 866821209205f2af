//! Neural-collapse metrics of one feature matrix (NC1, NC1 quotient, NC2) and of one weight
//! matrix against its input features (NC3). Definitions: docs/results.md.
//!
//! # Computation
//! With M the d x K class means, mu_G their unweighted average, M_c = M - mu_G 1^T, and
//! D = H - M\[labels\] the within-class deviations (d x N):
//! - Sigma_W = D D^T / N (average over all N samples, so larger classes weigh more),
//!   Sigma_B = M_c M_c^T / K (average over the K classes, each class counts once).
//! - With the thin SVD M_c = U diag(s) V^T, Sigma_B^+ = K U_r diag(1/s_r^2) U_r^T, so
//!   nc1 = tr(Sigma_W Sigma_B^+) / K = (1/N) sum_{i<r} ||D^T u_i||^2 / s_i^2.
//!   Cost O(d N K + d K^2); no d x d matrix is formed.
//! - tr Sigma_W = ||D||_F^2 / N, tr Sigma_B = ||M_c||_F^2 / K.
//! - G = M_c^T M_c (K x K) for NC2.
//! - NC3 uses the same U_r as an orthonormal basis of span(M_c): ||(I - P) W^T||_F = ||W - W U_r U_r^T||_F.
//!
//! # Tolerance for "nonzero spectrum" and "span"
//! A singular value s_i of M_c counts as nonzero when s_i > max(d, K) * eps * s_max (eps = f64
//! machine epsilon), the usual numerical-rank cut (NumPy's `matrix_rank` default) for a matrix
//! whose entries carry rounding errors of order eps * s_max. In terms of Sigma_B this keeps the
//! eigenvalues above (max(d, K) eps)^2 times the largest. Centring makes M_c rank deficient (its
//! columns sum to zero), and this cut removes that rounding-level direction. Both the
//! pseudo-inverse of NC1 and the projector of NC3 use it. It deliberately ignores the analysis
//! `rank_tol`: the metrics follow their definitions, `rank` reports numerical rank separately.
//!
//! # Scale
//! All four metrics are invariant to scaling the features (and, for NC3, the weights). Inputs are
//! rescaled by an exact power of two so that their largest entry is in [0.5, 1) before any
//! product is formed, so tiny (1e-200) or large (1e200) features neither underflow nor overflow.
//!
//! # Degenerate cases (all results finite and >= 0 for finite input)
//! - Sigma_W = 0 (every sample equals its class mean, exactly, see `class_means`):
//!   nc1 = nc1_quotient = 0, whatever Sigma_B is (DNC1 holds exactly).
//! - Sigma_B = 0 (all class means equal) with Sigma_W != 0: the ratios are infinite; they are
//!   reported as [`NC1_MAX`] = 1/eps^2 (about 2.03e31). More generally nc1 and nc1_quotient
//!   saturate at NC1_MAX: a ratio that large means the class means cannot be told apart from the
//!   within-class spread at double precision. The cap is far from any meaningful value and small
//!   enough that sums and squares over many runs stay finite.
//! - G = 0 (all class means equal): the normalised Gram matrix is taken as 0, so
//!   nc2 = ||S / sqrt(K - 1)||_F = 1 (for comparison, nc2 <= sqrt(2 - 2/sqrt(K - 1)) < sqrt(2)
//!   for any nonzero centred Gram matrix). With K = 1 there is no simplex: nc2 = 0.
//! - NC3: a zero weight matrix gives 0; input class means that coincide (P = 0) give 1. The
//!   value is clamped to [0, 1] (rounding can exceed 1 by an ulp).
//! - Non-finite input: every metric is NaN (garbage in is not hidden; no panic).

use crate::linalg::matmul;
use faer::{Accum, Mat, MatRef, Par};

use super::class_means::{centre_means, check_sizes, class_means};
use super::spectrum::thin_left_svd;

/// The saturation value of nc1 and nc1_quotient: 1 / eps^2.
pub const NC1_MAX: f64 = 1.0 / (f64::EPSILON * f64::EPSILON);

/// Relative tolerance on the singular values of the centred class means (d x K) below which a
/// direction is numerically zero: max(d, K) * eps.
pub fn span_tolerance(d: usize, k: usize) -> f64 {
    d.max(k).max(1) as f64 * f64::EPSILON
}

/// Power of two 2^-e such that `m * 2^-e` has its largest absolute entry in [0.5, 1) (for
/// normal numbers), 1 for a zero matrix, `None` for a matrix with a non-finite entry. Multiplying by it is exact.
pub(crate) fn pow2_scale(m: MatRef<f64>) -> Option<f64> {
    let mut amax = 0.0f64;
    for j in 0..m.ncols() {
        for &x in m.col(j).iter() {
            if !x.is_finite() {
                return None;
            }
            amax = amax.max(x.abs());
        }
    }
    if amax == 0.0 {
        return Some(1.0);
    }
    // frexp-style exponent: amax = f * 2^e with f in [0.5, 1).
    // The factor itself must be a finite f64: at most 2^1023. Subnormal inputs therefore end
    // up in [2^-52, 1) rather than [0.5, 1), still far from underflow when squared.
    let max_f = pow2(1023);
    let e = amax.log2().floor() as i32 + 1;
    let mut f = pow2((-e).min(1023));
    // log2 may round across a power of two; fix the last step exactly.
    while amax * f >= 1.0 {
        f *= 0.5;
    }
    while amax * f < 0.5 && f < max_f {
        f *= 2.0;
    }
    Some(f)
}

/// 2^e for any e in the f64 exponent range, exactly (powi alone underflows for e < -1022
/// through subnormals in one step, so split it).
fn pow2(e: i32) -> f64 {
    let half = e / 2;
    2f64.powi(half) * 2f64.powi(e - half)
}

fn scaled(m: MatRef<f64>, f: f64) -> Mat<f64> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] * f)
}

/// The class geometry of a (scaled) feature matrix shared by all metrics.
struct Geometry {
    /// Within-class deviations D (d x N).
    dev: Mat<f64>,
    /// Centred class means M_c (d x K).
    centred: Mat<f64>,
    /// Orthonormal basis U_r (d x r) of the numerically nonzero span of M_c.
    basis: Mat<f64>,
    /// The r singular values of M_c kept in `basis`.
    sigma: Vec<f64>,
}

impl Geometry {
    /// `None` for non-finite input.
    fn new(features: MatRef<f64>, class_sizes: &[usize]) -> Option<Self> {
        check_sizes(features.ncols(), class_sizes);
        let f = pow2_scale(features)?;
        let x = scaled(features, f);
        let means = class_means(x.as_ref(), class_sizes);
        let (_, centred) = centre_means(means.as_ref());
        let mut dev = x;
        let mut start = 0;
        for (c, &n) in class_sizes.iter().enumerate() {
            for j in start..start + n {
                for i in 0..dev.nrows() {
                    dev[(i, j)] -= means[(i, c)];
                }
            }
            start += n;
        }
        let (u, s) = thin_left_svd(centred.as_ref())?;
        let s_max = s.first().copied().unwrap_or(0.0);
        let cut = span_tolerance(centred.nrows(), centred.ncols()) * s_max;
        let r = s.iter().take_while(|&&v| v > cut && v > 0.0).count();
        let basis = u.as_ref().subcols(0, r).to_owned();
        Some(Geometry {
            dev,
            centred,
            basis,
            sigma: s[..r].to_vec(),
        })
    }
}

/// nc1, nc1_quotient and nc2 of one feature matrix, sharing the work.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Collapse {
    pub nc1: f64,
    pub nc1_quotient: f64,
    pub nc2: f64,
}

pub(crate) fn collapse(features: MatRef<f64>, class_sizes: &[usize]) -> Collapse {
    let Some(g) = Geometry::new(features, class_sizes) else {
        return Collapse {
            nc1: f64::NAN,
            nc1_quotient: f64::NAN,
            nc2: f64::NAN,
        };
    };
    let n = features.ncols() as f64;
    let k = class_sizes.len();
    let tr_w = g.dev.squared_norm_l2() / n;
    let tr_b = g.centred.squared_norm_l2() / k as f64;

    let (nc1, nc1_quotient) = if tr_w == 0.0 {
        (0.0, 0.0)
    } else if tr_b == 0.0 || g.sigma.is_empty() {
        (NC1_MAX, NC1_MAX)
    } else {
        // P = U_r^T D (r x N); row i holds u_i^T (h - mu_c) for every sample.
        let mut p = Mat::<f64>::zeros(g.basis.ncols(), g.dev.ncols());
        matmul(
            p.as_mut(),
            Accum::Replace,
            g.basis.transpose(),
            g.dev.as_ref(),
            1.0,
            Par::Seq,
        );
        let mut sum = 0.0;
        for (i, &s) in g.sigma.iter().enumerate() {
            let row_sq: f64 = (0..p.ncols()).map(|j| p[(i, j)] * p[(i, j)]).sum();
            // Divide before squaring: s can be tiny relative to the norms.
            let ratio = row_sq.sqrt() / s;
            sum += ratio * ratio;
        }
        ((sum / n).min(NC1_MAX), (tr_w / tr_b).min(NC1_MAX))
    };

    Collapse {
        nc1,
        nc1_quotient,
        nc2: nc2_of_centred(g.centred.as_ref()),
    }
}

/// nc2 from the centred class means (d x K).
fn nc2_of_centred(centred: MatRef<f64>) -> f64 {
    let k = centred.ncols();
    if k < 2 {
        return 0.0;
    }
    let mut gram = Mat::<f64>::zeros(k, k);
    matmul(
        gram.as_mut(),
        Accum::Replace,
        centred.transpose(),
        centred,
        1.0,
        Par::Seq,
    );
    let norm = gram.norm_l2();
    if norm == 0.0 {
        // The normalised Gram matrix is taken as 0: nc2 = ||S||_F / sqrt(K - 1) = 1 exactly.
        return 1.0;
    }
    let s_scale = 1.0 / ((k - 1) as f64).sqrt();
    let mut sq = 0.0;
    for j in 0..k {
        for i in 0..k {
            let g = gram[(i, j)] / norm;
            let s = (if i == j { 1.0 } else { 0.0 } - 1.0 / k as f64) * s_scale;
            sq += (g - s) * (g - s);
        }
    }
    sq.sqrt()
}

/// NC1 = tr(Sigma_W Sigma_B^+) / K of `features` (d x N, columns in class order). See the module
/// docs for the tolerance of the pseudo-inverse and the degenerate cases.
///
/// # Panics
/// When a class is empty or `class_sizes` does not sum to the number of columns.
pub fn nc1(features: MatRef<f64>, class_sizes: &[usize]) -> f64 {
    collapse(features, class_sizes).nc1
}

/// tr Sigma_W / tr Sigma_B (module docs: conventions).
///
/// # Panics
/// As [`nc1`].
pub fn nc1_quotient(features: MatRef<f64>, class_sizes: &[usize]) -> f64 {
    collapse(features, class_sizes).nc1_quotient
}

/// NC2 = || G/||G||_F - S/sqrt(K-1) ||_F, G the Gram matrix of the globally centred class means.
///
/// # Panics
/// As [`nc1`].
pub fn nc2(features: MatRef<f64>, class_sizes: &[usize]) -> f64 {
    collapse(features, class_sizes).nc2
}

/// NC3 of a weight matrix W (rows x d) against the features entering it (`input_features`,
/// d x N): ||(I - P) W^T||_F / ||W||_F, P the orthogonal projector onto the span of the centred
/// class means of the input (module docs: tolerance, conventions). In [0, 1].
///
/// # Panics
/// When `weight.ncols() != input_features.nrows()`, or as [`nc1`].
pub fn nc3(weight: MatRef<f64>, input_features: MatRef<f64>, class_sizes: &[usize]) -> f64 {
    assert_eq!(
        weight.ncols(),
        input_features.nrows(),
        "nc3: the weight has {} columns but the input features have {} rows",
        weight.ncols(),
        input_features.nrows()
    );
    let Some(g) = Geometry::new(input_features, class_sizes) else {
        return f64::NAN;
    };
    let Some(f) = pow2_scale(weight) else {
        return f64::NAN;
    };
    let w = scaled(weight, f);
    let w_norm = w.norm_l2();
    if w_norm == 0.0 {
        return 0.0;
    }
    // R = W - (W U_r) U_r^T, the rows of W with their component in span(M_c) removed.
    let mut t = Mat::<f64>::zeros(w.nrows(), g.basis.ncols());
    matmul(
        t.as_mut(),
        Accum::Replace,
        w.as_ref(),
        g.basis.as_ref(),
        1.0,
        Par::Seq,
    );
    let mut r = w;
    matmul(
        r.as_mut(),
        Accum::Add,
        t.as_ref(),
        g.basis.transpose(),
        -1.0,
        Par::Seq,
    );
    (r.norm_l2() / w_norm).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::test_util::{random_mat, simplex};

    // ---------- independent, naive references (dense d x d matrices, plain means) ----------

    fn naive_means(h: MatRef<f64>, sizes: &[usize]) -> (Vec<Vec<f64>>, Vec<f64>) {
        let d = h.nrows();
        let mut means = Vec::new();
        let mut start = 0;
        for &n in sizes {
            let mut m = vec![0.0; d];
            for j in start..start + n {
                for (i, mi) in m.iter_mut().enumerate() {
                    *mi += h[(i, j)];
                }
            }
            m.iter_mut().for_each(|x| *x /= n as f64);
            means.push(m);
            start += n;
        }
        let mut mu = vec![0.0; d];
        for m in &means {
            for i in 0..d {
                mu[i] += m[i] / sizes.len() as f64;
            }
        }
        (means, mu)
    }

    /// (Sigma_W, Sigma_B) formed explicitly.
    fn naive_covariances(h: MatRef<f64>, sizes: &[usize]) -> (Mat<f64>, Mat<f64>) {
        let d = h.nrows();
        let n_total: usize = sizes.iter().sum();
        let (means, mu) = naive_means(h, sizes);
        let mut sw = Mat::<f64>::zeros(d, d);
        let mut sb = Mat::<f64>::zeros(d, d);
        let mut start = 0;
        for (c, &n) in sizes.iter().enumerate() {
            for j in start..start + n {
                for a in 0..d {
                    for b in 0..d {
                        sw[(a, b)] +=
                            (h[(a, j)] - means[c][a]) * (h[(b, j)] - means[c][b]) / n_total as f64;
                    }
                }
            }
            for a in 0..d {
                for b in 0..d {
                    sb[(a, b)] +=
                        (means[c][a] - mu[a]) * (means[c][b] - mu[b]) / sizes.len() as f64;
                }
            }
            start += n;
        }
        (sw, sb)
    }

    /// Pseudo-inverse of a symmetric PSD matrix via a dense eigendecomposition, keeping
    /// eigenvalues above 1e-10 of the largest (far above rounding noise ~1e-16, far below the
    /// smallest true eigenvalue of the random test matrices).
    fn naive_pinv(a: &Mat<f64>) -> Mat<f64> {
        let e = a.self_adjoint_eigen(faer::Side::Lower).unwrap();
        let (u, s) = (e.U(), e.S().column_vector());
        let smax = s.iter().fold(0.0f64, |m, &x| m.max(x));
        let mut p = Mat::<f64>::zeros(a.nrows(), a.ncols());
        for k in 0..a.nrows() {
            if s[k] > 1e-10 * smax {
                for i in 0..a.nrows() {
                    for j in 0..a.ncols() {
                        p[(i, j)] += u[(i, k)] * u[(j, k)] / s[k];
                    }
                }
            }
        }
        p
    }

    fn trace(a: &Mat<f64>) -> f64 {
        (0..a.nrows()).map(|i| a[(i, i)]).sum()
    }

    fn naive_nc1(h: MatRef<f64>, sizes: &[usize]) -> f64 {
        let (sw, sb) = naive_covariances(h, sizes);
        trace(&(&sw * &naive_pinv(&sb))) / sizes.len() as f64
    }

    fn naive_quotient(h: MatRef<f64>, sizes: &[usize]) -> f64 {
        let (sw, sb) = naive_covariances(h, sizes);
        trace(&sw) / trace(&sb)
    }

    fn naive_nc2(h: MatRef<f64>, sizes: &[usize]) -> f64 {
        let k = sizes.len();
        let (means, mu) = naive_means(h, sizes);
        let g = Mat::from_fn(k, k, |a, b| {
            (0..h.nrows())
                .map(|i| (means[a][i] - mu[i]) * (means[b][i] - mu[i]))
                .sum::<f64>()
        });
        let s = simplex(k);
        let diff = Mat::from_fn(k, k, |i, j| {
            g[(i, j)] / g.norm_l2() - s[(i, j)] / ((k - 1) as f64).sqrt()
        });
        diff.norm_l2()
    }

    fn naive_nc3(w: MatRef<f64>, h: MatRef<f64>, sizes: &[usize]) -> f64 {
        let d = h.nrows();
        let (means, mu) = naive_means(h, sizes);
        let mc = Mat::from_fn(d, sizes.len(), |i, c| means[c][i] - mu[i]);
        // P = M_c (M_c^T M_c)^+ M_c^T.
        let p = &mc * naive_pinv(&(mc.transpose() * &mc)) * mc.transpose();
        let i_minus_p = Mat::from_fn(d, d, |i, j| if i == j { 1.0 } else { 0.0 } - p[(i, j)]);
        (&i_minus_p * w.transpose()).norm_l2() / w.norm_l2()
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    /// (d, class sizes, seed): d > K, d < K (Sigma_B rank d < K - 1), imbalanced.
    const CASES: &[(usize, &[usize], u64)] = &[
        (8, &[3, 3, 3, 3], 11),
        (3, &[2, 2, 2, 2, 2, 2], 12),
        (10, &[5, 1, 3, 2], 13),
        (6, &[1, 1, 1], 14),
        (20, &[4, 7, 2, 9, 3], 15),
    ];

    // The fast and naive routes are both backward stable; for these random matrices the
    // condition number of Sigma_B on its range is < 1e3, so they agree to ~1e-12 relative.
    // 1e-9 leaves margin, while weighting or centring mistakes (sample-weighted global mean,
    // per-class averaging of Sigma_W, missing 1/K) change the values at O(0.1).
    const REL: f64 = 1e-9;

    #[test]
    fn nc1_matches_dense_pseudo_inverse() {
        for &(d, sizes, seed) in CASES {
            let h = random_mat(d, sizes.iter().sum(), seed);
            let (a, b) = (nc1(h.as_ref(), sizes), naive_nc1(h.as_ref(), sizes));
            assert!(close(a, b, REL), "d={d} sizes={sizes:?}: {a} vs {b}");
        }
    }

    #[test]
    fn nc1_quotient_matches_traces() {
        for &(d, sizes, seed) in CASES {
            let h = random_mat(d, sizes.iter().sum(), seed);
            let (a, b) = (
                nc1_quotient(h.as_ref(), sizes),
                naive_quotient(h.as_ref(), sizes),
            );
            assert!(close(a, b, REL), "d={d} sizes={sizes:?}: {a} vs {b}");
        }
    }

    #[test]
    fn nc2_matches_naive_gram() {
        for &(d, sizes, seed) in CASES {
            let h = random_mat(d, sizes.iter().sum(), seed);
            let (a, b) = (nc2(h.as_ref(), sizes), naive_nc2(h.as_ref(), sizes));
            // nc2 is O(1) here; absolute agreement to 1e-12.
            assert!((a - b).abs() < 1e-12, "d={d} sizes={sizes:?}: {a} vs {b}");
        }
    }

    #[test]
    fn nc3_matches_dense_projector() {
        for &(d, sizes, seed) in CASES {
            let h = random_mat(d, sizes.iter().sum(), seed);
            for rows in [d, 4] {
                let w = random_mat(rows, d, seed + 100);
                let (a, b) = (
                    nc3(w.as_ref(), h.as_ref(), sizes),
                    naive_nc3(w.as_ref(), h.as_ref(), sizes),
                );
                // nc3 in (0, 1]; projector errors are ~eps * cond ~1e-14.
                assert!((a - b).abs() < 1e-12, "d={d} sizes={sizes:?}: {a} vs {b}");
            }
        }
    }

    /// A collapsed simplex ETF: H = (a S + mu_G 1^T) embedded in d rows, kron 1_n^T.
    fn etf_features(k: usize, n: usize, d: usize, a: f64) -> Mat<f64> {
        let s = simplex(k);
        Mat::from_fn(d, k * n, |i, j| {
            let c = j / n;
            let offset = 0.3 * (i as f64 + 1.0);
            if i < k {
                a * s[(i, c)] + offset
            } else {
                offset
            }
        })
    }

    #[test]
    fn collapsed_simplex_etf_is_exact() {
        for (k, n, d, a) in [(4, 3, 6, 2.5), (10, 5, 70, 0.1), (3, 1, 3, 7.0)] {
            let h = etf_features(k, n, d, a);
            let sizes = vec![n; k];
            let c = collapse(h.as_ref(), &sizes);
            assert_eq!(c.nc1, 0.0);
            assert_eq!(c.nc1_quotient, 0.0);
            // The centred Gram is a^2 S up to rounding of the mean (~1e-16).
            assert!(c.nc2 < 1e-12, "nc2 = {}", c.nc2);
        }
    }

    #[test]
    fn nc3_is_zero_for_weights_in_the_mean_span() {
        let (k, n, d) = (5, 2, 8);
        let h = etf_features(k, n, d, 1.0);
        // Rows of W are combinations of the centred means e_c - 1/K (c < K) in the first K rows.
        let s = simplex(k);
        let w = Mat::from_fn(3, d, |r, i| {
            if i < k {
                (0..k).map(|c| (r + c) as f64 * s[(i, c)]).sum()
            } else {
                0.0
            }
        });
        assert!(nc3(w.as_ref(), h.as_ref(), &[n; 5]) < 1e-14);
        // A row orthogonal to the span: 1 in the last coordinate.
        let w = Mat::from_fn(1, d, |_, i| if i == d - 1 { 1.0 } else { 0.0 });
        assert!((nc3(w.as_ref(), h.as_ref(), &[n; 5]) - 1.0).abs() < 1e-14);
    }

    #[test]
    fn degenerate_inputs_give_documented_finite_values() {
        let sizes = [2, 3, 1];
        // All zero: exact collapse, no between-class structure.
        let z = Mat::<f64>::zeros(4, 6);
        let c = collapse(z.as_ref(), &sizes);
        assert_eq!((c.nc1, c.nc1_quotient, c.nc2), (0.0, 0.0, 1.0));
        assert_eq!(
            nc3(Mat::<f64>::zeros(3, 4).as_ref(), z.as_ref(), &sizes),
            0.0
        );
        // Nonzero weight, zero span: nothing is explained.
        assert_eq!(nc3(random_mat(3, 4, 1).as_ref(), z.as_ref(), &sizes), 1.0);

        // Identical class means, spread within classes: Sigma_B = 0, Sigma_W != 0.
        let same = Mat::from_fn(2, 6, |i, j| {
            let v = [
                [1.0, 2.0],
                [3.0, 4.0],
                [1.0, 4.0],
                [2.0, 3.0],
                [3.0, 2.0],
                [2.0, 3.0],
            ];
            v[j][i]
        });
        let c = collapse(same.as_ref(), &sizes);
        assert_eq!((c.nc1, c.nc1_quotient, c.nc2), (NC1_MAX, NC1_MAX, 1.0));

        // A single class: no simplex; all within-class scatter.
        let one = random_mat(3, 4, 2);
        let c = collapse(one.as_ref(), &[4]);
        assert_eq!((c.nc1, c.nc1_quotient, c.nc2), (NC1_MAX, NC1_MAX, 0.0));

        // Every metric finite and non-negative on these and on random inputs.
        for h in [z, same, random_mat(5, 6, 3)] {
            let c = collapse(h.as_ref(), &sizes);
            for v in [c.nc1, c.nc1_quotient, c.nc2] {
                assert!(v.is_finite() && v >= 0.0);
            }
        }
    }

    #[test]
    fn metrics_are_scale_invariant_without_underflow() {
        let sizes = [3, 1, 4];
        let h = random_mat(5, 8, 21);
        let w = random_mat(2, 5, 22);
        let base = collapse(h.as_ref(), &sizes);
        let base3 = nc3(w.as_ref(), h.as_ref(), &sizes);
        for f in [1e-200, 1e-300, 1e200, 3.7] {
            let hs = Mat::from_fn(5, 8, |i, j| h[(i, j)] * f);
            let ws = Mat::from_fn(2, 5, |i, j| w[(i, j)] * f);
            let c = collapse(hs.as_ref(), &sizes);
            // Only the rounding of the scaled inputs differs (f is not a power of two).
            assert!(close(c.nc1, base.nc1, 1e-12), "{f}: {} {}", c.nc1, base.nc1);
            assert!(close(c.nc1_quotient, base.nc1_quotient, 1e-12));
            assert!((c.nc2 - base.nc2).abs() < 1e-12);
            assert!((nc3(ws.as_ref(), hs.as_ref(), &sizes) - base3).abs() < 1e-12);
        }
    }

    #[test]
    fn nearly_coincident_means_saturate() {
        // Class means differ by 1e-20 relative to the spread: the ratio exceeds NC1_MAX.
        let sizes = [2, 2];
        let h = Mat::from_fn(1, 4, |_, j| [1.0, -1.0, 1.0 + 1e-20, -1.0 + 1e-20][j]);
        let h2 = Mat::from_fn(1, 4, |_, j| [1.0, -1.0, 1e-17, -1e-17][j]);
        for m in [h, h2] {
            let c = collapse(m.as_ref(), &sizes);
            assert!(c.nc1 <= NC1_MAX && c.nc1_quotient <= NC1_MAX);
            assert!(c.nc1.is_finite() && c.nc1 > 0.0);
        }
    }

    #[test]
    fn non_finite_input_is_reported_as_nan() {
        let mut h = random_mat(3, 4, 5);
        h[(1, 2)] = f64::INFINITY;
        let c = collapse(h.as_ref(), &[2, 2]);
        assert!(c.nc1.is_nan() && c.nc1_quotient.is_nan() && c.nc2.is_nan());
        assert!(nc3(random_mat(2, 3, 6).as_ref(), h.as_ref(), &[2, 2]).is_nan());
    }

    #[test]
    #[should_panic(expected = "nc3")]
    fn nc3_checks_shapes() {
        nc3(
            Mat::<f64>::zeros(2, 3).as_ref(),
            Mat::<f64>::zeros(4, 2).as_ref(),
            &[1, 1],
        );
    }

    #[test]
    fn pow2_scale_is_exact_and_bounded() {
        for x in [5e-324, 1e-310, 1e-200, 0.75, 1.0, 3.0, 1e300] {
            let m = Mat::from_fn(1, 1, |_, _| x);
            let f = pow2_scale(m.as_ref()).unwrap();
            let y = x * f;
            let low = if x < f64::MIN_POSITIVE {
                2f64.powi(-52)
            } else {
                0.5
            };
            assert!(y >= low && y < 1.0, "{x} -> {y}");
            assert_eq!(y / f, x);
        }
    }
}
