//! The fit term g(Z) and its derivative dg/dZ.
//!
//! One sample's logits are a column of Z (K x N, the layered path) or a row of Z^T (N x K, the
//! factored path, where that layout makes the K-wide products faster). Both go through
//! [`sample_fit`] on a strided column view, so the two layouts give bit-identical values.

use crate::linalg::xstate::probe_softmax;
use crate::model::LossKind;
use crate::simd::{exp, exp_in_place, ln, ln_in_place};
use faer::{ColMut, ColRef, Mat, MatMut, MatRef};

/// Stack buffer length for exponentials that have no output matrix to live in.
const CHUNK: usize = 64;

/// g for one sample with label `y`; writes N * dg/dz into `dz` when given (the caller scales).
/// Cross-entropy uses the max-shifted log-sum-exp so logits of any size stay finite; `exp` and
/// `ln` are the engine's own ([`crate::simd`]): vectorised, and the same bits on every CPU.
#[inline]
fn sample_fit(
    loss: LossKind,
    z: ColRef<'_, f64>,
    y: usize,
    dz: Option<ColMut<'_, f64>>,
    inv_n: f64,
) -> f64 {
    let k = z.nrows();
    match loss {
        LossKind::CrossEntropy => {
            let mut m = f64::NEG_INFINITY;
            for i in 0..k {
                m = m.max(z[i]);
            }
            probe_softmax();
            match dz {
                None => {
                    let mut s = 0.0;
                    let mut buf = [0.0; CHUNK];
                    for start in (0..k).step_by(CHUNK) {
                        let len = CHUNK.min(k - start);
                        for i in 0..len {
                            buf[i] = z[start + i] - m;
                        }
                        exp_in_place(&mut buf[..len]);
                        for &e in &buf[..len] {
                            s += e;
                        }
                    }
                    m + ln(s) - z[y]
                }
                Some(mut d) => {
                    for i in 0..k {
                        d[i] = z[i] - m;
                    }
                    match d.as_mut().try_as_col_major_mut() {
                        Some(c) => exp_in_place(c.as_slice_mut()),
                        None => {
                            for i in 0..k {
                                d[i] = exp(d[i]);
                            }
                        }
                    }
                    let mut s = 0.0;
                    for i in 0..k {
                        s += d[i];
                    }
                    let scale = inv_n / s;
                    for i in 0..k {
                        d[i] *= scale;
                    }
                    d[y] -= inv_n;
                    m + ln(s) - z[y]
                }
            }
        }
        LossKind::Mse => {
            let mut acc = 0.0;
            let mut d = dz;
            for i in 0..k {
                let r = z[i] - if i == y { 1.0 } else { 0.0 };
                acc += r * r;
                if let Some(d) = d.as_mut() {
                    d[i] = r * inv_n;
                }
            }
            0.5 * acc
        }
    }
}

/// g(Z) for Z laid out K x N (one column per sample).
pub fn fit_only(loss: LossKind, z: MatRef<'_, f64>, labels: &[usize]) -> f64 {
    let inv_n = 1.0 / z.ncols() as f64;
    let mut total = 0.0;
    for (j, &y) in labels.iter().enumerate() {
        total += sample_fit(loss, z.col(j), y, None, inv_n);
    }
    total * inv_n
}

/// g(Z) for Z laid out K x N, writing dg/dZ into `dz`: (softmax(Z) - Y)/N for cross-entropy,
/// (Z - Y)/N for MSE.
pub fn fit_and_dz(loss: LossKind, z: &Mat<f64>, labels: &[usize], dz: &mut Mat<f64>) -> f64 {
    fit_and_dz_batch(loss, z, labels, dz, None)
}

/// The gradient scale of sample j: 1/N for the full batch; with a mini-batch mask, 1/|batch| for
/// samples in it and 0 for the others (so dg/dZ is the gradient of the fit averaged over the
/// batch). With every sample in the batch the value is exactly 1/N.
#[inline]
fn batch_scale(batch: Option<&[bool]>, inv_n: f64, inv_b: f64, j: usize) -> f64 {
    match batch {
        None => inv_n,
        Some(mask) if mask[j] => inv_b,
        Some(_) => 0.0,
    }
}

fn inv_batch(batch: Option<&[bool]>, inv_n: f64) -> f64 {
    match batch {
        Some(mask) => 1.0 / mask.iter().filter(|&&b| b).count().max(1) as f64,
        None => inv_n,
    }
}

