//! The singular values above the rank tolerance of a large matrix in O(m n r) operations: a
//! randomized range finder (one power iteration) whose block grows until the residual
//! certifies that nothing above the cut was missed, falling back to the full SVD when the
//! matrix is not numerically low-rank.
//!
//! Certificate. With Q (m x b) orthonormal, B = Q^T A and R = A - Q B:
//! A^T A = B^T B + R^T R, so by Weyl sigma_i(B)^2 <= sigma_i(A)^2 <= sigma_i(B)^2 + ||R||_2^2,
//! and every singular value of A beyond the b-th is at most ||R||_2 (rank QB <= b). The
//! residual rho = ||R||_F >= ||R||_2 is computed directly (no cancellation). A block is
//! accepted when rho <= 0.1 * cut (cut = rank_tol * sigma_1(B)) and fewer than b values of B
//! lie above the cut: then no singular value beyond the block reaches the cut, and each kept
//! value sigma_i(B) is below sigma_i(A) by at most rho^2 / (2 sigma_i(B)) (reported as
//! [`TopSpectrum::error_bound`]). The rank agrees with the full SVD's unless a singular value
//! lies within that bound of the cut.

use super::spectrum::singular_values;
use crate::linalg::matmul;
use faer::{Accum, Mat, MatRef, Par};
use std::sync::atomic::{AtomicBool, Ordering};

/// The certified top of a spectrum.
#[derive(Clone, Debug, PartialEq)]
pub struct TopSpectrum {
    /// Every singular value above rank_tol * the largest, nonincreasing.
    pub values: Vec<f64>,
    /// Upper bound on sigma_i(A) - `values[i]` for every kept i.
    pub error_bound: f64,
    /// The block size that was accepted.
    pub block: usize,
}

/// Why no certified top spectrum was produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTop {
    /// The block would exceed `max_block`: the matrix is not low-rank enough (use the full SVD).
    NotLowRank,
    /// A rank tolerance of 0 (or NaN) counts rounding-level values only a full SVD sees.
    ZeroTolerance,
    /// Non-finite entries.
    NonFinite,
    /// The cancellation flag was raised.
    Cancelled,
}

/// First block size tried; each retry multiplies it by 4 (the last one is `max_block`).
const FIRST_BLOCK: usize = 32;

/// The singular values of `a` above `rank_tol` times the largest (see the module docs), trying
/// blocks up to `max_block` columns.
pub fn top_singular_values(
    a: MatRef<'_, f64>,
    rank_tol: f64,
    max_block: usize,
    cancel: Option<&AtomicBool>,
) -> Result<TopSpectrum, NoTop> {
    let (m, n) = (a.nrows(), a.ncols());
    let size = m.min(n);
    if rank_tol.is_nan() || rank_tol <= 1e-14 {
        return Err(NoTop::ZeroTolerance);
    }
    if size == 0 {
        return Ok(TopSpectrum {
            values: Vec::new(),
            error_bound: 0.0,
            block: 0,
        });
    }
    let cancelled = || cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    let mut b = FIRST_BLOCK.min(size);
    loop {
        if cancelled() {
            return Err(NoTop::Cancelled);
        }
        let omega = test_matrix(n, b, b as u64);
        let mut y = Mat::<f64>::zeros(m, b);
        matmul(y.as_mut(), Accum::Replace, a, omega.as_ref(), 1.0, Par::Seq);
        // One power iteration: Q = orth(A orth(A^T orth(A Omega))).
        let q = orthonormal(&y).ok_or(NoTop::NonFinite)?;
        let mut z = Mat::<f64>::zeros(n, b);
        matmul(
            z.as_mut(),
            Accum::Replace,
            a.transpose(),
            q.as_ref(),
            1.0,
            Par::Seq,
        );
        let qz = orthonormal(&z).ok_or(NoTop::NonFinite)?;
        matmul(y.as_mut(), Accum::Replace, a, qz.as_ref(), 1.0, Par::Seq);
        let q = orthonormal(&y).ok_or(NoTop::NonFinite)?;
        if cancelled() {
            return Err(NoTop::Cancelled);
        }
        let mut bm = Mat::<f64>::zeros(b, n);
        matmul(bm.as_mut(), Accum::Replace, q.transpose(), a, 1.0, Par::Seq);
        let sv = singular_values(bm.as_ref());
        if sv.iter().any(|x| !x.is_finite()) {
            return Err(NoTop::NonFinite);
        }
        let rho = residual_norm(a, q.as_ref(), bm.as_ref());
        let s1 = sv.first().copied().unwrap_or(0.0);
        if s1 == 0.0 && rho == 0.0 {
            return Ok(TopSpectrum {
                values: Vec::new(),
                error_bound: 0.0,
                block: b,
            });
        }
        let cut = rank_tol * s1;
        let kept = sv.iter().filter(|&&s| s > cut).count();
        if rho <= 0.1 * cut && (kept < b || b == size) {
            let values: Vec<f64> = sv[..kept].to_vec();
            let smallest = values.last().copied().unwrap_or(s1);
            return Ok(TopSpectrum {
                values,
                error_bound: if smallest > 0.0 {
                    rho * rho / (2.0 * smallest)
                } else {
                    rho
                },
                block: b,
            });
        }
        let cap = max_block.max(FIRST_BLOCK).min(size);
        if b >= cap {
            return Err(NoTop::NotLowRank);
        }
        b = (b * 4).min(cap);
    }
}

