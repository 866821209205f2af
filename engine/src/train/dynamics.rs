//! The structure of the class-mean logits *during* training: what every curve row records
//! beyond the loss (docs/results.md, "curve.csv"), the commitment step and the initial
//! alignment of result.json.
//!
//! At a record step the trainer computes M, the K x K class-mean logit matrix of the current
//! parameters (column c = mean logit vector of class c, as `logits.class_means` of result.json),
//! and its column-centred version C = S M (S = I - 11^T/K, what the softmax sees). From C:
//! - the rank (singular values above `rank_tol` x the largest, capped at K - 1 as
//!   `centred_rank`) and the [`SV_COUNT`] leading singular values;
//! - the simplex cosine (`logits.simplex_cosine`);
//! - the identified pair + simplex structure (p, q) of [`crate::analysis::identify_into`] at
//!   [`STRUCTURE_TOL`] (the rule of result.json's `structure`);
//! - the relative distance to the nearest member of the pair + simplex family (see
//!   [`LogitProbe::measure`]) and that member's number of pairs.
//!
//! Why only three singular values in the row: they separate the structures that matter (DNC:
//! K - 1 equal values; the paired Eq. (5) structure: K/2 equal values, then zero; a mixed
//! member: two distinct levels), `rank` gives the count, and the whole spectrum of every layer
//! over time is an opt-in extra (`train.record_spectra`, spectra.csv).
//!
//! Everything works in buffers allocated by [`LogitProbe::new`]: a record step allocates
//! nothing (tested in `tests/record_steps_do_not_allocate.rs`). The singular values come from a
//! one-sided Jacobi SVD of C (K x K, a few sweeps; accurate to a few ulps of the largest value),
//! which needs no workspace beyond a K x K copy.

use crate::analysis::{identify_into, PairSimplexId, STRUCTURE_TOL};
use crate::model::{Activation, ModelSpec, Params};
use faer::{Accum, Mat, MatRef, Par};
use serde::{Deserialize, Serialize};

/// Leading singular values of C kept per curve row.
pub const SV_COUNT: usize = 3;

/// The logit structure at one record step (a curve row's extra columns).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogitState {
    /// rank of C (relative `rank_tol`, capped at K - 1).
    pub rank: usize,
    /// The leading singular values of C, nonincreasing (NaN beyond K).
    pub sv: [f64; SV_COUNT],
    pub simplex_cosine: f64,
    /// Identified structure: (p, q), or None for `other`.
    pub structure: Option<(usize, usize)>,
    /// ||C - nearest member|| / ||C|| (NaN when C = 0 or not finite).
    pub family_distance: f64,
    /// p of that nearest member.
    pub nearest_pairs: usize,
}

impl LogitState {
    /// `p=P,q=Q` or `other`.
    pub fn label(&self) -> String {
        match self.structure {
            Some((p, q)) => format!("p={p},q={q}"),
            None => "other".to_string(),
        }
    }
}

/// The alignment of the class-mean logits with a simplex against the pair structure (the
/// statistic of the paper's conjecture, docs/results.md "dynamics").
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alignment {
    /// <C, S>_F / (||C|| ||S||).
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub simplex_cosine: f64,
    /// <C, A>_F / (||C|| ||A||), A the Eq. (5) pattern (floor(K/2) pairs, unit scale) on the
    /// pairing greedily chosen to maximise <C, A>.
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub pair_cosine: f64,
    /// simplex_cosine - pair_cosine.
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub alignment: f64,
}

/// Preallocated scratch that measures [`LogitState`] from the parameters.
pub struct LogitProbe {
    k: usize,
    rank_tol: f64,
    /// d x K class means of H1 and two d x K ping-pong products (linear models).
    means: Mat<f64>,
    ping: Mat<f64>,
    pong: Mat<f64>,
    /// d x N forward buffers (ReLU models only; 0 x 0 otherwise).
    fwd_a: Mat<f64>,
    fwd_b: Mat<f64>,
    /// K x N logits (ReLU models only).
    z: Mat<f64>,
    /// K x K: M, then C, and the Jacobi copy of C.
    m: Mat<f64>,
    c: Mat<f64>,
    jac: Mat<f64>,
    sv: Vec<f64>,
    id: PairSimplexId,
    /// Greedy pairing: classes in pair order (2 per pair), and a used flag per class.
    order: Vec<usize>,
    used: Vec<bool>,
    /// Per class: its partner under the current candidate member, or `usize::MAX` (simplex).
    role: Vec<usize>,
}

