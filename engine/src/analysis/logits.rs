//! The logit side: class-mean logit matrix, its alignment with the simplex, diagonal
//! superiority, training accuracy and the solution classification (docs/results.md).
//!
//! Conventions:
//! - A class-mean logit matrix is K x K with column c the mean logit vector of class c (the
//!   layout of [`class_means`](super::class_means()) applied to Z; `class_means[c]` in result.json).
//! - A column is classified correctly when its own-class entry is *strictly* larger than every
//!   other entry: ties (e.g. an all-zero model) count as wrong, so a zero model has accuracy 0
//!   rather than an arbitrary 1/K from a first-index argmax. NaN entries count as wrong.
//! - simplex_cosine is in [-1, 1]; 0 when the centred matrix is zero or K < 2.
//! - The rank of the centred matrix C is at most K - 1 exactly (each column of C sums to zero);
//!   the computed rank is capped at K - 1 so that rank_tol = 0 does not count the rounding-level
//!   K-th singular value.

use faer::{Mat, MatRef};
use serde::{Deserialize, Serialize};

use super::class_means::{check_sizes, class_means};
use super::spectrum::{relative_rank, singular_values};

/// What kind of solution the logits show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// rank(C) = K - 1 and simplex_cosine >= [`DNC_COSINE`].
    Dnc,
    /// rank(C) < K - 1 and every training column classified correctly.
    LowRank,
    /// Anything else.
    Other,
}

/// The simplex_cosine threshold of the `dnc` classification.
pub const DNC_COSINE: f64 = 0.99;

fn assert_square(m: MatRef<f64>, what: &str) {
    assert_eq!(
        m.nrows(),
        m.ncols(),
        "{what}: the class-mean logit matrix must be K x K, got {} x {}",
        m.nrows(),
        m.ncols()
    );
}

/// C: each column (class-mean logit vector) minus the average of its K entries, i.e. S M.
pub fn centred_logit_means(class_mean_logits: MatRef<f64>) -> Mat<f64> {
    let (r, k) = class_mean_logits.shape();
    let mut c = class_mean_logits.to_owned();
    for j in 0..k {
        let avg = if r > 0 {
            c.col(j).iter().sum::<f64>() / r as f64
        } else {
            0.0
        };
        for x in c.col_mut(j).iter_mut() {
            *x -= avg;
        }
    }
    c
}

/// <C, S>_F / (||C||_F ||S||_F) for the K x K class-mean logit matrix (columns = classes), C its
/// column-centred version, S = I - 11^T/K.
///
/// # Panics
/// When the matrix is not square.
pub fn simplex_cosine(class_mean_logits: MatRef<f64>) -> f64 {
    assert_square(class_mean_logits, "simplex_cosine");
    let k = class_mean_logits.ncols();
    if k < 2 {
        return 0.0;
    }
    let c = centred_logit_means(class_mean_logits);
    // Scale-free: normalise before forming products (no overflow for huge logits).
    let mut amax = 0.0f64;
    for j in 0..k {
        for &x in c.col(j).iter() {
            if !x.is_finite() {
                return f64::NAN;
            }
            amax = amax.max(x.abs());
        }
    }
    if amax == 0.0 {
        return 0.0;
    }
    let mut inner = 0.0;
    let mut norm_sq = 0.0;
    for j in 0..k {
        for i in 0..k {
            let x = c[(i, j)] / amax;
            let s = if i == j { 1.0 } else { 0.0 } - 1.0 / k as f64;
            inner += x * s;
            norm_sq += x * x;
        }
    }
    (inner / (norm_sq.sqrt() * ((k - 1) as f64).sqrt())).clamp(-1.0, 1.0)
}

/// Paper Definition 3 on class means: every class-mean logit vector (column c) has its own
/// entry c strictly larger than all its other entries.
///
/// # Panics
/// When the matrix is not square.
pub fn diagonally_superior(class_mean_logits: MatRef<f64>) -> bool {
    assert_square(class_mean_logits, "diagonally_superior");
    let k = class_mean_logits.ncols();
    (0..k).all(|c| own_entry_wins(class_mean_logits, c, c))
}

fn own_entry_wins(z: MatRef<f64>, col: usize, label: usize) -> bool {
    let own = z[(label, col)];
    (0..z.nrows()).all(|r| r == label || own > z[(r, col)])
}

