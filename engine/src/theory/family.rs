//! The pair + simplex family: "p class pairs plus a simplex over the remaining q = K - 2p
//! classes", the structures gradient descent ends in between DNC (p = 0) and the paired
//! structure of Eq. (5) (p = K/2, even K).
//!
//! Class-mean logits (column c = mean logit vector of class c), pairs {0,1}, {2,3}, ... and the
//! simplex over the last q classes (any relabelling of the classes is the same structure):
//!
//! - a pair {c, c'}: column c has beta at c, -beta at c', 0 elsewhere;
//! - a simplex class c: gamma (1 - 1/q) at c, -gamma/q at the other simplex classes, 0 at the
//!   paired classes (q >= 3; q = 1 is a single class whose logits are all 0; a "simplex over
//!   2 classes" is a pair with beta = gamma/2, so q = 2 is not a separate member).
//!
//! Every column sums to zero (as at any critical point: the softmax gradient's columns sum to
//! zero, so W_L's columns, hence Z's, are orthogonal to 1). The blocks are decoupled: a pair
//! column's softmax sees `beta, -beta` and K - 2 zeros whatever the other blocks are, a simplex
//! column sees its own block and 2p zeros. The singular values of Z are `2 beta sqrt(n)`
//! (p times) and `gamma sqrt(n)` (q - 1 times), so at a Lemma-1-aligned point the reduced loss
//! (B.3) splits into a pair part and a simplex part:
//!
//! ```text
//! loss(beta, gamma) = (2p/K) f_pair(beta)    + p     (L+1)/2 lambda (2 beta sqrt n)^(2/(L+1))
//!                   + (q/K)  f_simplex(gamma) + (q-1) (L+1)/2 lambda (gamma sqrt n)^(2/(L+1))
//! f_pair(b)    = log(1 + (K-2) e^-b + e^-2b)
//! f_simplex(g) = log(1 + (q-1) e^-g + (K-q) e^(-g (q-1)/q))
//! ```
//!
//! Each part is minimised on its own. Stationary scales: `lambda = q_pair(beta) =
//! -(2/K) f_pair'(beta) beta^(1-a) / (2 sqrt n)^a` (a = 2/(L+1); the same as Eq. (27), so the
//! pair scale does not depend on p) and `lambda = q_simplex(gamma) = -(q/K) f_simplex'(gamma)
//! gamma^(1-a) / ((q-1) n^(a/2))` (for q = K the corrected Eq. (19)). Because every block's
//! softmax error is, on the block's own centred span, proportional to the block's logits (and
//! orthogonal to the other blocks' spans), a point with both scales stationary is a critical
//! point of the full loss (checked in the tests: gradient at rounding level).

use faer::Mat;
use serde::{Deserialize, Serialize};

use super::closed_form::schatten_exponent;
use super::critical::{stationary_roots, stationary_sup};

/// One member of the family: K classes, p pairs, a simplex over q = K - 2p classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PairSimplex {
    pub classes: usize,
    pub pairs: usize,
}

/// The globally optimal scales of one member (each part minimised over its scale >= 0; a
/// scale of 0 means that part is better off collapsed to zero logits).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FamilyOptimum {
    pub loss: f64,
    /// beta (null when p = 0).
    pub pair_scale: Option<f64>,
    /// gamma (null when q <= 1).
    pub simplex_scale: Option<f64>,
}

/// `log(1 + a e^-s + b e^-(c s))` and its slope in s.
fn log1p3(a: f64, b: f64, c: f64, s: f64) -> (f64, f64) {
    let (e1, e2) = ((-s).exp(), (-c * s).exp());
    let u = a * e1 + b * e2;
    (u.ln_1p(), -(a * e1 + b * c * e2) / (1.0 + u))
}

impl PairSimplex {
    /// Errors (naming the argument) unless K >= 2, 2p <= K and q = K - 2p != 2.
    pub fn new(classes: usize, pairs: usize) -> Result<PairSimplex, crate::Error> {
        use crate::Error;
        if classes < 2 {
            return Err(Error::argument(
                "classes",
                format!("must be >= 2, got {classes}"),
            ));
        }
        if 2 * pairs > classes {
            return Err(Error::argument(
                "pairs",
                format!("must be <= K/2 = {}, got {pairs}", classes / 2),
            ));
        }
        if classes - 2 * pairs == 2 {
            return Err(Error::argument(
                "pairs",
                format!(
                    "a simplex over 2 classes is a pair; use pairs = {}",
                    pairs + 1
                ),
            ));
        }
        Ok(PairSimplex { classes, pairs })
    }

    /// Every member for K classes, p = 0, 1, ..., floor(K/2), skipping q = 2 (a pair).
    pub fn all(classes: usize) -> Vec<PairSimplex> {
        (0..=classes / 2)
            .filter_map(|p| PairSimplex::new(classes, p).ok())
            .collect()
    }

    /// q = K - 2p.
    pub fn simplex_size(self) -> usize {
        self.classes - 2 * self.pairs
    }

    /// rank(Z) = p + max(q - 1, 0).
    pub fn rank(self) -> usize {
        self.pairs + self.simplex_size().saturating_sub(1)
    }

