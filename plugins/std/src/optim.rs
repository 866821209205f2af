//! Update rules (PyTorch conventions). Each reads its params strictly (unknown fields are
//! errors) and keeps per-entry state interleaved (entry (i, j) owns S consecutive values).
//!
//! The params types are also the engine's job schema for the built-in optimisers (`"name":
//! "adam"` and so on, with the host's `lr` and `schedule` around them): their fields, defaults
//! and field docs are defined here only, and the JSON Schema of a job is generated from them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ufm_plugin_sdk::{elementwise, parse_params, MatMut, MatRef, Optimizer};

/// A parameter out of its range: the field and what is wrong, kept apart. Through the plugin
/// ABI it travels as text (`params.<field>: <message>`, its Display); the engine, which links
/// this crate, calls the rules' `check` directly on the job's typed section and names the job
/// field (`optimizer.<field>`) from `field`, without reading the text back.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamError {
    /// The parameter, as the params object spells it (`momentum`, `beta1`, ...).
    pub field: &'static str,
    /// What is wrong with its value (`must be in [0, 1], got 2`).
    pub message: String,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "params.{}: {}", self.field, self.message)
    }
}

impl From<ParamError> for String {
    fn from(e: ParamError) -> String {
        e.to_string()
    }
}

fn in_range(name: &'static str, v: f64, lo: f64, hi: f64, hi_open: bool) -> Result<(), ParamError> {
    let ok = v.is_finite() && v >= lo && if hi_open { v < hi } else { v <= hi };
    if ok {
        Ok(())
    } else {
        let close = if hi_open { ')' } else { ']' };
        Err(ParamError {
            field: name,
            message: format!("must be in [{lo}, {hi}{close}, got {v}"),
        })
    }
}

/// Gradient descent: p <- p - lr g. Stateless. (`sgd` is the same rule; the host picks the batch.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gd {}

impl Optimizer for Gd {
    fn create(params: &serde_json::Value) -> Result<Self, String> {
        parse_params(params)
    }
    fn state_len(&self, _rows: usize, _cols: usize) -> usize {
        0
    }
    fn update(
        &self,
        _: u64,
        lr: f64,
        p: MatMut<'_>,
        g: MatRef<'_>,
        s: &mut [f64],
    ) -> Result<(), String> {
        elementwise::<0>(p, g, s, |p, g, _| *p -= lr * g)
    }
}

fn default_momentum() -> f64 {
    0.9
}

/// Heavy ball: v <- g at step 1, then v <- mu v + (1 - dampening) g; p <- p - lr v.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Momentum {
    /// In [0, 1].
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// In [0, 1].
    #[serde(default)]
    pub dampening: f64,
}

impl Momentum {
    /// The ranges `create` enforces: momentum and dampening in [0, 1].
    pub fn check(&self) -> Result<(), ParamError> {
        in_range("momentum", self.momentum, 0.0, 1.0, false)?;
        in_range("dampening", self.dampening, 0.0, 1.0, false)
    }
}

impl Optimizer for Momentum {
    fn create(params: &serde_json::Value) -> Result<Self, String> {
        let m: Self = parse_params(params)?;
        m.check()?;
        Ok(m)
    }
    fn state_len(&self, rows: usize, cols: usize) -> usize {
        rows * cols
    }
    fn update(
        &self,
        step: u64,
        lr: f64,
        p: MatMut<'_>,
        g: MatRef<'_>,
        s: &mut [f64],
    ) -> Result<(), String> {
        let (mu, keep) = (self.momentum, 1.0 - self.dampening);
        if step <= 1 {
            elementwise::<1>(p, g, s, |p, g, [v]| {
                *v = g;
                *p -= lr * *v;
            })
        } else {
            elementwise::<1>(p, g, s, |p, g, [v]| {
                *v = mu * *v + keep * g;
                *p -= lr * *v;
            })
        }
    }
}

/// Nesterov momentum: v <- mu v + g (v = g at step 1); p <- p - lr (g + mu v).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Nesterov {
    #[serde(default = "default_momentum")]
    pub momentum: f64,
}

impl Nesterov {
    /// The range `create` enforces: momentum in [0, 1].
    pub fn check(&self) -> Result<(), ParamError> {
        in_range("momentum", self.momentum, 0.0, 1.0, false)
    }
}