/// As [`fit_and_dz`], but with `batch = Some(mask)` dg/dZ is the gradient of the fit averaged
/// over the columns where `mask` is true (zero elsewhere). The returned fit is still the mean
/// over every column.
pub fn fit_and_dz_batch(
    loss: LossKind,
    z: &Mat<f64>,
    labels: &[usize],
    dz: &mut Mat<f64>,
    batch: Option<&[bool]>,
) -> f64 {
    let inv_n = 1.0 / z.ncols() as f64;
    let inv_b = inv_batch(batch, inv_n);
    let mut total = 0.0;
    for (j, &y) in labels.iter().enumerate() {
        let scale = batch_scale(batch, inv_n, inv_b, j);
        total += sample_fit(loss, z.col(j), y, Some(dz.col_mut(j)), scale);
    }
    total * inv_n
}

/// g(Z) from Z^T (N x K, one row per sample), optionally writing (dg/dZ)^T into `dzt`.
pub fn fit_transposed(
    loss: LossKind,
    zt: MatRef<'_, f64>,
    labels: &[usize],
    dzt: Option<&mut Mat<f64>>,
) -> f64 {
    fit_transposed_batch(loss, zt, labels, dzt, None)
}

/// As [`fit_transposed`], with an optional mini-batch mask (see [`fit_and_dz_batch`]).
pub fn fit_transposed_batch(
    loss: LossKind,
    zt: MatRef<'_, f64>,
    labels: &[usize],
    mut dzt: Option<&mut Mat<f64>>,
    batch: Option<&[bool]>,
) -> f64 {
    let inv_n = 1.0 / zt.nrows() as f64;
    let inv_b = inv_batch(batch, inv_n);
    let mut total = 0.0;
    for (j, &y) in labels.iter().enumerate() {
        let d = dzt.as_mut().map(|m| m.as_mut().row_mut(j).transpose_mut());
        let scale = batch_scale(batch, inv_n, inv_b, j);
        total += sample_fit(loss, zt.row(j).transpose(), y, d, scale);
    }
    total * inv_n
}

/// The factored path's fit: [`fit_transposed_batch`] computed class column by class column.
/// Every sample sees the same operations in the same order as in `sample_fit` (so the bits are
/// the same, tested), but the loops stream through contiguous columns of Z^T instead of strided
/// rows, which matters when the softmax is a third of a small model's step. `scratch` must hold
/// at least 3 N values (per-sample maxima, sums and their logarithms).
/// The scratch length [`fit_transposed_columns`] needs for N samples (one place, so every
/// caller's buffer follows the kernel when it changes).
pub fn fit_scratch_len(n: usize) -> usize {
    3 * n
}

pub fn fit_transposed_columns(
    loss: LossKind,
    zt: &Mat<f64>,
    labels: &[usize],
    dzt: Option<&mut Mat<f64>>,
    batch: Option<&[bool]>,
    scratch: &mut [f64],
) -> f64 {
    fit_transposed_view(
        loss,
        zt.as_ref(),
        labels,
        dzt.map(|d| d.as_mut()),
        batch,
        scratch,
    )
}

