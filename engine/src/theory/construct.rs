//! Constructed logit matrices and Lemma-1-aligned parameters that realise them.

use crate::linalg::matmul;
use faer::{Accum, Mat, MatRef, Par};
use rand_distr::{Distribution, StandardNormal};

use super::closed_form::{rank_threshold, Structure};
use crate::model::{Activation, ModelSpec, Params};
use crate::{Error, JobError};

/// Repeat each column of the K x K class-mean matrix `m` n times (`m kron 1_n^T`).
fn repeat_columns(m: &Mat<f64>, n: usize) -> Mat<f64> {
    let k = m.ncols();
    Mat::from_fn(m.nrows(), k * n, |i, j| m[(i, j / n)])
}

/// `alpha S kron 1_n^T` with `S = I - 11^T/K` (K x Kn, columns in class order).
pub fn dnc_logits(k: usize, n: usize, alpha: f64) -> Mat<f64> {
    let kf = k as f64;
    let m = Mat::from_fn(k, k, |i, j| {
        alpha * (if i == j { 1.0 } else { 0.0 } - 1.0 / kf)
    });
    repeat_columns(&m, n)
}

/// `beta blockdiag(X, ..., X) kron 1_n^T`, X = [[1, -1], [-1, 1]] (paper Eq. (5)); for odd K the
/// last class has beta on its diagonal and 0 elsewhere (B.3).
pub fn low_rank_logits(k: usize, n: usize, beta: f64) -> Mat<f64> {
    let paired = 2 * (k / 2);
    let m = Mat::from_fn(k, k, |i, j| {
        if i >= paired || j >= paired {
            if i == j {
                beta
            } else {
                0.0
            }
        } else if i / 2 != j / 2 {
            0.0
        } else if i == j {
            beta
        } else {
            -beta
        }
    });
    repeat_columns(&m, n)
}

/// The logit matrix of `structure` at scale s.
pub fn structure_logits(structure: Structure, k: usize, n: usize, s: f64) -> Mat<f64> {
    match structure {
        Structure::Dnc => dnc_logits(k, n, s),
        Structure::LowRank => low_rank_logits(k, n, s),
    }
}

/// A d x r matrix with orthonormal columns: the thin Q factor of a Gaussian matrix.
fn random_frame<R: rand::Rng + ?Sized>(d: usize, r: usize, rng: &mut R) -> Mat<f64> {
    let g = Mat::from_fn(d, r, |_, _| -> f64 { StandardNormal.sample(rng) });
    g.qr().compute_thin_Q()
}

/// `a diag(t) b^T` for a (p x r), b (q x r).
fn scaled_product(a: MatRef<'_, f64>, t: &[f64], b: MatRef<'_, f64>) -> Mat<f64> {
    let scaled = Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] * t[j]);
    let mut out = Mat::zeros(a.nrows(), b.nrows());
    matmul(
        out.as_mut(),
        Accum::Replace,
        scaled.as_ref(),
        b.transpose(),
        1.0,
        Par::Seq,
    );
    out
}

/// Lemma-1-aligned parameters of a linear model producing the logits `z` (K x N).
///
/// With the thin SVD `z = U diag(s) V^T` truncated to its numerical rank r (singular values
/// below `max(K, N) eps s_max` dropped) every matrix gets the singular values `t = s^(1/(L+1))`:
/// `H1 = Q_0 diag(t) V^T`, `W_l = Q_l diag(t) Q_{l-1}^T` (l < L), `W_L = U diag(t) Q_{L-1}^T`,
/// with `Q_l` random d x r frames with orthonormal columns drawn from `rng`. Then
/// `W_L ... W_1 H1 = z` (to rounding) and the regulariser equals
/// `(L+1) lambda / 2 * sum_i s_i^(2/(L+1))`, so the loss is [`super::reduced_loss`].
///
/// Errors (naming the field) when z's shape does not match the spec, the model is not linear,
/// or the width is below the rank of z.
pub fn aligned_params<R: rand::Rng + ?Sized>(
    spec: &ModelSpec,
    z: MatRef<'_, f64>,
    rng: &mut R,
) -> Result<Params, Error> {
    let (k, n_total, d, layers) = (spec.classes(), spec.samples(), spec.width, spec.layers);
    if z.nrows() != k || z.ncols() != n_total {
        return Err(Error::argument(
            "z",
            format!(
                "must be {k} x {n_total} (classes x samples), got {} x {}",
                z.nrows(),
                z.ncols()
            ),
        ));
    }
    if spec.activation != Activation::Linear {
        return Err(
            JobError::new("model.activation", "aligned parameters need a linear model").into(),
        );
    }
    if layers == 0 {
        return Err(JobError::new("model.layers", "must be >= 1, got 0").into());
    }
    let svd = z
        .thin_svd()
        .map_err(|_| Error::Numerical("z: SVD did not converge".into()))?;
    let s: Vec<f64> = svd.S().column_vector().iter().copied().collect();
    let s_max = s.first().copied().unwrap_or(0.0);
    let tol = rank_threshold(k, n_total, s_max);
    let r = s.iter().take_while(|&&x| x > tol && x > 0.0).count();
    if d < r {
        return Err(JobError::new(
            "model.width",
            format!("must be >= rank(z) = {r} for aligned parameters, got {d}"),
        )
        .into());
    }
    if r == 0 {
        return Ok(Params::zeros(spec));
    }
    let t: Vec<f64> = s[..r]
        .iter()
        .map(|x| x.powf(1.0 / (layers as f64 + 1.0)))
        .collect();
    let u = svd.U().subcols(0, r);
    let v = svd.V().subcols(0, r);
    let frames: Vec<Mat<f64>> = (0..layers).map(|_| random_frame(d, r, rng)).collect();
    let mut mats = Vec::with_capacity(layers + 1);
    mats.push(scaled_product(frames[0].as_ref(), &t, v));
    for l in 1..layers {
        mats.push(scaled_product(
            frames[l].as_ref(),
            &t,
            frames[l - 1].as_ref(),
        ));
    }
    mats.push(scaled_product(u, &t, frames[layers - 1].as_ref()));
    Ok(Params { mats })
}