impl Optimizer for Nesterov {
    fn create(params: &serde_json::Value) -> Result<Self, String> {
        let m: Self = parse_params(params)?;
        m.check()?;
        Ok(m)
    }
    fn state_len(&self, rows: usize, cols: usize) -> usize {
        rows * cols
    }
    fn update(
        &self,
        step: u64,
        lr: f64,
        p: MatMut<'_>,
        g: MatRef<'_>,
        s: &mut [f64],
    ) -> Result<(), String> {
        let mu = if step <= 1 { 0.0 } else { self.momentum };
        let look = self.momentum;
        elementwise::<1>(p, g, s, |p, g, [v]| {
            *v = mu * *v + g;
            *p -= lr * (g + look * *v);
        })
    }
}

fn b1() -> f64 {
    0.9
}
fn b2() -> f64 {
    0.999
}
fn eps() -> f64 {
    1e-8
}
fn wd() -> f64 {
    0.01
}

/// Adam with bias correction: m, v moments; p <- p - lr m^ / (sqrt(v^) + eps).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Adam {
    #[serde(default = "b1")]
    pub beta1: f64,
    #[serde(default = "b2")]
    pub beta2: f64,
    #[serde(default = "eps")]
    pub eps: f64,
}

impl Adam {
    /// The ranges `create` enforces: beta1, beta2 in [0, 1), eps finite and > 0.
    pub fn check(&self) -> Result<(), ParamError> {
        in_range("beta1", self.beta1, 0.0, 1.0, true)?;
        in_range("beta2", self.beta2, 0.0, 1.0, true)?;
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(ParamError {
                field: "eps",
                message: format!("must be a finite number > 0, got {}", self.eps),
            });
        }
        Ok(())
    }

    fn step(
        &self,
        step: u64,
        lr: f64,
        p: MatMut<'_>,
        g: MatRef<'_>,
        s: &mut [f64],
    ) -> Result<(), String> {
        let (b1, b2, eps) = (self.beta1, self.beta2, self.eps);
        let t = step.max(1) as f64;
        let c1 = 1.0 / (1.0 - b1.powf(t));
        let c2 = 1.0 / (1.0 - b2.powf(t));
        elementwise::<2>(p, g, s, |p, g, [m, v]| {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= lr * (*m * c1) / ((*v * c2).sqrt() + eps);
        })
    }
}

impl Optimizer for Adam {
    fn create(params: &serde_json::Value) -> Result<Self, String> {
        let a: Self = parse_params(params)?;
        a.check()?;
        Ok(a)
    }
    fn state_len(&self, rows: usize, cols: usize) -> usize {
        2 * rows * cols
    }
    fn update(
        &self,
        step: u64,
        lr: f64,
        p: MatMut<'_>,
        g: MatRef<'_>,
        s: &mut [f64],
    ) -> Result<(), String> {
        self.step(step, lr, p, g, s)
    }
}

/// AdamW: decoupled weight decay p <- p (1 - lr weight_decay), then the Adam step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdamW {
    #[serde(default = "b1")]
    pub beta1: f64,
    #[serde(default = "b2")]
    pub beta2: f64,
    #[serde(default = "eps")]
    pub eps: f64,
    /// Decoupled weight decay (p <- p (1 - lr weight_decay) each step), on top of the model's
    /// lambda.
    #[serde(default = "wd")]
    pub weight_decay: f64,
}

impl AdamW {
    /// The ranges `create` enforces: Adam's, and weight_decay finite and >= 0.
    pub fn check(&self) -> Result<(), ParamError> {
        self.adam().check()?;
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(ParamError {
                field: "weight_decay",
                message: format!("must be a finite number >= 0, got {}", self.weight_decay),
            });
        }
        Ok(())
    }
}

impl Optimizer for AdamW {
    fn create(params: &serde_json::Value) -> Result<Self, String> {
        let a: Self = parse_params(params)?;
        a.check()?;
        Ok(a)
    }
    fn state_len(&self, rows: usize, cols: usize) -> usize {
        2 * rows * cols
    }
    fn update(
        &self,
        step: u64,
        lr: f64,
        p: MatMut<'_>,
        g: MatRef<'_>,
        s: &mut [f64],
    ) -> Result<(), String> {
        let (b1, b2, eps) = (self.beta1, self.beta2, self.eps);
        let t = step.max(1) as f64;
        let c1 = 1.0 / (1.0 - b1.powf(t));
        let c2 = 1.0 / (1.0 - b2.powf(t));
        let shrink = 1.0 - lr * self.weight_decay;
        elementwise::<2>(p, g, s, |p, g, [m, v]| {
            *p *= shrink;
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= lr * (*m * c1) / ((*v * c2).sqrt() + eps);
        })
    }
}

impl AdamW {
    fn adam(&self) -> Adam {
        Adam {
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
        }
    }
}