/// Number of training columns whose own-class logit is strictly the largest.
pub(crate) fn correct_count(logits: MatRef<f64>, class_sizes: &[usize]) -> usize {
    check_sizes(logits.ncols(), class_sizes);
    let mut start = 0;
    let mut count = 0;
    for (c, &n) in class_sizes.iter().enumerate() {
        count += (start..start + n)
            .filter(|&j| own_entry_wins(logits, j, c))
            .count();
        start += n;
    }
    count
}

/// Fraction of training columns classified correctly (strict argmax, see module docs).
///
/// # Panics
/// When a class is empty or `class_sizes` does not sum to the number of columns.
pub fn train_accuracy(logits: MatRef<f64>, class_sizes: &[usize]) -> f64 {
    let n = logits.ncols();
    if n == 0 {
        return 0.0;
    }
    correct_count(logits, class_sizes) as f64 / n as f64
}

/// rank of C (relative `rank_tol`), capped at K - 1.
pub fn centred_rank(class_mean_logits: MatRef<f64>, rank_tol: f64) -> usize {
    let k = class_mean_logits.ncols();
    let c = centred_logit_means(class_mean_logits);
    relative_rank(&singular_values(c.as_ref()), rank_tol).min(k.saturating_sub(1))
}

/// The classification rule from its ingredients.
pub(crate) fn classify_parts(
    k: usize,
    centred_rank: usize,
    cosine: f64,
    all_correct: bool,
) -> Classification {
    if k >= 2 && centred_rank == k - 1 && cosine >= DNC_COSINE {
        Classification::Dnc
    } else if centred_rank + 1 < k && all_correct {
        Classification::LowRank
    } else {
        Classification::Other
    }
}