/// [`fit_transposed_columns`] on views (the factored workspace keeps Z^T and dZ^T in its
/// [`crate::linalg::block::Block`]). Both views must have unit row stride, as every matrix ufm
/// owns and every block slot has (an internal invariant, not input).
pub(crate) fn fit_transposed_view(
    loss: LossKind,
    zt: MatRef<'_, f64>,
    labels: &[usize],
    mut dzt: Option<MatMut<'_, f64>>,
    batch: Option<&[bool]>,
    scratch: &mut [f64],
) -> f64 {
    let (n, k) = (zt.nrows(), zt.ncols());
    let inv_n = 1.0 / n as f64;
    let inv_b = inv_batch(batch, inv_n);
    let (m, rest) = scratch[..fit_scratch_len(n)].split_at_mut(n);
    let (s, logs) = rest.split_at_mut(n);
    let mut total = 0.0;
    match loss {
        LossKind::CrossEntropy => {
            m.fill(f64::NEG_INFINITY);
            for c in 0..k {
                let col = &unit_col(zt, c)[..n];
                for j in 0..n {
                    m[j] = m[j].max(col[j]);
                }
            }
            s.fill(0.0);
            probe_softmax();
            for c in 0..k {
                let col = &unit_col(zt, c)[..n];
                match dzt.as_mut() {
                    Some(d) => {
                        let dc = &mut unit_col_mut(d.as_mut(), c)[..n];
                        for j in 0..n {
                            dc[j] = col[j] - m[j];
                        }
                        exp_in_place(dc);
                        for j in 0..n {
                            s[j] += dc[j];
                        }
                    }
                    None => {
                        let mut buf = [0.0; CHUNK];
                        for start in (0..n).step_by(CHUNK) {
                            let len = CHUNK.min(n - start);
                            for i in 0..len {
                                buf[i] = col[start + i] - m[start + i];
                            }
                            exp_in_place(&mut buf[..len]);
                            for i in 0..len {
                                s[start + i] += buf[i];
                            }
                        }
                    }
                }
            }
            logs.copy_from_slice(s);
            ln_in_place(logs);
            for (j, &y) in labels.iter().enumerate() {
                total += m[j] + logs[j] - zt[(j, y)];
            }
            if let Some(mut d) = dzt {
                // s becomes each sample's factor (batch scale) / (sum of exponentials).
                for (j, sj) in s.iter_mut().enumerate() {
                    *sj = batch_scale(batch, inv_n, inv_b, j) / *sj;
                }
                for c in 0..k {
                    let dc = &mut unit_col_mut(d.as_mut(), c)[..n];
                    for j in 0..n {
                        dc[j] *= s[j];
                    }
                }
                for (j, &y) in labels.iter().enumerate() {
                    d[(j, y)] -= batch_scale(batch, inv_n, inv_b, j);
                }
            }
        }
        LossKind::Mse => {
            s.fill(0.0);
            for c in 0..k {
                let col = &unit_col(zt, c)[..n];
                let mut dc = dzt.as_mut().map(|d| unit_col_mut(d.as_mut(), c));
                for j in 0..n {
                    let r = col[j] - if labels[j] == c { 1.0 } else { 0.0 };
                    s[j] += r * r;
                    if let Some(dc) = dc.as_mut() {
                        dc[j] = r * batch_scale(batch, inv_n, inv_b, j);
                    }
                }
            }
            for sj in s.iter() {
                total += 0.5 * sj;
            }
        }
    }
    total * inv_n
}

/// Column c of a unit-row-stride view as a slice (see [`fit_transposed_view`]).
#[inline]
fn unit_col(m: MatRef<'_, f64>, c: usize) -> &[f64] {
    m.col(c)
        .try_as_col_major()
        .expect("unit row stride")
        .as_slice()
}

#[inline]
fn unit_col_mut(m: MatMut<'_, f64>, c: usize) -> &mut [f64] {
    m.col_mut(c)
        .try_as_col_major_mut()
        .expect("unit row stride")
        .as_slice_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_wise_fit_gives_the_per_sample_bits() {
        // The factored path uses the column-wise kernel and the layered path the per-sample one;
        // identical bits keep the two paths and the loss with/without gradient consistent.
        let (n, k) = (23, 7);
        let zt = Mat::from_fn(n, k, |j, c| ((j * 13 + c * 5) as f64).sin() * 30.0);
        let labels: Vec<usize> = (0..n).map(|j| (j * 3) % k).collect();
        let mask: Vec<bool> = (0..n).map(|j| j % 3 != 1).collect();
        let mut scratch = vec![0.0; 3 * n];
        for loss in [LossKind::CrossEntropy, LossKind::Mse] {
            for batch in [None, Some(mask.as_slice())] {
                let (mut d1, mut d2) = (Mat::zeros(n, k), Mat::zeros(n, k));
                let a = fit_transposed_batch(loss, zt.as_ref(), &labels, Some(&mut d1), batch);
                let b =
                    fit_transposed_columns(loss, &zt, &labels, Some(&mut d2), batch, &mut scratch);
                assert_eq!(a.to_bits(), b.to_bits(), "{loss:?}");
                let c = fit_transposed_columns(loss, &zt, &labels, None, batch, &mut scratch);
                assert_eq!(a.to_bits(), c.to_bits(), "{loss:?} without gradient");
                for j in 0..n {
                    for i in 0..k {
                        assert_eq!(
                            d1[(j, i)].to_bits(),
                            d2[(j, i)].to_bits(),
                            "{loss:?} ({j}, {i})"
                        );
                    }
                }
            }
        }
    }
}