/// Output scale alpha of the B.9 ReLU low-rank construction [`relu_low_rank_params`]:
/// `Z = alpha Xbar kron 1_n^T` with
/// `alpha = 2^(L-1) psi^(L+1) ((K+2)/K)^(3/2) / sqrt(n)` for even K and
/// `alpha = 2^(L-1) psi^(L+1) sqrt((K+3)/(K+1)) (K+3)/K / sqrt(n)` for odd K.
pub fn relu_low_rank_scale(k: usize, n: usize, layers: usize, psi: f64) -> f64 {
    let kf = k as f64;
    let factor = if k.is_multiple_of(2) {
        ((kf + 2.0) / kf).powf(1.5)
    } else {
        ((kf + 3.0) / (kf + 1.0)).sqrt() * (kf + 3.0) / kf
    };
    2f64.powi(layers as i32 - 1) * psi.powi(layers as i32 + 1) * factor / (n as f64).sqrt()
}

/// The K x K matrices (Xbar, Ybar) of B.9: Xbar = blockdiag(X, ..., X[, 2]),
/// Ybar = 11^T (even K) or 1_{2m} 1_{2m}^T padded with zeros (odd K).
pub fn relu_blocks(k: usize) -> (Mat<f64>, Mat<f64>) {
    let paired = 2 * (k / 2);
    let xbar = Mat::from_fn(k, k, |i, j| {
        if i >= paired || j >= paired {
            if i == j {
                2.0
            } else {
                0.0
            }
        } else if i / 2 != j / 2 {
            0.0
        } else if i == j {
            1.0
        } else {
            -1.0
        }
    });
    let ybar = Mat::from_fn(
        k,
        k,
        |i, j| {
            if i < paired && j < paired {
                1.0
            } else {
                0.0
            }
        },
    );
    (xbar, ybar)
}

/// The low-rank construction of B.9 for the deep ReLU UFM (every matrix with squared Frobenius
/// norm `2(K+2) psi^2`, even K, or `2(K+3) psi^2`, odd K; every hidden feature entrywise
/// non-negative so ReLU acts as the identity), with logits
/// `relu_low_rank_scale(K, n, L, psi) Xbar kron 1_n^T`. H1 and W1 split the SVD of
/// `H2 = [phi_2 (Xbar + Ybar); 0] kron 1_n^T` evenly (with the identity as the free frame).
///
/// Errors (naming the field) for imbalanced classes, L < 2 or d < K.
pub fn relu_low_rank_params(spec: &ModelSpec, psi: f64) -> Result<Params, Error> {
    let (k, d, layers) = (spec.classes(), spec.width, spec.layers);
    let n = spec.per_class().ok_or_else(|| {
        JobError::new(
            "model.class_sizes",
            "the B.9 construction needs balanced classes",
        )
    })?;
    if layers < 2 {
        return Err(JobError::new(
            "model.layers",
            format!("the B.9 construction needs L >= 2, got {layers}"),
        )
        .into());
    }
    if d < k {
        return Err(
            JobError::new("model.width", format!("must be >= classes = {k}, got {d}")).into(),
        );
    }
    let kf = k as f64;
    let (xbar, ybar) = relu_blocks(k);
    let (shift, chi_ratio) = if k.is_multiple_of(2) {
        (2.0, 2.0 / kf)
    } else {
        (3.0, 2.0 / (kf - 1.0))
    };
    let psi_last = ((kf + shift) / (kf + shift - 2.0)).sqrt() * psi;
    let phi2 = (kf + shift) * psi * psi / (kf * (n as f64).sqrt());
    let embed = |m: &Mat<f64>, rows: usize| {
        Mat::from_fn(rows, d, |i, j| if i < k && j < k { m[(i, j)] } else { 0.0 })
    };
    // H2 = [phi2 (Xbar + Ybar); 0] kron 1_n^T and its even split into W1, H1.
    let h2 = Mat::from_fn(d, k * n, |i, j| {
        if i < k {
            phi2 * (xbar[(i, j / n)] + ybar[(i, j / n)])
        } else {
            0.0
        }
    });
    let svd = h2
        .thin_svd()
        .map_err(|_| Error::Numerical("H2: SVD did not converge".into()))?;
    let s: Vec<f64> = svd.S().column_vector().iter().copied().collect();
    let tol = rank_threshold(d, k * n, s[0]);
    let r = s.iter().take_while(|&&x| x > tol).count();
    let root: Vec<f64> = s[..r].iter().map(|x| x.sqrt()).collect();
    let frame = Mat::from_fn(d, r, |i, j| if i == j { 1.0 } else { 0.0 });
    let mut mats = vec![
        scaled_product(frame.as_ref(), &root, svd.V().subcols(0, r)),
        scaled_product(svd.U().subcols(0, r), &root, frame.as_ref()),
    ];
    let mid = Mat::from_fn(k, k, |i, j| {
        psi * xbar[(i, j)] + chi_ratio * psi * ybar[(i, j)]
    });
    for _ in 2..layers {
        mats.push(embed(&mid, d));
    }
    mats.push(embed(
        &Mat::from_fn(k, k, |i, j| psi_last * xbar[(i, j)]),
        k,
    ));
    Ok(Params { mats })
}
