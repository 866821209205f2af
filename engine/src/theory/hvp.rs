//! Exact Hessian-vector products of the full deep-UFM loss (fit + weight decay), by the
//! R-operator (Pearlmutter 1994): one forward pass of directional derivatives followed by one
//! backward pass of the differentiated backpropagation. Linear and ReLU, cross-entropy and MSE.
//!
//! Notation: X_0 = H1, A_l = W_l X_{l-1} (l = 1..L-1), X_l = s(A_l), Z = W_L X_{L-1}. For a
//! direction V = (V_0, V_1, ..., V_L) (shaped like H1, W_1, ..., W_L), with R{.} the derivative
//! along V and m_l = s'(A_l) (1 for linear, the 0/1 mask 1\[A_l > 0\] for ReLU, held fixed: ReLU
//! has zero second derivative wherever it is differentiable):
//!
//! forward:  R X_0 = V_0,  R A_l = V_l X_{l-1} + W_l R X_{l-1},  R X_l = m_l . R A_l,
//!           R Z = V_L X_{L-1} + W_L R X_{L-1};
//! loss:     G_Z = dg/dZ, R G_Z = (d^2 g/dZ^2) R Z, per column j:
//!           CE: (diag(p_j) - p_j p_j^T) R z_j / N = p_j . (R z_j - <p_j, R z_j>) / N,
//!           MSE: R z_j / N;
//! backward: G_{X_{L-1}} = W_L^T G_Z,  R G_{X_{L-1}} = V_L^T G_Z + W_L^T R G_Z,
//!           (H V)_L = R G_Z X_{L-1}^T + G_Z (R X_{L-1})^T + lambda_w V_L;
//!           for l = L-1..1: G_{A_l} = m_l . G_{X_l}, R G_{A_l} = m_l . R G_{X_l},
//!           (H V)_l = R G_{A_l} X_{l-1}^T + G_{A_l} (R X_{l-1})^T + lambda_w V_l,
//!           R G_{X_{l-1}} = V_l^T G_{A_l} + W_l^T R G_{A_l};
//!           (H V)_0 = R G_{X_0} + lambda_h V_0.
//!
//! At a ReLU kink (some A_l entry exactly 0) the loss is not twice differentiable; the product
//! is then that of the smooth piece selected by the mask 1\[A_l > 0\].

use crate::linalg::matmul;
use faer::{Accum, Mat, MatRef, Par};

use crate::grad::fit_and_dz;
use crate::model::{features, Activation, LossKind, ModelSpec, Params};

/// `a b` (fresh matrix).
pub(crate) fn mm(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let mut out = Mat::zeros(a.nrows(), b.ncols());
    matmul(out.as_mut(), Accum::Replace, a, b, 1.0, Par::Seq);
    out
}

/// `out += a b`.
fn mm_add(out: &mut Mat<f64>, a: MatRef<'_, f64>, b: MatRef<'_, f64>) {
    matmul(out.as_mut(), Accum::Add, a, b, 1.0, Par::Seq);
}

/// Entrywise `m . x` in place (mask m of 0/1 entries).
fn mask_in_place(x: &mut Mat<f64>, m: &Mat<f64>) {
    for j in 0..x.ncols() {
        for i in 0..x.nrows() {
            x[(i, j)] *= m[(i, j)];
        }
    }
}

/// The parameters as one vector: H1, W1, ..., WL, each column-major.
pub fn flatten(p: &Params) -> Vec<f64> {
    let mut out = Vec::with_capacity(p.mats.iter().map(|m| m.nrows() * m.ncols()).sum());
    for m in &p.mats {
        for j in 0..m.ncols() {
            for i in 0..m.nrows() {
                out.push(m[(i, j)]);
            }
        }
    }
    out
}

/// Inverse of [`flatten`] for the shapes of `spec` (`v.len()` must be the parameter count).
pub fn unflatten(spec: &ModelSpec, v: &[f64]) -> Params {
    assert_eq!(v.len(), spec.parameter_count(), "vector length");
    let mut off = 0;
    let mats = spec
        .shapes()
        .into_iter()
        .map(|(r, c)| {
            let m = Mat::from_fn(r, c, |i, j| v[off + i + j * r]);
            off += r * c;
            m
        })
        .collect();
    Params { mats }
}

