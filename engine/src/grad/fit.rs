//! The fit term g(Z) and its derivative dg/dZ.
//!
//! One sample's logits are a column of Z (K x N, the layered path) or a row of Z^T (N x K, the
//! factored path, where that layout makes the K-wide products faster). Both go through
//! [`sample_fit`] on a strided column view, so the two layouts give bit-identical values.

use crate::model::LossKind;
use faer::{ColMut, ColRef, Mat, MatRef};

/// g for one sample with label `y`; writes N * dg/dz into `dz` when given (the caller scales).
/// Cross-entropy uses the max-shifted log-sum-exp so logits of any size stay finite.
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
            match dz {
                None => {
                    let mut s = 0.0;
                    for i in 0..k {
                        s += (z[i] - m).exp();
                    }
                    m + s.ln() - z[y]
                }
                Some(mut d) => {
                    let mut s = 0.0;
                    for i in 0..k {
                        let e = (z[i] - m).exp();
                        d[i] = e;
                        s += e;
                    }
                    let scale = inv_n / s;
                    for i in 0..k {
                        d[i] *= scale;
                    }
                    d[y] -= inv_n;
                    m + s.ln() - z[y]
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
    let inv_n = 1.0 / z.ncols() as f64;
    let mut total = 0.0;
    for (j, &y) in labels.iter().enumerate() {
        total += sample_fit(loss, z.col(j), y, Some(dz.col_mut(j)), inv_n);
    }
    total * inv_n
}

/// g(Z) from Z^T (N x K, one row per sample), optionally writing (dg/dZ)^T into `dzt`.
pub fn fit_transposed(
    loss: LossKind,
    zt: MatRef<'_, f64>,
    labels: &[usize],
    mut dzt: Option<&mut Mat<f64>>,
) -> f64 {
    let inv_n = 1.0 / zt.nrows() as f64;
    let mut total = 0.0;
    for (j, &y) in labels.iter().enumerate() {
        let d = dzt.as_mut().map(|m| m.as_mut().row_mut(j).transpose_mut());
        total += sample_fit(loss, zt.row(j).transpose(), y, d, inv_n);
    }
    total * inv_n
}
