//! CLI-independent reports behind `ufm theory compare | critical | region` (docs/theory.md),
//! and parsers for their arguments. Bad arguments are [`Error::Argument`], named as here
//! (`lambda`, `classes`): the CLI shows them as its flags, the C API as its parameters.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::closed_form::Structure;
use super::critical::{dnc_lambda_max, dnc_roots, low_rank_lambda_max, low_rank_roots};
use super::family::{family_point, PairSimplex};
use super::hessian::{hessian_report, HessianOptions, Method, Root};
use super::minimise::{optimal_dnc, optimal_low_rank, Optimum};
use super::regions::{theorem1_holds, Theorem};
use crate::error::{Error, Result};

/// `ufm theory compare`: best DNC and best low-rank reduced losses, and every member of the
/// pair + simplex family ([`super::family`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareReport {
    pub dnc: Optimum,
    pub low_rank: Optimum,
    pub theorem1_holds: bool,
    /// p = 0 (DNC), 1, ..., floor(K/2) (q = 2 skipped: it is one more pair). Empty when K is
    /// above [`FAMILY_MAX_CLASSES`] (a table of K/2 rows would not be read, and its memory
    /// grows with K).
    #[serde(default)]
    pub family: Vec<FamilyRow>,
}

/// One member of the pair + simplex family in `ufm theory compare`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FamilyRow {
    /// p.
    pub pairs: usize,
    /// q = K - 2p.
    pub simplex_size: usize,
    /// rank(Z) = p + max(q - 1, 0).
    pub rank: usize,
    /// Global minimum of the reduced loss over both scales.
    pub loss: f64,
    /// The optimal beta (null when p = 0) and gamma (null when q <= 1).
    pub pair_scale: Option<f64>,
    pub simplex_scale: Option<f64>,
    /// Stationary scales of each part, increasing.
    pub pair_roots: Vec<f64>,
    pub simplex_roots: Vec<f64>,
    /// The Hessian at the constructed critical point (both parts at their large root), when
    /// requested and small enough for a dense spectrum.
    pub hessian: Option<FamilyHessian>,
}

/// The Hessian verdict at a constructed member of the family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FamilyHessian {
    pub width: usize,
    pub parameters: usize,
    /// `minimum`, `degenerate` or `strict_saddle` (see `ufm theory hessian`).
    pub classification: String,
    pub negative: Option<usize>,
    pub smallest_beyond_symmetry: Option<f64>,
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

/// Best DNC vs best low-rank loss for K = `k`, n = `n` per class, L = `layers`, `lambda`.
pub fn compare(k: usize, n: usize, layers: usize, lambda: f64) -> Result<CompareReport> {
    super::check_model(k, n, layers, lambda)?;
    Ok(CompareReport {
        dnc: optimal_dnc(k, n, layers, lambda),
        low_rank: optimal_low_rank(k, n, layers, lambda),
        theorem1_holds: theorem1_holds(k, layers),
        family: if k <= FAMILY_MAX_CLASSES {
            family_rows(k, n, layers, lambda, None)?
        } else {
            Vec::new()
        },
    })
}

/// Largest K for which the family table is built (K/2 + 1 rows).
pub const FAMILY_MAX_CLASSES: usize = 100_000;

/// Largest parameter count for which `compare` computes the family's Hessian verdicts (dense).
pub const FAMILY_HESSIAN_MAX: usize = 2500;

/// [`compare`] with the Hessian verdict of every family member at width `width` (dense; members
/// above [`FAMILY_HESSIAN_MAX`] parameters, or without a critical scale, get null).
pub fn compare_with_hessian(
    k: usize,
    n: usize,
    layers: usize,
    lambda: f64,
    width: usize,
) -> Result<CompareReport> {
    let mut r = compare(k, n, layers, lambda)?;
    if width < k {
        return Err(Error::argument(
            "width",
            format!("must be >= classes = {k}, got {width}"),
        ));
    }
    r.family = family_rows(k, n, layers, lambda, Some(width))?;
    Ok(r)
}