/// The Hessian of the loss at fixed parameters, as an operator: the forward pass, softmax and
/// backpropagated signals are computed once in [`HessianOp::new`]; each [`HessianOp::apply`]
/// costs about two gradient evaluations.
pub struct HessianOp {
    spec: ModelSpec,
    params: Params,
    /// X_0 = H1, X_l = s(A_l): the input of W_{l+1}, l = 0..L-1.
    xs: Vec<Mat<f64>>,
    /// m_l for l = 1..L-1 (index l - 1); empty for linear models.
    masks: Vec<Mat<f64>>,
    /// Softmax probabilities (CE) per column; unused for MSE.
    prob: Mat<f64>,
    /// G_Z = dg/dZ.
    gz: Mat<f64>,
    /// G_{A_l} for l = 1..L-1 (index l - 1).
    ga: Vec<Mat<f64>>,
}

impl HessianOp {
    /// The Hessian at `params` (shapes must match `spec`; `spec.check()` must pass).
    /// A spec that fails [`ModelSpec::check`] is its [`crate::Error::Job`]; params of other
    /// shapes are [`crate::Error::Runtime`]: the caller built `params` for `spec`.
    pub fn new(spec: &ModelSpec, params: &Params) -> Result<Self, crate::Error> {
        use crate::Error;
        spec.check()?;
        if params.mats.len() != spec.layers + 1 {
            return Err(Error::Runtime(format!(
                "params: expected {} matrices, got {}",
                spec.layers + 1,
                params.mats.len()
            )));
        }
        for (i, ((r, c), m)) in spec.shapes().into_iter().zip(&params.mats).enumerate() {
            if (m.nrows(), m.ncols()) != (r, c) {
                return Err(Error::Runtime(format!(
                    "params: {} is {} x {}, the model needs {r} x {c}",
                    Params::names(spec.layers)[i],
                    m.nrows(),
                    m.ncols()
                )));
            }
        }
        let layers = spec.layers;
        let f = features(spec, params);
        let relu = spec.activation == Activation::Relu;
        let masks: Vec<Mat<f64>> = if relu {
            (1..layers)
                .map(|l| {
                    let a = &f.pre[l];
                    Mat::from_fn(a.nrows(), a.ncols(), |i, j| {
                        if a[(i, j)] > 0.0 {
                            1.0
                        } else {
                            0.0
                        }
                    })
                })
                .collect()
        } else {
            vec![]
        };
        let labels = spec.labels();
        let mut gz = Mat::zeros(f.logits.nrows(), f.logits.ncols());
        fit_and_dz(spec.loss, &f.logits, &labels, &mut gz);
        let z = &f.logits;
        let prob = Mat::from_fn(z.nrows(), z.ncols(), |i, j| {
            let max = (0..z.nrows())
                .map(|r| z[(r, j)])
                .fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = (0..z.nrows()).map(|r| (z[(r, j)] - max).exp()).sum();
            (z[(i, j)] - max).exp() / sum
        });
        // Backpropagated signals G_{A_l}, l = L-1..1.
        let mut ga = vec![Mat::zeros(0, 0); layers.saturating_sub(1)];
        let mut gx = mm(params.w(layers).transpose(), gz.as_ref());
        for l in (1..layers).rev() {
            if relu {
                mask_in_place(&mut gx, &masks[l - 1]);
            }
            let next = mm(params.w(l).transpose(), gx.as_ref());
            ga[l - 1] = std::mem::replace(&mut gx, next);
        }
        Ok(HessianOp {
            spec: spec.clone(),
            params: params.clone(),
            xs: f.post,
            masks,
            prob,
            gz,
            ga,
        })
    }

    /// The model.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The point.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Number of parameters (the Hessian is this square).
    pub fn dim(&self) -> usize {
        self.spec.parameter_count()
    }

