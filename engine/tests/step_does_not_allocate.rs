//! The training step's hot loop must not allocate: a counting global allocator watches
//! `Trainer::advance` for every gradient path and activation after one warm-up step (faer's
//! matmul keeps per-thread scratch that is sized on first use).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use ufm::grad::GradPath;
use ufm::init::{gaussian_matrix, stream};
use ufm::job::Schedule;
use ufm::model::{Activation, LossKind, ModelSpec, Params};
use ufm::optim::{Gd, LrSchedule, Optimizer};
use ufm::train::{TrainOptions, Trainer};

struct Counting;
static COUNT: AtomicUsize = AtomicUsize::new(0);
static ARMED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Only the measuring thread counts (the test harness allocates on other threads).
    static MEASURING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn counting() -> bool {
    ARMED.load(Ordering::Relaxed) && MEASURING.try_with(|m| m.get()).unwrap_or(false)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            COUNT.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        if counting() {
            COUNT.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Measurements take this lock: the allocation counter is global.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn allocations_in_steps(act: Activation, loss: LossKind, path: GradPath, layers: usize) -> usize {
    allocations_with(act, loss, path, layers, |_| Box::new(Gd), None)
}

fn allocations_with(
    act: Activation,
    loss: LossKind,
    path: GradPath,
    layers: usize,
    make: impl Fn(&ModelSpec) -> Box<dyn Optimizer>,
    batch: Option<usize>,
) -> usize {
    // The counter is global: tests in this binary run on parallel threads, so measure one at a time.
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let spec = ModelSpec::balanced(5, 4, 24, layers, act, loss, 1e-3);
    let params = Params {
        mats: spec
            .shapes()
            .iter()
            .enumerate()
            .map(|(i, &(r, c))| gaussian_matrix(r, c, 0.3, &mut stream(0, i)))
            .collect(),
    };
    let opts = TrainOptions {
        max_steps: 100,
        tol: 0.0,
        record_every: 1000,
        path,
        par: faer::Par::Seq,
    };
    let schedule = LrSchedule {
        base: 0.1,
        schedule: Some(Schedule::Cosine {
            steps: None,
            min_lr: 0.0,
            warmup: 3,
        }),
        max_steps: 100,
    };
    let mut t = Trainer::new(&spec, params, make(&spec), 0.1, opts).with_schedule(schedule);
    if let Some(b) = batch {
        t = t.with_batches(b, 1);
    }
    assert!(t.advance().unwrap());
    COUNT.store(0, Ordering::SeqCst);
    MEASURING.with(|m| m.set(true));
    ARMED.store(true, Ordering::SeqCst);
    for _ in 0..20 {
        assert!(t.advance().unwrap());
    }
    ARMED.store(false, Ordering::SeqCst);
    MEASURING.with(|m| m.set(false));
    COUNT.load(Ordering::SeqCst)
}

#[test]
fn training_steps_allocate_nothing() {
    for layers in [1, 2, 4] {
        for loss in [LossKind::CrossEntropy, LossKind::Mse] {
            for (act, path) in [
                (Activation::Linear, GradPath::Factored),
                (Activation::Linear, GradPath::Layered),
                (Activation::Relu, GradPath::Layered),
            ] {
                let n = allocations_in_steps(act, loss, path, layers);
                assert_eq!(
                    n, 0,
                    "{n} allocations in 20 steps ({act:?}, {loss:?}, {path:?}, L={layers})"
                );
            }
        }
    }
}

#[test]
fn every_shipped_optimizer_and_minibatches_allocate_nothing() {
    let cases: [(&str, serde_json::Value, Option<usize>); 9] = [
        ("gd", serde_json::json!({}), None),
        ("sgd", serde_json::json!({}), Some(7)),
        ("sgd", serde_json::json!({}), Some(20)),
        ("momentum", serde_json::json!({"dampening": 0.1}), None),
        ("nesterov", serde_json::json!({}), None),
        ("adam", serde_json::json!({}), None),
        ("adamw", serde_json::json!({}), None),
        // The multi-stage gradient-flow integrator (stages, evaluations, control, retries).
        ("flow", serde_json::json!({}), None),
        ("flow", serde_json::json!({"method": "bs32"}), None),
    ];
    for (id, params, batch) in cases {
        for (act, path) in [
            (Activation::Linear, GradPath::Factored),
            (Activation::Relu, GradPath::Layered),
        ] {
            let n = allocations_with(
                act,
                LossKind::CrossEntropy,
                path,
                2,
                |_| Box::new(ufm::plugin::builtin().optimizer(id, &params).unwrap()),
                batch,
            );
            assert_eq!(
                n, 0,
                "{n} allocations in 20 steps ({id}, batch {batch:?}, {act:?})"
            );
        }
    }
}

#[test]
fn fused_steps_allocate_nothing() {
    // The fused update of wide linear models (train.update = "fused"), GD and momentum, full
    // batch and mini-batches: the same contract as the separate step.
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let momentum = serde_json::json!({"momentum": 0.9, "dampening": 0.1});
    for (name, batch) in [("gd", None), ("gd", Some(7)), ("momentum", None)] {
        let spec = ModelSpec::balanced(
            5,
            4,
            24,
            3,
            Activation::Linear,
            LossKind::CrossEntropy,
            1e-3,
        );
        let params = Params {
            mats: spec
                .shapes()
                .iter()
                .enumerate()
                .map(|(i, &(r, c))| gaussian_matrix(r, c, 0.3, &mut stream(0, i)))
                .collect(),
        };
        let opts = TrainOptions {
            max_steps: 100,
            tol: 0.0,
            record_every: 1000,
            path: GradPath::Factored,
            par: faer::Par::Seq,
        };
        let opt: Box<dyn Optimizer> = if name == "gd" {
            Box::new(Gd)
        } else {
            Box::new(ufm::optim::WithFusedRule {
                inner: Box::new(
                    ufm::plugin::builtin()
                        .optimizer("momentum", &momentum)
                        .unwrap(),
                ),
                rule: ufm::train::FusedRule::Momentum {
                    momentum: 0.9,
                    dampening: 0.1,
                },
            })
        };
        let mut t =
            Trainer::with_update(&spec, params, opt, 0.1, opts, ufm::train::UpdateMode::Fused)
                .unwrap();
        if let Some(b) = batch {
            t = t.with_batches(b, 1);
        }
        assert!(t.fused_rule().is_some());
        assert!(t.advance().unwrap());
        COUNT.store(0, Ordering::SeqCst);
        MEASURING.with(|m| m.set(true));
        ARMED.store(true, Ordering::SeqCst);
        for _ in 0..20 {
            assert!(t.advance().unwrap());
        }
        ARMED.store(false, Ordering::SeqCst);
        MEASURING.with(|m| m.set(false));
        let n = COUNT.load(Ordering::SeqCst);
        assert_eq!(
            n, 0,
            "{n} allocations in 20 fused steps ({name}, batch {batch:?})"
        );
    }
}

#[test]
fn record_step_measurements_allocate_nothing() {
    // What a record step adds to the step loop (the logit structure of the curve row: class
    // means, a Jacobi SVD, the structure identification, the family distance) runs in buffers
    // the trainer allocated up front: linear (factored and fused) and ReLU models.
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for (act, layers, fused) in [
        (Activation::Linear, 1, false),
        (Activation::Linear, 3, false),
        (Activation::Linear, 3, true),
        (Activation::Relu, 3, false),
    ] {
        let spec = ModelSpec::balanced(5, 4, 24, layers, act, LossKind::CrossEntropy, 1e-3);
        let params = Params {
            mats: spec
                .shapes()
                .iter()
                .enumerate()
                .map(|(i, &(r, c))| gaussian_matrix(r, c, 0.3, &mut stream(0, i)))
                .collect(),
        };
        let opts = TrainOptions {
            max_steps: 100,
            tol: 0.0,
            record_every: 1000,
            path: if act == Activation::Relu {
                GradPath::Layered
            } else {
                GradPath::Factored
            },
            par: faer::Par::Seq,
        };
        let mode = if fused {
            ufm::train::UpdateMode::Fused
        } else {
            ufm::train::UpdateMode::Separate
        };
        let mut t = Trainer::with_update(&spec, params, Box::new(Gd), 0.1, opts, mode).unwrap();
        assert!(t.advance().unwrap());
        assert!(t.measure_logits().is_some());
        COUNT.store(0, Ordering::SeqCst);
        MEASURING.with(|m| m.set(true));
        ARMED.store(true, Ordering::SeqCst);
        for _ in 0..5 {
            assert!(t.advance().unwrap());
            assert!(t.measure_logits().is_some());
        }
        ARMED.store(false, Ordering::SeqCst);
        MEASURING.with(|m| m.set(false));
        let n = COUNT.load(Ordering::SeqCst);
        assert_eq!(
            n, 0,
            "{n} allocations in 5 record-step measurements ({act:?}, L={layers}, fused {fused})"
        );
    }
}