const SIMPLEX: usize = usize::MAX;

impl LogitProbe {
    pub fn new(spec: &ModelSpec, rank_tol: f64) -> Self {
        let (k, d, n) = (spec.classes(), spec.width, spec.samples());
        let relu = spec.activation == Activation::Relu && spec.layers >= 2;
        let zeros = |r: usize, c: usize| Mat::<f64>::zeros(r, c);
        let mut id = PairSimplexId::default();
        id.pairs.reserve(k);
        id.simplex.reserve(k);
        // Grow the identifier's internal scratch to K now (a simplex identifies with q = K).
        let s = Mat::from_fn(k, k, |i, j| f64::from(u8::from(i == j)) - 1.0 / k as f64);
        identify_into(s.as_ref(), STRUCTURE_TOL, &mut id);
        LogitProbe {
            k,
            rank_tol,
            means: zeros(d, k),
            ping: zeros(d, k),
            pong: zeros(d, k),
            fwd_a: if relu { zeros(d, n) } else { zeros(0, 0) },
            fwd_b: if relu { zeros(d, n) } else { zeros(0, 0) },
            z: if relu { zeros(k, n) } else { zeros(0, 0) },
            m: zeros(k, k),
            c: zeros(k, k),
            jac: zeros(k, k),
            sv: vec![0.0; k],
            id,
            order: Vec::with_capacity(k),
            used: vec![false; k],
            role: vec![SIMPLEX; k],
        }
    }

