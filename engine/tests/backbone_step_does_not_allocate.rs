//! A backbone run's training step allocates nothing either (counting allocator, after one warm-up
//! step), for linear and ReLU heads, full batch and mini-batches.

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use ufm_engine::backbone::{trainable_shapes, BackboneObjective, BackboneSpec};
use ufm_engine::data::Dataset;
use ufm_engine::grad::GradPath;
use ufm_engine::init::{gaussian_matrix, stream};
use ufm_engine::model::{Activation, LossKind, ModelSpec, Params};
use ufm_engine::optim::Gd;
use ufm_engine::train::{Objective, TrainOptions, Trainer};

fn allocations(head_act: Activation, bb_layers: usize, batch: Option<usize>) -> usize {
    let spec = ModelSpec::balanced(5, 4, 16, 3, head_act, LossKind::CrossEntropy, 1e-3);
    let arch = BackboneSpec {
        input: 12,
        width: 20,
        output: 16,
        layers: bb_layers,
        activation: Activation::Relu,
        weight_decay: 1e-3,
    };
    let data = Dataset {
        x: gaussian_matrix(12, spec.samples(), 1.0, &mut stream(5, 0)),
        labels: spec.labels(),
    };
    let params = Params {
        mats: trainable_shapes(&spec, &arch)
            .iter()
            .enumerate()
            .map(|(i, &(r, c))| gaussian_matrix(r, c, 0.3, &mut stream(0, i)))
            .collect(),
    };
    let opts = TrainOptions {
        max_steps: 100,
        tol: 0.0,
        record_every: 1000,
        path: GradPath::Auto,
        par: faer::Par::Seq,
    };
    let bb = BackboneObjective::new(&spec, arch, data, None, opts.path, opts.par).unwrap();
    let obj = Objective::Backbone(Box::new(bb));
    let mut t = Trainer::with_objective(&spec, params, obj, Box::new(Gd), 0.05, opts);
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
fn backbone_step_does_not_allocate() {
    for act in [Activation::Linear, Activation::Relu] {
        for layers in [1, 3] {
            for batch in [None, Some(7)] {
                let n = allocations(act, layers, batch);
                assert_eq!(
                    n, 0,
                    "{act:?} head, {layers} backbone layers, batch {batch:?}"
                );
            }
        }
    }
}
