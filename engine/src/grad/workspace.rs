//! Preallocated buffers and the two gradient algorithms.

use super::elementwise::{relu_in_place, relu_mask, set_scaled, squared_norm};
use super::fit::{fit_and_dz_batch, fit_only, fit_scratch_len, fit_transposed_columns};
use super::{GradPath, LossParts};
use crate::linalg::product as matmul;
use crate::model::{Activation, ModelSpec, Params};
use faer::{Accum, Mat, MatRef, Par};

/// Every buffer one loss/gradient evaluation needs, sized once for a model. After
/// [`Workspace::new`], [`Workspace::loss_and_grad`] does not allocate.
pub struct Workspace {
    path: GradPath,
    par: Par,
    labels: Vec<usize>,
    z: Mat<f64>,
    dz: Mat<f64>,
    /// Factored path: prod[l-1] = (W_L ... W_l)^T for l = 1..L-1, d x K.
    prod: Vec<Mat<f64>>,
    /// Factored path: back[l] = (dZ H1^T W_1^T ... W_l^T)^T for l = 0..L-1, d x K.
    back: Vec<Mat<f64>>,
    /// Layered path: the features entering W_{l+1}, s(W_l ...), for l = 1..L-1 (index l - 1).
    /// ReLU is applied in place: the backward mask needs only the sign, and post-activation
    /// values are positive exactly where pre-activation values are.
    pre: Vec<Mat<f64>>,
    /// Layered path: two d x N buffers for the backpropagated signal.
    delta: [Mat<f64>; 2],
    /// Squared Frobenius norms of H1, W1..WL from the last gradient pass.
    sq: Vec<f64>,
    /// Factored path: per-sample maxima, sums and log-sums of the softmax (3 N values).
    fit_scratch: Vec<f64>,
    /// Mini-batch mask over the N samples (empty: full batch). See [`Workspace::set_batch`].
    batch: Vec<bool>,
}

impl Workspace {
    /// Buffers for `spec`. `GradPath::Auto` resolves to `Factored` for linear models and to
    /// `Layered` otherwise; asking for `Factored` on a ReLU model falls back to `Layered`, since
    /// the factorisation needs linear layers. `par` is the matmul parallelism (`Par::Seq` for
    /// one run per thread, the default everywhere in ufm).
    pub fn new(spec: &ModelSpec, path: GradPath, par: Par) -> Self {
        let (k, d, n, layers) = (spec.classes(), spec.width, spec.samples(), spec.layers);
        let path = match (path, spec.activation) {
            (GradPath::Layered, _) | (_, Activation::Relu) => GradPath::Layered,
            _ => GradPath::Factored,
        };
        let factored = path == GradPath::Factored;
        let mats =
            |count: usize, r: usize, c: usize| (0..count).map(|_| Mat::zeros(r, c)).collect();
        Workspace {
            path,
            par,
            labels: spec.labels(),
            // Z and dZ: K x N for the layered path, transposed (N x K) for the factored one.
            z: if factored {
                Mat::zeros(n, k)
            } else {
                Mat::zeros(k, n)
            },
            dz: if factored {
                Mat::zeros(n, k)
            } else {
                Mat::zeros(k, n)
            },
            prod: if factored {
                mats(layers - 1, d, k)
            } else {
                vec![]
            },
            back: if factored { mats(layers, d, k) } else { vec![] },
            pre: if factored {
                vec![]
            } else {
                mats(layers - 1, d, n)
            },
            sq: vec![0.0; layers + 1],
            fit_scratch: if factored {
                vec![0.0; fit_scratch_len(n)]
            } else {
                vec![]
            },
            batch: Vec::new(),
            delta: if factored {
                [Mat::zeros(0, 0), Mat::zeros(0, 0)]
            } else {
                [Mat::zeros(d, n), Mat::zeros(d, n)]
            },
        }
    }

    /// The algorithm this workspace runs (never `Auto`).
    pub fn path(&self) -> GradPath {
        self.path
    }

    /// Restrict the fit term's gradient to the samples in `cols` (averaged over them); the
    /// regulariser's gradient and the reported loss stay full. Allocation-free after the first
    /// call. [`Workspace::full_batch`] undoes it.
    pub fn set_batch(&mut self, cols: &[usize]) {
        let n = self.labels.len();
        if self.batch.len() != n {
            self.batch = vec![false; n];
        }
        self.batch.fill(false);
        for &c in cols {
            self.batch[c] = true;
        }
    }

    /// Use every sample again.
    pub fn full_batch(&mut self) {
        self.batch.clear();
    }

