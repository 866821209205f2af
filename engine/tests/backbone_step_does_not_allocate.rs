//! A backbone run's training step allocates nothing either (counting allocator, after one warm-up
//! step), for linear and ReLU heads, full batch and mini-batches.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use ufm::backbone::{trainable_shapes, BackboneObjective, BackboneSpec};
use ufm::data::Dataset;
use ufm::grad::GradPath;
use ufm::init::{gaussian_matrix, stream};
use ufm::model::{Activation, LossKind, ModelSpec, Params};
use ufm::optim::Gd;
use ufm::train::{Objective, TrainOptions, Trainer};

struct Counting;
static COUNT: AtomicUsize = AtomicUsize::new(0);
static ARMED: AtomicBool = AtomicBool::new(false);

thread_local! {
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

fn allocations(head_act: Activation, bb_layers: usize, batch: Option<usize>) -> usize {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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
