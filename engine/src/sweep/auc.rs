//! How well a per-run statistic (the initial alignment, result.json `dynamics.initial`)
//! predicts DNC: the area under the ROC curve with a seeded stratified bootstrap interval
//! (docs/sweep.md, "initial alignment").
//!
//! AUC = P(s_dnc > s_other) + P(s_dnc = s_other) / 2 over independent draws of a DNC run and a
//! non-DNC run: 1 means the statistic separates the outcomes perfectly (larger for DNC), 0.5
//! that it carries no information, 0 perfect separation the other way round. Computed from
//! mid-ranks (Mann-Whitney), O(n log n).
//!
//! The interval is the percentile interval of a stratified bootstrap (the DNC runs and the other
//! runs resampled separately with replacement, so every resample has both classes, as in
//! pROC's default), [`BOOTSTRAP_RESAMPLES`] resamples from a ChaCha8 generator seeded with
//! [`BOOTSTRAP_SEED`] (index = next_u64() mod class size; the modulo bias is below 2^-50): the same runs always give the same interval.

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Bootstrap resamples.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;
/// Seed of the bootstrap generator.
pub const BOOTSTRAP_SEED: u64 = 0;

/// The AUC of a statistic with its bootstrap interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AucReport {
    /// What was scored (e.g. `initial alignment`).
    pub statistic: String,
    pub auc: f64,
    /// 95% percentile bootstrap interval.
    pub interval: [f64; 2],
    /// Runs with the statistic: DNC and other.
    pub dnc_runs: usize,
    pub other_runs: usize,
    pub resamples: usize,
    pub seed: u64,
}

/// AUC of `pos` (scores of DNC runs) against `neg` (the others) by mid-ranks; None when either
/// is empty or a score is NaN.
pub fn auc(pos: &[f64], neg: &[f64]) -> Option<f64> {
    if pos.is_empty() || neg.is_empty() || pos.iter().chain(neg).any(|x| x.is_nan()) {
        return None;
    }
    let mut all: Vec<(f64, bool)> = pos
        .iter()
        .map(|&x| (x, true))
        .chain(neg.iter().map(|&x| (x, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mid * all[i..=j].iter().filter(|x| x.1).count() as f64;
        i = j + 1;
    }
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    Some((rank_sum - np * (np + 1.0) / 2.0) / (np * nn))
}

/// The linear-interpolation (type 7) quantile of sorted values.
fn quantile(sorted: &[f64], f: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * f;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The AUCs of `resamples` stratified bootstrap resamples (in generation order).
pub fn bootstrap_aucs(pos: &[f64], neg: &[f64], resamples: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut p = vec![0.0; pos.len()];
    let mut n = vec![0.0; neg.len()];
    let mut out = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for x in p.iter_mut() {
            *x = pos[(rng.next_u64() % pos.len() as u64) as usize];
        }
        for x in n.iter_mut() {
            *x = neg[(rng.next_u64() % neg.len() as u64) as usize];
        }
        if let Some(a) = auc(&p, &n) {
            out.push(a);
        }
    }
    out
}

/// [`auc`] with its 95% percentile bootstrap interval (None as for [`auc`]).
pub fn auc_report(statistic: &str, pos: &[f64], neg: &[f64]) -> Option<AucReport> {
    let a = auc(pos, neg)?;
    let mut boot = bootstrap_aucs(pos, neg, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED);
    boot.sort_by(f64::total_cmp);
    Some(AucReport {
        statistic: statistic.to_string(),
        auc: a,
        interval: [quantile(&boot, 0.025), quantile(&boot, 0.975)],
        dnc_runs: pos.len(),
        other_runs: neg.len(),
        resamples: BOOTSTRAP_RESAMPLES,
        seed: BOOTSTRAP_SEED,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, pair by pair.
    fn brute(pos: &[f64], neg: &[f64]) -> f64 {
        let mut s = 0.0;
        for &p in pos {
            for &n in neg {
                s += if p > n {
                    1.0
                } else if p == n {
                    0.5
                } else {
                    0.0
                };
            }
        }
        s / (pos.len() * neg.len()) as f64
    }

    #[test]
    fn auc_matches_the_pairwise_definition() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for (np, nn) in [(1, 1), (1, 5), (3, 4), (10, 7), (40, 60)] {
            for _ in 0..20 {
                // Scores on a coarse grid so that ties occur.
                let mut draw = |k: usize| -> Vec<f64> {
                    (0..k).map(|_| (rng.next_u64() % 6) as f64 * 0.5).collect()
                };
                let (p, n) = (draw(np), draw(nn));
                let a = auc(&p, &n).unwrap();
                // Both are sums of multiples of 1/2 over np nn: equal up to rounding.
                assert!((a - brute(&p, &n)).abs() < 1e-12, "{p:?} {n:?}");
            }
        }
        assert_eq!(auc(&[1.0, 2.0], &[0.0]), Some(1.0));
        assert_eq!(auc(&[0.0], &[1.0, 2.0]), Some(0.0));
        assert_eq!(auc(&[1.0], &[1.0]), Some(0.5));
        assert_eq!(auc(&[], &[1.0]), None);
        assert_eq!(auc(&[f64::NAN], &[1.0]), None);
    }

    #[test]
    fn bootstrap_matches_the_exact_resampling_distribution() {
        // Small case: every stratified resample (3^3 x 2^2 = 108, equally likely) enumerated.
        let pos = [0.3, 0.9, 0.1];
        let neg = [0.2, 0.5];
        let mut exact = Vec::new();
        for a in 0..27usize {
            let p = [pos[a % 3], pos[a / 3 % 3], pos[a / 9]];
            for b in 0..4usize {
                let n = [neg[b % 2], neg[b / 2]];
                exact.push(brute(&p, &n));
            }
        }
        let b = 40_000;
        let boot = bootstrap_aucs(&pos, &neg, b, 3);
        assert_eq!(boot.len(), b);
        // The bootstrap's distribution function against the exact one at every support point:
        // each is a proportion over b independent draws, standard error <= 0.5 / sqrt(b) =
        // 0.0025; 5 standard errors (0.0125) fail by chance with probability < 1e-6 per point.
        let mut support = exact.clone();
        support.sort_by(f64::total_cmp);
        support.dedup();
        for &v in &support {
            let f_exact = exact.iter().filter(|&&x| x <= v).count() as f64 / exact.len() as f64;
            let f_boot = boot.iter().filter(|&&x| x <= v).count() as f64 / b as f64;
            assert!(
                (f_exact - f_boot).abs() < 0.0125,
                "at {v}: {f_exact} vs {f_boot}"
            );
        }
        // Deterministic: the same seed gives the same resamples.
        assert_eq!(
            bootstrap_aucs(&pos, &neg, 100, 3),
            bootstrap_aucs(&pos, &neg, 100, 3)
        );
        let r = auc_report("s", &pos, &neg).unwrap();
        assert!(r.interval[0] <= r.auc && r.auc <= r.interval[1]);
        assert_eq!(r, auc_report("s", &pos, &neg).unwrap());
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [0.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.0), 0.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert_eq!(quantile(&v, 0.5), 2.0);
        assert!((quantile(&v, 0.025) - 0.1).abs() < 1e-15);
    }
}
