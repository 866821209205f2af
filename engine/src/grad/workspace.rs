//! Preallocated buffers and the two gradient algorithms.

use super::elementwise::{relu_in_place, relu_mask, set_scaled, set_scaled_par, squared_norm};
use super::fit::{fit_and_dz_batch, fit_only, fit_scratch_len, fit_transposed_view};
use super::{GradPath, LossParts};
use crate::linalg::block::{Block, Frozen, Layout, Slot};
use crate::linalg::product as matmul;
use crate::model::{Activation, ModelSpec, Params};
use faer::{Accum, Mat, MatMut, MatRef, Par};

/// Every buffer one loss/gradient evaluation needs, sized once for a model. After
/// [`Workspace::new`], [`Workspace::loss_and_grad`] does not allocate.
pub struct Workspace {
    path: GradPath,
    par: Par,
    labels: Vec<usize>,
    /// Layered path: Z and dZ, K x N (0 x 0 on the factored path, whose Z^T and dZ^T live in
    /// `block`).
    z: Mat<f64>,
    dz: Mat<f64>,
    /// Factored path: every per-step buffer in one allocation at fixed, staggered offsets
    /// ([`crate::linalg::block`]: the step's speed must not depend on where the allocator
    /// happened to put them); `slots` says where. Empty on the layered path.
    block: Block,
    slots: FactoredSlots,
    /// Layered path: the features entering W_{l+1}, s(W_l ...), for l = 1..L-1 (index l - 1).
    /// ReLU is applied in place: the backward mask needs only the sign, and post-activation
    /// values are positive exactly where pre-activation values are.
    pre: Vec<Mat<f64>>,
    /// Layered path: two d x N buffers for the backpropagated signal.
    delta: [Mat<f64>; 2],
    /// Squared Frobenius norms of H1, W1..WL from the last gradient pass.
    sq: Vec<f64>,
    /// Mini-batch mask over the N samples (empty: full batch). See [`Workspace::set_batch`].
    batch: Vec<bool>,
}

/// Where the factored path's buffers sit in the workspace's block, in memory order (the
/// regions the step splits the block into rely on it): Z^T and dZ^T (N x K), then
/// prod[l-1] = (W_L ... W_l)^T for l = 1..L-1 (d x K), then back[l] = (dZ H1^T W_1^T ...
/// W_l^T)^T for l = 0..L-1 (d x K), then the softmax scratch (per-sample maxima, sums and
/// log-sums, 3 N values).
#[derive(Debug, Default)]
struct FactoredSlots {
    z: Slot,
    dz: Slot,
    prod: Vec<Slot>,
    back: Vec<Slot>,
    scratch: Slot,
}