/// Every member of the family, with Hessian verdicts at `width` when given.
pub fn family_rows(
    k: usize,
    n: usize,
    layers: usize,
    lambda: f64,
    width: Option<usize>,
) -> Result<Vec<FamilyRow>> {
    super::check_model(k, n, layers, lambda)?;
    if k > FAMILY_MAX_CLASSES {
        return Err(Error::argument(
            "classes",
            format!(
                "the pair + simplex family table is built for K <= {FAMILY_MAX_CLASSES}, got {k}"
            ),
        ));
    }
    PairSimplex::all(k)
        .into_iter()
        .map(|m| {
            let o = m.optimum(n, layers, lambda);
            let hessian = match width {
                Some(d) => family_hessian(m, n, layers, lambda, d)?,
                None => None,
            };
            Ok(FamilyRow {
                pairs: m.pairs,
                simplex_size: m.simplex_size(),
                rank: m.rank(),
                loss: o.loss,
                pair_scale: o.pair_scale,
                simplex_scale: o.simplex_scale,
                pair_roots: m.pair_roots(n, layers, lambda),
                simplex_roots: m.simplex_roots(n, layers, lambda),
                hessian,
            })
        })
        .collect()
}

/// Dense Hessian verdict at the constructed member (large roots), None when it has no critical
/// point at this lambda or is too large.
fn family_hessian(
    m: PairSimplex,
    n: usize,
    layers: usize,
    lambda: f64,
    width: usize,
) -> Result<Option<FamilyHessian>> {
    let kn = m.classes * n;
    let parameters = width * kn + (layers - 1) * width * width + m.classes * width;
    if parameters > FAMILY_HESSIAN_MAX {
        return Ok(None);
    }
    let Ok((spec, params, _, _)) = family_point(m, Root::Large, n, layers, lambda, width, 0) else {
        return Ok(None);
    };
    let opts = HessianOptions {
        method: Method::Dense,
        ..Default::default()
    };
    let r = hessian_report(&spec, &params, &opts)?;
    Ok(Some(FamilyHessian {
        width,
        parameters: r.parameters,
        classification: r.classification,
        negative: r.negative,
        smallest_beyond_symmetry: r.smallest_beyond_symmetry,
    }))
}

