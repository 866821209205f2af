//! Critical (stationary) scales of the DNC and low-rank reduced losses.
//!
//! d/ds of `fit(s) + lambda * reg1(s)` vanishes iff `lambda = q(s) := -fit'(s) / reg1'(s)`
//! ([`Structure::stationary_lambda`]). For DNC this is the corrected Eq. (19),
//! `lambda n^(1/(L+1)) = alpha^((L-1)/(L+1)) / ((K-1) + e^alpha)`; for even-K low rank it is
//! Eq. (27) (re-derived: the paper's form is right). q(0+) = 0 for L >= 2 (q(0+) > 0 for L = 1),
//! and q(s) -> 0 as s -> infinity, so for L >= 2 there are typically 0 or 2 roots.
//!
//! Roots are found without assuming q is unimodal: q is sampled on a log grid, every local
//! extremum is refined by golden section, and each monotone piece between consecutive extrema
//! is searched by bisection run to machine precision.

use super::closed_form::Structure;

/// Smallest scale searched ("0"): roots below it (only for lambda below ~1e-100) are not found.
const S_MIN: f64 = 1e-300;
/// Largest scale searched: q underflows to 0 far below this, so every root lies below it.
const S_MAX: f64 = 1e3;
/// Grid used to locate the extrema of q.
const GRID_LO: f64 = 1e-6;
const GRID_POINTS: usize = 400;

struct Q<F: Fn(f64) -> f64> {
    q: F,
    k: usize,
}

impl<F: Fn(f64) -> f64> Q<F> {
    fn at(&self, s: f64) -> f64 {
        (self.q)(s)
    }

    /// Refined locations of the interior local extrema of q, in increasing order.
    fn extrema(&self) -> Vec<f64> {
        let hi = 40.0 + 2.0 * (self.k as f64).ln();
        let ratio = (hi / GRID_LO).powf(1.0 / (GRID_POINTS - 1) as f64);
        let s: Vec<f64> = (0..GRID_POINTS)
            .map(|i| GRID_LO * ratio.powi(i as i32))
            .collect();
        let v: Vec<f64> = s.iter().map(|&x| self.at(x)).collect();
        let mut out = Vec::new();
        for i in 1..GRID_POINTS - 1 {
            let is_max = v[i] > v[i - 1] && v[i] >= v[i + 1];
            let is_min = v[i] < v[i - 1] && v[i] <= v[i + 1];
            if is_max || is_min {
                let sign = if is_max { 1.0 } else { -1.0 };
                out.push(golden_max(|x| sign * self.at(x), s[i - 1], s[i + 1]));
            }
        }
        out
    }

    fn roots(&self, lambda: f64) -> Vec<f64> {
        let mut bounds = vec![S_MIN];
        bounds.extend(self.extrema());
        bounds.push(S_MAX);
        let mut roots = Vec::new();
        for w in bounds.windows(2) {
            let (a, b) = (w[0], w[1]);
            let (ha, hb) = (self.at(a) - lambda, self.at(b) - lambda);
            if (ha > 0.0) != (hb > 0.0) {
                roots.push(bisect(|s| self.at(s) - lambda, a, b));
            }
        }
        roots
    }

    fn sup(&self) -> f64 {
        self.extrema()
            .into_iter()
            .chain([S_MIN])
            .map(|s| self.at(s))
            .fold(0.0, f64::max)
    }
}

/// Every positive root of `q(s) = lambda` for a stationarity map q (the lambda at which s is a
/// stationary scale) of a K-class structure, increasing; same search as [`critical_scales`].
pub(crate) fn stationary_roots(q: impl Fn(f64) -> f64, k: usize, lambda: f64) -> Vec<f64> {
    Q { q, k }.roots(lambda)
}

/// sup over s > 0 of a stationarity map q (as [`lambda_max`]).
pub(crate) fn stationary_sup(q: impl Fn(f64) -> f64, k: usize) -> f64 {
    Q { q, k }.sup()
}

/// Maximiser of a unimodal f on [a, b] by golden-section search (to ~1e-8 relative in the
/// location, which gives the maximum value to ~1e-16 relative).
fn golden_max(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let r = 0.5 * (5f64.sqrt() - 1.0);
    let mut c = b - r * (b - a);
    let mut d = a + r * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..200 {
        if (b - a) <= 1e-15 * b.abs() {
            break;
        }
        if fc >= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - r * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + r * (b - a);
            fd = f(d);
        }
    }
    if fc >= fd {
        c
    } else {
        d
    }
}

/// Root of h on [lo, hi] where h(lo) and h(hi) have opposite signs, by bisection (geometric
/// midpoint while the bracket spans more than a factor 2, so tiny roots are reached quickly)
/// until the bracket cannot shrink: the result is within one ulp-ish of a sign change.
pub(crate) fn bisect(h: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    let mut h_lo = h(lo);
    for _ in 0..4000 {
        let mid = if hi > 2.0 * lo && lo > 0.0 {
            lo.sqrt() * hi.sqrt()
        } else {
            lo + 0.5 * (hi - lo)
        };
        if mid <= lo || mid >= hi {
            break;
        }
        let h_mid = h(mid);
        if h_mid == 0.0 {
            return mid;
        }
        if (h_mid > 0.0) == (h_lo > 0.0) {
            lo = mid;
            h_lo = h_mid;
        } else {
            hi = mid;
        }
    }
    if h(hi).abs() < h_lo.abs() {
        hi
    } else {
        lo
    }
}

/// Every positive stationary scale of the reduced loss of `structure`, increasing.
///
/// Preconditions: k >= 2, n >= 1, layers >= 1, lambda > 0 finite.
pub fn critical_scales(
    structure: Structure,
    k: usize,
    n: usize,
    layers: usize,
    lambda: f64,
) -> Vec<f64> {
    assert!(
        k >= 2 && n >= 1 && layers >= 1,
        "need K >= 2, n >= 1, L >= 1"
    );
    assert!(lambda > 0.0 && lambda.is_finite(), "need lambda > 0");
    stationary_roots(|s| structure.stationary_lambda(k, n, layers, s), k, lambda)
}

/// The largest lambda for which `structure` has a positive stationary scale (sup of q over
/// s > 0; for L = 1 this is the limit q(0+), and roots exist strictly below it).
pub fn lambda_max(structure: Structure, k: usize, n: usize, layers: usize) -> f64 {
    assert!(
        k >= 2 && n >= 1 && layers >= 1,
        "need K >= 2, n >= 1, L >= 1"
    );
    stationary_sup(|s| structure.stationary_lambda(k, n, layers, s), k)
}

/// Positive roots of `lambda n^(1/(L+1)) = alpha^((L-1)/(L+1)) / ((K-1) + e^alpha)`.
pub fn dnc_roots(k: usize, n: usize, layers: usize, lambda: f64) -> Vec<f64> {
    critical_scales(Structure::Dnc, k, n, layers, lambda)
}

/// Positive stationary scales beta of the low-rank reduced loss (Eq. (27) for even K).
pub fn low_rank_roots(k: usize, n: usize, layers: usize, lambda: f64) -> Vec<f64> {
    critical_scales(Structure::LowRank, k, n, layers, lambda)
}

/// Largest lambda with a DNC critical scale.
pub fn dnc_lambda_max(k: usize, n: usize, layers: usize) -> f64 {
    lambda_max(Structure::Dnc, k, n, layers)
}

/// Largest lambda with a low-rank critical scale.
pub fn low_rank_lambda_max(k: usize, n: usize, layers: usize) -> f64 {
    lambda_max(Structure::LowRank, k, n, layers)
}
