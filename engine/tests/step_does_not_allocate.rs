//! The training step's hot loop must not allocate: a counting global allocator watches
//! `Trainer::advance` for every gradient path and activation after one warm-up step (faer's
//! matmul keeps per-thread scratch that is sized on first use).

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use ufm_engine::grad::GradPath;
use ufm_engine::init::{gaussian_matrix, stream};
use ufm_engine::job::Schedule;
use ufm_engine::model::{Activation, LossKind, ModelSpec, Params};
use ufm_engine::optim::{Gd, LrSchedule, Optimizer};
use ufm_engine::train::{TrainOptions, Trainer};

/// The seeded start every measurement here uses: N(0, 0.3^2) entries, one stream per matrix.
fn start(spec: &ModelSpec) -> Params {
    Params {
        mats: spec
            .shapes()
            .iter()
            .enumerate()
            .map(|(i, &(r, c))| gaussian_matrix(r, c, 0.3, &mut stream(0, i)))
            .collect(),
    }
}

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
    let spec = ModelSpec::balanced(5, 4, 24, layers, act, loss, 1e-3);
    let params = start(&spec);
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
    counting_alloc::count(|| {
        for _ in 0..20 {
            assert!(t.advance().unwrap());
        }
    })
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
                |_| {
                    Box::new(
                        ufm_engine::plugin::builtin()
                            .optimizer(id, &params)
                            .unwrap(),
                    )
                },
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
        let params = start(&spec);
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
            Box::new(ufm_engine::optim::WithFusedRule {
                inner: Box::new(
                    ufm_engine::plugin::builtin()
                        .optimizer("momentum", &momentum)
                        .unwrap(),
                ),
                rule: ufm_engine::train::FusedRule::Momentum {
                    momentum: 0.9,
                    dampening: 0.1,
                },
            })
        };
        let mut t = Trainer::with_update(
            &spec,
            params,
            opt,
            0.1,
            opts,
            ufm_engine::train::UpdateMode::Fused,
        )
        .unwrap();
        if let Some(b) = batch {
            t = t.with_batches(b, 1);
        }
        assert!(t.fused_rule().is_some());
        assert!(t.advance().unwrap());
        let n = counting_alloc::count(|| {
            for _ in 0..20 {
                assert!(t.advance().unwrap());
            }
        });
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
    for (act, layers, fused) in [
        (Activation::Linear, 1, false),
        (Activation::Linear, 3, false),
        (Activation::Linear, 3, true),
        (Activation::Relu, 3, false),
    ] {
        let spec = ModelSpec::balanced(5, 4, 24, layers, act, LossKind::CrossEntropy, 1e-3);
        let params = start(&spec);
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
            ufm_engine::train::UpdateMode::Fused
        } else {
            ufm_engine::train::UpdateMode::Separate
        };
        let mut t = Trainer::with_update(&spec, params, Box::new(Gd), 0.1, opts, mode).unwrap();
        assert!(t.advance().unwrap());
        assert!(t.measure_logits().is_some());
        let n = counting_alloc::count(|| {
            for _ in 0..5 {
                assert!(t.advance().unwrap());
                assert!(t.measure_logits().is_some());
            }
        });
        assert_eq!(
            n, 0,
            "{n} allocations in 5 record-step measurements ({act:?}, L={layers}, fused {fused})"
        );
    }
}