    /// M, the class-mean logits of the last [`LogitProbe::measure`] (column c = class c).
    pub fn class_means(&self) -> MatRef<'_, f64> {
        self.m.as_ref()
    }

    /// Fill M (class-mean logits) and C (column-centred) from the parameters.
    fn class_mean_logits(&mut self, spec: &ModelSpec, params: &Params) {
        let layers = spec.layers;
        if self.fwd_a.nrows() == 0 {
            // Linear (or L = 1): M = W_L ... W_1 Hbar, Hbar the class means of H1.
            column_class_means(params.h1(), &spec.class_sizes, &mut self.means);
            let mut src_is_means = true;
            for l in 1..layers {
                let (src, dst) = if src_is_means {
                    (self.means.as_ref(), &mut self.ping)
                } else {
                    (self.ping.as_ref(), &mut self.pong)
                };
                crate::linalg::matmul(
                    dst.as_mut(),
                    Accum::Replace,
                    params.w(l),
                    src,
                    1.0,
                    Par::Seq,
                );
                if !src_is_means {
                    std::mem::swap(&mut self.ping, &mut self.pong);
                }
                src_is_means = false;
            }
            let src = if src_is_means {
                self.means.as_ref()
            } else {
                self.ping.as_ref()
            };
            crate::linalg::matmul(
                self.m.as_mut(),
                Accum::Replace,
                params.w(layers),
                src,
                1.0,
                Par::Seq,
            );
        } else {
            // ReLU: the full forward pass (the class means do not commute with the ReLU).
            self.fwd_a.copy_from(params.h1());
            for l in 1..layers {
                crate::linalg::matmul(
                    self.fwd_b.as_mut(),
                    Accum::Replace,
                    params.w(l),
                    self.fwd_a.as_ref(),
                    1.0,
                    Par::Seq,
                );
                for j in 0..self.fwd_b.ncols() {
                    for x in self.fwd_b.col_mut(j).iter_mut() {
                        *x = x.max(0.0);
                    }
                }
                std::mem::swap(&mut self.fwd_a, &mut self.fwd_b);
            }
            crate::linalg::matmul(
                self.z.as_mut(),
                Accum::Replace,
                params.w(layers),
                self.fwd_a.as_ref(),
                1.0,
                Par::Seq,
            );
            column_class_means(self.z.as_ref(), &spec.class_sizes, &mut self.m);
        }
        self.centre();
    }

    /// C = M with each column centred.
    fn centre(&mut self) {
        let k = self.k;
        for j in 0..k {
            let avg = (0..k).map(|i| self.m[(i, j)]).sum::<f64>() / k as f64;
            for i in 0..k {
                self.c[(i, j)] = self.m[(i, j)] - avg;
            }
        }
    }

    /// Measure the logit structure of `params` (a deep UFM of `spec`).
    pub fn measure(&mut self, spec: &ModelSpec, params: &Params) -> LogitState {
        self.class_mean_logits(spec, params);
        self.measure_current()
    }

    /// Measure the structure of a given K x K class-mean logit matrix (column c = class c).
    pub fn measure_class_means(&mut self, means: MatRef<'_, f64>) -> LogitState {
        assert_eq!(means.shape(), (self.k, self.k), "class means must be K x K");
        self.m.copy_from(means);
        self.centre();
        self.measure_current()
    }

    fn measure_current(&mut self) -> LogitState {
        let k = self.k;
        let finite = (0..k).all(|j| (0..k).all(|i| self.c[(i, j)].is_finite()));
        if !finite {
            return LogitState {
                rank: 0,
                sv: [f64::NAN; SV_COUNT],
                simplex_cosine: f64::NAN,
                structure: None,
                family_distance: f64::NAN,
                nearest_pairs: 0,
            };
        }
        self.jac.copy_from(&self.c);
        jacobi_singular_values(&mut self.jac, &mut self.sv);
        let mut sv = [f64::NAN; SV_COUNT];
        for (o, &s) in sv.iter_mut().zip(&self.sv) {
            *o = s;
        }
        let rank = crate::analysis::relative_rank(&self.sv, self.rank_tol).min(k.saturating_sub(1));
        let structure = identify_into(self.m.as_ref(), STRUCTURE_TOL, &mut self.id)
            .then(|| (self.id.p(), self.id.q()));
        let (family_distance, nearest_pairs) = self.nearest_member();
        LogitState {
            rank,
            sv,
            simplex_cosine: self.simplex_cosine(),
            structure,
            family_distance,
            nearest_pairs,
        }
    }

    /// The alignment statistic of the current C (call after [`LogitProbe::measure`]).
    pub fn alignment(&mut self) -> Alignment {
        let k = self.k;
        let simplex_cosine = self.simplex_cosine();
        self.greedy_pairing(false);
        let p = k / 2;
        let norm = frob(self.c.as_ref());
        let inner: f64 = (0..p)
            .map(|j| pair_score(self.c.as_ref(), self.order[2 * j], self.order[2 * j + 1]))
            .sum();
        let pair_cosine = if norm > 0.0 && p > 0 {
            inner / (norm * (4.0 * p as f64).sqrt())
        } else {
            0.0
        };
        Alignment {
            simplex_cosine,
            pair_cosine,
            alignment: simplex_cosine - pair_cosine,
        }
    }

    /// As `analysis::simplex_cosine`, on C (scale-free: normalised by the largest entry).
    fn simplex_cosine(&self) -> f64 {
        let k = self.k;
        if k < 2 {
            return 0.0;
        }
        let amax = (0..k)
            .flat_map(|j| (0..k).map(move |i| (i, j)))
            .fold(0.0f64, |a, (i, j)| a.max(self.c[(i, j)].abs()));
        if amax == 0.0 {
            return 0.0;
        }
        let (mut inner, mut norm_sq) = (0.0, 0.0);
        for j in 0..k {
            for i in 0..k {
                let x = self.c[(i, j)] / amax;
                let s = if i == j { 1.0 } else { 0.0 } - 1.0 / k as f64;
                inner += x * s;
                norm_sq += x * x;
            }
        }
        (inner / (norm_sq.sqrt() * ((k - 1) as f64).sqrt())).clamp(-1.0, 1.0)
    }

    /// Pairs in greedy order: repeatedly the unused pair {i, j} with the largest
    /// <C, pattern of {i, j}> = C_ii + C_jj - C_ij - C_ji (ties: smallest i, then j), or with
    /// `normalised` the largest cosine between columns i, j of C and that pattern (1 exactly for
    /// a pair of the family whatever its scale, 1/sqrt(2 (1 - 1/q)) < 1 for two classes of a
    /// q-simplex: true pairs come first even when the simplex scale is larger).
    fn greedy_pairing(&mut self, normalised: bool) {
        let k = self.k;
        self.order.clear();
        self.used.iter_mut().for_each(|u| *u = false);
        for _ in 0..k / 2 {
            let mut best = (f64::NEG_INFINITY, 0, 0);
            for i in 0..k {
                if self.used[i] {
                    continue;
                }
                for j in i + 1..k {
                    if self.used[j] {
                        continue;
                    }
                    let mut s = pair_score(self.c.as_ref(), i, j);
                    if normalised {
                        let n2: f64 = (0..k)
                            .map(|r| self.c[(r, i)].powi(2) + self.c[(r, j)].powi(2))
                            .sum();
                        s = if n2 > 0.0 { s / (2.0 * n2.sqrt()) } else { 0.0 };
                    }
                    if s > best.0 || best.0 == f64::NEG_INFINITY {
                        best = (s, i, j);
                    }
                }
            }
            self.used[best.1] = true;
            self.used[best.2] = true;
            self.order.push(best.1);
            self.order.push(best.2);
        }
    }

    /// min over p (with the first p pairs of the normalised greedy pairing, simplex over the
    /// rest) and beta, gamma >= 0
    /// of ||C - member(p, beta, gamma)||_F / ||C||_F, and the minimising p. The pair and simplex
    /// patterns have disjoint column supports, so beta and gamma are separate non-negative
    /// projections; the residual is then summed entry by entry (no cancellation).
    fn nearest_member(&mut self) -> (f64, usize) {
        let k = self.k;
        let norm = frob(self.c.as_ref());
        if norm == 0.0 || k < 2 {
            return (f64::NAN, 0);
        }
        self.greedy_pairing(true);
        let mut best = (f64::INFINITY, 0);
        for p in 0..=k / 2 {
            let q = k - 2 * p;
            if q == 2 {
                // A simplex over 2 classes is a pair: the member p + 1.
                continue;
            }
            self.role.iter_mut().for_each(|r| *r = SIMPLEX);
            let mut pair_inner = 0.0;
            for j in 0..p {
                let (a, b) = (self.order[2 * j], self.order[2 * j + 1]);
                self.role[a] = b;
                self.role[b] = a;
                pair_inner += pair_score(self.c.as_ref(), a, b);
            }
            let beta = if p > 0 {
                (pair_inner / (4.0 * p as f64)).max(0.0)
            } else {
                0.0
            };
            let gamma = if q >= 3 {
                let qf = q as f64;
                let mut inner = 0.0;
                for c in 0..k {
                    if self.role[c] != SIMPLEX {
                        continue;
                    }
                    let col_sum: f64 = (0..k)
                        .filter(|&i| self.role[i] == SIMPLEX)
                        .map(|i| self.c[(i, c)])
                        .sum();
                    inner += self.c[(c, c)] - col_sum / qf;
                }
                (inner / (qf - 1.0)).max(0.0)
            } else {
                0.0
            };
            let mut res = 0.0;
            for c in 0..k {
                let r = self.role[c];
                for i in 0..k {
                    let member = if r != SIMPLEX {
                        if i == c {
                            beta
                        } else if i == r {
                            -beta
                        } else {
                            0.0
                        }
                    } else if q >= 3 && self.role[i] == SIMPLEX {
                        gamma * (f64::from(u8::from(i == c)) - 1.0 / q as f64)
                    } else {
                        0.0
                    };
                    let e = self.c[(i, c)] - member;
                    res += e * e;
                }
            }
            let dist = res.sqrt() / norm;
            if dist < best.0 {
                best = (dist, p);
            }
        }
        best
    }
}

