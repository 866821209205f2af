//! Singular values and relative rank.
//!
//! Every decomposition here runs with `Par::Seq` (one run = one thread, so that sweeps parallelise over runs),
//! calling faer's low-level SVD directly rather than the convenience methods, which use faer's
//! global parallelism setting.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::svd::{self, ComputeSvdVectors};
use faer::{Mat, MatRef, Par};

/// Singular values of `m`, in nonincreasing order, `min(nrows, ncols)` of them.
///
/// The matrix must be finite: if the SVD does not converge (which for faer means a non-finite
/// entry), every value is NaN rather than a panic. An empty matrix gives an empty list.
pub fn singular_values(m: MatRef<f64>) -> Vec<f64> {
    let size = m.nrows().min(m.ncols());
    if size == 0 {
        return Vec::new();
    }
    let mut s = Diag::<f64>::zeros(size);
    let req = svd::svd_scratch::<f64>(
        m.nrows(),
        m.ncols(),
        ComputeSvdVectors::No,
        ComputeSvdVectors::No,
        Par::Seq,
        Default::default(),
    );
    let mut buf = MemBuffer::new(req);
    let res = svd::svd(
        m,
        s.as_mut(),
        None,
        None,
        Par::Seq,
        MemStack::new(&mut buf),
        Default::default(),
    );
    if res.is_err() {
        return vec![f64::NAN; size];
    }
    let mut v: Vec<f64> = s.column_vector().iter().map(|x| x.abs()).collect();
    // faer already sorts; keep the documented order even if a future version does not.
    v.sort_by(|a, b| b.total_cmp(a));
    v
}

/// Number of singular values strictly above `rank_tol * s_max` (`sv` in any order).
///
/// A zero (or empty) matrix has rank 0. A negative or NaN `rank_tol` is treated as 0, so the
/// count never includes exact zeros; NaN singular values are never counted.
pub fn relative_rank(sv: &[f64], rank_tol: f64) -> usize {
    let s_max = sv
        .iter()
        .copied()
        .filter(|x| !x.is_nan())
        .fold(0.0, f64::max);
    if s_max <= 0.0 {
        return 0;
    }
    let tol = if rank_tol.is_nan() {
        0.0
    } else {
        rank_tol.max(0.0)
    };
    let cut = tol * s_max;
    sv.iter().filter(|&&s| s > cut).count()
}

/// Thin SVD pieces of `m` (d x k): the left singular vectors (d x min(d, k)) and the singular
/// values (nonincreasing). `None` when the SVD fails (non-finite input).
pub(crate) fn thin_left_svd(m: MatRef<f64>) -> Option<(Mat<f64>, Vec<f64>)> {
    let size = m.nrows().min(m.ncols());
    let mut u = Mat::<f64>::zeros(m.nrows(), size);
    if size == 0 {
        return Some((u, Vec::new()));
    }
    let mut s = Diag::<f64>::zeros(size);
    let req = svd::svd_scratch::<f64>(
        m.nrows(),
        m.ncols(),
        ComputeSvdVectors::Thin,
        ComputeSvdVectors::No,
        Par::Seq,
        Default::default(),
    );
    let mut buf = MemBuffer::new(req);
    svd::svd(
        m,
        s.as_mut(),
        Some(u.as_mut()),
        None,
        Par::Seq,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .ok()?;
    let s: Vec<f64> = s.column_vector().iter().copied().collect();
    Some((u, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::test_util::random_mat;

    /// Independent second algorithm: square roots of the eigenvalues of the Gram matrix of the
    /// smaller side.
    fn sv_via_gram(m: MatRef<f64>) -> Vec<f64> {
        let g = if m.nrows() >= m.ncols() {
            m.transpose() * m
        } else {
            m * m.transpose()
        };
        let mut ev = g
            .self_adjoint_eigenvalues(faer::Side::Lower)
            .expect("eigenvalues");
        ev.sort_by(|a, b| b.total_cmp(a));
        ev.into_iter().map(|x| x.max(0.0).sqrt()).collect()
    }

    #[test]
    fn singular_values_match_gram_eigenvalues() {
        // Random Gaussian-like matrices are well conditioned (s_min / s_max ~ 0.1), so the Gram
        // route loses at most ~eps * kappa^2 ~ 1e-14 relative: 1e-10 leaves margin while any
        // ordering, scaling or truncation bug shows up at O(1).
        for (r, c, seed) in [(7, 4, 1), (4, 7, 2), (12, 12, 3), (1, 5, 4), (30, 9, 5)] {
            let m = random_mat(r, c, seed);
            let a = singular_values(m.as_ref());
            let b = sv_via_gram(m.as_ref());
            assert_eq!(a.len(), r.min(c));
            assert!(a.windows(2).all(|w| w[0] >= w[1]), "not descending: {a:?}");
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-10 * b[0], "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn singular_values_of_known_matrices() {
        let m = Mat::from_fn(3, 2, |i, j| if i == j { [3.0, -2.0][i] } else { 0.0 });
        let s = singular_values(m.as_ref());
        assert!((s[0] - 3.0).abs() < 1e-15 && (s[1] - 2.0).abs() < 1e-15);
        assert_eq!(singular_values(Mat::<f64>::zeros(4, 3).as_ref()), [0.0; 3]);
        assert!(singular_values(Mat::<f64>::zeros(0, 3).as_ref()).is_empty());
        let mut bad = Mat::<f64>::zeros(2, 2);
        bad[(0, 1)] = f64::NAN;
        assert!(singular_values(bad.as_ref()).iter().all(|x| x.is_nan()));
    }

    #[test]
    fn relative_rank_counts_above_relative_cut() {
        assert_eq!(relative_rank(&[10.0, 1e-3, 1e-6, 1e-9], 1e-6), 2);
        assert_eq!(relative_rank(&[10.0, 1e-3, 1.1e-5, 1e-9], 1e-6), 3);
        assert_eq!(relative_rank(&[0.0, 0.0], 1e-6), 0);
        assert_eq!(relative_rank(&[], 1e-6), 0);
        assert_eq!(relative_rank(&[2.0, 0.0], 0.0), 1);
        assert_eq!(relative_rank(&[2.0, 0.0], -1.0), 1);
        assert_eq!(relative_rank(&[2.0, 1.0], f64::NAN), 2);
        // Order does not matter.
        assert_eq!(relative_rank(&[1e-9, 10.0, 1e-3], 1e-6), 2);
    }
}
