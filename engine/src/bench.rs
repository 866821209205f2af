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
    /// CPU time of this thread over the same steps: on a shared machine, where other processes
    /// take the core away part of the time, steps per CPU second is the steadier figure.
    pub cpu_seconds: f64,
    pub steps_per_cpu_sec: f64,
    /// Full loss at the parameters after `steps` updates.
    pub loss: f64,
    /// "fast" (factored linear gradient) or "reference" (layer-by-layer backpropagation).
    pub path: String,
    /// `train.threads` of the timed run. `cpu_seconds` counts the calling thread only.
    pub threads: usize,
    /// CPU time of every thread of the process over the same steps (the work a parallel run
    /// spends; on a loaded machine its ratio to the 1-thread figure shows the overhead).
    pub process_cpu_seconds: f64,
    /// The machine it ran on: CPU model, SIMD level used, load average.
    #[serde(flatten)]
    pub machine: Machine,
}

/// What a timing depends on besides the code: recorded with every benchmark line, since the
/// development machines are shared and of different kinds.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// `model name` from /proc/cpuinfo ("unknown" elsewhere).
    pub cpu: String,
    /// The SIMD level the engine dispatched to (`UFM_SIMD` may lower it).
    pub simd: String,
    /// The best level this CPU supports.
    pub simd_detected: String,
    /// 1-minute load average when the line was measured (/proc/loadavg; -1 if unknown).
    pub load: f64,
}

/// The current [`Machine`].
pub fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(-1.0);
    Machine {
        cpu,
        simd: crate::simd::level().name().into(),
        simd_detected: crate::simd::detected().name().into(),
        load,
    }
}

/// Initial parameters: from `init_dir` when given, else `scaled` (std 1/sqrt(d)) with `seed`.
/// Errors are those of [`crate::init`] (an unreadable `init_dir` is Input).
pub fn initial_params(
    s: &Setting,
    init_dir: Option<&Path>,
    seed: u64,
) -> Result<Params, crate::Error> {
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
/// `threads` as `train.threads` (1 = sequential).
pub fn measure(
    s: &Setting,
    params: Params,
    steps: u64,
    reference: bool,
    threads: usize,
) -> BenchResult {
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
        par: crate::linalg::threads::par(threads),
    };
    let mut trainer = Trainer::new(&spec, params, Box::new(Gd), s.lr, opts);
    let start = Instant::now();
    let cpu_start = thread_cpu_seconds();
    let process_start = process_cpu_seconds();
    for _ in 0..steps {
        if !trainer.advance().unwrap_or(false) {
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = thread_cpu_seconds() - cpu_start;
    let process_cpu_seconds = process_cpu_seconds() - process_start;
    BenchResult {
        setting: s.name.to_string(),
        steps: trainer.steps(),
        seconds,
        steps_per_sec: trainer.steps() as f64 / seconds,
        cpu_seconds,
        steps_per_cpu_sec: trainer.steps() as f64 / cpu_seconds,
        loss: trainer.loss().loss,
        path: if reference { "reference" } else { "fast" }.to_string(),
        threads,
        process_cpu_seconds,
        machine: machine(),
    }
}

/// CPU time consumed by the calling thread (CLOCK_THREAD_CPUTIME_ID; 0 where unavailable).
pub fn thread_cpu_seconds() -> f64 {
    cpu_clock(CpuClock::Thread)
}

/// CPU time of the whole process (every thread), in seconds (0 where unavailable).
pub fn process_cpu_seconds() -> f64 {
    cpu_clock(CpuClock::Process)
}

enum CpuClock {
    Thread,
    Process,
}

fn cpu_clock(which: CpuClock) -> f64 {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec for clock_gettime to write.
        let id = match which {
            CpuClock::Thread => libc::CLOCK_THREAD_CPUTIME_ID,
            CpuClock::Process => libc::CLOCK_PROCESS_CPUTIME_ID,
        };
        if unsafe { libc::clock_gettime(id, &mut ts) } == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
    }
    0.0
}

/// The reproducer of the missing `vzeroupper` in faer's x86 GEMM (`docs/upstream-faer-vzeroupper.md`):
/// the time of a block of glibc `exp` calls alone, right after a raw faer product, and right after
/// the same product through [`crate::linalg::matmul`]. On Intel AVX-512 cores the middle one is
/// several times slower; on AMD Zen the three agree.
#[derive(Clone, Debug, Serialize)]
pub struct TransitionResult {
    /// Nanoseconds per `exp` call, clean register state.
    pub exp_alone_ns: f64,
    /// Nanoseconds per `exp` call right after a raw faer product.
    pub exp_after_faer_ns: f64,
    /// Nanoseconds per `exp` call right after the wrapped product.
    pub exp_after_wrapper_ns: f64,
    /// exp_after_faer_ns / exp_alone_ns.
    pub ratio_faer: f64,
    /// exp_after_wrapper_ns / exp_alone_ns.
    pub ratio_wrapper: f64,
    /// XINUSE right after the raw product (bit 2: ymm upper, bit 6: zmm upper); None if unreadable.
    pub xinuse_after_faer: Option<u64>,
    #[serde(flatten)]
    pub machine: Machine,
}

/// Run the reproducer: `reps` rounds of (70 x 70) x (70 x 10) product, then 500 `exp` calls
/// (the Figure-1 softmax's count); only the exp block is timed. The three variants are
/// interleaved round by round so that load on a shared machine hits them alike.
pub fn exp_after_matmul(reps: usize) -> TransitionResult {
    use crate::linalg;
    use faer::{Accum, Mat};
    use std::hint::black_box;
    let a = Mat::from_fn(70, 70, |i, j| ((i * 7 + j) as f64).sin());
    let b = Mat::from_fn(70, 10, |i, j| ((i + 3 * j) as f64).cos());
    let mut c = Mat::<f64>::zeros(70, 10);
    let xs: Vec<f64> = (0..500).map(|i| -(i as f64) * 0.01).collect();
    let exps = |xs: &[f64]| -> f64 {
        let mut s = 0.0;
        for &x in xs {
            s += black_box(x).exp();
        }
        s
    };
    let mut t = [0.0f64; 3];
    let mut xinuse = None;
    let mut sink = 0.0;
    for _ in 0..reps {
        for (v, slot) in t.iter_mut().enumerate() {
            match v {
                0 => linalg::clean_upper_state(),
                1 => {
                    faer::linalg::matmul::matmul(
                        c.as_mut(),
                        Accum::Replace,
                        a.as_ref(),
                        b.as_ref(),
                        1.0,
                        Par::Seq,
                    );
                    xinuse = linalg::xstate::in_use();
                }
                _ => linalg::matmul(
                    c.as_mut(),
                    Accum::Replace,
                    a.as_ref(),
                    b.as_ref(),
                    1.0,
                    Par::Seq,
                ),
            }
            let start = Instant::now();
            sink += exps(&xs);
            *slot += start.elapsed().as_secs_f64();
        }
    }
    black_box(sink);
    let per = |x: f64| x * 1e9 / (reps * xs.len()) as f64;
    TransitionResult {
        exp_alone_ns: per(t[0]),
        exp_after_faer_ns: per(t[1]),
        exp_after_wrapper_ns: per(t[2]),
        ratio_faer: t[1] / t[0],
        ratio_wrapper: t[2] / t[0],
        xinuse_after_faer: xinuse,
        machine: machine(),
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
    threads: usize,
) -> Result<ScalingPoint, crate::Error> {
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
        par: crate::linalg::threads::par(threads),
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
