//! The fit term g(Z) and its derivative dg/dZ.

use crate::model::LossKind;
use faer::{Mat, MatRef};

/// g(Z) for the column labels `labels` (mean over columns).
pub fn fit_only(loss: LossKind, z: MatRef<'_, f64>, labels: &[usize]) -> f64 {
    let n = z.ncols() as f64;
    let mut total = 0.0;
    for (j, &y) in labels.iter().enumerate() {
        let col = z.col(j);
        total += match loss {
            LossKind::CrossEntropy => {
                let m = col.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                let s: f64 = col.iter().map(|&x| (x - m).exp()).sum();
                m + s.ln() - col[y]
            }
            LossKind::Mse => {
                col.iter()
                    .enumerate()
                    .map(|(i, &x)| {
                        let r = x - if i == y { 1.0 } else { 0.0 };
                        r * r
                    })
                    .sum::<f64>()
                    * 0.5
            }
        };
    }
    // Same final scaling as fit_and_dz, so loss with and without gradient agree bit for bit.
    total * (1.0 / n)
}

/// g(Z), writing dg/dZ into `dz` (same shape as Z). Cross-entropy uses the max-shifted
/// log-sum-exp so that logits of any size give finite values: dg/dZ = (softmax(Z) - Y)/N.
pub fn fit_and_dz(loss: LossKind, z: &Mat<f64>, labels: &[usize], dz: &mut Mat<f64>) -> f64 {
    fit_and_dz_batch(loss, z, labels, dz, None)
}

/// As [`fit_and_dz`], but with `batch = Some(mask)` dg/dZ is the gradient of the fit term
/// averaged over the columns where `mask` is true (zero in the others). The returned fit is
/// still the full mean over every column. With every column in the batch the arithmetic is
/// exactly that of [`fit_and_dz`].
pub fn fit_and_dz_batch(
    loss: LossKind,
    z: &Mat<f64>,
    labels: &[usize],
    dz: &mut Mat<f64>,
    batch: Option<&[bool]>,
) -> f64 {
    let inv_n = 1.0 / z.ncols() as f64;
    let inv_b = match batch {
        Some(mask) => 1.0 / mask.iter().filter(|&&b| b).count().max(1) as f64,
        None => inv_n,
    };
    let mut total = 0.0;
    for (j, &y) in labels.iter().enumerate() {
        let zc = z.col_as_slice(j);
        let dc = dz.col_as_slice_mut(j);
        let inv_n = if batch.is_none_or(|m| m[j]) {
            inv_b
        } else {
            0.0
        };
        match loss {
            LossKind::CrossEntropy => {
                let m = zc.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                let mut s = 0.0;
                for (d, &x) in dc.iter_mut().zip(zc) {
                    let e = (x - m).exp();
                    *d = e;
                    s += e;
                }
                total += m + s.ln() - zc[y];
                let scale = inv_n / s;
                for d in dc.iter_mut() {
                    *d *= scale;
                }
                dc[y] -= inv_n;
            }
            LossKind::Mse => {
                let mut acc = 0.0;
                for (i, (d, &x)) in dc.iter_mut().zip(zc).enumerate() {
                    let r = x - if i == y { 1.0 } else { 0.0 };
                    acc += r * r;
                    *d = r * inv_n;
                }
                total += 0.5 * acc;
            }
        }
    }
    total * (1.0 / z.ncols() as f64)
}
