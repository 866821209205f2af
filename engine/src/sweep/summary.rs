//! summary.json: runs grouped by their swept values with the replicate axes (every axis whose
//! last path component is `seed`, e.g. `init.seed`) left out, so a group is "one setting, many
//! seeds". Per group: run counts, P(dnc) with a Wilson 95% interval, rank and loss statistics,
//! counts per status, classification and rank. No wall times: the summary of a sweep does not
//! depend on thread count, sharding or interruptions.

use super::record::RunRecord;
use super::store::{Axis, SweepMeta};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Wilson score interval for `k` successes in `n` trials at normal quantile `z`
/// ((0, 1) when n = 0).
pub fn wilson(k: usize, n: usize, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n_f = n as f64;
    let p = k as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = z / denom * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Mean, sample standard deviation (0 for one value), min and max.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub mean: f64,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub std: f64,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub min: f64,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub max: f64,
}

impl Stats {
    /// Statistics of the finite values of `xs` (None if there are none).
    fn of(xs: &[f64]) -> Option<Stats> {
        let xs: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        if xs.is_empty() {
            return None;
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = if xs.len() > 1 {
            xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Some(Stats {
            mean,
            std: var.sqrt(),
            min: xs.iter().copied().fold(f64::INFINITY, f64::min),
            max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

/// One group of runs (one setting of the non-replicate axes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointSummary {
    /// Values of the grouping axes.
    pub assignments: IndexMap<String, Value>,
    /// Runs in this group in the full grid.
    pub expected_runs: usize,
    /// Finished runs in this group.
    pub runs: usize,
    /// Runs classified `dnc`.
    pub dnc: usize,
    /// dnc / runs (null without runs).
    pub p_dnc: Option<f64>,
    /// Wilson 95% interval for P(dnc).
    #[serde(deserialize_with = "crate::io::json_float::pair_or_nan")]
    pub p_dnc_interval: [f64; 2],
    /// Counts per classification: dnc, low_rank, other.
    pub classification: BTreeMap<String, usize>,
    /// Logit rank (rank of Z) over the finished runs.
    pub rank: Option<Stats>,
    /// Rank of the centred class-mean logit matrix.
    pub centred_rank: Option<Stats>,
    /// Final loss.
    pub loss: Option<Stats>,
    /// Counts per status (converged, max_steps, diverged, ...).
    pub status: BTreeMap<String, usize>,
    /// Counts per logit rank (keys are ranks).
    pub rank_counts: BTreeMap<usize, usize>,
    /// Counts per pair + simplex structure (keys `p=2,q=6`, `other`; `unknown` for records
    /// written before the field existed).
    #[serde(default)]
    pub structure_counts: BTreeMap<String, usize>,
    pub dnc_loss: Option<f64>,
    pub low_rank_loss: Option<f64>,
    /// AUC of predicting DNC from the initial alignment over this group's runs, with its
    /// bootstrap interval ([`super::auc`]); null unless both outcomes occur.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment_auc: Option<super::auc::AucReport>,
    /// Commitment step (result.json `dynamics.commit_step`) over the settled runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_step: Option<Stats>,
}

/// The AUC of the initial alignment for DNC over `runs` (those with the statistic).
fn alignment_auc(runs: &[&RunRecord]) -> Option<super::auc::AucReport> {
    let (mut pos, mut neg) = (Vec::new(), Vec::new());
    for r in runs {
        if let Some(a) = r.alignment {
            if r.classification == crate::analysis::Classification::Dnc {
                pos.push(a);
            } else {
                neg.push(a);
            }
        }
    }
    super::auc::auc_report("initial alignment", &pos, &neg)
}

/// summary.json.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub ufm_version: String,
    pub sweep_hash: String,
    pub total_runs: usize,
    pub finished_runs: usize,
    pub axes: Vec<Axis>,
    /// Axes the groups are formed by (the swept axes minus the replicate axes).
    pub group_by: Vec<String>,
    /// Axes averaged over (paths ending in `seed`).
    pub replicate_axes: Vec<String>,
    pub points: Vec<PointSummary>,
    /// [`PointSummary::alignment_auc`] over every finished run of the sweep (pooling settings:
    /// read it beside the per-point values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment_auc: Option<super::auc::AucReport>,
}

/// Groups of runs: id -> (grouping values, runs in the grid, finished records).
type Groups<'a> = IndexMap<String, (IndexMap<String, Value>, usize, Vec<&'a RunRecord>)>;

/// Whether a sweep key is a replicate axis (its last component is `seed`).
pub fn is_replicate(key: &str) -> bool {
    key.rsplit('.').next() == Some("seed")
}

fn label(v: &impl Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Aggregate the finished `records` of the sweep described by `meta` (in any order).
/// `grid_assignments` are the assignments of every grid point, in grid order.
pub fn summarize(
    meta: &SweepMeta,
    grid_assignments: &[IndexMap<String, Value>],
    records: &[RunRecord],
) -> Summary {
    let group_by: Vec<String> = meta
        .axes
        .iter()
        .map(|a| a.key.clone())
        .filter(|k| !is_replicate(k))
        .collect();
    let replicate_axes: Vec<String> = meta
        .axes
        .iter()
        .map(|a| a.key.clone())
        .filter(|k| is_replicate(k))
        .collect();
    let key_of = |a: &IndexMap<String, Value>| -> IndexMap<String, Value> {
        group_by
            .iter()
            .map(|k| (k.clone(), a.get(k).cloned().unwrap_or(Value::Null)))
            .collect()
    };
    // Groups in grid order of their first point.
    let mut groups: Groups = IndexMap::new();
    let mut group_of_index = Vec::with_capacity(grid_assignments.len());
    for a in grid_assignments {
        let k = key_of(a);
        let id = serde_json::to_string(&k).unwrap_or_default();
        let g = match groups.entry(id) {
            indexmap::map::Entry::Occupied(mut o) => {
                o.get_mut().1 += 1;
                o.index()
            }
            indexmap::map::Entry::Vacant(v) => {
                let i = v.index();
                v.insert((k, 1, vec![]));
                i
            }
        };
        group_of_index.push(g);
    }
    let mut sorted: Vec<&RunRecord> = records.iter().collect();
    sorted.sort_by_key(|r| r.index);
    for r in sorted {
        if let Some(&g) = group_of_index.get(r.index) {
            groups[g].2.push(r);
        }
    }
    let points = groups
        .into_values()
        .map(|(assignments, expected_runs, rs)| {
            let runs = rs.len();
            let dnc = rs
                .iter()
                .filter(|r| r.classification == crate::analysis::Classification::Dnc)
                .count();
            let mut classification = BTreeMap::new();
            for c in ["dnc", "low_rank", "other"] {
                classification.insert(c.to_string(), 0);
            }
            let mut status = BTreeMap::new();
            let mut rank_counts = BTreeMap::new();
            let mut structure_counts = BTreeMap::new();
            for r in &rs {
                let key = if r.structure.is_empty() {
                    "unknown".to_string()
                } else {
                    r.structure.clone()
                };
                *structure_counts.entry(key).or_insert(0) += 1;
                *classification.entry(label(&r.classification)).or_insert(0) += 1;
                *status.entry(label(&r.status)).or_insert(0) += 1;
                *rank_counts.entry(r.rank).or_insert(0) += 1;
            }
            let (lo, hi) = wilson(dnc, runs, Z95);
            let ranks: Vec<f64> = rs.iter().map(|r| r.rank as f64).collect();
            let cranks: Vec<f64> = rs.iter().map(|r| r.centred_rank as f64).collect();
            let losses: Vec<f64> = rs.iter().map(|r| r.loss).collect();
            let commits: Vec<f64> = rs
                .iter()
                .filter_map(|r| r.commit_step.map(|s| s as f64))
                .collect();
            PointSummary {
                assignments,
                expected_runs,
                runs,
                dnc,
                p_dnc: (runs > 0).then(|| dnc as f64 / runs as f64),
                p_dnc_interval: [lo, hi],
                classification,
                rank: Stats::of(&ranks),
                centred_rank: Stats::of(&cranks),
                loss: Stats::of(&losses),
                status,
                rank_counts,
                structure_counts,
                dnc_loss: rs.first().and_then(|r| r.dnc_loss),
                low_rank_loss: rs.first().and_then(|r| r.low_rank_loss),
                alignment_auc: alignment_auc(&rs),
                commit_step: Stats::of(&commits),
            }
        })
        .collect();
    Summary {
        ufm_version: crate::version().to_string(),
        sweep_hash: meta.sweep_hash.clone(),
        total_runs: meta.total_runs,
        finished_runs: records.len(),
        axes: meta.axes.clone(),
        group_by,
        replicate_axes,
        points,
        alignment_auc: {
            let mut all: Vec<&RunRecord> = records.iter().collect();
            all.sort_by_key(|r| r.index);
            alignment_auc(&all)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_reference_values() {
        // Reference values from the closed form (e.g. statsmodels proportion_confint, wilson).
        let (lo, hi) = wilson(0, 10, Z95);
        assert!(
            (lo - 0.0).abs() < 1e-12 && (hi - 0.277_532_7).abs() < 1e-6,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(5, 10, Z95);
        assert!((lo - 0.236_593_3).abs() < 1e-6 && (hi - 0.763_406_7).abs() < 1e-6);
        let (lo, hi) = wilson(10, 10, Z95);
        assert!((lo - 0.722_467_3).abs() < 1e-6 && (hi - 1.0).abs() < 1e-12);
        assert_eq!(wilson(0, 0, Z95), (0.0, 1.0));
    }

    #[test]
    fn replicate_axes() {
        assert!(is_replicate("init.seed"));
        assert!(is_replicate("seed"));
        assert!(!is_replicate("model.width"));
        assert!(!is_replicate("init.seeds"));
    }

    #[test]
    fn stats() {
        let s = Stats::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.mean, s.std, s.min, s.max), (2.0, 1.0, 1.0, 3.0));
        assert_eq!(Stats::of(&[4.0]).unwrap().std, 0.0);
        assert!(Stats::of(&[]).is_none());
        assert_eq!(Stats::of(&[1.0, f64::NAN, 3.0]).unwrap().mean, 2.0);
    }
}
