//! The update of the rules the engine knows entry by entry ([`FusedRule`]: gd, sgd, momentum)
//! split across `train.threads`, for wide models where the update is a visible share of the
//! step (about a tenth of a `big` step at one thread, see BENCHMARKS.md).
//!
//! The optimiser object itself runs on one thread (it is `&mut self`, and a plugin's update is
//! opaque). For a rule whose per-entry arithmetic the engine defines, the trainer instead calls
//! [`update_in_parallel`], which computes exactly the expressions of `ufm-plugin-std` (and of
//! [`super::Gd`]) on fixed column blocks ([`col_blocks`]): each entry sees the same operations
//! in the same order, so the bits equal those of the serial update whatever the thread count
//! (`training_bits_do_not_depend_on_the_thread_count` checks gd and momentum).

use super::{FusedRule, Optimizer, StepInfo};
use crate::error::Error;
use crate::grad::elementwise::{col, col_mut, dispatch};
use crate::linalg::threads::{col_blocks, element_parts};
use faer::{MatMut, MatRef, Par};
use rayon::prelude::*;

/// One tensor's update as the trainer applies it: with more than one thread and a rule known
/// entry by entry, across the threads ([`update_in_parallel`], same bits); otherwise, or when
/// the split does not apply, by the optimiser itself.
pub fn update_tensor(
    optimizer: &mut dyn Optimizer,
    at: StepInfo,
    param_in: MatRef<'_, f64>,
    mut param_out: MatMut<'_, f64>,
    grad: MatRef<'_, f64>,
    state: &mut [f64],
    par: Par,
) -> Result<(), Error> {
    let rule = match par {
        Par::Seq => None,
        _ => optimizer.fused_rule(),
    };
    if let Some(rule) = rule {
        if update_in_parallel(rule, at, param_in, param_out.as_mut(), grad, state, par) {
            return Ok(());
        }
    }
    optimizer.update(at, param_in, param_out, grad, state)
}

/// param_out (and the momentum state) = one step of `rule`, in parallel over column blocks.
/// Returns false, having written nothing, when the split does not apply (one thread, a small
/// matrix, shapes or a state length that are not the rule's, or a view without unit row stride):
/// the caller then runs the optimiser's own update. Allocates the block list (only with more
/// than one thread, where the step loop may allocate anyway).
pub fn update_in_parallel(
    rule: FusedRule,
    at: StepInfo,
    param_in: MatRef<'_, f64>,
    param_out: MatMut<'_, f64>,
    grad: MatRef<'_, f64>,
    state: &mut [f64],
    par: Par,
) -> bool {
    let (rows, cols) = (param_in.nrows(), param_in.ncols());
    let parts = element_parts(par, rows, cols);
    let per_entry = match rule {
        FusedRule::Gd => 0,
        FusedRule::Momentum { .. } => 1,
    };
    let unit = |rs: isize| rs == 1 || rows <= 1;
    if parts <= 1
        || (param_out.nrows(), param_out.ncols()) != (rows, cols)
        || (grad.nrows(), grad.ncols()) != (rows, cols)
        || state.len() != per_entry * rows * cols
        || !unit(param_in.row_stride())
        || !unit(param_out.row_stride())
        || !unit(grad.row_stride())
    {
        return false;
    }
    let mut blocks = Vec::with_capacity(parts);
    let (mut out_rest, mut state_rest) = (param_out, state);
    for r in col_blocks(cols, parts) {
        let (out, o_next) = out_rest.split_at_col_mut(r.len());
        let (st, s_next) = state_rest.split_at_mut(per_entry * rows * r.len());
        blocks.push((r.start, out, st));
        (out_rest, state_rest) = (o_next, s_next);
    }
    let lr = at.lr;
    blocks.into_par_iter().for_each(|(c0, mut out, st)| {
        let w = out.ncols();
        let (p, g) = (param_in.subcols(c0, w), grad.subcols(c0, w));
        if rule == FusedRule::Gd && crate::simd::cols::descend(out.as_mut(), p, g, lr).is_some() {
            return;
        }
        dispatch(
            #[inline(always)]
            || step_block(rule, at.step, lr, p, out, g, st),
        )
    });
    true
}

/// One column block: the expressions of `ufm-plugin-std`'s `gd` and `momentum` (`p -= lr v`
/// is `p_out = p_in - lr v`; Rust neither contracts into FMA nor reorders, so equal
/// expressions give equal bits).
#[inline(always)]
fn step_block(
    rule: FusedRule,
    step: u64,
    lr: f64,
    p: MatRef<'_, f64>,
    mut out: MatMut<'_, f64>,
    g: MatRef<'_, f64>,
    state: &mut [f64],
) {
    let rows = p.nrows();
    for j in 0..p.ncols() {
        let (Some(pc), Some(gc), Some(oc)) = (col(p, j), col(g, j), col_mut(out.as_mut(), j))
        else {
            // Unreachable: unit row strides were checked.
            continue;
        };
        let (pc, gc, oc) = (&pc[..rows], &gc[..rows], &mut oc[..rows]);
        match rule {
            FusedRule::Gd => {
                for i in 0..rows {
                    oc[i] = pc[i] - lr * gc[i];
                }
            }
            FusedRule::Momentum {
                momentum,
                dampening,
            } => {
                let v = &mut state[j * rows..(j + 1) * rows];
                if step <= 1 {
                    for i in 0..rows {
                        v[i] = gc[i];
                        oc[i] = pc[i] - lr * v[i];
                    }
                } else {
                    let (mu, keep) = (momentum, 1.0 - dampening);
                    for i in 0..rows {
                        v[i] = mu * v[i] + keep * gc[i];
                        oc[i] = pc[i] - lr * v[i];
                    }
                }
            }
        }
    }
}
