use super::{Optimizer, StepInfo};
use crate::grad::elementwise::{col, col_mut, dispatch};
use faer::{MatMut, MatRef};

/// Plain gradient descent: X <- X - lr * dL/dX. No state.
pub struct Gd;

impl Optimizer for Gd {
    fn state_len(&self, _rows: usize, _cols: usize) -> usize {
        0
    }

    fn update(
        &mut self,
        at: StepInfo,
        param_in: MatRef<'_, f64>,
        param_out: MatMut<'_, f64>,
        grad: MatRef<'_, f64>,
        _state: &mut [f64],
    ) -> Result<(), crate::Error> {
        let mut param_out = param_out;
        if crate::simd::cols::descend(param_out.as_mut(), param_in, grad, at.lr).is_none() {
            dispatch(
                #[inline(always)]
                || descend(at.lr, param_in, param_out, grad),
            );
        }
        Ok(())
    }

    fn fused_rule(&self) -> Option<super::FusedRule> {
        Some(super::FusedRule::Gd)
    }
}

/// param_out = param_in - lr * grad, column by column.
#[inline(always)]
fn descend(
    lr: f64,
    param_in: MatRef<'_, f64>,
    mut param_out: MatMut<'_, f64>,
    grad: MatRef<'_, f64>,
) {
    for j in 0..param_in.ncols() {
        match (
            col(param_in, j),
            col(grad, j),
            col_mut(param_out.as_mut(), j),
        ) {
            (Some(p), Some(g), Some(out)) => {
                let n = out.len().min(p.len()).min(g.len());
                let (out, p, g) = (&mut out[..n], &p[..n], &g[..n]);
                for i in 0..n {
                    out[i] = p[i] - lr * g[i];
                }
            }
            _ => {
                let (p, g) = (param_in.col(j), grad.col(j));
                for (i, out) in param_out.as_mut().col_mut(j).iter_mut().enumerate() {
                    *out = p[i] - lr * g[i];
                }
            }
        }
    }
}