    /// Compact label, `p=2,q=6` (the key of sweep summaries' `structure_counts`).
    pub fn label(self) -> String {
        format!("p={},q={}", self.pairs, self.simplex_size())
    }

    /// f_pair(beta) and its slope.
    pub fn pair_fit(self, beta: f64) -> (f64, f64) {
        log1p3(self.classes as f64 - 2.0, 1.0, 2.0, beta)
    }

    /// f_simplex(gamma) and its slope (q >= 1; log K for q = 1).
    pub fn simplex_fit(self, gamma: f64) -> (f64, f64) {
        let (k, q) = (self.classes as f64, self.simplex_size() as f64);
        if self.simplex_size() <= 1 {
            return ((k).ln(), 0.0);
        }
        log1p3(q - 1.0, k - q, (q - 1.0) / q, gamma)
    }

    /// The fit term g(Z) = (2p f_pair(beta) + q f_simplex(gamma)) / K.
    pub fn fit(self, beta: f64, gamma: f64) -> f64 {
        let (k, p, q) = (
            self.classes as f64,
            self.pairs as f64,
            self.simplex_size() as f64,
        );
        let pair = if self.pairs > 0 {
            2.0 * p * self.pair_fit(beta).0
        } else {
            0.0
        };
        let simplex = if self.simplex_size() > 0 {
            q * self.simplex_fit(gamma).0
        } else {
            0.0
        };
        (pair + simplex) / k
    }

    /// `(L+1)/2 lambda [p (2 beta sqrt n)^a + (q-1) (gamma sqrt n)^a]`, a = 2/(L+1).
    pub fn reg(self, n: usize, layers: usize, lambda: f64, beta: f64, gamma: f64) -> f64 {
        let a = schatten_exponent(layers);
        let sn = (n as f64).sqrt();
        let pw = |x: f64| if x > 0.0 { x.powf(a) } else { 0.0 };
        let c = self.simplex_size().saturating_sub(1) as f64;
        0.5 * (layers as f64 + 1.0)
            * lambda
            * (self.pairs as f64 * pw(2.0 * beta * sn) + c * pw(gamma * sn))
    }

    /// The reduced loss at pair scale beta and simplex scale gamma.
    pub fn loss(self, n: usize, layers: usize, lambda: f64, beta: f64, gamma: f64) -> f64 {
        self.fit(beta, gamma) + self.reg(n, layers, lambda, beta, gamma)
    }

    /// The pair part of the loss (all p pairs) at beta.
    fn pair_part(self, n: usize, layers: usize, lambda: f64, beta: f64) -> f64 {
        2.0 * self.pairs as f64 / self.classes as f64 * self.pair_fit(beta).0
            + self.reg(n, layers, lambda, beta, 0.0)
    }

    /// The simplex part of the loss at gamma.
    fn simplex_part(self, n: usize, layers: usize, lambda: f64, gamma: f64) -> f64 {
        self.simplex_size() as f64 / self.classes as f64 * self.simplex_fit(gamma).0
            + self.reg(n, layers, lambda, 0.0, gamma)
    }

    /// The lambda at which beta is a stationary pair scale (Eq. (27) form).
    pub fn pair_stationary_lambda(self, n: usize, layers: usize, beta: f64) -> f64 {
        let a = schatten_exponent(layers);
        let k = self.classes as f64;
        -(2.0 / k) * self.pair_fit(beta).1 * beta.powf(1.0 - a) / (2.0 * (n as f64).sqrt()).powf(a)
    }

    /// The lambda at which gamma is a stationary simplex scale (q >= 2).
    pub fn simplex_stationary_lambda(self, n: usize, layers: usize, gamma: f64) -> f64 {
        let a = schatten_exponent(layers);
        let (k, q) = (self.classes as f64, self.simplex_size() as f64);
        -(q / k) * self.simplex_fit(gamma).1 * gamma.powf(1.0 - a)
            / ((q - 1.0) * (n as f64).powf(0.5 * a))
    }

    /// Positive stationary pair scales, increasing (empty when p = 0).
    pub fn pair_roots(self, n: usize, layers: usize, lambda: f64) -> Vec<f64> {
        if self.pairs == 0 {
            return vec![];
        }
        stationary_roots(
            |b| self.pair_stationary_lambda(n, layers, b),
            self.classes,
            lambda,
        )
    }

    /// Positive stationary simplex scales, increasing (empty when q <= 1).
    pub fn simplex_roots(self, n: usize, layers: usize, lambda: f64) -> Vec<f64> {
        if self.simplex_size() <= 1 {
            return vec![];
        }
        stationary_roots(
            |g| self.simplex_stationary_lambda(n, layers, g),
            self.classes,
            lambda,
        )
    }

    /// Largest lambda with a stationary pair scale (null when p = 0).
    pub fn pair_lambda_max(self, n: usize, layers: usize) -> Option<f64> {
        (self.pairs > 0)
            .then(|| stationary_sup(|b| self.pair_stationary_lambda(n, layers, b), self.classes))
    }

