//! The `flow` optimiser (gradient flow by an adaptive embedded Runge-Kutta pair, through the
//! multi-stage plugin ABI): against the closed-form flow of a quadratic, and, through the
//! trainer on a deep UFM, against gradient descent with shrinking learning rates (whose iterates
//! approach the flow at first order in lr).

use faer::Mat;
use ufm_engine::grad::GradPath;
use ufm_engine::init::{gaussian_matrix, stream};
use ufm_engine::model::{Activation, LossKind, ModelSpec, Params};
use ufm_engine::optim::{Gd, Optimizer, StepInfo};
use ufm_engine::train::{TrainOptions, Trainer};

fn flow(params: serde_json::Value) -> Box<dyn Optimizer> {
    Box::new(
        ufm_engine::plugin::builtin()
            .optimizer("flow", &params)
            .unwrap(),
    )
}

/// Integrate dy/dt = -a y (the gradient flow of sum a_i y_i^2 / 2) to time `t_end` with the
/// plugin's stages and controller, following the host protocol of `Trainer::advance_staged`
/// (restart from y0 on rejection, FSAL gradient reused on acceptance).
fn integrate_quadratic(
    opt: &mut dyn Optimizer,
    a: &[f64],
    y0: &[f64],
    t_end: f64,
) -> (Vec<f64>, usize) {
    let n = a.len();
    let grad_of = |y: &Mat<f64>| Mat::from_fn(n, 1, |i, _| a[i] * y[(i, 0)]);
    let mut y = Mat::from_fn(n, 1, |i, _| y0[i]);
    let mut g = grad_of(&y);
    let mut state = vec![0.0; opt.state_len(n, 1)];
    let stages = opt.stages();
    let (mut t, mut dt, mut steps) = (0.0f64, 1e-3f64, 0usize);
    while t < t_end {
        let h = dt.min(t_end - t);
        let mut next = y.clone();
        let mut err_sq = 0.0;
        let mut gn = g.clone();
        for s in 0..stages {
            let at = StepInfo {
                step: steps as u64 + 1,
                lr: h,
                tensor: 0,
            };
            opt.stage(at, s, next.as_mut(), gn.as_ref(), &mut state, &mut err_sq)
                .unwrap();
            if s + 1 < stages {
                gn = grad_of(&next);
            }
        }
        let (accept, proposal) = opt.control(h, (err_sq / n as f64).sqrt()).unwrap();
        if accept {
            y = next;
            g = gn;
            t = if h >= t_end - t { t_end } else { t + h };
            steps += 1;
        }
        dt = proposal;
        assert!(steps < 1_000_000);
    }
    ((0..n).map(|i| y[(i, 0)]).collect(), steps)
}

#[test]
fn flow_matches_the_closed_form_flow_of_a_quadratic_to_its_tolerance() {
    // Curvatures spanning 30x (a mildly stiff problem), y(t) = y0 exp(-a t).
    let a = [0.1, 0.5, 1.0, 2.0, 3.0];
    let y0 = [1.0, -2.0, 0.5, 3.0, -1.5];
    let t_end = 4.0;
    for method in ["dopri5", "bs32"] {
        let mut errs = vec![];
        for rtol in [1e-5, 1e-8] {
            let mut opt = flow(serde_json::json!({"method": method, "rtol": rtol, "atol": 1e-14}));
            let (y, steps) = integrate_quadratic(opt.as_mut(), &a, &y0, t_end);
            let err = (0..a.len())
                .map(|i| ((y[i] - y0[i] * (-a[i] * t_end).exp()) / y0[i].abs()).abs())
                .fold(0.0, f64::max);
            // The global error of a controlled integration of a contracting problem stays
            // within a modest multiple of the local tolerance (each local error <= tol, damped
            // afterwards): 20 x rtol, relative to |y0|.
            assert!(
                err < 20.0 * rtol,
                "{method} rtol {rtol}: error {err} after {steps} steps"
            );
            eprintln!("{method} rtol {rtol}: err {err}, {steps} steps");
            errs.push(err);
        }
        // Tolerance proportionality: 1000x tighter local tolerance, at least 100x smaller error.
        assert!(errs[1] < errs[0] / 100.0, "{method}: {errs:?}");
    }
}