    /// Loss at `params`, writing the full gradient (fit + weight decay) into `grad`, which must
    /// have the shapes of `params`.
    pub fn loss_and_grad(
        &mut self,
        spec: &ModelSpec,
        params: &Params,
        grad: &mut Params,
    ) -> LossParts {
        match self.path {
            GradPath::Factored => self.factored(spec, params, Some(grad)),
            _ => self.layered(spec, params, Some(grad)),
        }
    }

    /// Loss at `params` without the gradient.
    pub fn loss(&mut self, spec: &ModelSpec, params: &Params) -> LossParts {
        match self.path {
            GradPath::Factored => self.factored(spec, params, None),
            _ => self.layered(spec, params, None),
        }
    }

    fn regulariser(spec: &ModelSpec, params: &Params) -> f64 {
        let h = squared_norm(params.h1());
        let w: f64 = (1..=spec.layers).map(|l| squared_norm(params.w(l))).sum();
        0.5 * (spec.lambda_h * h + spec.lambda_w * w)
    }

    fn parts(spec: &ModelSpec, params: &Params, fit: f64) -> LossParts {
        let reg = Self::regulariser(spec, params);
        LossParts {
            loss: fit + reg,
            fit,
            reg,
        }
    }

    /// Loss parts from squared norms the gradient pass already summed (same order and values
    /// as [`Self::regulariser`], so loss with and without gradient agree bit for bit).
    fn parts_from(spec: &ModelSpec, fit: f64, h_sq: f64, w_sq: &[f64]) -> LossParts {
        let w: f64 = w_sq.iter().sum();
        let reg = 0.5 * (spec.lambda_h * h_sq + spec.lambda_w * w);
        LossParts {
            loss: fit + reg,
            fit,
            reg,
        }
    }

    /// Linear models, through K-wide products only (see the module docs). Every K-wide matrix
    /// is stored transposed (d x K, and Z^T as N x K): with K small, products whose output has
    /// K columns run faster in faer than those with K rows.
    fn factored(
        &mut self,
        spec: &ModelSpec,
        params: &Params,
        grad: Option<&mut Params>,
    ) -> LossParts {
        let layers = spec.layers;
        let par = self.par;
        let Workspace {
            prod,
            back,
            z,
            dz,
            labels,
            sq,
            batch,
            fit_scratch,
            ..
        } = self;
        // prod[l-1] = A_l^T = W_l^T A_{l+1}^T for l = 1..L-1, built from the top (A_L = W_L).
        for l in (1..layers).rev() {
            let (lower, upper) = prod.split_at_mut(l);
            let above = if l + 1 == layers {
                params.w(layers).transpose()
            } else {
                upper[0].as_ref()
            };
            matmul(
                lower[l - 1].as_mut(),
                Accum::Replace,
                params.w(l).transpose(),
                above,
                1.0,
                par,
            );
        }
        let a1t = product_t(params, prod, 1);
        // Z^T = H1^T A_1^T.
        matmul(
            z.as_mut(),
            Accum::Replace,
            params.h1().transpose(),
            a1t,
            1.0,
            par,
        );
        let Some(grad) = grad else {
            let fit = fit_transposed_columns(spec.loss, z, labels, None, None, fit_scratch);
            return Self::parts(spec, params, fit);
        };
        let mask = (!batch.is_empty()).then_some(batch.as_slice());
        let fit = fit_transposed_columns(spec.loss, z, labels, Some(dz), mask, fit_scratch);
        // dH1 = A_1^T dZ + lambda_h H1.
        sq[0] = set_scaled(grad.mats[0].as_mut(), params.h1(), spec.lambda_h);
        matmul(
            grad.mats[0].as_mut(),
            Accum::Add,
            a1t,
            dz.transpose(),
            1.0,
            par,
        );
        // back[0] = (dZ H1^T)^T = H1 dZ^T; back[l] = W_l back[l-1].
        matmul(
            back[0].as_mut(),
            Accum::Replace,
            params.h1(),
            dz.as_ref(),
            1.0,
            par,
        );
        for l in 1..layers {
            let (prev, cur) = back.split_at_mut(l);
            matmul(
                cur[0].as_mut(),
                Accum::Replace,
                params.w(l),
                prev[l - 1].as_ref(),
                1.0,
                par,
            );
        }
        // dW_l = A_{l+1}^T back[l-1]^T + lambda_w W_l, with A_{L+1} = I.
        for l in 1..=layers {
            let g = &mut grad.mats[l];
            sq[l] = set_scaled(g.as_mut(), params.w(l), spec.lambda_w);
            if l == layers {
                add_transposed_into(g, &back[l - 1]);
            } else {
                let at = product_t(params, prod, l + 1);
                matmul(
                    g.as_mut(),
                    Accum::Add,
                    at,
                    back[l - 1].transpose(),
                    1.0,
                    par,
                );
            }
        }
        Self::parts_from(spec, fit, sq[0], &sq[1..])
    }

