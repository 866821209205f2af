//! A trainable MLP backbone under the deep head: the features entering the head are
//! H1 = h(X) = s(A_m s(... s(A_1 X + b_1 1^T) ...) + b_m 1^T) instead of free parameters.
//!
//! The head is evaluated by the engine's own [`Workspace`] (factored or layered, exactly as for
//! the deep UFM) on a copy of the head weights with H1 = h(X); its gradient with respect to H1 is
//! then back-propagated through the backbone. With `regularization: ufm` the head's
//! lambda_h/2 ||H1||^2 term therefore acts on h(X) and the backbone is not regularised; with
//! `standard` the head runs with lambda_h = 0 and every backbone matrix and bias gets the same
//! weight decay as the head.
//!
//! Trainable tensors (the optimiser's tensor indices): W_1..W_L at 0..L-1, then A_1, b_1, ...,
//! A_m, b_m at L, L+1, ... (`B<i>_W` is d_i x d_{i-1}, `B<i>_b` is d_i x 1).

#[cfg(test)]
mod tests;

use crate::data::Dataset;
use crate::grad::elementwise::{relu_in_place, relu_mask, set_scaled, squared_norm};
use crate::grad::{GradPath, LossParts, Workspace};
use crate::linalg::matmul;
use crate::model::{Activation, ModelSpec, Params};
use faer::{Accum, Mat, MatRef, Par};

/// The backbone's architecture and its weight decay.
#[derive(Clone, Debug, PartialEq)]
pub struct BackboneSpec {
    /// Input dimension d0.
    pub input: usize,
    /// Hidden width (outputs of layers 1..m-1).
    pub width: usize,
    /// Output width d (the head's width).
    pub output: usize,
    /// Number of affine layers m >= 1.
    pub layers: usize,
    pub activation: Activation,
    /// Weight decay on every backbone matrix and bias (0 with UFM-style regularisation).
    pub weight_decay: f64,
}

impl BackboneSpec {
    /// (rows, cols) of A_i for i = 1..=m.
    pub fn layer_shape(&self, i: usize) -> (usize, usize) {
        let rows = if i == self.layers {
            self.output
        } else {
            self.width
        };
        let cols = if i == 1 { self.input } else { self.width };
        (rows, cols)
    }

    /// Shapes of A_1, b_1, ..., A_m, b_m.
    pub fn shapes(&self) -> Vec<(usize, usize)> {
        (1..=self.layers)
            .flat_map(|i| {
                let (r, c) = self.layer_shape(i);
                [(r, c), (r, 1)]
            })
            .collect()
    }

    /// File stems of the backbone tensors: B1_W, B1_b, ...
    pub fn names(&self) -> Vec<String> {
        (1..=self.layers)
            .flat_map(|i| [format!("B{i}_W"), format!("B{i}_b")])
            .collect()
    }

    /// Number of scalar parameters of the backbone.
    pub fn parameter_count(&self) -> usize {
        self.shapes().iter().map(|(r, c)| r * c).sum()
    }
}

/// Shapes of every trainable tensor of a backbone run: W_1..W_L, then the backbone's.
pub fn trainable_shapes(head: &ModelSpec, arch: &BackboneSpec) -> Vec<(usize, usize)> {
    head.shapes()[1..]
        .iter()
        .copied()
        .chain(arch.shapes())
        .collect()
}

/// Names of every trainable tensor, in tensor-index order.
pub fn trainable_names(head: &ModelSpec, arch: &BackboneSpec) -> Vec<String> {
    (1..=head.layers)
        .map(|l| format!("W{l}"))
        .chain(arch.names())
        .collect()
}

/// Loss and exact gradient of a deep head on a trainable backbone, with every buffer allocated
/// once (the training step does not allocate).
pub struct BackboneObjective {
    head_spec: ModelSpec,
    arch: BackboneSpec,
    x: Mat<f64>,
    test: Option<Dataset>,
    ws: Workspace,
    /// [h(X), W_1..W_L]: the head's parameters in the deep UFM's layout.
    head: Params,
    head_grad: Params,
    /// Outputs (post-activation) of backbone layers 1..m-1, width x N.
    acts: Vec<Mat<f64>>,
    /// Two width x N buffers for the back-propagated signal below the last layer.
    delta: [Mat<f64>; 2],
}

