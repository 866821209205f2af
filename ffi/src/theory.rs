//! The theory closed forms (`ufm theory compare | critical`, reduced losses).

use crate::matrix::copy_out;
use crate::versioned::{write_out, write_out_array, Versioned};
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
/// Versioned: set `struct_size = sizeof(ufm_compare)` before passing it (docs/c-api.md).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ufm_compare {
    /// sizeof(ufm_compare) as compiled into the caller; set by the caller, never written.
    pub struct_size: usize,
    pub dnc_loss: f64,
    pub dnc_scale: f64,
    pub low_rank_loss: f64,
    pub low_rank_scale: f64,
    /// 1 when Theorem 1 (DNC is not optimal) holds for this K and L, else 0.
    pub theorem1_holds: i32,
}

// SAFETY: repr(C), `struct_size: usize` first.
unsafe impl Versioned for ufm_compare {
    const C_NAME: &'static str = "ufm_compare";
    const MIN_SIZE: usize = std::mem::size_of::<ufm_compare>();
}

// SAFETY: repr(C), `struct_size: usize` first.
unsafe impl Versioned for ufm_family_member {
    const C_NAME: &'static str = "ufm_family_member";
    const MIN_SIZE: usize = std::mem::size_of::<ufm_family_member>();
}

/// The model check of `ufm theory` (engine's `theory::check_model`), with the C argument names.
fn check(k: usize, n: usize, layers: usize, lambda: f64) -> Res<()> {
    th::check_model(k, n, layers, lambda).map_err(|e| {
        Error::arg(e.named(match e.arg {
            th::ModelArg::PerClass => "per_class",
            other => other.name(),
        }))
    })
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
/// (`ufm theory compare`). The caller sets `out->struct_size = sizeof(ufm_compare)` first
/// (versioned out-struct, docs/c-api.md).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_ARGUMENT` (K < 2, n < 1, L < 1,
/// lambda not finite and > 0; `out` misaligned), `UFM_STATUS_STRUCT_SIZE` (`out->struct_size`
/// too small; nothing is written). Ownership: `*out` written (all fields but `struct_size`).
/// `err` may be NULL; otherwise on failure `*err` receives a new error (free it with
/// `ufm_error_free`). Threads: any.
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
        if out_compare.is_null() {
            return Err(Error::null("out"));
        }
        let r = th::compare(classes, per_class, layers, lambda)?;
        let compare = ufm_compare {
            struct_size: 0,
            dnc_loss: r.dnc.loss,
            dnc_scale: r.dnc.scale,
            low_rank_loss: r.low_rank.loss,
            low_rank_scale: r.low_rank.scale,
            theorem1_holds: r.theorem1_holds as i32,
        };
        write_out(out_compare, "out", compare)
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
/// scales (`ufm theory compare`, docs/theory.md). Versioned: the caller sets the first
/// element's `struct_size = sizeof(ufm_family_member)` (docs/c-api.md).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ufm_family_member {
    /// sizeof(ufm_family_member) as compiled into the caller: set by the caller in the array's
    /// first element (the array's element size); written into every element filled.
    pub struct_size: usize,
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
/// (query with `members = NULL, cap = 0`). When `cap > 0` the caller sets
/// `members[0].struct_size = sizeof(ufm_family_member)`: the element size of its array
/// (versioned out-struct, docs/c-api.md).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_ARGUMENT` (as `ufm_theory_compare`;
/// misaligned `members` or `struct_size`), `UFM_STATUS_BUFFER_TOO_SMALL` (`*len` is set),
/// `UFM_STATUS_STRUCT_SIZE` (`members[0].struct_size` too small; nothing is written).
/// Threads: any.
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
        let values: Vec<ufm_family_member> = rows
            .iter()
            .map(|r| ufm_family_member {
                struct_size: 0,
                pairs: r.pairs,
                simplex_size: r.simplex_size,
                rank: r.rank,
                loss: r.loss,
                pair_scale: r.pair_scale.unwrap_or(f64::NAN),
                simplex_scale: r.simplex_scale.unwrap_or(f64::NAN),
            })
            .collect();
        write_out_array(members, cap, "members", &values)
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
