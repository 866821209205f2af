//! The fused step for wide linear models: gradient, weight decay and optimiser update of every
//! d x d weight in one read-write pass, with no gradient matrix and no second parameter copy.
//!
//! For a linear model the gradient of a square weight is rank K plus decay:
//! dW_l = lambda W_l + P_l Q_l^T with P_l = A_{l+1}^T and Q_l = B_l^T (both d x K, see
//! [`crate::grad`]). GD and heavy-ball momentum then give W_l' = alpha W_l + beta V_l +
//! gamma P_l Q_l^T, so everything about the new point can be found from K-wide products before
//! any matrix is written:
//!
//! 1. **propose** (read-only): the small matrices H1 and W_L are updated out of place by the
//!    optimiser itself; the new K-wide products are prod_l' = W_l'^T prod_{l+1}' =
//!    alpha W_l^T X + beta V_l^T X + gamma Q_l (P_l^T X), one read of W_l (and V_l) by
//!    [`crate::linalg::stream::wtx`] (faer would first copy all of W_l into its packed
//!    layout); then the new logits and fit. The new Frobenius norms are bounded by
//!    |alpha| ||W|| + |beta| ||V|| + |gamma| ||P|| ||Q||.
//! 2. **decide**: the step is taken only when the new loss is finite. The fit is known exactly;
//!    when the norm bounds already prove the regulariser (and the sum) finite the decision is
//!    exact, otherwise a read-only pass computes the new entries exactly as the commit would and
//!    sums their squares ([`Fused::exact_new_reg`]). A refused step leaves every matrix as it
//!    was: the last-finite-state guarantee without a second copy.
//! 3. **commit** (one read-write pass per matrix, bottom-up): W_l <- W_l' entry by entry, the new
//!    B-products back_l' = W_l' back_{l-1}' and ||W_l'||^2 accumulated on the way.
//!
//! Memory traffic per d x d matrix and step: 3 passes (propose read, commit read and write)
//! instead of 9 for the separate gradient / update / double-buffer path; memory is the
//! parameters once plus d x K buffers (and the momentum state).
//!
//! Floating point: the update per entry is written exactly like the optimiser's own
//! (`w - lr * g` with `g = lambda * w + u`; momentum as `ufm-plugin-std` does it), but
//! u = (P Q^T)_ij is summed here over k in order instead of inside faer's GEMM, and the new
//! products come from the propose formula rather than from the stored new matrix. So the
//! fused and separate paths agree to rounding, not bit for bit (a test compares them); the
//! fused path is itself deterministic and independent of the thread count (fixed loop orders).

use crate::grad::elementwise::{set_scaled, squared_norm};
use crate::grad::{fit_scratch_len, fit_transposed_columns, LossParts};
use crate::linalg::matmul;
use crate::linalg::stream::{wtx, Panel};
use crate::model::{ModelSpec, Params};
pub use crate::optim::FusedRule;
use faer::{Accum, Mat, MatRef, Par};

/// Which update a trainer uses for its d x d matrices (`train.update` of a job).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UpdateMode {
    /// `fused` when it applies (factored gradient, L >= 2, an optimiser with a fused form) and
    /// the model is wide (d >= [`FUSED_AUTO_WIDTH`]); `separate` otherwise.
    #[default]
    Auto,
    /// Always fused (an error when it does not apply).
    Fused,
    /// Gradient, then update into a second parameter buffer (the reference path).
    Separate,
}

/// The width from which `auto` fuses: below it the weights fit in the L2/L3 caches, the
/// separate path's extra passes are cheap, and runs keep the separate path's bits.
pub const FUSED_AUTO_WIDTH: usize = 1024;

/// The coefficients of one entry's update for one step.
#[derive(Clone, Copy, Debug)]
enum Entry {
    Gd { lr: f64 },
    MomentumFirst { lr: f64 },
    Momentum { lr: f64, mu: f64, keep: f64 },
}

impl Entry {
    fn new(rule: FusedRule, step: u64, lr: f64) -> Self {
        match rule {
            FusedRule::Gd => Entry::Gd { lr },
            FusedRule::Momentum { .. } if step <= 1 => Entry::MomentumFirst { lr },
            FusedRule::Momentum {
                momentum,
                dampening,
            } => Entry::Momentum {
                lr,
                mu: momentum,
                keep: 1.0 - dampening,
            },
        }
    }