    /// Plain backpropagation through materialised d x N features; linear or ReLU.
    fn layered(
        &mut self,
        spec: &ModelSpec,
        params: &Params,
        grad: Option<&mut Params>,
    ) -> LossParts {
        let layers = spec.layers;
        let par = self.par;
        let relu = spec.activation == Activation::Relu;
        for l in 1..layers {
            // pre[l-1] = s(W_l input_l), where input_l is pre[l-2] (or H1).
            let (done, todo) = self.pre.split_at_mut(l - 1);
            let input = layer_input(params, done, l);
            matmul(
                todo[0].as_mut(),
                Accum::Replace,
                params.w(l),
                input,
                1.0,
                par,
            );
            if relu {
                relu_in_place(&mut todo[0]);
            }
        }
        let Workspace {
            pre,
            z,
            dz,
            delta,
            sq,
            ..
        } = self;
        let last_input = layer_input(params, pre, layers);
        matmul(
            z.as_mut(),
            Accum::Replace,
            params.w(layers),
            last_input,
            1.0,
            par,
        );
        let want_grad = grad.is_some();
        let fit = if want_grad {
            let mask = (!self.batch.is_empty()).then_some(self.batch.as_slice());
            fit_and_dz_batch(spec.loss, z, &self.labels, dz, mask)
        } else {
            fit_only(spec.loss, z.as_ref(), &self.labels)
        };
        let Some(grad) = grad else {
            return Self::parts(spec, params, fit);
        };
        // dW_L = dZ input_L^T + lambda_w W_L.
        sq[layers] = set_scaled(grad.mats[layers].as_mut(), params.w(layers), spec.lambda_w);
        matmul(
            grad.mats[layers].as_mut(),
            Accum::Add,
            dz.as_ref(),
            last_input.transpose(),
            1.0,
            par,
        );
        // `signal` is dLoss/d(input of W_l) as l walks down; it starts as dZ and then lives in
        // one of the two d x N delta buffers, alternating so no step reads what it writes.
        let [d0, d1] = delta;
        let (mut signal, mut spare) = (d0, d1);
        for l in (1..=layers).rev() {
            if l < layers && relu {
                // Through the ReLU after W_l: the derivative is zero where the activation is 0
                // (pre-activation <= 0, the convention of PyTorch and JAX).
                relu_mask(signal, &pre[l - 1]);
            }
            let upstream: MatRef<'_, f64> = if l == layers {
                dz.as_ref()
            } else {
                signal.as_ref()
            };
            if l < layers {
                let input = layer_input(params, pre, l);
                sq[l] = set_scaled(grad.mats[l].as_mut(), params.w(l), spec.lambda_w);
                matmul(
                    grad.mats[l].as_mut(),
                    Accum::Add,
                    upstream,
                    input.transpose(),
                    1.0,
                    par,
                );
            }
            let w = if l == layers {
                params.w(layers)
            } else {
                params.w(l)
            };
            // Propagate to the input of W_l: W_l^T upstream.
            if l == 1 {
                sq[0] = set_scaled(grad.mats[0].as_mut(), params.h1(), spec.lambda_h);
                matmul(
                    grad.mats[0].as_mut(),
                    Accum::Add,
                    w.transpose(),
                    upstream,
                    1.0,
                    par,
                );
            } else {
                matmul(
                    spare.as_mut(),
                    Accum::Replace,
                    w.transpose(),
                    upstream,
                    1.0,
                    par,
                );
                std::mem::swap(&mut signal, &mut spare);
            }
        }
        Self::parts_from(spec, fit, sq[0], &sq[1..])
    }
}

/// The matrix that multiplies W_l: H1 for l = 1, else the (post-activation) features at index
/// l - 2 of the layered path's buffers.
fn layer_input<'a>(params: &'a Params, feat: &'a [Mat<f64>], l: usize) -> MatRef<'a, f64> {
    if l == 1 {
        params.h1()
    } else {
        feat[l - 2].as_ref()
    }
}

/// A_l^T = (W_L ... W_l)^T (d x K) for l = 1..=L, from the factored path's product buffers.
fn product_t<'a>(params: &'a Params, prod: &'a [Mat<f64>], l: usize) -> MatRef<'a, f64> {
    if l == params.layers() {
        params.w(l).transpose()
    } else {
        prod[l - 1].as_ref()
    }
}

/// dst += src^T (dst K x d, src d x K).
fn add_transposed_into(dst: &mut Mat<f64>, src: &Mat<f64>) {
    for j in 0..dst.ncols() {
        for (i, x) in dst.col_as_slice_mut(j).iter_mut().enumerate() {
            *x += src[(j, i)];
        }
    }
}