impl FactoredSlots {
    /// Lay the buffers out in the order above.
    fn layout(n: usize, k: usize, d: usize, layers: usize) -> (Self, Block) {
        let mut lay = Layout::new();
        let z = lay.matrix(n, k);
        let dz = lay.matrix(n, k);
        let prod = (1..layers).map(|_| lay.matrix(d, k)).collect();
        let back = (0..layers).map(|_| lay.matrix(d, k)).collect();
        let scratch = lay.vector(fit_scratch_len(n));
        let slots = FactoredSlots {
            z,
            dz,
            prod,
            back,
            scratch,
        };
        (slots, lay.build())
    }
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
        let (slots, block) = if factored {
            FactoredSlots::layout(n, k, d, layers)
        } else {
            (FactoredSlots::default(), Block::default())
        };
        Workspace {
            path,
            par,
            labels: spec.labels(),
            z: if factored {
                Mat::zeros(0, 0)
            } else {
                Mat::zeros(k, n)
            },
            dz: if factored {
                Mat::zeros(0, 0)
            } else {
                Mat::zeros(k, n)
            },
            block,
            slots,
            pre: if factored {
                vec![]
            } else {
                mats(layers - 1, d, n)
            },
            sq: vec![0.0; layers + 1],
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
            block,
            slots,
            labels,
            sq,
            batch,
            ..
        } = self;
        let FactoredSlots {
            z: zs,
            dz: dzs,
            prod,
            back,
            scratch,
        } = &*slots;
        // The block's regions, in memory order: Z^T | dZ^T | prod | back | scratch.
        let prod_start = prod.first().map_or(back[0].off, |s| s.off);
        let (mut rz, rest) = block.region().split(dzs.off);
        let (mut rdz, rest) = rest.split(prod_start);
        let (mut rprod, rest) = rest.split(back[0].off);
        let (mut rback, mut rscratch) = rest.split(scratch.off);
        // prod[l-1] = A_l^T = W_l^T A_{l+1}^T for l = 1..L-1, built from the top (A_L = W_L).
        for l in (1..layers).rev() {
            let (mut lower, upper) = rprod.by_ref().split(prod[l - 1].end());
            let above = if l + 1 == layers {
                params.w(layers).transpose()
            } else {
                upper.into_mat(prod[l])
            };
            matmul(
                lower.mat_mut(prod[l - 1]),
                Accum::Replace,
                params.w(l).transpose(),
                above,
                1.0,
                par,
            );
        }
        let rprod = rprod.freeze();
        let a1t = product_t(params, &rprod, prod, 1);
        // Z^T = H1^T A_1^T.
        matmul(
            rz.mat_mut(*zs),
            Accum::Replace,
            params.h1().transpose(),
            a1t,
            1.0,
            par,
        );
        let z = rz.freeze().mat(*zs);
        let Some(grad) = grad else {
            let fit = fit_transposed_view(
                spec.loss,
                z,
                labels,
                None,
                None,
                rscratch.slice_mut(*scratch),
            );
            return Self::parts(spec, params, fit);
        };
        let mask = (!batch.is_empty()).then_some(batch.as_slice());
        let fit = fit_transposed_view(
            spec.loss,
            z,
            labels,
            Some(rdz.mat_mut(*dzs)),
            mask,
            rscratch.slice_mut(*scratch),
        );
        let dz = rdz.freeze().mat(*dzs);
        // dH1 = A_1^T dZ + lambda_h H1.
        sq[0] = set_scaled_par(grad.mats[0].as_mut(), params.h1(), spec.lambda_h, par);
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
            rback.mat_mut(back[0]),
            Accum::Replace,
            params.h1(),
            dz,
            1.0,
            par,
        );
        for l in 1..layers {
            let (lower, mut upper) = rback.by_ref().split(back[l - 1].end());
            matmul(
                upper.mat_mut(back[l]),
                Accum::Replace,
                params.w(l),
                lower.into_mat(back[l - 1]),
                1.0,
                par,
            );
        }
        let rback = rback.freeze();
        // dW_l = A_{l+1}^T back[l-1]^T + lambda_w W_l, with A_{L+1} = I.
        for l in 1..=layers {
            let g = &mut grad.mats[l];
            sq[l] = set_scaled_par(g.as_mut(), params.w(l), spec.lambda_w, par);
            if l == layers {
                add_transposed_into(g, rback.mat(back[l - 1]), par);
            } else {
                let at = product_t(params, &rprod, prod, l + 1);
                matmul(
                    g.as_mut(),
                    Accum::Add,
                    at,
                    rback.mat(back[l - 1]).transpose(),
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
fn product_t<'a>(
    params: &'a Params,
    view: &Frozen<'a>,
    prod: &[Slot],
    l: usize,
) -> MatRef<'a, f64> {
    if l == params.layers() {
        params.w(l).transpose()
    } else {
        view.mat(prod[l - 1])
    }
}

/// dst += src^T (dst K x d, src d x K). Each entry is one addition, so splitting the columns
/// of `dst` across the threads of `par` leaves the bits unchanged.
fn add_transposed_into(dst: &mut Mat<f64>, src: MatRef<'_, f64>, par: Par) {
    use rayon::prelude::*;
    let parts = crate::linalg::threads::element_parts(par, dst.nrows(), dst.ncols());
    if parts <= 1 {
        add_transposed_block(dst.as_mut(), src, 0);
        return;
    }
    let mut blocks = Vec::with_capacity(parts);
    let mut rest = dst.as_mut();
    for r in crate::linalg::threads::col_blocks(src.nrows(), parts) {
        let (d, next) = rest.split_at_col_mut(r.len());
        blocks.push((r.start, d));
        rest = next;
    }
    blocks
        .into_par_iter()
        .for_each(|(c0, d)| add_transposed_block(d, src, c0));
}

/// Columns c0.. of dst += src^T, for the block `dst` (the columns c0..c0 + dst.ncols()).
fn add_transposed_block(mut dst: MatMut<'_, f64>, src: MatRef<'_, f64>, c0: usize) {
    for j in 0..dst.ncols() {
        for (i, x) in dst.as_mut().col_mut(j).iter_mut().enumerate() {
            *x += src[(c0 + j, i)];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::threads::par;

    /// The split transposed add (W_L's gradient) equals the serial one bit for bit; K x d = 37 x
    /// 1000 is above the split threshold, and the odd widths give unequal blocks.
    #[test]
    fn split_transposed_add_gives_the_serial_bits() {
        let src = Mat::from_fn(1000, 37, |i, j| ((i * 7 + j * 13) as f64).sin() * 1e-3);
        let init = Mat::from_fn(37, 1000, |i, j| ((i * 3 + j * 5) as f64).cos());
        let mut serial = init.clone();
        add_transposed_into(&mut serial, src.as_ref(), Par::Seq);
        for threads in [2, 3] {
            let mut split = init.clone();
            add_transposed_into(&mut split, src.as_ref(), par(threads));
            for j in 0..1000 {
                for i in 0..37 {
                    assert_eq!(serial[(i, j)].to_bits(), split[(i, j)].to_bits());
                    // Independently: one addition per entry.
                    assert_eq!(serial[(i, j)], init[(i, j)] + src[(j, i)]);
                }
            }
        }
    }

    /// `set_scaled_par` writes the serial values and returns the serial sum's bits (per-column
    /// sums added in column order), at several thread counts.
    #[test]
    fn split_scaled_copy_gives_the_serial_bits() {
        let src = Mat::from_fn(301, 97, |i, j| {
            ((i * 31 + j * 17) as f64).sin() * 1e3_f64.powi((i % 5) as i32 - 2)
        });
        let mut a = Mat::zeros(301, 97);
        let sa = set_scaled(a.as_mut(), src.as_ref(), 0.37);
        for threads in [2, 3, 8] {
            let mut b = Mat::zeros(301, 97);
            let sb = set_scaled_par(b.as_mut(), src.as_ref(), 0.37, par(threads));
            assert_eq!(sa.to_bits(), sb.to_bits(), "{threads} threads");
            for j in 0..97 {
                for i in 0..301 {
                    assert_eq!(a[(i, j)].to_bits(), b[(i, j)].to_bits());
                }
            }
        }
    }
}
