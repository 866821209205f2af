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
    let cpu_start = thread_cpu_seconds();
    for _ in 0..steps {
        if !trainer.advance().unwrap_or(false) {
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = thread_cpu_seconds() - cpu_start;
    BenchResult {
        setting: s.name.to_string(),
        steps: trainer.steps(),
        seconds,
        steps_per_sec: trainer.steps() as f64 / seconds,
        cpu_seconds,
        steps_per_cpu_sec: trainer.steps() as f64 / cpu_seconds,
        loss: trainer.loss().loss,
        path: if reference { "reference" } else { "fast" }.to_string(),
        machine: machine(),
    }
}

/// CPU time consumed by the calling thread (CLOCK_THREAD_CPUTIME_ID; 0 where unavailable).
fn thread_cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec for clock_gettime to write.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
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
