//! Which member of the pair + simplex family (`theory::family`) a K x K class-mean logit matrix
//! shows: p class pairs {c, c'} (column c: beta at c, -beta at c', 0 elsewhere) plus a simplex
//! over the remaining q = K - 2p classes (column c: gamma (1 - 1/q) at c, -gamma/q at the other
//! simplex classes, 0 at the paired ones; q = 1: a column of zeros), up to any relabelling of
//! the classes; or `other`.
//!
//! The columns are centred first (softmax does not see a constant added to a column). An entry
//! counts as zero when its magnitude is at most `tol` times the largest centred entry, and two
//! entries count as equal when they differ by at most that much. A simplex over 2 classes is a
//! pair, so q = 2 never occurs: DNC at K = 2 is reported as one pair.
//!
//! Cost O(K^2) per call, no allocation once the output's vectors have grown to K (call
//! [`identify_into`] with the same [`PairSimplexId`] repeatedly, e.g. at every record step).

use faer::MatRef;
use serde::{Deserialize, Serialize};

/// The identified structure: the pairs (each sorted, in order of their first class) and the
/// simplex classes (increasing). Valid only when [`identify_into`] returned true.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PairSimplexId {
    pub pairs: Vec<[usize; 2]>,
    pub simplex: Vec<usize>,
    /// Mean pair scale beta over the pairs (0 when p = 0).
    pub pair_scale: f64,
    /// Simplex scale gamma (the diagonal entry times q / (q - 1); 0 when q <= 1).
    pub simplex_scale: f64,
    /// Scratch: partner or role of each column (kept to avoid allocating).
    #[serde(skip)]
    role: Vec<usize>,
}

impl PairSimplexId {
    /// p.
    pub fn p(&self) -> usize {
        self.pairs.len()
    }

    /// q.
    pub fn q(&self) -> usize {
        self.simplex.len()
    }

    /// `p=2,q=6`, as `theory::PairSimplex::label`.
    pub fn label(&self) -> String {
        format!("p={},q={}", self.p(), self.q())
    }
}

/// Default relative tolerance of [`identify`] for final results: loose enough for runs that
/// stopped at `max_steps` near a critical point, far tighter than the O(1) relative differences
/// between distinct structures.
pub const STRUCTURE_TOL: f64 = 1e-2;

const NONE: usize = usize::MAX;
const SIMPLEX: usize = usize::MAX - 1;
const ZERO: usize = usize::MAX - 2;

/// Identify the pair + simplex structure of the K x K class-mean logits `means` (column c = mean
/// logit vector of class c) with relative tolerance `tol`, writing into `out`. Returns false
/// (`other`) when the matrix is not square, not finite, all zero, or not of that form.
pub fn identify_into(means: MatRef<'_, f64>, tol: f64, out: &mut PairSimplexId) -> bool {
    out.pairs.clear();
    out.simplex.clear();
    out.pair_scale = 0.0;
    out.simplex_scale = 0.0;
    let k = means.ncols();
    if means.nrows() != k || k < 2 {
        return false;
    }
    let mean = |c: usize| (0..k).map(|i| means[(i, c)]).sum::<f64>() / k as f64;
    let mut scale = 0.0f64;
    for c in 0..k {
        let mu = mean(c);
        for i in 0..k {
            let x = means[(i, c)] - mu;
            if !x.is_finite() {
                return false;
            }
            scale = scale.max(x.abs());
        }
    }
    if scale == 0.0 {
        return false;
    }
    let tau = tol * scale;
    out.role.clear();
    out.role.resize(k, NONE);
    // Pass 1: each column's role from its support.
    let mut simplex_support_first = NONE;
    for c in 0..k {
        let mu = mean(c);
        let at = |i: usize| means[(i, c)] - mu;
        let support = (0..k).filter(|&i| at(i).abs() > tau).count();
        match support {
            0 => out.role[c] = ZERO,
            2 => {
                let Some(partner) = (0..k).find(|&i| i != c && at(i).abs() > tau) else {
                    return false;
                };
                if at(c) <= tau || (at(c) + at(partner)).abs() > tau {
                    return false;
                }
                out.role[c] = partner;
            }
            s if s >= 3 => {
                // Own entry positive, every other supported entry equal (and negative).
                let Some(first_other) = (0..k).find(|&i| i != c && at(i).abs() > tau) else {
                    return false;
                };
                let off = at(first_other);
                if at(c) <= tau
                    || off >= 0.0
                    || (0..k).any(|i| i != c && at(i).abs() > tau && (at(i) - off).abs() > tau)
                {
                    return false;
                }
                if simplex_support_first == NONE {
                    simplex_support_first = c;
                }
                out.role[c] = SIMPLEX;
            }
            _ => return false,
        }
    }
    // Pass 2: consistency.
    let zeros = out.role.iter().filter(|&&r| r == ZERO).count();
    let simplex_cols = out.role.iter().filter(|&&r| r == SIMPLEX).count();
    if zeros > 1 || (zeros == 1 && simplex_cols > 0) {
        return false;
    }
    let mut beta_sum = 0.0;
    for c in 0..k {
        let r = out.role[c];
        if r < ZERO {
            // A pair: mutual, equal scales.
            if out.role[r] != c {
                return false;
            }
            let b_c = means[(c, c)] - mean(c);
            let b_r = means[(r, r)] - mean(r);
            if (b_c - b_r).abs() > tau {
                return false;
            }
            if c < r {
                out.pairs.push([c, r]);
                beta_sum += 0.5 * (b_c + b_r);
            }
        } else if r == SIMPLEX || r == ZERO {
            out.simplex.push(c);
        }
    }
    if simplex_cols > 0 {
        // Every simplex column is supported exactly on the simplex classes, with one diagonal
        // value.
        let q = out.simplex.len();
        let g0 =
            means[(simplex_support_first, simplex_support_first)] - mean(simplex_support_first);
        for &c in &out.simplex {
            let mu = mean(c);
            if (means[(c, c)] - mu - g0).abs() > tau {
                return false;
            }
            for i in 0..k {
                let inside = out.role[i] == SIMPLEX;
                if inside != ((means[(i, c)] - mu).abs() > tau) {
                    return false;
                }
            }
        }
        out.simplex_scale = g0 * q as f64 / (q as f64 - 1.0);
    }
    if !out.pairs.is_empty() {
        out.pair_scale = beta_sum / out.pairs.len() as f64;
    }
    true
}

