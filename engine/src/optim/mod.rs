//! Optimisers: per-matrix update rules with host-owned state (the optax-like split that the
//! plugin ABI mirrors: the trainer owns every state buffer, so it can checkpoint them), and the
//! host-side learning-rate schedules.
//!
//! Updates are out-of-place (`param_in` -> `param_out`): the trainer keeps two parameter buffers
//! and swaps them, so the last state with a finite loss survives a diverging step at no cost.
//! Built-in rules come from `ufm-plugin-std` through the plugin vtables ([`crate::plugin`]).

mod gd;
mod parallel;
mod schedule;

pub use gd::Gd;
pub use parallel::{update_in_parallel, update_tensor};
pub use schedule::{LrSchedule, Schedule};

use crate::Error;
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

    /// param_out = update(param_in, grad, state) for the step described by `at`. A plugin's
    /// failure is an [`Error::PluginCall`] (the built-in rules cannot fail).
    fn update(
        &mut self,
        at: StepInfo,
        param_in: MatRef<'_, f64>,
        param_out: MatMut<'_, f64>,
        grad: MatRef<'_, f64>,
        state: &mut [f64],
    ) -> Result<(), Error>;

    /// The rule this optimiser computes, when the trainer may apply it inside the fused step
    /// for wide linear models ([`crate::train::fused`]). `None` (the default, and every plugin
    /// loaded by path) means the separate update.
    fn fused_rule(&self) -> Option<FusedRule> {
        None
    }

    /// Stages per step of a multi-stage rule (e.g. the `flow` integrator; plugin ABI minor 1).
    /// 1 (the default): the trainer calls [`Optimizer::update`] once per matrix and step.
    fn stages(&self) -> u32 {
        1
    }

    /// One stage of a multi-stage step, in place on `param` (see `stage` in
    /// include/ufm_plugin.h): `grad` is the gradient at `param`; the last stage adds this
    /// matrix's squared scaled local error to `err_sq`.
    fn stage(
        &mut self,
        _at: StepInfo,
        _stage: u32,
        _param: MatMut<'_, f64>,
        _grad: MatRef<'_, f64>,
        _state: &mut [f64],
        _err_sq: &mut f64,
    ) -> Result<(), Error> {
        Err(Error::Runtime("this optimizer has no stages".into()))
    }

    /// Accept or reject a multi-stage step of size `lr` with RMS error `err_rms`, and the step
    /// size to try next.
    fn control(&mut self, _lr: f64, _err_rms: f64) -> Result<(bool, f64), Error> {
        Err(Error::Runtime(
            "this optimizer has no step-size control".into(),
        ))
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
    ) -> Result<(), Error> {
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