impl BackboneObjective {
    /// `head_spec` is the head's model (its class sizes must match `train`'s labels, in class
    /// order); `train.x` is d0 x N. A mismatch is a [`crate::Error::Job`] at `backbone`.
    pub fn new(
        head_spec: &ModelSpec,
        arch: BackboneSpec,
        train: Dataset,
        test: Option<Dataset>,
        path: GradPath,
        par: Par,
    ) -> Result<Self, crate::Error> {
        let bad = |message: String| crate::JobError::new("backbone", message).into();
        let n = head_spec.samples();
        if train.x.ncols() != n || train.labels != head_spec.labels() {
            return Err(bad(format!(
                "the training data ({} samples) does not match the model's class sizes \
                 ({n} samples in class order)",
                train.x.ncols()
            )));
        }
        if train.x.nrows() != arch.input || arch.output != head_spec.width {
            return Err(bad(format!(
                "input {} / output {} do not match the data's d0 = {} / model.width = {}",
                arch.input,
                arch.output,
                train.x.nrows(),
                head_spec.width
            )));
        }
        let hidden = if arch.layers > 1 { arch.width } else { 0 };
        let buf = |r: usize| Mat::zeros(r, if r == 0 { 0 } else { n });
        Ok(BackboneObjective {
            ws: Workspace::new(head_spec, path, par),
            head: Params::zeros(head_spec),
            head_grad: Params::zeros(head_spec),
            acts: (1..arch.layers).map(|_| buf(arch.width)).collect(),
            delta: [buf(hidden), buf(hidden)],
            head_spec: head_spec.clone(),
            arch,
            x: train.x,
            test,
        })
    }

    pub fn arch(&self) -> &BackboneSpec {
        &self.arch
    }

    pub fn head_spec(&self) -> &ModelSpec {
        &self.head_spec
    }

    /// The gradient algorithm the head runs.
    pub fn path(&self) -> GradPath {
        self.ws.path()
    }

    /// See [`Workspace::set_batch`]: the fit term's gradient is averaged over `cols`; the
    /// forward pass, the regularisers and the reported loss stay full.
    pub fn set_batch(&mut self, cols: &[usize]) {
        self.ws.set_batch(cols);
    }

    pub fn full_batch(&mut self) {
        self.ws.full_batch();
    }

    /// Loss at `params` (trainable layout), writing the full gradient into `grad`.
    pub fn loss_and_grad(&mut self, params: &Params, grad: Option<&mut Params>) -> LossParts {
        let layers = self.head_spec.layers;
        self.forward(params);
        let bb = &params.mats[layers..];
        let reg_bb = if self.arch.weight_decay > 0.0 {
            0.5 * self.arch.weight_decay * bb.iter().map(|m| squared_norm(m.as_ref())).sum::<f64>()
        } else {
            0.0
        };
        let Some(grad) = grad else {
            let p = self.ws.loss(&self.head_spec, &self.head);
            return with_extra_reg(p, reg_bb);
        };
        let p = self
            .ws
            .loss_and_grad(&self.head_spec, &self.head, &mut self.head_grad);
        for l in 1..=layers {
            grad.mats[l - 1]
                .as_mut()
                .copy_from(self.head_grad.mats[l].as_ref());
        }
        self.backward(params, grad);
        with_extra_reg(p, reg_bb)
    }

