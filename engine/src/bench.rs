//! The benchmark settings of BENCHMARKS.md and a timer for GD steps on them.
//!
//! Every setting is cross-entropy GD with the same lambda on every matrix, started from i.i.d.
//! N(0, 1/d) entries (the `scaled` initialiser, seed 0) or from `.npy` files, so that the numpy
//! and JAX peers in `bench/compare/` can run the identical trajectory.

use crate::grad::GradPath;
use crate::job::{BuiltinInit, ScaledInit};
use crate::model::{Activation, LossKind, ModelSpec, Params};
use crate::optim::Gd;
use crate::train::{TrainOptions, Trainer};
use faer::Par;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// One benchmark setting.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    pub name: &'static str,
    pub classes: usize,
    pub per_class: usize,
    pub width: usize,
    pub layers: usize,
    pub activation: Activation,
    pub lambda: f64,
    pub lr: f64,
}

impl Setting {
    pub fn spec(&self) -> ModelSpec {
        ModelSpec::balanced(
            self.classes,
            self.per_class,
            self.width,
            self.layers,
            self.activation,
            LossKind::CrossEntropy,
            self.lambda,
        )
    }
}

/// The paper's Figure 1 and 6 settings and two larger ones.
pub const SETTINGS: [Setting; 4] = [
    Setting {
        name: "figure1",
        classes: 10,
        per_class: 5,
        width: 70,
        layers: 2,
        activation: Activation::Linear,
        lambda: 1.0 / 1024.0,
        lr: 0.5,
    },
    Setting {
        name: "figure6",
        classes: 10,
        per_class: 5,
        width: 70,
        layers: 3,
        activation: Activation::Relu,
        lambda: 1.0 / 512.0,
        lr: 0.5,
    },
    Setting {
        name: "large",
        classes: 20,
        per_class: 20,
        width: 256,
        layers: 4,
        activation: Activation::Linear,
        lambda: 1.0 / 1024.0,
        lr: 0.5,
    },
    Setting {
        name: "big",
        classes: 100,
        per_class: 10,
        width: 1024,
        layers: 3,
        activation: Activation::Linear,
        lambda: 1.0 / 1024.0,
        lr: 0.5,
    },
];

/// Look a setting up by name.
pub fn setting(name: &str) -> Option<Setting> {
    SETTINGS.iter().copied().find(|s| s.name == name)
}

/// What one timing produced.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub setting: String,
    pub steps: u64,
    pub seconds: f64,
    pub steps_per_sec: f64,
    /// Full loss at the parameters after `steps` updates.
    pub loss: f64,
    /// "fast" (factored linear gradient) or "reference" (layer-by-layer backpropagation).
    pub path: String,
}

/// Initial parameters: from `init_dir` when given, else `scaled` (std 1/sqrt(d)) with `seed`.
pub fn initial_params(s: &Setting, init_dir: Option<&Path>, seed: u64) -> Result<Params, String> {
    let spec = s.spec();
    match init_dir {
        Some(dir) => crate::init::read_dir(&spec, dir),
        None => crate::init::initialise(
            &spec,
            &BuiltinInit::Scaled(ScaledInit {
                scale: 1.0,
                seed,
                multiplier: 1.0,
            }),
            Path::new("."),
        ),
    }
}

/// Time `steps` GD updates (excluding set-up and the step-0 evaluation).
pub fn measure(s: &Setting, params: Params, steps: u64, reference: bool) -> BenchResult {
    let spec = s.spec();
    let path = if reference {
        GradPath::Layered
    } else {
        GradPath::Auto
    };
    let opts = TrainOptions {
        max_steps: steps,
        tol: 0.0,
        record_every: steps.max(1),
        path,
        par: Par::Seq,
    };
    let mut trainer = Trainer::new(&spec, params, Box::new(Gd), s.lr, opts);
    let start = Instant::now();
    for _ in 0..steps {
        if !trainer.advance().unwrap_or(false) {
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    BenchResult {
        setting: s.name.to_string(),
        steps: trainer.steps(),
        seconds,
        steps_per_sec: trainer.steps() as f64 / seconds,
        loss: trainer.loss().loss,
        path: if reference { "reference" } else { "fast" }.to_string(),
    }
}
