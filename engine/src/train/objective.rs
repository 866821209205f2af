//! What a [`super::Trainer`] minimises: the deep UFM's loss over free features, or a deep head on
//! a trainable backbone ([`crate::backbone`]). One enum (not a trait object) so the UFM step
//! pays a single predictable branch.

use crate::backbone::BackboneObjective;
use crate::grad::{GradPath, LossParts, Workspace};
use crate::model::{ModelSpec, Params};

/// The loss a trainer evaluates. There is one per trainer, so the size difference between the
/// variants costs nothing, and the deep UFM's workspace stays inline (no extra indirection on the
/// UFM path).
#[allow(clippy::large_enum_variant)]
pub enum Objective {
    /// Free features: parameters [H1, W_1..W_L].
    Ufm(Workspace),
    /// Backbone run: parameters [W_1..W_L, A_1, b_1, ..., A_m, b_m].
    Backbone(Box<BackboneObjective>),
}

impl Objective {
    /// Loss at `params` with the full gradient written into `grad` (same shapes as `params`).
    pub fn loss_and_grad(
        &mut self,
        spec: &ModelSpec,
        params: &Params,
        grad: &mut Params,
    ) -> LossParts {
        match self {
            Objective::Ufm(ws) => ws.loss_and_grad(spec, params, grad),
            Objective::Backbone(b) => b.loss_and_grad(params, Some(grad)),
        }
    }

    /// See [`Workspace::set_batch`].
    pub fn set_batch(&mut self, cols: &[usize]) {
        match self {
            Objective::Ufm(ws) => ws.set_batch(cols),
            Objective::Backbone(b) => b.set_batch(cols),
        }
    }

    /// The head's gradient algorithm (never `Auto`).
    pub fn path(&self) -> GradPath {
        match self {
            Objective::Ufm(ws) => ws.path(),
            Objective::Backbone(b) => b.path(),
        }
    }
}