fn spec() -> ModelSpec {
    ModelSpec::balanced(3, 2, 5, 2, Activation::Linear, LossKind::CrossEntropy, 1e-2)
}

fn start(spec: &ModelSpec) -> Params {
    Params {
        mats: spec
            .shapes()
            .iter()
            .enumerate()
            .map(|(i, &(r, c))| gaussian_matrix(r, c, 0.6, &mut stream(3, i)))
            .collect(),
    }
}

fn opts(max_steps: u64) -> TrainOptions {
    TrainOptions {
        max_steps,
        tol: 0.0,
        record_every: 1_000_000,
        path: GradPath::Factored,
        par: faer::Par::Seq,
    }
}

fn distance(a: &Params, b: &Params) -> f64 {
    a.mats
        .iter()
        .zip(&b.mats)
        .map(|(x, y)| (x - y).squared_norm_l2())
        .sum::<f64>()
        .sqrt()
}

/// The flow at time `t_end` through the trainer (max_time ends exactly there).
fn flow_at(t_end: f64, params: serde_json::Value) -> (Params, Trainer) {
    let s = spec();
    let mut t = Trainer::new(&s, start(&s), flow(params), 0.05, opts(10_000_000));
    t.set_max_time(t_end);
    let out = t.run(None, &mut |_| {});
    assert_eq!(
        out.status,
        ufm_engine::train::Status::MaxSteps,
        "{:?}",
        out.message
    );
    assert_eq!(t.time(), t_end);
    (t.params().clone(), t)
}

#[test]
fn gradient_descent_approaches_the_flow_at_first_order_in_lr() {
    let t_end = 3.0;
    let (reference, tr) = flow_at(t_end, serde_json::json!({"rtol": 1e-11, "atol": 1e-14}));
    let (loose, _) = flow_at(t_end, serde_json::json!({}));
    let scale = reference
        .mats
        .iter()
        .map(|m| m.squared_norm_l2())
        .sum::<f64>()
        .sqrt();
    // The default tolerances (rtol 1e-6) against a 1e5x tighter integration: the local
    // tolerance times a modest growth factor over a horizon of a few time units.
    let d = distance(&loose, &reference) / scale;
    assert!(d < 1e-5, "default-tolerance flow off by {d}");
    assert!(tr.steps() > 10, "the reference took {} steps", tr.steps());
    let s = spec();
    let mut errs = vec![];
    for m in [150u64, 300, 600, 1200] {
        let lr = t_end / m as f64;
        let mut t = Trainer::new(&s, start(&s), Box::new(Gd), lr, opts(m));
        t.run(None, &mut |_| {});
        assert_eq!(t.steps(), m);
        errs.push(distance(t.params(), &reference) / scale);
    }
    // Euler's global error is C lr + O(lr^2): halving lr halves it (ratio 2 up to the
    // second-order term, which at these lr changes the ratio by a few percent).
    eprintln!("gd errors {errs:?}, default flow {d}");
    for w in errs.windows(2) {
        let ratio = w[0] / w[1];
        assert!((1.85..2.15).contains(&ratio), "errors {errs:?}");
    }
    // And the flow is what GD converges to: the error is far above the flow's own accuracy.
    assert!(errs[3] > 100.0 * d, "{errs:?} vs {d}");
}

#[test]
fn flow_runs_through_a_job_and_reports_time() {
    let job = ufm_engine::job::parse_value(serde_json::json!({
        "schema_version": 1,
        "model": {"classes": 3, "per_class": 2, "width": 5, "layers": 2, "lambda": 0.01},
        "init": {"name": "gaussian", "std": 0.6, "seed": 3},
        "optimizer": {"name": "flow", "lr": 0.05, "rtol": 1e-7},
        "train": {"max_steps": 100000, "record_every": 5, "max_time": 2.5, "tol": 0}
    }))
    .unwrap();
    let spec = ufm_engine::job::validate(&job).unwrap();
    let out =
        ufm_engine::run::execute(&job, &spec, std::path::Path::new(""), None, &mut |_| {}).unwrap();
    let last = out.curve.last().unwrap();
    assert_eq!(last.time, 2.5);
    assert!(out.curve.windows(2).all(|w| w[1].time > w[0].time));
    assert_eq!(
        out.result.message.as_deref(),
        Some("reached train.max_time = 2.5")
    );
}