    /// Largest lambda with a stationary simplex scale (null when q <= 1).
    pub fn simplex_lambda_max(self, n: usize, layers: usize) -> Option<f64> {
        (self.simplex_size() > 1).then(|| {
            stationary_sup(
                |g| self.simplex_stationary_lambda(n, layers, g),
                self.classes,
            )
        })
    }

    /// Global minimum over beta, gamma >= 0 (each part over its own scale: 0 or a stationary
    /// scale).
    pub fn optimum(self, n: usize, layers: usize, lambda: f64) -> FamilyOptimum {
        let best = |zero: f64, roots: Vec<f64>, f: &dyn Fn(f64) -> f64| {
            roots
                .into_iter()
                .map(|s| (f(s), s))
                .fold((zero, 0.0), |acc, x| if x.0 < acc.0 { x } else { acc })
        };
        let mut loss = 0.0;
        let mut pair_scale = None;
        let mut simplex_scale = None;
        if self.pairs > 0 {
            let zero = self.pair_part(n, layers, lambda, 0.0);
            let (l, s) = best(zero, self.pair_roots(n, layers, lambda), &|b| {
                self.pair_part(n, layers, lambda, b)
            });
            loss += l;
            pair_scale = Some(s);
        }
        if self.simplex_size() > 0 {
            let zero = self.simplex_part(n, layers, lambda, 0.0);
            let (l, s) = if self.simplex_size() == 1 {
                (zero, 0.0)
            } else {
                best(zero, self.simplex_roots(n, layers, lambda), &|g| {
                    self.simplex_part(n, layers, lambda, g)
                })
            };
            loss += l;
            simplex_scale = (self.simplex_size() > 1).then_some(s);
        }
        FamilyOptimum {
            loss,
            pair_scale,
            simplex_scale,
        }
    }

    /// The K x K class-mean logit matrix (pairs {0,1}, {2,3}, ..., simplex over the last q).
    pub fn class_means(self, beta: f64, gamma: f64) -> Mat<f64> {
        let (k, q) = (self.classes, self.simplex_size());
        let start = 2 * self.pairs;
        Mat::from_fn(k, k, |i, c| {
            if c < start {
                if i == c {
                    beta
                } else if i / 2 == c / 2 {
                    -beta
                } else {
                    0.0
                }
            } else if i < start || q < 2 {
                0.0
            } else if i == c {
                gamma * (1.0 - 1.0 / q as f64)
            } else {
                -gamma / q as f64
            }
        })
    }

    /// The K x Kn logit matrix (`class_means kron 1_n^T`).
    pub fn logits(self, n: usize, beta: f64, gamma: f64) -> Mat<f64> {
        let m = self.class_means(beta, gamma);
        Mat::from_fn(self.classes, self.classes * n, |i, j| m[(i, j / n)])
    }
}

/// A constructed critical point of the family: linear CE model of width `width`,
/// Lemma-1-aligned parameters (random frames from `seed`) with the member's logits at the chosen
/// root of each part (pairs at beta, simplex at gamma). Returns (spec, params, beta, gamma).
/// Errors (naming the argument) when a part has no stationary scale at this lambda or the
/// width is below K.
#[allow(clippy::too_many_arguments)]
pub fn family_point(
    member: PairSimplex,
    root: super::hessian::Root,
    n: usize,
    layers: usize,
    lambda: f64,
    width: usize,
    seed: u64,
) -> Result<
    (
        crate::model::ModelSpec,
        crate::model::Params,
        Option<f64>,
        Option<f64>,
    ),
    crate::Error,
> {
    use crate::Error;
    use rand::SeedableRng;
    let k = member.classes;
    super::check_model(k, n, layers, lambda)?;
    if width < k {
        return Err(Error::argument(
            "width",
            format!("must be >= classes = {k}, got {width}"),
        ));
    }
    let pick = |roots: Vec<f64>, what: &str| -> Result<f64, Error> {
        match (root, roots.as_slice()) {
            (_, []) => Err(Error::argument(
                "lambda",
                format!("the {what} part has no critical scale at lambda = {lambda:e}"),
            )),
            (super::hessian::Root::Large, r) => Ok(r[r.len() - 1]),
            (super::hessian::Root::Small, r) if r.len() >= 2 => Ok(r[0]),
            (super::hessian::Root::Small, _) => Err(Error::argument(
                "root",
                format!("the {what} part has one critical scale only; use --root large"),
            )),
        }
    };
    let beta = if member.pairs > 0 {
        Some(pick(member.pair_roots(n, layers, lambda), "pair")?)
    } else {
        None
    };
    let gamma = if member.simplex_size() > 1 {
        Some(pick(member.simplex_roots(n, layers, lambda), "simplex")?)
    } else {
        None
    };
    let spec = crate::model::ModelSpec::balanced(
        k,
        n,
        width,
        layers,
        crate::model::Activation::Linear,
        crate::model::LossKind::CrossEntropy,
        lambda,
    );
    let z = member.logits(n, beta.unwrap_or(0.0), gamma.unwrap_or(0.0));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let params = super::construct::aligned_params(&spec, z.as_ref(), &mut rng)?;
    Ok((spec, params, beta, gamma))
}