/// ||A - Q B||_F, 256 columns at a time (d x 256 scratch instead of a second d x n matrix).
fn residual_norm(a: MatRef<'_, f64>, q: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    let (m, n) = (a.nrows(), a.ncols());
    let chunk = 256.min(n.max(1));
    let mut r = Mat::<f64>::zeros(m, chunk);
    let mut total = 0.0;
    let mut j0 = 0;
    while j0 < n {
        let w = chunk.min(n - j0);
        let mut rv = r.as_mut().subcols_mut(0, w);
        rv.copy_from(a.subcols(j0, w));
        matmul(rv.as_mut(), Accum::Add, q, b.subcols(j0, w), -1.0, Par::Seq);
        total += crate::grad::elementwise::squared_norm(rv.as_ref());
        j0 += w;
    }
    total.sqrt()
}

/// Orthonormal basis of the columns of `y` (Householder QR, thin Q); `None` for non-finite input.
fn orthonormal(y: &Mat<f64>) -> Option<Mat<f64>> {
    let q = y.qr().compute_thin_Q();
    let finite = (0..q.ncols()).all(|j| q.col(j).iter().all(|x| x.is_finite()));
    finite.then_some(q)
}

/// A deterministic n x b test matrix with entries uniform in [-1, 1) (splitmix64 of `seed`),
/// so the analysis of the same parameters is the same on every run.
fn test_matrix(n: usize, b: usize, seed: u64) -> Mat<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    Mat::from_fn(n, b, |_, _| {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::relative_rank;
    use crate::analysis::test_util::random_mat;

    /// U diag(s) V^T with U, V orthonormal (QR of random matrices): a matrix with a known
    /// spectrum.
    fn with_spectrum(m: usize, n: usize, s: &[f64], seed: u64) -> Mat<f64> {
        let u = random_mat(m, s.len(), seed).qr().compute_thin_Q();
        let v = random_mat(n, s.len(), seed + 1).qr().compute_thin_Q();
        let us = Mat::from_fn(m, s.len(), |i, j| u[(i, j)] * s[j]);
        &us * v.transpose()
    }

    /// The top method against the full SVD: the same rank, and each kept value within the
    /// certified bound plus the full SVD's own error (a few eps * s_max; 1e-13 * s_max allows
    /// for the accumulation in the test matrix's construction).
    fn agree(a: &Mat<f64>, tol: f64) -> TopSpectrum {
        let full = singular_values(a.as_ref());
        let top = top_singular_values(a.as_ref(), tol, a.nrows().min(a.ncols()), None).unwrap();
        let rank = relative_rank(&full, tol);
        assert_eq!(
            top.values.len(),
            rank,
            "{:?} vs {:?}",
            top.values,
            &full[..rank + 1]
        );
        for (x, y) in top.values.iter().zip(&full) {
            assert!(
                (x - y).abs() <= top.error_bound + 1e-13 * full[0],
                "{x} vs {y} (bound {:e})",
                top.error_bound
            );
        }
        top
    }

    #[test]
    fn exactly_rank_deficient_matrices() {
        // Rank 7 in 300 x 300: the rest is exact zeros up to rounding.
        let s: Vec<f64> = (0..7).map(|i| 10.0 / (i + 1) as f64).collect();
        let a = with_spectrum(300, 300, &s, 1);
        let top = agree(&a, 1e-6);
        assert_eq!(top.values.len(), 7);
        assert_eq!(top.block, 32);
        for (x, y) in top.values.iter().zip(&s) {
            assert!((x - y).abs() <= 1e-12 * s[0], "{x} vs {y}");
        }
    }

    #[test]
    fn clustered_and_tiny_singular_values() {
        // Five values clustered at 1 (1 + 1e-10 i), then tiny ones straddling the cut
        // 1e-6: 5e-6 and 2e-6 are above it, 5e-7 and 1e-9 below.
        let mut s: Vec<f64> = (0..5).map(|i| 1.0 + 1e-10 * i as f64).collect();
        s.reverse();
        s.extend([5e-6, 2e-6, 5e-7, 1e-9]);
        let a = with_spectrum(260, 200, &s, 3);
        let top = agree(&a, 1e-6);
        assert_eq!(top.values.len(), 7);
        // The cluster is resolved to well below its spacing.
        for (x, y) in top.values.iter().zip(&s).take(5) {
            assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        }
        assert!((top.values[6] - 2e-6).abs() < 1e-12);
    }

    #[test]
    fn many_values_above_the_cut_grow_the_block() {
        // 60 values above the cut need the second block (128).
        let s: Vec<f64> = (0..60).map(|i| 2.0_f64.powf(-(i as f64) / 6.0)).collect();
        let a = with_spectrum(400, 400, &s, 5);
        let top = agree(&a, 1e-6);
        assert_eq!(top.values.len(), 60);
        assert_eq!(top.block, 128);
    }

    #[test]
    fn full_rank_matrices_are_refused_and_zero_is_rank_zero() {
        let a = random_mat(200, 200, 9);
        assert_eq!(
            top_singular_values(a.as_ref(), 1e-6, 50, None),
            Err(NoTop::NotLowRank)
        );
        // Allowed to grow to the full size, it still agrees with the full SVD.
        agree(&a, 1e-6);
        let z = Mat::<f64>::zeros(100, 80);
        let top = top_singular_values(z.as_ref(), 1e-6, 80, None).unwrap();
        assert!(top.values.is_empty());
        assert_eq!(
            top_singular_values(a.as_ref(), 0.0, 200, None),
            Err(NoTop::ZeroTolerance)
        );
        let mut bad = a.clone();
        bad[(3, 4)] = f64::NAN;
        assert_eq!(
            top_singular_values(bad.as_ref(), 1e-6, 200, None),
            Err(NoTop::NonFinite)
        );
        let flag = AtomicBool::new(true);
        assert_eq!(
            top_singular_values(a.as_ref(), 1e-6, 200, Some(&flag)),
            Err(NoTop::Cancelled)
        );
    }
}
