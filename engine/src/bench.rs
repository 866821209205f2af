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

/// The width-scaling model (issue: wide models): linear, L = 3, K = 10, n = 5,
/// lambda = 2^-10, GD with lr 0.5 from the `scaled` start, at width `width`.
pub fn scaling_setting(width: usize) -> Setting {
    Setting {
        name: "scaling",
        classes: 10,
        per_class: 5,
        width,
        layers: 3,
        activation: Activation::Linear,
        lambda: 1.0 / 1024.0,
        lr: 0.5,
    }
}

/// One width of the scaling benchmark, measured in its own process (so that the peak memory
/// is this width's alone).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct ScalingPoint {
    pub width: usize,
    pub steps: u64,
    /// Seconds per step (mean over `steps`, after the step-0 evaluation), wall clock.
    pub step_seconds: f64,
    /// The same in CPU time of the measuring thread (less sensitive to a loaded machine).
    pub step_cpu_seconds: f64,
    /// "fused" or "separate".
    pub update: String,
    /// End-of-run analysis (every spectrum and metric of result.json), seconds.
    pub analysis_seconds: f64,
    /// "full" or "top" per d x d weight, as the analysis chose.
    pub spectrum: Vec<String>,
    /// Parameter bytes (8 per entry of H1, W1..WL).
    pub param_bytes: u64,
    /// Peak resident memory of the process (VmHWM of /proc/self/status), bytes.
    pub peak_bytes: u64,
    /// Bytes the step must move at least: every d x d matrix read three times and written
    /// once per step by the fused step (propose read, commit read and write), 8 bytes each.
    pub min_step_bytes: u64,
    pub loss: f64,
}

/// CPU time of the calling thread, seconds.
pub fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Peak resident set size of this process (`VmHWM`), bytes; 0 where /proc is missing.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Train `steps` GD steps of [`scaling_setting`] at `width` with `update`, then run the
/// end-of-run analysis with `analysis` options; times both.
pub fn scaling_point(
    width: usize,
    steps: u64,
    update: crate::train::UpdateMode,
    analysis: &crate::job::AnalysisSection,
    analyse: bool,
    low_rank_start: bool,
) -> Result<ScalingPoint, String> {
    let s = scaling_setting(width);
    let spec = s.spec();
    // `scaled` (i.i.d. N(0, 1/d): full-rank weights) or the paper's paired low-rank solution
    // (rank-K/2 weights, which GD keeps low-rank: every update has the same row/column spaces).
    let params = if low_rank_start {
        crate::init::initialise(
            &spec,
            &BuiltinInit::LowRank(crate::job::StructuredInit {
                scale: 7.0,
                noise: 0.0,
                seed: 0,
                multiplier: 1.0,
            }),
            Path::new("."),
        )?
    } else {
        initial_params(&s, None, 0)?
    };
    let param_bytes = 8 * spec.parameter_count() as u64;
    let opts = TrainOptions {
        max_steps: steps,
        tol: 0.0,
        record_every: steps.max(1),
        path: GradPath::Auto,
        par: Par::Seq,
    };
    let mut trainer = Trainer::with_update(&spec, params, Box::new(Gd), s.lr, opts, update)?;
    let start = Instant::now();
    let cpu = thread_cpu_seconds();
    for _ in 0..steps {
        if !trainer.advance()? {
            break;
        }
    }
    let step_cpu_seconds = (thread_cpu_seconds() - cpu) / trainer.steps().max(1) as f64;
    let step_seconds = start.elapsed().as_secs_f64() / trainer.steps().max(1) as f64;
    let fused = trainer.fused_rule().is_some();
    let loss = trainer.loss().loss;
    let steps = trainer.steps();
    let start = Instant::now();
    let opts = crate::analysis::AnalysisOptions::from(analysis);
    let spectrum = if analyse {
        let params = trainer.take_params();
        drop(trainer);
        let a = crate::analysis::analyze_with(&spec, &params, &opts, None, &mut |_| {});
        a.weights.iter().map(|w| w.info.spectrum.clone()).collect()
    } else {
        Vec::new()
    };
    let analysis_seconds = start.elapsed().as_secs_f64();
    let d = width as u64;
    Ok(ScalingPoint {
        width,
        steps,
        step_seconds,
        step_cpu_seconds,
        update: if fused { "fused" } else { "separate" }.into(),
        analysis_seconds,
        spectrum,
        param_bytes,
        peak_bytes: peak_rss_bytes(),
        min_step_bytes: 4 * 8 * d * d * (spec.layers as u64 - 1),
        loss,
    })
}
