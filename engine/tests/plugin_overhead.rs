//! Benchmark: the cost of the plugin call path on a Figure-1 step (K = 10, n = 5, d = 70, L = 2,
//! linear, cross-entropy, factored gradient). Three ways to run the same GD rule:
//! the engine's native out-of-place `Gd`, the built-in (`ufm-plugin-std` linked in, called
//! through its C vtable) and the same library loaded by path with libloading.
//!
//! Run: `cargo test --release -p ufm-engine --test plugin_overhead -- --ignored --nocapture`
//! (ignored by default: timings on a shared machine are noisy). It fails when calling the rule
//! in a library loaded by path costs more than 2% of a step over calling the same code linked in
//! (best of several interleaved rounds). It also prints the cost of the in-place adapter (the
//! ABI updates in place, the trainer double-buffers, so the adapter copies param_in first)
//! against the engine's native out-of-place `Gd`.

use std::path::Path;
use std::time::Instant;
use ufm_engine::bench::{initial_params, setting};
use ufm_engine::grad::GradPath;
use ufm_engine::optim::{Gd, Optimizer};
use ufm_engine::train::{TrainOptions, Trainer};

fn std_library() -> std::path::PathBuf {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release");
    let name = format!(
        "{}ufm_plugin_std{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    [target.join(&name), target.join("deps").join(&name)]
        .into_iter()
        .find(|p| p.exists())
        .expect("build with cargo build --release --workspace first")
}

/// Seconds per step over `steps` steps.
fn per_step(make: &dyn Fn() -> Box<dyn Optimizer>, steps: u64) -> f64 {
    let s = setting("figure1").unwrap();
    let spec = s.spec();
    let params = initial_params(&s, None, 0).unwrap();
    let opts = TrainOptions {
        max_steps: steps,
        tol: 0.0,
        record_every: steps,
        path: GradPath::Auto,
        par: faer::Par::Seq,
    };
    let mut t = Trainer::new(&spec, params, make(), s.lr, opts);
    let start = Instant::now();
    for _ in 0..steps {
        assert!(t.advance().unwrap());
    }
    start.elapsed().as_secs_f64() / steps as f64
}

#[test]
#[ignore]
fn plugin_call_costs_under_two_percent_of_a_figure1_step() {
    let lib = ufm_engine::plugin::load(&std_library()).unwrap();
    let params = serde_json::json!({});
    let native = || Box::new(Gd) as Box<dyn Optimizer>;
    let builtin = || {
        Box::new(
            ufm_engine::plugin::builtin()
                .optimizer("gd", &params)
                .unwrap(),
        ) as Box<dyn Optimizer>
    };
    let by_path = || Box::new(lib.optimizer("gd", &params).unwrap()) as Box<dyn Optimizer>;
    let steps = 2000;
    let (mut a, mut b, mut c) = (f64::MAX, f64::MAX, f64::MAX);
    per_step(&native, 500); // warm-up
    for _ in 0..7 {
        a = a.min(per_step(&native, steps));
        b = b.min(per_step(&builtin, steps));
        c = c.min(per_step(&by_path, steps));
    }
    let pct = |x: f64, base: f64| 100.0 * (x - base) / base;
    println!(
        "figure1 step: native out-of-place gd {:.2} us; std gd linked in (vtable + in-place adapter) {:.2} us ({:+.2}% vs native); \
         std gd loaded by path {:.2} us ({:+.2}% vs linked in, {:+.2}% vs native)",
        a * 1e6,
        b * 1e6,
        pct(b, a),
        c * 1e6,
        pct(c, b),
        pct(c, a)
    );
    // The call itself, isolated from the arithmetic: L + 1 = 3 updates per step through the
    // library loaded by path, on 1 x 1 matrices (whole-step differences above are within the
    // noise of a shared machine).
    let mut opt = lib.optimizer("gd", &params).unwrap();
    let (p_in, mut p_out, g) = (
        faer::Mat::<f64>::zeros(1, 1),
        faer::Mat::<f64>::zeros(1, 1),
        faer::Mat::<f64>::zeros(1, 1),
    );
    let calls = 3_000_000u64;
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for i in 0..calls {
            let at = ufm_engine::optim::StepInfo {
                step: i + 1,
                lr: 0.5,
                tensor: 0,
            };
            opt.update(at, p_in.as_ref(), p_out.as_mut(), g.as_ref(), &mut [])
                .unwrap();
        }
        best = best.min(start.elapsed().as_secs_f64() / calls as f64);
    }
    let share = 100.0 * 3.0 * best / a;
    println!(
        "plugin call (by path, 1x1 update incl. adapter): {:.1} ns; 3 calls per Figure-1 step = {:.3}% of a {:.2} us step",
        best * 1e9,
        share,
        a * 1e6
    );
    assert!(share < 2.0, "the plugin calls cost {share:.3}% of a step");
}