/// <C, pattern of the pair {i, j}> (beta = 1: +1 on both diagonals, -1 at (i, j) and (j, i)).
fn pair_score(c: MatRef<'_, f64>, i: usize, j: usize) -> f64 {
    c[(i, i)] + c[(j, j)] - c[(i, j)] - c[(j, i)]
}

fn frob(m: MatRef<'_, f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            s += m[(i, j)] * m[(i, j)];
        }
    }
    s.sqrt()
}

/// Plain class means of the columns of `x` (columns in class order) into `out` (rows x K).
fn column_class_means(x: MatRef<'_, f64>, class_sizes: &[usize], out: &mut Mat<f64>) {
    let mut start = 0;
    for (c, &n) in class_sizes.iter().enumerate() {
        let inv = 1.0 / n.max(1) as f64;
        for i in 0..x.nrows() {
            let mut s = 0.0;
            for j in start..start + n {
                s += x[(i, j)];
            }
            out[(i, c)] = s * inv;
        }
        start += n;
    }
}

/// Singular values of the square matrix `a` (overwritten) into `sv`, nonincreasing: one-sided
/// Jacobi (Hestenes) rotations until every pair of columns is orthogonal to working precision;
/// the values are then the column norms.
fn jacobi_singular_values(a: &mut Mat<f64>, sv: &mut [f64]) {
    let n = a.ncols();
    for _sweep in 0..60 {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let (mut alpha, mut beta, mut gamma) = (0.0, 0.0, 0.0);
                for i in 0..a.nrows() {
                    let (x, y) = (a[(i, p)], a[(i, q)]);
                    alpha += x * x;
                    beta += y * y;
                    gamma += x * y;
                }
                if gamma == 0.0 || gamma.abs() <= f64::EPSILON * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let cs = 1.0 / (1.0 + t * t).sqrt();
                let sn = cs * t;
                for i in 0..a.nrows() {
                    let (x, y) = (a[(i, p)], a[(i, q)]);
                    a[(i, p)] = cs * x - sn * y;
                    a[(i, q)] = sn * x + cs * y;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    for (j, s) in sv.iter_mut().enumerate().take(n) {
        *s = frob(a.as_ref().subcols(j, 1));
    }
    sv.sort_unstable_by(|x, y| y.total_cmp(x));
}

/// The commitment of a run from its recorded structures (one per curve row, in step order):
/// the index of the first row from which on the structure never changes, or None when there
/// are no rows. The caller decides what a final `other` means (result.json reports it as not
/// settled).
pub fn commitment_index<T: PartialEq>(labels: &[T]) -> Option<usize> {
    let last = labels.last()?;
    let mut i = labels.len() - 1;
    while i > 0 && labels[i - 1] == *last {
        i -= 1;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_matches_brute_force() {
        // Brute force: the first i such that every later label equals label[i].
        let brute = |l: &[u8]| (0..l.len()).find(|&i| l[i..].iter().all(|x| *x == l[i]));
        let mut state = 12345u64;
        for len in 0..12 {
            for _ in 0..50 {
                let l: Vec<u8> = (0..len)
                    .map(|_| {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                        ((state >> 33) % 3) as u8
                    })
                    .collect();
                assert_eq!(commitment_index(&l), brute(&l), "{l:?}");
            }
        }
    }

    use crate::analysis::test_util::member;

    /// min over every perfect-or-partial pairing with p pairs, every p and beta, gamma >= 0, by
    /// enumeration (independent of the greedy pairing), with a generic least-squares fit.
    fn brute_distance(c: &Mat<f64>) -> (f64, usize) {
        let k = c.nrows();
        let norm = frob(c.as_ref());
        let mut best = (f64::INFINITY, 0);
        // Every set of disjoint pairs: recursive enumeration.
        fn rec(
            k: usize,
            start: usize,
            used: &mut Vec<bool>,
            pairs: &mut Vec<(usize, usize)>,
            out: &mut Vec<Vec<(usize, usize)>>,
        ) {
            out.push(pairs.clone());
            for i in start..k {
                if used[i] {
                    continue;
                }
                for j in i + 1..k {
                    if used[j] {
                        continue;
                    }
                    used[i] = true;
                    used[j] = true;
                    pairs.push((i, j));
                    rec(k, i + 1, used, pairs, out);
                    pairs.pop();
                    used[i] = false;
                    used[j] = false;
                }
            }
        }
        let mut all = Vec::new();
        rec(k, 0, &mut vec![false; k], &mut Vec::new(), &mut all);
        for pairs in all {
            let q = k - 2 * pairs.len();
            if q == 2 {
                continue;
            }
            let mut perm: Vec<usize> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
            let rest: Vec<usize> = (0..k).filter(|i| !perm.contains(i)).collect();
            perm.extend(rest);
            // Least squares over (beta, gamma) >= 0 on a fine grid around the projections is
            // replaced by the exact 2-variable projection: unit patterns A (pairs), B (simplex).
            let a = member(k, pairs.len(), 1.0, 0.0, &perm);
            let b = if q >= 3 {
                member(k, pairs.len(), 0.0, 1.0, &perm)
            } else {
                Mat::zeros(k, k)
            };
            let dot = |x: &Mat<f64>, y: &Mat<f64>| -> f64 {
                (0..k)
                    .flat_map(|j| (0..k).map(move |i| (i, j)))
                    .map(|(i, j)| x[(i, j)] * y[(i, j)])
                    .sum()
            };
            let beta = if pairs.is_empty() {
                0.0
            } else {
                (dot(c, &a) / dot(&a, &a)).max(0.0)
            };
            let gamma = if q >= 3 {
                (dot(c, &b) / dot(&b, &b)).max(0.0)
            } else {
                0.0
            };
            let r = c - a * faer::Scale(beta) - b * faer::Scale(gamma);
            let d = frob(r.as_ref()) / norm;
            if d < best.0 {
                best = (d, pairs.len());
            }
        }
        best
    }

    fn centred(m: &Mat<f64>) -> Mat<f64> {
        crate::analysis::centred_logit_means(m.as_ref())
    }

    #[test]
    fn family_distance_is_zero_on_members_and_matches_enumeration_near_them() {
        let perm = [4, 1, 5, 0, 2, 3];
        let spec = ModelSpec::balanced(
            6,
            1,
            6,
            1,
            Activation::Linear,
            crate::model::LossKind::CrossEntropy,
            1e-3,
        );
        let mut probe = LogitProbe::new(&spec, 1e-6);
        for p in [0, 1, 3] {
            let m = member(6, p, 2.0, 5.0, &perm);
            let st = probe.measure_class_means(m.as_ref());
            assert!(st.family_distance < 1e-14, "p={p}: {}", st.family_distance);
            assert_eq!(st.nearest_pairs, p);
            assert_eq!(st.structure, Some((p, 6 - 2 * p)));
            // Perturbed: the greedy pairing finds the enumerated optimum.
            let noise = crate::analysis::test_util::random_mat(6, 6, 9 + p as u64);
            let x = &m + noise * faer::Scale(0.05);
            let st = probe.measure_class_means(x.as_ref());
            let (want, want_p) = brute_distance(&centred(&x));
            // Same minimisation on the same entries: rounding-level agreement.
            assert!(
                (st.family_distance - want).abs() < 1e-12,
                "{} vs {want}",
                st.family_distance
            );
            assert_eq!(st.nearest_pairs, want_p);
        }
        // Far from the family (a random matrix) the greedy pairing can only be worse than the
        // enumeration, never better.
        for seed in 0..10 {
            let x = crate::analysis::test_util::random_mat(6, 6, 100 + seed);
            let st = probe.measure_class_means(x.as_ref());
            let (want, _) = brute_distance(&centred(&x));
            assert!(st.family_distance >= want - 1e-12);
        }
    }

    #[test]
    fn jacobi_matches_the_dense_svd() {
        for (k, seed) in [(2, 1u64), (5, 2), (10, 3), (13, 4)] {
            let a = crate::analysis::test_util::random_mat(k, k, seed);
            let want = crate::analysis::singular_values(a.as_ref());
            let mut j = a.clone();
            let mut sv = vec![0.0; k];
            jacobi_singular_values(&mut j, &mut sv);
            // Both are backward stable: agreement to a small multiple of eps * s_max.
            for (x, y) in sv.iter().zip(&want) {
                assert!((x - y).abs() <= 1e-13 * want[0], "{sv:?} vs {want:?}");
            }
        }
    }
}
