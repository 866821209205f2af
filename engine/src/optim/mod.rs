//! Optimisers: per-matrix update rules with host-owned state (the optax-like split that the
//! plugin ABI mirrors: the trainer owns every state buffer, so it can checkpoint them), and the
//! host-side learning-rate schedules.
//!
//! Updates are out-of-place (`param_in` -> `param_out`): the trainer keeps two parameter buffers
//! and swaps them, so the last state with a finite loss survives a diverging step at no cost.
//! Built-in rules come from `ufm-plugin-std` through the plugin vtables ([`crate::plugin`]).

mod gd;
mod schedule;

pub use gd::Gd;
pub use schedule::{LrSchedule, Schedule};

use faer::{MatMut, MatRef};

/// Where an update happens: `step` is 1-based, `lr` the learning rate for this step, `tensor`
/// the matrix index (0 = H1, l = W_l).
#[derive(Clone, Copy, Debug)]
pub struct StepInfo {
    pub step: u64,
    pub lr: f64,
    pub tensor: usize,
}

/// One update rule, applied to every matrix of the model in turn.
pub trait Optimizer: Send {
    /// Number of f64 state entries needed for a rows x cols matrix.
    fn state_len(&self, rows: usize, cols: usize) -> usize;

    /// Fill a fresh state buffer for a rows x cols matrix (zeros unless the rule says otherwise).
    fn init_state(&mut self, _rows: usize, _cols: usize, state: &mut [f64]) {
        state.fill(0.0);
    }

    /// param_out = update(param_in, grad, state) for the step described by `at`.
    fn update(
        &mut self,
        at: StepInfo,
        param_in: MatRef<'_, f64>,
        param_out: MatMut<'_, f64>,
        grad: MatRef<'_, f64>,
        state: &mut [f64],
    ) -> Result<(), String>;

    /// The rule this optimiser computes, when the trainer may apply it inside the fused step
    /// for wide linear models ([`crate::train::fused`]). `None` (the default, and every plugin
    /// loaded by path) means the separate update.
    fn fused_rule(&self) -> Option<FusedRule> {
        None
    }
}

/// An optimiser (a built-in one, through its plugin vtable) declared to compute `rule`: the
/// separate path calls `inner`, the fused step applies `rule` itself.
pub struct WithFusedRule {
    pub inner: Box<dyn Optimizer>,
    pub rule: FusedRule,
}

impl Optimizer for WithFusedRule {
    fn state_len(&self, rows: usize, cols: usize) -> usize {
        self.inner.state_len(rows, cols)
    }
    fn init_state(&mut self, rows: usize, cols: usize, state: &mut [f64]) {
        self.inner.init_state(rows, cols, state)
    }
    fn update(
        &mut self,
        at: StepInfo,
        param_in: MatRef<'_, f64>,
        param_out: MatMut<'_, f64>,
        grad: MatRef<'_, f64>,
        state: &mut [f64],
    ) -> Result<(), String> {
        self.inner.update(at, param_in, param_out, grad, state)
    }
    fn fused_rule(&self) -> Option<FusedRule> {
        Some(self.rule)
    }
}

/// An update rule the trainer's fused step ([`crate::train`]) can apply: the rules whose
/// arithmetic the optimiser layer defines and the fused kernel re-implements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FusedRule {
    /// p <- p - lr g.
    Gd,
    /// Heavy ball as `ufm-plugin-std`'s `momentum`: v <- g at step 1, then
    /// v <- momentum v + (1 - dampening) g; p <- p - lr v.
    Momentum { momentum: f64, dampening: f64 },
}
