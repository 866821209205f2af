//! Class means and their global centring.
//!
//! Columns of a feature matrix are in class order: the first `class_sizes[0]` columns belong to
//! class 0, and so on. Means are computed as `x_0 + avg_i (x_i - x_0)` (first member plus the mean
//! deviation from it), which equals the plain average mathematically but is *exact* when all
//! members are equal: a perfectly collapsed class then has a class mean bit-identical to its
//! members, so collapsed features give exactly zero within-class scatter (and identical class
//! means give exactly zero between-class scatter) instead of rounding noise that the
//! pseudo-inverse in NC1 would amplify.

use faer::{Col, Mat, MatRef};

/// Checks that `class_sizes` describes the `ncols` columns of a feature matrix.
///
/// # Panics
/// When a class is empty or the sizes do not sum to `ncols`.
pub(crate) fn check_sizes(ncols: usize, class_sizes: &[usize]) {
    assert!(
        class_sizes.iter().all(|&n| n > 0),
        "class_sizes: every class needs at least one sample, got {class_sizes:?}"
    );
    let total: usize = class_sizes.iter().sum();
    assert_eq!(
        total, ncols,
        "class_sizes: sizes sum to {total} but the matrix has {ncols} columns"
    );
}

/// Mean of the columns `start..start + len` of `m` (len >= 1), computed as first column plus
/// the mean deviation from it.
fn column_mean(m: MatRef<f64>, start: usize, len: usize, out: &mut [f64]) {
    let first = m.col(start);
    out.fill(0.0);
    for j in start + 1..start + len {
        for ((o, &x), &x0) in out.iter_mut().zip(m.col(j).iter()).zip(first.iter()) {
            *o += x - x0;
        }
    }
    let inv = 1.0 / len as f64;
    for (o, &x0) in out.iter_mut().zip(first.iter()) {
        *o = x0 + *o * inv;
    }
}

/// Class means of `features` (d x N, columns in class order): a d x K matrix whose column c is
/// the mean of the columns of class c.
///
/// # Panics
/// When a class is empty or `class_sizes` does not sum to the number of columns.
pub fn class_means(features: MatRef<f64>, class_sizes: &[usize]) -> Mat<f64> {
    check_sizes(features.ncols(), class_sizes);
    let d = features.nrows();
    let mut m = Mat::<f64>::zeros(d, class_sizes.len());
    let mut buf = vec![0.0; d];
    let mut start = 0;
    for (c, &n) in class_sizes.iter().enumerate() {
        column_mean(features, start, n, &mut buf);
        for (i, &x) in buf.iter().enumerate() {
            m[(i, c)] = x;
        }
        start += n;
    }
    m
}

/// The global mean mu_G = average of the class means (unweighted over classes, as the paper
/// defines it, so imbalanced classes all count equally), and the centred class means
/// M - mu_G 1^T.
pub(crate) fn centre_means(means: MatRef<f64>) -> (Col<f64>, Mat<f64>) {
    let (d, k) = means.shape();
    let mut mu = vec![0.0; d];
    if k > 0 {
        column_mean(means, 0, k, &mut mu);
    }
    let centred = Mat::from_fn(d, k, |i, j| means[(i, j)] - mu[i]);
    (Col::from_fn(d, |i| mu[i]), centred)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_means_of_imbalanced_classes() {
        // Two rows, classes of sizes 1, 3, 2.
        let cols = [
            [1.0, 2.0],
            [0.0, 1.0],
            [3.0, 1.0],
            [6.0, 4.0],
            [-1.0, 5.0],
            [1.0, 7.0],
        ];
        let h = Mat::from_fn(2, 6, |i, j| cols[j][i]);
        let m = class_means(h.as_ref(), &[1, 3, 2]);
        let want = [[1.0, 2.0], [3.0, 2.0], [0.0, 6.0]];
        for c in 0..3 {
            for i in 0..2 {
                assert!((m[(i, c)] - want[c][i]).abs() < 1e-15, "{m:?}");
            }
        }
        // Global mean is the unweighted average of the class means: (4/3, 10/3), not the
        // sample average (10/6, 20/6).
        let (mu, mc) = centre_means(m.as_ref());
        assert!((mu[0] - 4.0 / 3.0).abs() < 1e-15 && (mu[1] - 10.0 / 3.0).abs() < 1e-15);
        for i in 0..2 {
            let row_sum: f64 = (0..3).map(|c| mc[(i, c)]).sum();
            assert!(row_sum.abs() < 1e-14);
        }
    }

    #[test]
    fn equal_members_give_bit_exact_means() {
        // 0.1 + 0.1 + 0.1 = 0.30000000000000004 and /3 != 0.1: the naive mean is not exact.
        let h = Mat::from_fn(1, 3, |_, _| 0.1);
        let m = class_means(h.as_ref(), &[3]);
        assert_eq!(m[(0, 0)], 0.1);
        let same = Mat::from_fn(2, 3, |i, _| [0.1, 0.7][i]);
        let (_, mc) = centre_means(same.as_ref());
        assert!(mc.col_iter().all(|c| c.iter().all(|&x| x == 0.0)));
    }

    #[test]
    #[should_panic(expected = "class_sizes")]
    fn class_sizes_must_match_columns() {
        class_means(Mat::<f64>::zeros(2, 5).as_ref(), &[2, 2]);
    }

    #[test]
    #[should_panic(expected = "class_sizes")]
    fn empty_classes_are_rejected() {
        class_means(Mat::<f64>::zeros(2, 2).as_ref(), &[2, 0]);
    }
}
