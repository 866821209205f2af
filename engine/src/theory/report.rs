//! CLI-independent reports behind `ufm theory compare | critical | region` (DESIGN.md section 5),
//! and parsers for their arguments. Errors name the argument (`lambda: ...`, `classes: ...`).

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::critical::{dnc_lambda_max, dnc_roots, low_rank_lambda_max, low_rank_roots};
use super::minimise::{optimal_dnc, optimal_low_rank, Optimum};
use super::regions::{theorem1_holds, Theorem};

/// `ufm theory compare`: best DNC and best low-rank reduced losses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareReport {
    pub dnc: Optimum,
    pub low_rank: Optimum,
    pub theorem1_holds: bool,
}

/// `ufm theory critical`: stationary scales (increasing) and the largest lambda with any.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CriticalReport {
    pub dnc_roots: Vec<f64>,
    pub low_rank_roots: Vec<f64>,
    pub dnc_lambda_max: f64,
    pub low_rank_lambda_max: f64,
}

/// One (K, L) cell of a region table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionRow {
    pub classes: usize,
    pub layers: usize,
    pub holds: bool,
}

/// `ufm theory region`: rows in order of classes, then layers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionReport {
    pub rows: Vec<RegionRow>,
}

fn check_model(k: usize, n: usize, layers: usize, lambda: f64) -> Result<(), String> {
    if k < 2 {
        return Err(format!("classes: must be >= 2, got {k}"));
    }
    if n < 1 {
        return Err("per-class: must be >= 1, got 0".into());
    }
    if layers < 1 {
        return Err("layers: must be >= 1, got 0".into());
    }
    if !(lambda.is_finite() && lambda > 0.0) {
        return Err(format!("lambda: must be finite and > 0, got {lambda}"));
    }
    Ok(())
}

/// Best DNC vs best low-rank loss for K = `k`, n = `n` per class, L = `layers`, `lambda`.
pub fn compare(k: usize, n: usize, layers: usize, lambda: f64) -> Result<CompareReport, String> {
    check_model(k, n, layers, lambda)?;
    Ok(CompareReport {
        dnc: optimal_dnc(k, n, layers, lambda),
        low_rank: optimal_low_rank(k, n, layers, lambda),
        theorem1_holds: theorem1_holds(k, layers),
    })
}

/// Critical scales of both structures and the lambda bounds for their existence.
pub fn critical(k: usize, n: usize, layers: usize, lambda: f64) -> Result<CriticalReport, String> {
    check_model(k, n, layers, lambda)?;
    Ok(CriticalReport {
        dnc_roots: dnc_roots(k, n, layers, lambda),
        low_rank_roots: low_rank_roots(k, n, layers, lambda),
        dnc_lambda_max: dnc_lambda_max(k, n, layers),
        low_rank_lambda_max: low_rank_lambda_max(k, n, layers),
    })
}

/// The derived region of `theorem` over the given (inclusive) ranges.
pub fn region(
    theorem: Theorem,
    classes: RangeInclusive<usize>,
    layers: RangeInclusive<usize>,
) -> Result<RegionReport, String> {
    if classes.is_empty() || *classes.start() < 2 {
        return Err(format!(
            "classes: must be a non-empty range with start >= 2, got {}..{}",
            classes.start(),
            classes.end()
        ));
    }
    if layers.is_empty() || *layers.start() < 1 {
        return Err(format!(
            "layers: must be a non-empty range with start >= 1, got {}..{}",
            layers.start(),
            layers.end()
        ));
    }
    let rows = classes
        .flat_map(|k| {
            layers.clone().map(move |l| RegionRow {
                classes: k,
                layers: l,
                holds: theorem.holds(k, l),
            })
        })
        .collect();
    Ok(RegionReport { rows })
}

/// A regularisation strength: a decimal (`0.001`, `1e-3`) or a power `B^E` (`2^-10`, `2^(-10)`).
/// Must be finite and > 0.
pub fn parse_lambda(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let bad = || format!("lambda: expected a number like 0.001 or 2^-10, got {s:?}");
    let value = if let Some((base, exp)) = t.split_once('^') {
        let base: f64 = base.trim().parse().map_err(|_| bad())?;
        let exp = exp.trim();
        let exp = exp
            .strip_prefix('(')
            .and_then(|e| e.strip_suffix(')'))
            .unwrap_or(exp);
        let exp: f64 = exp.trim().parse().map_err(|_| bad())?;
        base.powf(exp)
    } else {
        t.parse::<f64>().map_err(|_| bad())?
    };
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("lambda: must be finite and > 0, got {s:?}"));
    }
    Ok(value)
}

/// An inclusive integer range for `--classes` / `--layers`: `A..B` and `A..=B` both mean
/// A through B inclusive; a single `A` means just A. `name` is used in error messages.
pub fn parse_range(name: &str, s: &str) -> Result<RangeInclusive<usize>, String> {
    let t = s.trim();
    let bad = || format!("{name}: expected A..B (inclusive) or A, got {s:?}");
    let (a, b) = match t.split_once("..") {
        Some((a, b)) => (a, b.strip_prefix('=').unwrap_or(b)),
        None => (t, t),
    };
    let a: usize = a.trim().parse().map_err(|_| bad())?;
    let b: usize = b.trim().parse().map_err(|_| bad())?;
    if a > b {
        return Err(format!("{name}: empty range {s:?} (start > end)"));
    }
    Ok(a..=b)
}