/// Classify a solution from its logits Z (K x N, columns in class order): `dnc` when
/// rank(C) = K - 1 and simplex_cosine >= 0.99, `low_rank` when rank(C) < K - 1 and every column
/// is classified correctly, else `other`; rank(C) uses the relative `rank_tol`.
///
/// # Panics
/// When Z does not have K = `class_sizes.len()` rows, or as [`train_accuracy`].
pub fn classify(logits: MatRef<f64>, class_sizes: &[usize], rank_tol: f64) -> Classification {
    assert_eq!(
        logits.nrows(),
        class_sizes.len(),
        "classify: logits need one row per class"
    );
    let means = class_means(logits, class_sizes);
    let k = class_sizes.len();
    classify_parts(
        k,
        centred_rank(means.as_ref(), rank_tol),
        simplex_cosine(means.as_ref()),
        correct_count(logits, class_sizes) == logits.ncols(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::test_util::{kron_ones, low_rank_means, random_mat, simplex};

    #[test]
    fn simplex_logits_are_dnc() {
        for (k, n, alpha) in [(10, 5, 3.0), (2, 1, 0.5), (3, 4, 100.0)] {
            let z = kron_ones(&simplex(k), n, alpha);
            let m = class_means(z.as_ref(), &vec![n; k]);
            // C = alpha S exactly up to rounding of the column averages.
            assert!((simplex_cosine(m.as_ref()) - 1.0).abs() < 1e-14);
            assert!(diagonally_superior(m.as_ref()));
            assert_eq!(centred_rank(m.as_ref(), 1e-6), k - 1);
            assert_eq!(train_accuracy(z.as_ref(), &vec![n; k]), 1.0);
            assert_eq!(classify(z.as_ref(), &vec![n; k], 1e-6), Classification::Dnc);
        }
        // A global offset on every logit changes nothing (it is centred away), and neither does
        // rank_tol = 0 (the rounding-level K-th singular value of C is capped away).
        let k = 6;
        let z = Mat::from_fn(k, 2 * k, |i, j| {
            let c = j / 2;
            2.0 * (if i == c { 1.0 } else { 0.0 }) + 5.0
        });
        assert_eq!(classify(z.as_ref(), &[2; 6], 0.0), Classification::Dnc);
    }

    #[test]
    fn paired_low_rank_logits_are_low_rank() {
        // Paper Eq. (5): even K has rank K/2; odd K adds a class with beta on its diagonal,
        // rank (K+1)/2 (< K - 1 for K >= 5).
        for (k, rank) in [(4, 2), (6, 3), (10, 5), (5, 3), (7, 4)] {
            let n = 3;
            let z = kron_ones(&low_rank_means(k), n, 2.0);
            let sizes = vec![n; k];
            let m = class_means(z.as_ref(), &sizes);
            assert_eq!(relative_rank(&singular_values(z.as_ref()), 1e-6), rank);
            assert_eq!(centred_rank(m.as_ref(), 1e-6), rank);
            assert!(diagonally_superior(m.as_ref()));
            assert_eq!(train_accuracy(z.as_ref(), &sizes), 1.0);
            assert_eq!(classify(z.as_ref(), &sizes, 1e-6), Classification::LowRank);
        }
    }

    #[test]
    fn other_cases() {
        // Full centred rank but far from the simplex: diag(1..K); cosine = sum d / sqrt(K sum d^2)
        // = 10 / sqrt(120) ~ 0.913 for K = 4.
        let k = 4;
        let d = Mat::from_fn(k, k, |i, j| if i == j { (i + 1) as f64 } else { 0.0 });
        let cos = simplex_cosine(d.as_ref());
        assert!((cos - 10.0 / 120f64.sqrt()).abs() < 1e-14, "{cos}");
        assert_eq!(classify(d.as_ref(), &[1; 4], 1e-6), Classification::Other);
        // Low rank but one column misclassified.
        let mut z = kron_ones(&low_rank_means(6), 2, 1.0);
        z[(1, 0)] = 2.0;
        assert_eq!(classify(z.as_ref(), &[2; 6], 1e-6), Classification::Other);
        // Zero logits: rank 0 but nothing is classified correctly (ties are wrong).
        let z = Mat::<f64>::zeros(5, 10);
        assert_eq!(train_accuracy(z.as_ref(), &[2; 5]), 0.0);
        let m = class_means(z.as_ref(), &[2; 5]);
        assert_eq!(simplex_cosine(m.as_ref()), 0.0);
        assert!(!diagonally_superior(m.as_ref()));
        assert_eq!(classify(z.as_ref(), &[2; 5], 1e-6), Classification::Other);
    }

    #[test]
    fn simplex_cosine_matches_formula_on_random_matrices() {
        // Direct evaluation of <C, S> / (||C|| ||S||) with C = S M formed by a matrix product.
        for seed in 0..5 {
            let k = 3 + seed as usize;
            let m = random_mat(k, k, seed);
            let s = simplex(k);
            let c = &s * &m;
            let inner: f64 = (0..k)
                .flat_map(|i| (0..k).map(move |j| (i, j)))
                .map(|(i, j)| c[(i, j)] * s[(i, j)])
                .sum();
            let want = inner / (c.norm_l2() * s.norm_l2());
            assert!((simplex_cosine(m.as_ref()) - want).abs() < 1e-14);
            // Orientation matters: the transpose is centred along the other axis.
            let neg = Mat::from_fn(k, k, |i, j| -m[(i, j)]);
            assert!((simplex_cosine(neg.as_ref()) + want).abs() < 1e-14);
        }
    }

    #[test]
    fn accuracy_with_imbalanced_classes() {
        // Classes of sizes 1, 3, 2; column 2 (class 1) is wrong, column 5 (class 2) is a tie.
        let cols = [
            [2.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 1.0, 3.0],
            [-1.0, 0.0, -2.0],
            [0.0, 0.0, 1.0],
            [0.0, 1.0, 1.0],
        ];
        let z = Mat::from_fn(3, 6, |i, j| cols[j][i]);
        assert!((train_accuracy(z.as_ref(), &[1, 3, 2]) - 4.0 / 6.0).abs() < 1e-15);
        assert_eq!(
            classify(z.as_ref(), &[1, 3, 2], 1e-6),
            Classification::Other
        );
    }

    #[test]
    fn classification_serialises_to_contract_strings() {
        let s = serde_json::to_string(&[
            Classification::Dnc,
            Classification::LowRank,
            Classification::Other,
        ])
        .unwrap();
        assert_eq!(s, r#"["dnc","low_rank","other"]"#);
    }

    #[test]
    fn non_finite_logits_do_not_panic() {
        let mut m = random_mat(3, 3, 9);
        m[(0, 0)] = f64::NAN;
        assert!(simplex_cosine(m.as_ref()).is_nan());
        assert!(!diagonally_superior(m.as_ref()));
        assert_eq!(
            classify(m.as_ref(), &[1, 1, 1], 1e-6),
            Classification::Other
        );
    }
}
