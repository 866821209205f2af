//! The analysis metrics of result.json on caller-supplied matrices (features and weights of any
//! network, not only a deep UFM). Columns of feature matrices are in class order.

use crate::matrix::copy_out;
use crate::result::ufm_classification;
use crate::{guard, out, slice, ufm_error, ufm_matrix, ufm_matrix_mut, ufm_status, Error, Res};
use engine::analysis as an;
use faer::Mat;

fn class_sizes<'a>(sizes: *const usize, k: usize, ncols: usize) -> Res<&'a [usize]> {
    let s = slice(sizes, k, "class_sizes")?;
    if k < 2 {
        return Err(Error::arg(format!("num_classes: must be >= 2, got {k}")));
    }
    if let Some(c) = s.iter().position(|&n| n == 0) {
        return Err(Error::arg(format!(
            "class_sizes[{c}]: every class needs at least one column, got 0"
        )));
    }
    let total = s
        .iter()
        .try_fold(0usize, |a, &n| a.checked_add(n))
        .unwrap_or(usize::MAX);
    if total != ncols {
        return Err(Error::new(
            ufm_status::UFM_STATUS_SIZE_MISMATCH,
            format!("class_sizes: sum to {total} but the matrix has {ncols} columns"),
        ));
    }
    Ok(s)
}

fn input(m: ufm_matrix, what: &str) -> Res<Mat<f64>> {
    if m.nrows == 0 || m.ncols == 0 {
        return Err(Error::new(
            ufm_status::UFM_STATUS_SIZE_MISMATCH,
            format!("{what}: must not be empty, got {} x {}", m.nrows, m.ncols),
        ));
    }
    m.to_finite_mat(what)
}

/// Singular values of `m` (min(nrows, ncols) of them, nonincreasing) into `out[0..cap)`;
/// `*len` always receives the number of values (call with `out = NULL, cap = 0` to query it).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_ARGUMENT` (layout, non-finite entry),
/// `UFM_STATUS_SIZE_MISMATCH` (empty matrix), `UFM_STATUS_BUFFER_TOO_SMALL` (`*len` is set).
/// Ownership: `m` is read and `out` written during the call only. `err` may be NULL; otherwise
/// on failure `*err` receives a new error (free it with `ufm_error_free`). Thread safety: any
/// thread (no handle involved).
#[no_mangle]
pub extern "C" fn ufm_singular_values(
    m: ufm_matrix,
    values: *mut f64,
    cap: usize,
    len: *mut usize,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_singular_values", err, || {
        let a = input(m, "m")?;
        copy_out("values", &an::singular_values(a.as_ref()), values, cap, len)
    })
}

/// The number of the `n` values in `sv` strictly above `rank_tol` times the largest (the
/// `rank` of result.json). Errors: `UFM_STATUS_NULL_POINTER`. Threads: any.
#[no_mangle]
pub extern "C" fn ufm_relative_rank(
    sv: *const f64,
    n: usize,
    rank_tol: f64,
    rank: *mut usize,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_relative_rank", err, || {
        let s = slice(sv, n, "sv")?;
        *out(rank, "rank")? = an::relative_rank(s, rank_tol);
        Ok(())
    })
}

/// Class means of `features` (d x N, columns in class order, `num_classes` classes of
/// `class_sizes[c]` columns) into `means` (d x K: column c is the mean of class c).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_ARGUMENT` (layout, non-finite entry,
/// K < 2, an empty class), `UFM_STATUS_SIZE_MISMATCH` (sizes do not sum to N, `means` shape).
/// Ownership: inputs read, `means` written during the call only. Threads: any.
#[no_mangle]
pub extern "C" fn ufm_class_means(
    features: ufm_matrix,
    class_sizes: *const usize,
    num_classes: usize,
    means: ufm_matrix_mut,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_class_means", err, || {
        let sizes = self::class_sizes(class_sizes, num_classes, features.ncols)?;
        let f = input(features, "features")?;
        means.fill("means", an::class_means(f.as_ref(), sizes).as_ref())
    })
}

/// Which neural-collapse metric `ufm_nc_metric` computes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ufm_nc {
    /// tr(Sigma_W Sigma_B^+) / K.
    UFM_NC1 = 0,
    /// tr Sigma_W / tr Sigma_B.
    UFM_NC1_QUOTIENT = 1,
    /// || G/||G||_F - S/sqrt(K-1) ||_F.
    UFM_NC2 = 2,
}