    /// (alpha, beta, gamma) with W' = alpha W + beta V + gamma P Q^T in exact arithmetic.
    fn coefficients(self, lambda: f64) -> (f64, f64, f64) {
        match self {
            Entry::Gd { lr } | Entry::MomentumFirst { lr } => (1.0 - lr * lambda, 0.0, -lr),
            Entry::Momentum { lr, mu, keep } => (1.0 - lr * keep * lambda, -lr * mu, -lr * keep),
        }
    }

    fn uses_state(self) -> bool {
        !matches!(self, Entry::Gd { .. })
    }
}

/// Buffers of the fused step for one model (allocated once; the step allocates nothing).
pub struct Fused {
    rule: FusedRule,
    par: Par,
    labels: Vec<usize>,
    /// Z^T and dZ^T (N x K) at the proposed / current point.
    z: Mat<f64>,
    dz: Mat<f64>,
    fit_scratch: Vec<f64>,
    batch: Vec<bool>,
    /// Two slots (current, proposed): prod[s][l-1] = A_l^T for l = 1..L-1 (d x K).
    prod: [Vec<Mat<f64>>; 2],
    /// back[s][l] = B_{l+1}^T for l = 0..L-1 (d x K): back[0] = H1 dZ^T, back[l] = W_l back[l-1].
    back: [Vec<Mat<f64>>; 2],
    cur: usize,
    /// ||H1||^2, ||W_1||^2 .. ||W_L||^2 at the current point.
    sq: Vec<f64>,
    /// ||V_l||^2 of the momentum state of W_l (l = 1..L-1; index l), at the current point.
    sq_state: Vec<f64>,
    /// P_{L-1} = W_L^T made contiguous (d x K), and a K x K product.
    top: Mat<f64>,
    /// The proposal's X = A_{l+1}'^T packed for the streaming W^T X ([`wtx`]).
    xpanel: Panel,
    /// The fused passes' packed P and out ([`kernel`]).
    scratch: kernel::Scratch,
    kk: Mat<f64>,
    /// Squared-norm bounds of the proposed middle matrices (index l).
    bound: Vec<f64>,
    /// The proposal's fit.
    fit: f64,
}

impl Fused {
    /// Whether the fused step applies to `spec` (linear, L >= 2).
    pub fn applies(spec: &ModelSpec) -> bool {
        spec.activation == crate::model::Activation::Linear && spec.layers >= 2
    }

    pub fn new(spec: &ModelSpec, rule: FusedRule, par: Par) -> Self {
        let (k, d, n, layers) = (spec.classes(), spec.width, spec.samples(), spec.layers);
        let mats =
            |count: usize| -> Vec<Mat<f64>> { (0..count).map(|_| Mat::zeros(d, k)).collect() };
        Fused {
            rule,
            par,
            labels: spec.labels(),
            z: Mat::zeros(n, k),
            dz: Mat::zeros(n, k),
            fit_scratch: vec![0.0; fit_scratch_len(n)],
            batch: Vec::new(),
            prod: [mats(layers - 1), mats(layers - 1)],
            back: [mats(layers), mats(layers)],
            cur: 0,
            sq: vec![0.0; layers + 1],
            sq_state: vec![0.0; layers],
            top: Mat::zeros(d, k),
            xpanel: Panel::new(d, k),
            scratch: kernel::Scratch::new(d, k),
            kk: Mat::zeros(k, k),
            bound: vec![0.0; layers],
            fit: 0.0,
        }
    }

    pub fn rule(&self) -> FusedRule {
        self.rule
    }

    /// As [`crate::grad::Workspace::set_batch`].
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

    /// Loss at `params`, the gradient of H1 and W_L into `grad.mats[0]` and `grad.mats[L]`,
    /// and the K-wide factors of the middle gradients, computed by faer's products as in the
    /// separate path's factored evaluation (the same operations, so the fit is bit-identical
    /// to it; the squared norms of the middle matrices are summed in the commit's order).
    pub fn evaluate(
        &mut self,
        spec: &ModelSpec,
        params: &Params,
        grad: &mut Params,
        state: &[Vec<f64>],
    ) -> LossParts {
        self.evaluate_with(spec, params, grad, state, None)
    }

