//! The theory closed forms (`ufm theory compare | critical`, reduced losses).

use crate::matrix::copy_out;
use crate::{guard, out, ufm_error, ufm_status, Error, Res};
use engine::theory::{self as th, Structure};

/// The two logit structures of the paper.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ufm_structure {
    /// Deep neural collapse: Z = alpha (I - 11^T/K) kron 1_n^T.
    UFM_STRUCTURE_DNC = 0,
    /// The paired low-rank structure of Eq. (5) (odd K as in B.3).
    UFM_STRUCTURE_LOW_RANK = 1,
}

/// `ufm theory compare`: the best DNC and best low-rank reduced losses and their scales.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ufm_compare {
    pub dnc_loss: f64,
    pub dnc_scale: f64,
    pub low_rank_loss: f64,
    pub low_rank_scale: f64,
    /// 1 when Theorem 1 (DNC is not optimal) holds for this K and L, else 0.
    pub theorem1_holds: i32,
}

fn check(k: usize, n: usize, layers: usize, lambda: f64) -> Res<()> {
    if k < 2 {
        return Err(Error::arg(format!("classes: must be >= 2, got {k}")));
    }
    if n < 1 {
        return Err(Error::arg("per_class: must be >= 1, got 0"));
    }
    if layers < 1 {
        return Err(Error::arg("layers: must be >= 1, got 0"));
    }
    if !(lambda.is_finite() && lambda > 0.0) {
        return Err(Error::arg(format!(
            "lambda: must be finite and > 0, got {lambda}"
        )));
    }
    Ok(())
}

fn structure(s: i32) -> Res<Structure> {
    match s {
        0 => Ok(Structure::Dnc),
        1 => Ok(Structure::LowRank),
        _ => Err(Error::arg(format!(
            "structure: not a ufm_structure value (0..=1), got {s}"
        ))),
    }
}

/// Best DNC vs best low-rank loss for K = `classes`, n = `per_class`, L = `layers`, `lambda`
/// (`ufm theory compare`).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_ARGUMENT` (K < 2, n < 1, L < 1,
/// lambda not finite and > 0). Ownership: `*out` written. `err` may be NULL; otherwise on
/// failure `*err` receives a new error (free it with `ufm_error_free`). Threads: any.
#[no_mangle]
pub extern "C" fn ufm_theory_compare(
    classes: usize,
    per_class: usize,
    layers: usize,
    lambda: f64,
    out_compare: *mut ufm_compare,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_theory_compare", err, || {
        check(classes, per_class, layers, lambda)?;
        let o = out(out_compare, "out")?;
        let r = th::compare(classes, per_class, layers, lambda)?;
        *o = ufm_compare {
            dnc_loss: r.dnc.loss,
            dnc_scale: r.dnc.scale,
            low_rank_loss: r.low_rank.loss,
            low_rank_scale: r.low_rank.scale,
            theorem1_holds: r.theorem1_holds as i32,
        };
        Ok(())
    })
}