    /// H V for a direction shaped like the parameters.
    ///
    /// # Panics
    /// If `v` does not have the parameters' shapes (a programming error, not user input).
    pub fn apply(&self, v: &Params) -> Params {
        let (spec, w) = (&self.spec, &self.params);
        let layers = spec.layers;
        let relu = !self.masks.is_empty();
        // Forward: R X_l, l = 0..L-1.
        let mut rx: Vec<Mat<f64>> = Vec::with_capacity(layers);
        rx.push(v.mats[0].clone());
        for l in 1..layers {
            let mut ra = mm(v.mats[l].as_ref(), self.xs[l - 1].as_ref());
            mm_add(&mut ra, w.w(l), rx[l - 1].as_ref());
            if relu {
                mask_in_place(&mut ra, &self.masks[l - 1]);
            }
            rx.push(ra);
        }
        let mut rz = mm(v.mats[layers].as_ref(), self.xs[layers - 1].as_ref());
        mm_add(&mut rz, w.w(layers), rx[layers - 1].as_ref());
        // R G_Z.
        let inv_n = 1.0 / spec.samples() as f64;
        let rgz = match spec.loss {
            LossKind::Mse => Mat::from_fn(rz.nrows(), rz.ncols(), |i, j| rz[(i, j)] * inv_n),
            LossKind::CrossEntropy => {
                let p = &self.prob;
                let dots: Vec<f64> = (0..rz.ncols())
                    .map(|j| (0..rz.nrows()).map(|i| p[(i, j)] * rz[(i, j)]).sum())
                    .collect();
                Mat::from_fn(rz.nrows(), rz.ncols(), |i, j| {
                    p[(i, j)] * (rz[(i, j)] - dots[j]) * inv_n
                })
            }
        };
        let mut out: Vec<Mat<f64>> = vec![Mat::zeros(0, 0); layers + 1];
        // Top layer.
        let mut hl = Mat::from_fn(w.mats[layers].nrows(), w.mats[layers].ncols(), |i, j| {
            spec.lambda_w * v.mats[layers][(i, j)]
        });
        mm_add(&mut hl, rgz.as_ref(), self.xs[layers - 1].transpose());
        mm_add(&mut hl, self.gz.as_ref(), rx[layers - 1].transpose());
        out[layers] = hl;
        let mut rgx = mm(v.mats[layers].transpose(), self.gz.as_ref());
        mm_add(&mut rgx, w.w(layers).transpose(), rgz.as_ref());
        for l in (1..layers).rev() {
            if relu {
                mask_in_place(&mut rgx, &self.masks[l - 1]);
            }
            let ga = &self.ga[l - 1];
            let mut hl = Mat::from_fn(w.mats[l].nrows(), w.mats[l].ncols(), |i, j| {
                spec.lambda_w * v.mats[l][(i, j)]
            });
            mm_add(&mut hl, rgx.as_ref(), self.xs[l - 1].transpose());
            mm_add(&mut hl, ga.as_ref(), rx[l - 1].transpose());
            out[l] = hl;
            let mut next = mm(v.mats[l].transpose(), ga.as_ref());
            mm_add(&mut next, w.w(l).transpose(), rgx.as_ref());
            rgx = next;
        }
        for j in 0..rgx.ncols() {
            for i in 0..rgx.nrows() {
                rgx[(i, j)] += spec.lambda_h * v.mats[0][(i, j)];
            }
        }
        out[0] = rgx;
        Params { mats: out }
    }

    /// H v on flat vectors (see [`flatten`]). Panics if `v.len()` is not [`Self::dim`].
    pub fn apply_flat(&self, v: &[f64]) -> Vec<f64> {
        flatten(&self.apply(&unflatten(&self.spec, v)))
    }

    /// The dense p x p Hessian, column by column (p products), symmetrised as (H + H^T)/2; also
    /// returns the largest |H - H^T| entry relative to the largest |H| entry before symmetrising
    /// (a rounding-level number when the products are exact).
    pub fn dense(&self) -> (Mat<f64>, f64) {
        let p = self.dim();
        let mut h = Mat::zeros(p, p);
        let mut e = vec![0.0; p];
        for j in 0..p {
            e[j] = 1.0;
            let col = self.apply_flat(&e);
            e[j] = 0.0;
            for (i, x) in col.into_iter().enumerate() {
                h[(i, j)] = x;
            }
        }
        let (mut asym, mut big) = (0.0f64, 0.0f64);
        for j in 0..p {
            for i in 0..p {
                asym = asym.max((h[(i, j)] - h[(j, i)]).abs());
                big = big.max(h[(i, j)].abs());
            }
        }
        let sym = Mat::from_fn(p, p, |i, j| 0.5 * (h[(i, j)] + h[(j, i)]));
        (sym, if big > 0.0 { asym / big } else { 0.0 })
    }
}
