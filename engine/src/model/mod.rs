//! The deep UFM itself: what a model is ([`ModelSpec`]), its free parameters ([`Params`]) and a
//! plain, allocation-happy forward pass ([`features`]) that analysis and tests use as the
//! reference against which the optimised gradient code is checked.

mod imbalance;
mod spec;

pub use imbalance::step_class_sizes;
pub use spec::{Activation, LossKind, ModelSpec};

use faer::{Mat, MatRef, Par};

/// The trainable matrices of a deep UFM: `mats[0]` is H1 (d x N), `mats[l]` is W_l for
/// l = 1..=L (W_1..W_{L-1} are d x d, W_L is K x d). One `Vec` indexed like this keeps the
/// optimiser, initialiser and file code uniform across tensors ("tensor index" = position here).
#[derive(Clone, Debug)]
pub struct Params {
    pub mats: Vec<Mat<f64>>,
}

impl Params {
    /// All-zero parameters with the shapes of `spec`.
    pub fn zeros(spec: &ModelSpec) -> Self {
        Params {
            mats: spec
                .shapes()
                .into_iter()
                .map(|(r, c)| Mat::zeros(r, c))
                .collect(),
        }
    }

    /// H1, the free features.
    pub fn h1(&self) -> MatRef<'_, f64> {
        self.mats[0].as_ref()
    }

    /// W_l for l in 1..=L.
    pub fn w(&self, l: usize) -> MatRef<'_, f64> {
        self.mats[l].as_ref()
    }

    /// Number of weight matrices L.
    pub fn layers(&self) -> usize {
        self.mats.len() - 1
    }

    /// Conventional tensor names: "H1", "W1", ..., "WL" (also the `.npy` file stems).
    pub fn names(layers: usize) -> Vec<String> {
        std::iter::once("H1".to_string())
            .chain((1..=layers).map(|l| format!("W{l}")))
            .collect()
    }

    /// Sum of squared Frobenius norms, split as (||H1||^2, sum_l ||W_l||^2).
    pub fn squared_norms(&self) -> (f64, f64) {
        let sq = |m: &Mat<f64>| m.squared_norm_l2();
        let h = sq(&self.mats[0]);
        let w = self.mats[1..].iter().map(sq).sum();
        (h, w)
    }
}

/// Every intermediate matrix of a forward pass, kept for analysis.
///
/// `pre[k]` is H_{k+1} (pre-activation features entering W_{k+1}; `pre[0]` = H1) and
/// `post[k]` is the matrix actually multiplied by W_{k+1} (post-activation, equal to `pre[k]` for
/// k = 0 and for linear models). `logits` is Z = W_L post[L-1].
pub struct Features {
    pub pre: Vec<Mat<f64>>,
    pub post: Vec<Mat<f64>>,
    pub logits: Mat<f64>,
}

/// Straightforward forward pass that materialises every d x N feature matrix.
pub fn features(spec: &ModelSpec, params: &Params) -> Features {
    let l_count = spec.layers;
    let mut pre = Vec::with_capacity(l_count);
    let mut post = Vec::with_capacity(l_count);
    pre.push(params.mats[0].clone());
    post.push(params.mats[0].clone());
    for l in 1..l_count {
        let h = crate::linalg::mul(params.w(l), post[l - 1].as_ref());
        let mut h_post = h.clone();
        if spec.activation == Activation::Relu {
            relu_in_place(&mut h_post);
        }
        pre.push(h);
        post.push(h_post);
    }
    let mut logits = Mat::zeros(spec.classes(), spec.samples());
    crate::linalg::matmul(
        logits.as_mut(),
        faer::Accum::Replace,
        params.w(l_count),
        post[l_count - 1].as_ref(),
        1.0,
        Par::Seq,
    );
    Features { pre, post, logits }
}

/// max(x, 0) elementwise.
pub fn relu_in_place(m: &mut Mat<f64>) {
    for j in 0..m.ncols() {
        for x in m.col_mut(j).iter_mut() {
            if *x < 0.0 {
                *x = 0.0;
            }
        }
    }
}