    /// h(X) into head.mats[0] (and the hidden outputs into `acts`), W_l copied into the head.
    fn forward(&mut self, params: &Params) {
        let layers = self.head_spec.layers;
        for l in 1..=layers {
            self.head.mats[l]
                .as_mut()
                .copy_from(params.mats[l - 1].as_ref());
        }
        let m = self.arch.layers;
        let relu = self.arch.activation == Activation::Relu;
        for i in 1..=m {
            let a = params.mats[layers + 2 * (i - 1)].as_ref();
            let b = params.mats[layers + 2 * (i - 1) + 1].as_ref();
            let (done, todo) = self.acts.split_at_mut(i - 1);
            let input: MatRef<'_, f64> = if i == 1 {
                self.x.as_ref()
            } else {
                done[i - 2].as_ref()
            };
            let out = if i == m {
                &mut self.head.mats[0]
            } else {
                &mut todo[0]
            };
            matmul(out.as_mut(), Accum::Replace, a, input, 1.0, Par::Seq);
            add_bias(out, b);
            if relu {
                relu_in_place(out);
            }
        }
    }

    /// Back-propagate head_grad.mats[0] = dL/dH1 through the backbone into `grad`.
    fn backward(&mut self, params: &Params, grad: &mut Params) {
        let layers = self.head_spec.layers;
        let m = self.arch.layers;
        let relu = self.arch.activation == Activation::Relu;
        let wd = self.arch.weight_decay;
        let BackboneObjective {
            head,
            head_grad,
            acts,
            delta,
            x,
            ..
        } = self;
        let [d0, d1] = delta;
        let (mut spare, mut other) = (d0, d1);
        // `top` is true while the signal still lives in head_grad.mats[0] (layer m).
        for i in (1..=m).rev() {
            let (ai, bi) = (layers + 2 * (i - 1), layers + 2 * (i - 1) + 1);
            let signal: &mut Mat<f64> = if i == m {
                &mut head_grad.mats[0]
            } else {
                &mut *other
            };
            if relu {
                let out = if i == m { &head.mats[0] } else { &acts[i - 1] };
                relu_mask(signal, out);
            }
            let input: MatRef<'_, f64> = if i == 1 {
                x.as_ref()
            } else {
                acts[i - 2].as_ref()
            };
            set_scaled(grad.mats[ai].as_mut(), params.mats[ai].as_ref(), wd);
            matmul(
                grad.mats[ai].as_mut(),
                Accum::Add,
                signal.as_ref(),
                input.transpose(),
                1.0,
                Par::Seq,
            );
            set_scaled(grad.mats[bi].as_mut(), params.mats[bi].as_ref(), wd);
            let gb = grad.mats[bi].col_as_slice_mut(0);
            for j in 0..signal.ncols() {
                for (g, s) in gb.iter_mut().zip(signal.col_as_slice(j)) {
                    *g += s;
                }
            }
            if i > 1 {
                matmul(
                    spare.as_mut(),
                    Accum::Replace,
                    params.mats[ai].transpose(),
                    signal.as_ref(),
                    1.0,
                    Par::Seq,
                );
                std::mem::swap(&mut spare, &mut other);
            }
        }
    }

    /// The head's parameters [h(X), W_1..W_L] at `params` (for analysis and output files).
    pub fn head_params(&mut self, params: &Params) -> Params {
        self.forward(params);
        self.head.clone()
    }

    /// h(inputs) and the logits W_L s(... W_1 h(inputs)) for `inputs` (d0 x M).
    pub fn predict(&self, params: &Params, inputs: MatRef<'_, f64>) -> (Mat<f64>, Mat<f64>) {
        let layers = self.head_spec.layers;
        let relu_bb = self.arch.activation == Activation::Relu;
        let mut h = inputs.to_owned();
        for i in 1..=self.arch.layers {
            let a = params.mats[layers + 2 * (i - 1)].as_ref();
            let b = params.mats[layers + 2 * (i - 1) + 1].as_ref();
            let mut out = crate::linalg::mul(a, h.as_ref());
            add_bias(&mut out, b);
            if relu_bb {
                relu_in_place(&mut out);
            }
            h = out;
        }
        let mut z = h.clone();
        for l in 1..=layers {
            z = crate::linalg::mul(params.mats[l - 1].as_ref(), z.as_ref());
            if l < layers && self.head_spec.activation == Activation::Relu {
                relu_in_place(&mut z);
            }
        }
        (h, z)
    }

    /// Fraction of the test split classified correctly (argmax of the logits), if there is one.
    pub fn test_accuracy(&self, params: &Params) -> Option<f64> {
        let test = self.test.as_ref()?;
        let (_, z) = self.predict(params, test.x.as_ref());
        Some(accuracy(z.as_ref(), &test.labels))
    }

    /// Number of test samples (0 without a test split).
    pub fn test_samples(&self) -> usize {
        self.test.as_ref().map_or(0, Dataset::samples)
    }
}

/// Fraction of columns of `z` whose largest entry (first on ties) is at the label.
pub fn accuracy(z: MatRef<'_, f64>, labels: &[usize]) -> f64 {
    if labels.is_empty() {
        return f64::NAN;
    }
    let hits = labels
        .iter()
        .enumerate()
        .filter(|&(j, &y)| {
            let col = z.col(j);
            let mut best = 0;
            for i in 1..col.nrows() {
                if col[i] > col[best] {
                    best = i;
                }
            }
            best == y
        })
        .count();
    hits as f64 / labels.len() as f64
}

fn add_bias(out: &mut Mat<f64>, b: MatRef<'_, f64>) {
    let b = b.col(0);
    for j in 0..out.ncols() {
        for (i, v) in out.col_as_slice_mut(j).iter_mut().enumerate() {
            *v += b[i];
        }
    }
}

fn with_extra_reg(p: LossParts, extra: f64) -> LossParts {
    LossParts {
        loss: p.fit + (p.reg + extra),
        fit: p.fit,
        reg: p.reg + extra,
    }
}