/// Critical scales of both structures and the lambda bounds for their existence.
pub fn critical(k: usize, n: usize, layers: usize, lambda: f64) -> Result<CriticalReport> {
    super::check_model(k, n, layers, lambda)?;
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
) -> Result<RegionReport> {
    if classes.is_empty() || *classes.start() < 2 {
        return Err(Error::argument(
            "classes",
            format!(
                "must be a non-empty range with start >= 2, got {}..{}",
                classes.start(),
                classes.end()
            ),
        ));
    }
    if layers.is_empty() || *layers.start() < 1 {
        return Err(Error::argument(
            "layers",
            format!(
                "must be a non-empty range with start >= 1, got {}..{}",
                layers.start(),
                layers.end()
            ),
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
pub fn parse_lambda(s: &str) -> Result<f64> {
    let t = s.trim();
    let bad = || {
        Error::argument(
            "lambda",
            format!("expected a number like 0.001 or 2^-10, got {s:?}"),
        )
    };
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
        return Err(Error::argument(
            "lambda",
            format!("must be finite and > 0, got {s:?}"),
        ));
    }
    Ok(value)
}

/// An inclusive integer range for `--classes` / `--layers`: `A..B` and `A..=B` both mean
/// A through B inclusive; a single `A` means just A. `name` is used in error messages.
pub fn parse_range(name: &str, s: &str) -> Result<RangeInclusive<usize>> {
    let t = s.trim();
    let bad = || Error::argument(name, format!("expected A..B (inclusive) or A, got {s:?}"));
    let (a, b) = match t.split_once("..") {
        Some((a, b)) => (a, b.strip_prefix('=').unwrap_or(b)),
        None => (t, t),
    };
    let a: usize = a.trim().parse().map_err(|_| bad())?;
    let b: usize = b.trim().parse().map_err(|_| bad())?;
    if a > b {
        return Err(Error::argument(
            name,
            format!("empty range {s:?} (start > end)"),
        ));
    }
    Ok(a..=b)
}

/// One point of the Theorem 4 grid (`ufm theory region --theorem 4`): the DNC critical point of
/// the chosen root at width K, its dense Hessian, and [`super::Theorem4Check`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Theorem4Row {
    pub classes: usize,
    pub per_class: usize,
    pub layers: usize,
    pub lambda: f64,
    pub root: Root,
    pub negative: Option<usize>,
    pub check: super::hessian::Theorem4Check,
}

/// `ufm theory region --theorem 4`: every (K, n, L, lambda) of the grid with a DNC critical
/// point, and counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Theorem4Report {
    pub rows: Vec<Theorem4Row>,
    /// Points without a critical scale of the requested root (lambda too large).
    pub skipped: usize,
    pub strict_saddles: usize,
    /// Strict saddles where B.6's condition (as printed) holds.
    pub saddles_where_paper_b6_holds: usize,
    /// Points where the law's verdict differs from the spectrum's (K >= 4 only).
    pub law_disagreements: usize,
}

/// The Theorem 4 grid over K in `classes`, L in `layers`, n in `per_class`, lambda in
/// `lambdas`, at the given root, width d = K (dense spectra: keep K n and L small).
pub fn theorem4_grid(
    classes: RangeInclusive<usize>,
    layers: RangeInclusive<usize>,
    per_class: &[usize],
    lambdas: &[f64],
    root: Root,
) -> Result<Theorem4Report> {
    if classes.is_empty() || *classes.start() < 2 {
        return Err(Error::argument(
            "classes",
            "must be a non-empty range with start >= 2",
        ));
    }
    if layers.is_empty() || *layers.start() < 1 {
        return Err(Error::argument(
            "layers",
            "must be a non-empty range with start >= 1",
        ));
    }
    let mut report = Theorem4Report {
        rows: vec![],
        skipped: 0,
        strict_saddles: 0,
        saddles_where_paper_b6_holds: 0,
        law_disagreements: 0,
    };
    for k in classes {
        for l in layers.clone() {
            for &n in per_class {
                for &lambda in lambdas {
                    super::check_model(k, n, l, lambda)?;
                    let Ok((spec, params, alpha)) = super::hessian::constructed_point(
                        Structure::Dnc,
                        root,
                        k,
                        n,
                        l,
                        lambda,
                        k,
                        0,
                    ) else {
                        report.skipped += 1;
                        continue;
                    };
                    if spec.parameter_count() > super::hessian::DENSE_LIMIT {
                        return Err(Error::argument(
                            "classes",
                            format!(
                                "K = {k}, n = {n}, L = {l} needs {} parameters; the grid uses \
                                 dense spectra (at most {})",
                                spec.parameter_count(),
                                super::hessian::DENSE_LIMIT
                            ),
                        ));
                    }
                    let opts = HessianOptions {
                        method: Method::Dense,
                        dense_max: super::hessian::DENSE_LIMIT,
                        ..Default::default()
                    };
                    let r = hessian_report(&spec, &params, &opts)?;
                    let check = super::hessian::theorem4_check(k, n, l, lambda, alpha, &r);
                    if r.classification == "strict_saddle" {
                        report.strict_saddles += 1;
                        if check.paper_b6_holds {
                            report.saddles_where_paper_b6_holds += 1;
                        }
                    }
                    if check
                        .law_verdict
                        .as_ref()
                        .is_some_and(|v| *v != r.classification)
                    {
                        report.law_disagreements += 1;
                    }
                    report.rows.push(Theorem4Row {
                        classes: k,
                        per_class: n,
                        layers: l,
                        lambda,
                        root,
                        negative: r.negative,
                        check,
                    });
                }
            }
        }
    }
    Ok(report)
}