/// An NC metric of `features` (d x N, columns in class order), as defined in docs/results.md.
/// `which` is a `ufm_nc` value (int32_t so that unknown values can be refused).
///
/// Errors: as `ufm_class_means`, and `UFM_STATUS_INVALID_ARGUMENT` for an unknown `which`.
/// Ownership: inputs read during the call; `*value` written. Threads: any.
#[no_mangle]
pub extern "C" fn ufm_nc_metric(
    which: i32,
    features: ufm_matrix,
    class_sizes: *const usize,
    num_classes: usize,
    value: *mut f64,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_nc_metric", err, || {
        let f: fn(faer::MatRef<f64>, &[usize]) -> f64 = match which {
            0 => an::nc1,
            1 => an::nc1_quotient,
            2 => an::nc2,
            _ => {
                return Err(Error::arg(format!(
                    "which: not a ufm_nc value (0..=2), got {which}"
                )))
            }
        };
        let sizes = self::class_sizes(class_sizes, num_classes, features.ncols)?;
        let m = input(features, "features")?;
        let o = out(value, "value")?;
        *o = f(m.as_ref(), sizes);
        Ok(())
    })
}

/// NC3 of a weight matrix W (rows x d) against the features entering it (d x N, class order):
/// ||(I - P) W^T||_F / ||W||_F, P the projector onto the span of the centred class means.
///
/// Errors: as `ufm_class_means`; `UFM_STATUS_SIZE_MISMATCH` when W has not d columns.
/// Ownership: inputs read during the call; `*value` written. Threads: any.
#[no_mangle]
pub extern "C" fn ufm_nc3(
    weight: ufm_matrix,
    input_features: ufm_matrix,
    class_sizes: *const usize,
    num_classes: usize,
    value: *mut f64,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_nc3", err, || {
        let sizes = self::class_sizes(class_sizes, num_classes, input_features.ncols)?;
        if weight.ncols != input_features.nrows {
            return Err(Error::new(
                ufm_status::UFM_STATUS_SIZE_MISMATCH,
                format!(
                    "weight: has {} columns but input_features has {} rows",
                    weight.ncols, input_features.nrows
                ),
            ));
        }
        let w = input(weight, "weight")?;
        let h = input(input_features, "input_features")?;
        *out(value, "value")? = an::nc3(w.as_ref(), h.as_ref(), sizes);
        Ok(())
    })
}

/// simplex_cosine of a class-mean logit matrix (K x K, column c = mean logit vector of class c).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_ARGUMENT` (layout, non-finite),
/// `UFM_STATUS_SIZE_MISMATCH` (not square, or K < 2). Threads: any.
#[no_mangle]
pub extern "C" fn ufm_simplex_cosine(
    class_mean_logits: ufm_matrix,
    value: *mut f64,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_simplex_cosine", err, || {
        let (r, c) = (class_mean_logits.nrows, class_mean_logits.ncols);
        if r != c || r < 2 {
            return Err(Error::new(
                ufm_status::UFM_STATUS_SIZE_MISMATCH,
                format!("class_mean_logits: must be K x K with K >= 2, got {r} x {c}"),
            ));
        }
        let m = input(class_mean_logits, "class_mean_logits")?;
        *out(value, "value")? = an::simplex_cosine(m.as_ref());
        Ok(())
    })
}

/// Classify logits Z (K x N, class order) as result.json's `classification` does, with the
/// relative rank tolerance `rank_tol` (in (0, 1)).
///
/// Errors: as `ufm_class_means`; `UFM_STATUS_SIZE_MISMATCH` when Z has not K rows;
/// `UFM_STATUS_INVALID_ARGUMENT` for `rank_tol` outside (0, 1). Threads: any.
#[no_mangle]
pub extern "C" fn ufm_classify(
    logits: ufm_matrix,
    class_sizes: *const usize,
    num_classes: usize,
    rank_tol: f64,
    out_class: *mut ufm_classification,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_classify", err, || {
        let sizes = self::class_sizes(class_sizes, num_classes, logits.ncols)?;
        if logits.nrows != num_classes {
            return Err(Error::new(
                ufm_status::UFM_STATUS_SIZE_MISMATCH,
                format!(
                    "logits: need one row per class ({num_classes}), got {}",
                    logits.nrows
                ),
            ));
        }
        if !(rank_tol > 0.0 && rank_tol < 1.0) {
            return Err(Error::arg(format!(
                "rank_tol: must be in (0, 1), got {rank_tol}"
            )));
        }
        let z = input(logits, "logits")?;
        *out(out_class, "out_class")? = an::classify(z.as_ref(), sizes, rank_tol).into();
        Ok(())
    })
}