    /// The factors at the current point: prod (L-1 matrices) then back (L), all d x K. A
    /// checkpoint keeps them, since a fused run's factors come from the commit, not from
    /// [`Fused::evaluate`], and a resumed run must continue with the same bits.
    pub fn factors(&self) -> Vec<Mat<f64>> {
        let c = self.cur;
        self.prod[c].iter().chain(&self.back[c]).cloned().collect()
    }

    /// As [`Fused::evaluate`], taking the factors from a checkpoint ([`Fused::factors`]) when
    /// their shapes fit (otherwise they are recomputed).
    pub fn evaluate_with(
        &mut self,
        spec: &ModelSpec,
        params: &Params,
        grad: &mut Params,
        state: &[Vec<f64>],
        factors: Option<&[Mat<f64>]>,
    ) -> LossParts {
        let layers = spec.layers;
        let par = self.par;
        let c = self.cur;
        let factors = factors.filter(|f| {
            f.len() == 2 * layers - 1 && f.iter().all(|m| m.shape() == (spec.width, spec.classes()))
        });
        if let Some(f) = factors {
            for (dst, src) in self.prod[c].iter_mut().chain(&mut self.back[c]).zip(f) {
                dst.copy_from(src);
            }
        }
        let given = factors.is_some();
        let prod = &mut self.prod[c];
        if !given {
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
        }
        matmul(
            self.z.as_mut(),
            Accum::Replace,
            params.h1().transpose(),
            prod[0].as_ref(),
            1.0,
            par,
        );
        let mask = (!self.batch.is_empty()).then_some(self.batch.as_slice());
        let fit = fit_transposed_columns(
            spec.loss,
            &self.z,
            &self.labels,
            Some(&mut self.dz),
            mask,
            &mut self.fit_scratch,
        );
        self.fit = fit;
        self.sq[0] = set_scaled(grad.mats[0].as_mut(), params.h1(), spec.lambda_h);
        matmul(
            grad.mats[0].as_mut(),
            Accum::Add,
            prod[0].as_ref(),
            self.dz.transpose(),
            1.0,
            par,
        );
        let back = &mut self.back[c];
        if !given {
            matmul(
                back[0].as_mut(),
                Accum::Replace,
                params.h1(),
                self.dz.as_ref(),
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
        }
        for l in 1..layers {
            self.sq[l] = kernel::norm(params.w(l));
        }
        self.sq[layers] = set_scaled(grad.mats[layers].as_mut(), params.w(layers), spec.lambda_w);
        add_transposed_into(&mut grad.mats[layers], &back[layers - 1]);
        for l in 1..layers {
            self.sq_state[l] = match state.get(l) {
                Some(v) if !v.is_empty() => v.iter().map(|x| x * x).sum(),
                _ => 0.0,
            };
        }
        self.parts(spec, fit)
    }

    fn parts(&self, spec: &ModelSpec, fit: f64) -> LossParts {
        let w: f64 = self.sq[1..].iter().sum();
        let reg = 0.5 * (spec.lambda_h * self.sq[0] + spec.lambda_w * w);
        LossParts {
            loss: fit + reg,
            fit,
            reg,
        }
    }

    /// Step 1 of the module docs: `params` is the current point, `cand` holds the optimiser's
    /// new H1 and W_L (its middle matrices are unused). Returns the proposal's fit and an upper
    /// bound on its loss (infinite when the bounds prove nothing).
    pub fn propose(
        &mut self,
        spec: &ModelSpec,
        step: u64,
        lr: f64,
        params: &Params,
        cand: &Params,
        state: &[Vec<f64>],
    ) -> (f64, f64) {
        let layers = spec.layers;
        let par = self.par;
        let entry = Entry::new(self.rule, step, lr);
        let (alpha, beta, gamma) = entry.coefficients(spec.lambda_w);
        let c = self.cur;
        let [p0, p1] = &mut self.prod;
        let (prod_c, prod_x) = if c == 0 { (&*p0, p1) } else { (&*p1, p0) };
        let back_c = &self.back[c];
        let d = spec.width;
        for l in (1..layers).rev() {
            let (lower, upper) = prod_x.split_at_mut(l);
            // X = A_{l+1}'^T, the new product above W_l.
            let xm = if l + 1 == layers {
                cand.w(layers).transpose()
            } else {
                upper[0].as_ref()
            };
            let p_old = if l + 1 == layers {
                params.w(layers).transpose()
            } else {
                prod_c[l].as_ref()
            };
            let q_old = back_c[l - 1].as_ref();
            let out = &mut lower[l - 1];
            // W^T X and V^T X stream W (and V) once; faer would pack all of W first.
            self.xpanel.fill(xm);
            wtx(
                out.as_mut(),
                Accum::Replace,
                params.w(l),
                &self.xpanel,
                alpha,
            );
            if beta != 0.0 && entry.uses_state() {
                let v = faer::MatRef::from_column_major_slice(&state[l], d, d);
                wtx(out.as_mut(), Accum::Add, v, &self.xpanel, beta);
            }
            matmul(
                self.kk.as_mut(),
                Accum::Replace,
                p_old.transpose(),
                xm,
                1.0,
                par,
            );
            matmul(
                out.as_mut(),
                Accum::Add,
                q_old,
                self.kk.as_ref(),
                gamma,
                par,
            );
            let pq = (squared_norm(p_old) * squared_norm(q_old)).sqrt();
            let b = alpha.abs() * self.sq[l].sqrt()
                + if entry.uses_state() {
                    beta.abs() * self.sq_state[l].sqrt()
                } else {
                    0.0
                }
                + gamma.abs() * pq;
            self.bound[l] = b * b;
        }
        matmul(
            self.z.as_mut(),
            Accum::Replace,
            cand.h1().transpose(),
            prod_x[0].as_ref(),
            1.0,
            par,
        );
        let mask = (!self.batch.is_empty()).then_some(self.batch.as_slice());
        let fit = fit_transposed_columns(
            spec.loss,
            &self.z,
            &self.labels,
            Some(&mut self.dz),
            mask,
            &mut self.fit_scratch,
        );
        self.fit = fit;
        let small =
            spec.lambda_h * squared_norm(cand.h1()) + spec.lambda_w * squared_norm(cand.w(layers));
        let mid: f64 = self.bound[1..].iter().sum();
        // Rounding in the committed sums of squares is far below a factor of 2 (relative
        // error <= d^2 eps), so a finite doubled bound proves the committed loss finite.
        let bound = fit + (0.5 * (small + spec.lambda_w * mid)) * 2.0;
        (fit, bound)
    }

    /// The exact regulariser of the proposal (bit-identical to the one the commit reports), from a read-only pass that computes every new
    /// entry as the commit will. Used only when [`Fused::propose`]'s bound is not finite.
    pub fn exact_new_reg(
        &mut self,
        spec: &ModelSpec,
        step: u64,
        lr: f64,
        params: &Params,
        cand: &Params,
        state: &[Vec<f64>],
    ) -> f64 {
        let layers = spec.layers;
        let entry = Entry::new(self.rule, step, lr);
        let c = self.cur;
        let mut w = 0.0;
        for l in 1..layers {
            let p = if l + 1 == layers {
                copy_transposed(&mut self.top, params.w(layers));
                &self.top
            } else {
                &self.prod[c][l]
            };
            let v = state.get(l).map(|s| s.as_slice()).filter(|s| !s.is_empty());
            let s = kernel::read(
                kernel::Pass::Dry,
                params.w(l),
                v,
                p,
                &self.back[c][l - 1],
                &mut self.scratch,
                entry,
                spec.lambda_w,
            );
            w += s;
        }
        // The same sums in the same order as the commit and [`Fused::parts`].
        w += squared_norm(cand.w(layers));
        0.5 * (spec.lambda_h * squared_norm(cand.h1()) + spec.lambda_w * w)
    }

    /// Step 3 of the module docs: write the proposal into `params` (middle matrices in place;
    /// the caller swaps in `cand`'s H1 and W_L afterwards), the new gradients of H1 and W_L into
    /// `grad`, and return the new loss.
    #[allow(clippy::too_many_arguments)]
    pub fn commit(
        &mut self,
        spec: &ModelSpec,
        step: u64,
        lr: f64,
        params: &mut Params,
        cand: &Params,
        grad: &mut Params,
        state: &mut [Vec<f64>],
    ) -> LossParts {
        let layers = spec.layers;
        let par = self.par;
        let entry = Entry::new(self.rule, step, lr);
        let (c, x) = (self.cur, 1 - self.cur);
        let [b0, b1] = &mut self.back;
        let (back_c, back_x) = if c == 0 { (&*b0, b1) } else { (&*b1, b0) };
        let prod_c = &self.prod[c];
        let prod_x = &self.prod[x];
        matmul(
            back_x[0].as_mut(),
            Accum::Replace,
            cand.h1(),
            self.dz.as_ref(),
            1.0,
            par,
        );
        for l in 1..layers {
            let p = if l + 1 == layers {
                copy_transposed(&mut self.top, params.w(layers));
                &self.top
            } else {
                &prod_c[l]
            };
            let (prev, cur) = back_x.split_at_mut(l);
            let v = state
                .get_mut(l)
                .map(|s| s.as_mut_slice())
                .filter(|s| !s.is_empty());
            let (sw, sv) = kernel::commit(
                &mut params.mats[l],
                v,
                p,
                &back_c[l - 1],
                &prev[l - 1],
                &mut cur[0],
                &mut self.scratch,
                entry,
                spec.lambda_w,
            );
            self.sq[l] = sw;
            self.sq_state[l] = sv;
        }
        self.sq[0] = set_scaled(grad.mats[0].as_mut(), cand.h1(), spec.lambda_h);
        matmul(
            grad.mats[0].as_mut(),
            Accum::Add,
            prod_x[0].as_ref(),
            self.dz.transpose(),
            1.0,
            par,
        );
        self.sq[layers] = set_scaled(grad.mats[layers].as_mut(), cand.w(layers), spec.lambda_w);
        add_transposed_into(&mut grad.mats[layers], &back_x[layers - 1]);
        self.cur = x;
        self.parts(spec, self.fit)
    }

    /// ||gradient||^2 of the middle matrices at the current point (one read pass each).
    pub fn middle_grad_sq(&mut self, spec: &ModelSpec, params: &Params) -> f64 {
        let layers = spec.layers;
        let c = self.cur;
        let mut total = 0.0;
        for l in 1..layers {
            let p = if l + 1 == layers {
                copy_transposed(&mut self.top, params.w(layers));
                &self.top
            } else {
                &self.prod[c][l]
            };
            let s = kernel::read(
                kernel::Pass::GradNorm,
                params.w(l),
                None,
                p,
                &self.back[c][l - 1],
                &mut self.scratch,
                Entry::Gd { lr: 0.0 },
                spec.lambda_w,
            );
            total += s;
        }
        total
    }

    /// The full gradient of middle matrix `l` at the current point, lambda W_l + P_l Q_l^T,
    /// into `out` (d x d). Allocation is the caller's: the fused step never needs this.
    pub fn middle_gradient(&self, spec: &ModelSpec, params: &Params, l: usize, out: &mut Mat<f64>) {
        let c = self.cur;
        let layers = spec.layers;
        set_scaled(out.as_mut(), params.w(l), spec.lambda_w);
        let p = if l + 1 == layers {
            params.w(layers).transpose()
        } else {
            self.prod[c][l].as_ref()
        };
        matmul(
            out.as_mut(),
            Accum::Add,
            p,
            self.back[c][l - 1].transpose(),
            1.0,
            self.par,
        );
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

/// dst = src^T (dst d x K, src K x d).
fn copy_transposed(dst: &mut Mat<f64>, src: MatRef<'_, f64>) {
    for k in 0..dst.ncols() {
        for (i, x) in dst.col_as_slice_mut(k).iter_mut().enumerate() {
            *x = src[(k, i)];
        }
    }
}

mod kernel;

#[cfg(test)]
pub(crate) mod tests;