/// [`identify_into`] into a fresh value: `Some(id)` or `None` for `other`.
pub fn identify(means: MatRef<'_, f64>, tol: f64) -> Option<PairSimplexId> {
    let mut id = PairSimplexId::default();
    identify_into(means, tol, &mut id).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    use crate::analysis::test_util::member;

    #[test]
    fn every_member_is_identified_under_relabelling_and_offsets() {
        let perm: Vec<usize> = vec![3, 7, 0, 9, 5, 1, 8, 2, 6, 4, 10];
        for k in [3, 4, 5, 10, 11] {
            let perm: Vec<usize> = perm.iter().copied().filter(|&c| c < k).collect();
            for p in 0..=k / 2 {
                if k - 2 * p == 2 {
                    continue;
                }
                let mut m = member(k, p, 2.5, 7.0, &perm);
                // A constant added to a column changes nothing.
                for c in 0..k {
                    for i in 0..k {
                        m[(i, c)] += 0.3 * c as f64;
                    }
                }
                let id = identify(m.as_ref(), 1e-6).unwrap_or_else(|| panic!("K={k} p={p}"));
                assert_eq!((id.p(), id.q()), (p, k - 2 * p), "K={k}");
                let mut want: Vec<[usize; 2]> = (0..p)
                    .map(|j| {
                        let (a, b) = (perm[2 * j], perm[2 * j + 1]);
                        [a.min(b), a.max(b)]
                    })
                    .collect();
                want.sort();
                assert_eq!(id.pairs, want, "K={k} p={p}");
                let mut s: Vec<usize> = perm[2 * p..].to_vec();
                s.sort();
                assert_eq!(id.simplex, s);
                if p > 0 {
                    assert!((id.pair_scale - 2.5).abs() < 1e-12);
                }
                if k - 2 * p >= 3 {
                    assert!(
                        (id.simplex_scale - 7.0).abs() < 1e-12,
                        "{}",
                        id.simplex_scale
                    );
                }
            }
        }
    }

    #[test]
    fn other_structures_are_rejected() {
        let perm: Vec<usize> = (0..8).collect();
        // Two simplices of size 3 and a pair.
        let mut m = member(8, 1, 2.0, 0.0, &perm);
        for block in [[2, 3, 4], [5, 6, 7]] {
            for &c in &block {
                for &i in &block {
                    m[(i, c)] = if i == c { 2.0 } else { -1.0 };
                }
            }
        }
        assert!(identify(m.as_ref(), 1e-6).is_none());
        // A perturbed DNC (one entry off by 10%).
        let mut m = member(6, 0, 0.0, 6.0, &perm[..6]);
        m[(1, 0)] *= 1.1;
        assert!(identify(m.as_ref(), 1e-3).is_none());
        // ... accepted at a looser tolerance (5% of the largest entry, 5.0: the entries
        // -1 and -1.1 are then equal, still far from zero).
        assert!(identify(m.as_ref(), 0.05).is_some());
        // A pair with unequal scales, zeros, NaN, non-square.
        let mut m = member(4, 2, 1.0, 0.0, &perm[..4]);
        m[(0, 0)] = 2.0;
        m[(1, 0)] = -2.0;
        assert!(identify(m.as_ref(), 1e-6).is_none());
        assert!(identify(Mat::<f64>::zeros(4, 4).as_ref(), 1e-6).is_none());
        let mut m = member(4, 0, 0.0, 1.0, &perm[..4]);
        m[(2, 2)] = f64::NAN;
        assert!(identify(m.as_ref(), 1e-6).is_none());
        assert!(identify(Mat::<f64>::zeros(3, 4).as_ref(), 1e-6).is_none());
        // Two zero columns.
        let m = member(6, 2, 1.0, 0.0, &perm[..6]);
        assert!(identify(m.as_ref(), 1e-6).is_none());
    }

    #[test]
    fn reuse_does_not_reallocate() {
        let perm: Vec<usize> = (0..10).collect();
        let mut id = PairSimplexId::default();
        assert!(identify_into(
            member(10, 2, 1.0, 3.0, &perm).as_ref(),
            1e-6,
            &mut id
        ));
        let caps = (
            id.pairs.capacity(),
            id.simplex.capacity(),
            id.role.capacity(),
        );
        let m = member(10, 1, 1.0, 3.0, &perm);
        let ptrs = (id.pairs.as_ptr(), id.simplex.as_ptr(), id.role.as_ptr());
        assert!(identify_into(m.as_ref(), 1e-6, &mut id));
        assert_eq!((id.p(), id.q()), (1, 8));
        // simplex grew from 6 to 8 entries (may reallocate once); pairs and role did not.
        assert_eq!(id.pairs.as_ptr(), ptrs.0);
        assert_eq!(id.role.as_ptr(), ptrs.2);
        assert!(id.pairs.capacity() >= caps.0 && id.role.capacity() >= caps.2);
    }
}