/// The reduced loss of `structure` (a `ufm_structure` value) at logit scale `scale` >= 0 (alpha
/// for DNC, beta for low rank): the loss of the best parameters with those logits.
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_ARGUMENT` (as `ufm_theory_compare`;
/// unknown structure; scale not finite and >= 0). Threads: any.
#[no_mangle]
pub extern "C" fn ufm_theory_loss(
    structure: i32,
    classes: usize,
    per_class: usize,
    layers: usize,
    lambda: f64,
    scale: f64,
    loss: *mut f64,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_theory_loss", err, || {
        let s = self::structure(structure)?;
        check(classes, per_class, layers, lambda)?;
        if !(scale.is_finite() && scale >= 0.0) {
            return Err(Error::arg(format!(
                "scale: must be finite and >= 0, got {scale}"
            )));
        }
        *out(loss, "loss")? = s.loss(classes, per_class, layers, lambda, scale);
        Ok(())
    })
}

/// The positive stationary scales of the reduced loss of `structure`, increasing, into
/// `roots[0..cap)` (`ufm theory critical`); `*len` always receives their number (query with
/// `roots = NULL, cap = 0`).
///
/// Errors: as `ufm_theory_loss`, and `UFM_STATUS_BUFFER_TOO_SMALL` (`*len` is set).
/// Threads: any.
#[no_mangle]
pub extern "C" fn ufm_theory_critical_scales(
    structure: i32,
    classes: usize,
    per_class: usize,
    layers: usize,
    lambda: f64,
    roots: *mut f64,
    cap: usize,
    len: *mut usize,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_theory_critical_scales", err, || {
        let s = self::structure(structure)?;
        check(classes, per_class, layers, lambda)?;
        let r = th::critical_scales(s, classes, per_class, layers, lambda);
        copy_out("roots", &r, roots, cap, len)
    })
}

/// The largest lambda for which `structure` has a positive stationary scale.
///
/// Errors: as `ufm_theory_loss` (lambda is not an argument here). Threads: any.
#[no_mangle]
pub extern "C" fn ufm_theory_lambda_max(
    structure: i32,
    classes: usize,
    per_class: usize,
    layers: usize,
    lambda_max: *mut f64,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_theory_lambda_max", err, || {
        let s = self::structure(structure)?;
        check(classes, per_class, layers, 1.0)?;
        *out(lambda_max, "lambda_max")? = th::lambda_max(s, classes, per_class, layers);
        Ok(())
    })
}

/// One member of the pair + simplex family ("p class pairs plus a simplex over the remaining
/// q = K - 2p classes"; p = 0 is DNC, p = K/2 the paired structure of Eq. (5)) at its optimal
/// scales (`ufm theory compare`, docs/theory.md).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ufm_family_member {
    /// p.
    pub pairs: usize,
    /// q = K - 2p.
    pub simplex_size: usize,
    /// rank of the logit matrix, p + max(q - 1, 0).
    pub rank: usize,
    /// The optimal reduced loss over both scales.
    pub loss: f64,
    /// The optimal pair scale beta (NaN when p = 0).
    pub pair_scale: f64,
    /// The optimal simplex scale gamma (NaN when q <= 1).
    pub simplex_scale: f64,
}

/// The verdict of a dense Hessian spectrum (`classification` of `ufm theory hessian`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ufm_hessian_verdict {
    /// No negative eigenvalue and the null space is exactly the symmetry orbit.
    UFM_HESSIAN_MINIMUM = 0,
    /// No negative eigenvalue, but flat directions beyond the symmetry.
    UFM_HESSIAN_DEGENERATE = 1,
    /// At least one negative eigenvalue.
    UFM_HESSIAN_STRICT_SADDLE = 2,
    /// Any other outcome (not critical, not decided).
    UFM_HESSIAN_OTHER = 3,
}

/// Every member of the family for K = `classes` (p = 0, 1, ..., K/2, skipping q = 2, which is
/// one more pair), in increasing p, into `members[0..cap)`; `*len` always receives their number
/// (query with `members = NULL, cap = 0`).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_ARGUMENT` (as `ufm_theory_compare`),
/// `UFM_STATUS_BUFFER_TOO_SMALL` (`*len` is set). Threads: any.
#[no_mangle]
pub extern "C" fn ufm_theory_family(
    classes: usize,
    per_class: usize,
    layers: usize,
    lambda: f64,
    members: *mut ufm_family_member,
    cap: usize,
    len: *mut usize,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_theory_family", err, || {
        check(classes, per_class, layers, lambda)?;
        let rows = th::family_rows(classes, per_class, layers, lambda, None)?;
        let len = out(len, "len")?;
        *len = rows.len();
        if cap < rows.len() {
            return Err(Error::new(
                ufm_status::UFM_STATUS_BUFFER_TOO_SMALL,
                format!(
                    "members: buffer holds {cap} entries, {} needed (written to *len)",
                    rows.len()
                ),
            ));
        }
        if members.is_null() {
            return Err(Error::null("members"));
        }
        if (members as usize) % std::mem::align_of::<ufm_family_member>() != 0 {
            return Err(Error::arg("members: misaligned pointer"));
        }
        for (i, r) in rows.iter().enumerate() {
            // SAFETY: members is non-null, aligned and (per the contract) holds cap >= len
            // entries.
            unsafe {
                members.add(i).write(ufm_family_member {
                    pairs: r.pairs,
                    simplex_size: r.simplex_size,
                    rank: r.rank,
                    loss: r.loss,
                    pair_scale: r.pair_scale.unwrap_or(f64::NAN),
                    simplex_scale: r.simplex_scale.unwrap_or(f64::NAN),
                });
            }
        }
        Ok(())
    })
}

/// The dense Hessian verdict at the constructed critical point of the member with `pairs`
/// pairs (both scales at their large critical root, linear model of width `width`, random
/// frames from seed 0): `*verdict`, the number of negative eigenvalues `*negative` and the
/// smallest eigenvalue off the symmetry orbit `*smallest` (`ufm theory hessian --structure
/// pair_simplex`). Cost: a dense spectrum of width * (K n + (L-1) width + K) parameters; refused
/// above 12000.
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_ARGUMENT` (as `ufm_theory_compare`;
/// pairs > K/2 or K - 2 pairs = 2; width < K; no critical scale at this lambda; too many
/// parameters). Threads: any.
#[no_mangle]
pub extern "C" fn ufm_theory_family_hessian(
    classes: usize,
    per_class: usize,
    layers: usize,
    lambda: f64,
    pairs: usize,
    width: usize,
    verdict: *mut ufm_hessian_verdict,
    negative: *mut usize,
    smallest: *mut f64,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_theory_family_hessian", err, || {
        check(classes, per_class, layers, lambda)?;
        let (verdict, negative, smallest) = (
            out(verdict, "verdict")?,
            out(negative, "negative")?,
            out(smallest, "smallest")?,
        );
        // Checked: with sizes near usize::MAX a wrapped count once passed this test and the
        // construction then overflowed an allocation (found by the fuzzing harness).
        let p = classes
            .checked_mul(per_class)
            .and_then(|kn| (layers - 1).checked_mul(width)?.checked_add(kn))
            .and_then(|a| a.checked_add(classes))
            .and_then(|a| a.checked_mul(width))
            .unwrap_or(usize::MAX);
        if p > th::hessian::DENSE_LIMIT {
            return Err(Error::arg(format!(
                "width: {p} parameters, a dense Hessian is refused above {}",
                th::hessian::DENSE_LIMIT
            )));
        }
        let member = th::PairSimplex::new(classes, pairs)?;
        let (spec, params, _, _) =
            th::family_point(member, th::Root::Large, per_class, layers, lambda, width, 0)?;
        let opts = th::HessianOptions {
            method: th::Method::Dense,
            dense_max: th::hessian::DENSE_LIMIT,
            ..Default::default()
        };
        let r = th::hessian_report(&spec, &params, &opts)?;
        *verdict = match r.classification.as_str() {
            "minimum" => ufm_hessian_verdict::UFM_HESSIAN_MINIMUM,
            "degenerate" => ufm_hessian_verdict::UFM_HESSIAN_DEGENERATE,
            "strict_saddle" => ufm_hessian_verdict::UFM_HESSIAN_STRICT_SADDLE,
            _ => ufm_hessian_verdict::UFM_HESSIAN_OTHER,
        };
        *negative = r.negative.unwrap_or(0);
        *smallest = r.smallest_beyond_symmetry.unwrap_or(f64::NAN);
        Ok(())
    })
}
