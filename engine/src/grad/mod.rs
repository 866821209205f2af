//! Exact loss and gradient of the deep UFM, computed into a [`Workspace`] allocated once per run.
//!
//! Two evaluation paths give the same numbers up to rounding:
//! - [`GradPath::Factored`] (linear models only) never forms a d x N feature matrix. With
//!   A_l = W_L ... W_l (K x d) and B_l = dZ H1^T W_1^T ... W_{l-1}^T (K x d), the gradient is
//!   dW_l = A_{l+1}^T B_l and dH1 = A_1^T dZ, costing O(L K d^2 + K d N) per step instead of the
//!   O(L d^2 N) that layer-by-layer backpropagation (and autograd) spends. With K << d and N this
//!   is where ufm's speed comes from.
//! - [`GradPath::Layered`] is plain backpropagation through every layer; it handles ReLU and is
//!   the reference the factored path is tested against.

pub(crate) mod elementwise;
mod fit;
mod workspace;

pub use fit::{
    fit_and_dz, fit_and_dz_batch, fit_only, fit_scratch_len, fit_transposed, fit_transposed_batch,
    fit_transposed_columns,
};
pub use workspace::Workspace;

use serde::{Deserialize, Serialize};

/// Which algorithm evaluates the gradient. `Auto` picks `Factored` for linear models.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GradPath {
    #[default]
    Auto,
    Factored,
    Layered,
}

/// The loss split into its fit term g(Z) and its regulariser.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LossParts {
    pub loss: f64,
    pub fit: f64,
    pub reg: f64,
}

impl LossParts {
    pub fn is_finite(&self) -> bool {
        self.loss.is_finite()
    }
}

#[cfg(test)]
mod tests;
