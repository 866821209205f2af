//! The backbone objective against central finite differences (every entry of every tensor:
//! head matrices, backbone matrices and biases), and its pieces against direct computations.

use super::*;
use crate::init::{gaussian_matrix, stream};
use crate::model::LossKind;

fn head(act: Activation, loss: LossKind, layers: usize) -> ModelSpec {
    ModelSpec {
        class_sizes: vec![2, 3, 2],
        width: 3,
        layers,
        activation: act,
        loss,
        // Different lambdas so that mixing up lambda_h and lambda_w is caught.
        lambda_h: 0.013,
        lambda_w: 0.021,
    }
}

fn arch(layers: usize, act: Activation, wd: f64) -> BackboneSpec {
    BackboneSpec {
        input: 5,
        width: 4,
        output: 3,
        layers,
        activation: act,
        weight_decay: wd,
    }
}

fn data(spec: &ModelSpec, d0: usize, seed: u64) -> Dataset {
    Dataset {
        x: gaussian_matrix(d0, spec.samples(), 1.0, &mut stream(seed, 99)),
        labels: spec.labels(),
    }
}

fn random_params(spec: &ModelSpec, a: &BackboneSpec, seed: u64) -> Params {
    Params {
        mats: trainable_shapes(spec, a)
            .iter()
            .enumerate()
            .map(|(i, &(r, c))| gaussian_matrix(r, c, 0.6, &mut stream(seed, i)))
            .collect(),
    }
}

fn objective(spec: &ModelSpec, a: &BackboneSpec, path: GradPath) -> BackboneObjective {
    BackboneObjective::new(
        spec,
        a.clone(),
        data(spec, a.input, 7),
        None,
        path,
        Par::Seq,
    )
    .unwrap()
}

/// Largest relative error (over tensors) of the analytic gradient against central differences.
fn fd_error(spec: &ModelSpec, a: &BackboneSpec, path: GradPath) -> f64 {
    let mut obj = objective(spec, a, path);
    let params = random_params(spec, a, 3);
    let mut grad = params.clone();
    obj.loss_and_grad(&params, Some(&mut grad));
    let mut p = params.clone();
    let mut worst: f64 = 0.0;
    for t in 0..p.mats.len() {
        let mut fd = Mat::zeros(p.mats[t].nrows(), p.mats[t].ncols());
        for j in 0..p.mats[t].ncols() {
            for i in 0..p.mats[t].nrows() {
                let x = p.mats[t][(i, j)];
                // h = 1e-6: truncation ~ h^2 |f'''| ~ 1e-12, rounding ~ eps |f| / h ~ 1e-10; both
                // far below the 1e-6 tolerance. With Gaussian data no ReLU input lies within
                // 1e-6 of its kink for these seeds (a kink would show as an O(1) error).
                let h = 1e-6;
                p.mats[t][(i, j)] = x + h;
                let up = obj.loss_and_grad(&p, None).loss;
                p.mats[t][(i, j)] = x - h;
                let down = obj.loss_and_grad(&p, None).loss;
                p.mats[t][(i, j)] = x;
                fd[(i, j)] = (up - down) / (2.0 * h);
            }
        }
        let err = (&grad.mats[t] - &fd).norm_l2() / fd.norm_l2().max(1e-12);
        worst = worst.max(err);
    }
    worst
}

#[test]
fn gradient_matches_finite_differences_for_every_block() {
    for head_act in [Activation::Linear, Activation::Relu] {
        for bb_act in [Activation::Linear, Activation::Relu] {
            for loss in [LossKind::CrossEntropy, LossKind::Mse] {
                for (layers, bb_layers) in [(1, 1), (2, 1), (3, 2), (2, 3)] {
                    for wd in [0.0, 0.017] {
                        let spec = head(head_act, loss, layers);
                        let a = arch(bb_layers, bb_act, wd);
                        for path in [GradPath::Auto, GradPath::Layered] {
                            let e = fd_error(&spec, &a, path);
                            assert!(
                                e < 1e-6,
                                "{head_act:?} head L={layers}, {bb_act:?} backbone m={bb_layers}, \
                                 {loss:?}, wd={wd}, {path:?}: relative error {e:e}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn loss_is_the_head_loss_at_h_of_x_plus_the_backbone_decay() {
    // Independent forward pass: `predict` (allocating, layer by layer) gives h(X); the deep
    // UFM's workspace evaluates the head there; the backbone term is summed directly.
    let spec = head(Activation::Relu, LossKind::CrossEntropy, 3);
    let a = arch(2, Activation::Relu, 0.05);
    let mut obj = objective(&spec, &a, GradPath::Auto);
    let params = random_params(&spec, &a, 11);
    let got = obj.loss_and_grad(&params, None);
    let (h, _) = obj.predict(&params, obj.x.as_ref());
    let mut head_params = vec![h];
    head_params.extend(params.mats[..spec.layers].iter().cloned());
    let mut ws = Workspace::new(&spec, GradPath::Layered, Par::Seq);
    let want = ws.loss(&spec, &Params { mats: head_params });
    let decay: f64 = params.mats[spec.layers..]
        .iter()
        .map(|m| m.squared_norm_l2())
        .sum::<f64>()
        * 0.5
        * 0.05;
    assert!((got.fit - want.fit).abs() < 1e-12 * want.fit.abs().max(1.0));
    assert!((got.reg - (want.reg + decay)).abs() < 1e-12 * got.reg.max(1.0));
    assert!((got.loss - (want.loss + decay)).abs() < 1e-12 * got.loss.max(1.0));
}

#[test]
fn full_batch_mask_gives_the_full_gradient_and_a_sub_batch_averages_over_it() {
    // With mask B the gradient is reg + (1/|B|) sum_{j in B} g_j (the regulariser and the
    // forward pass stay full), so for disjoint halves of equal size
    // (g(B1) + g(B2)) / 2 = g(B1 u B2); a mask of every sample is the full-batch gradient.
    let spec = head(Activation::Relu, LossKind::CrossEntropy, 2);
    let a = arch(2, Activation::Relu, 0.0);
    let mut obj = objective(&spec, &a, GradPath::Auto);
    let params = random_params(&spec, &a, 5);
    let mut full = params.clone();
    obj.loss_and_grad(&params, Some(&mut full));
    let all: Vec<usize> = (0..spec.samples()).collect();
    obj.set_batch(&all);
    let mut masked = params.clone();
    obj.loss_and_grad(&params, Some(&mut masked));
    for (x, y) in full.mats.iter().zip(&masked.mats) {
        assert!((x - y).norm_l2() <= 1e-14 * x.norm_l2().max(1.0));
    }
    // The model has 7 samples: B1 = {0,1,2}, B2 = {3,4,5}.
    let mut g = |cols: &[usize]| {
        obj.set_batch(cols);
        let mut out = params.clone();
        obj.loss_and_grad(&params, Some(&mut out));
        out
    };
    let (g1, g2, g12) = (g(&[0, 1, 2]), g(&[3, 4, 5]), g(&[0, 1, 2, 3, 4, 5]));
    for t in 0..g1.mats.len() {
        let mean = (&g1.mats[t] + &g2.mats[t]) * faer::Scale(0.5);
        let err = (&mean - &g12.mats[t]).norm_l2() / g12.mats[t].norm_l2().max(1e-12);
        assert!(err < 1e-12, "tensor {t}: {err:e}");
    }
}

#[test]
fn head_params_hold_h_of_x_and_the_head_weights() {
    let spec = head(Activation::Linear, LossKind::CrossEntropy, 2);
    let a = arch(3, Activation::Relu, 0.0);
    let mut obj = objective(&spec, &a, GradPath::Auto);
    let params = random_params(&spec, &a, 9);
    let hp = obj.head_params(&params);
    let (h, z) = obj.predict(&params, obj.x.as_ref());
    assert_eq!(hp.mats.len(), spec.layers + 1);
    assert!((&hp.mats[0] - &h).norm_l2() < 1e-14 * h.norm_l2());
    // ReLU backbone output is non-negative.
    assert!((0..h.ncols()).all(|j| h.col(j).iter().all(|&v| v >= 0.0)));
    for l in 1..=spec.layers {
        assert_eq!(hp.mats[l], params.mats[l - 1]);
    }
    let f = crate::model::features(&spec, &hp);
    assert!((&f.logits - &z).norm_l2() < 1e-12 * z.norm_l2());
}

#[test]
fn accuracy_counts_argmax_hits() {
    let z = Mat::from_fn(3, 4, |i, j| if i == j % 3 { 1.0 } else { 0.0 });
    assert_eq!(accuracy(z.as_ref(), &[0, 1, 2, 0]), 1.0);
    assert_eq!(accuracy(z.as_ref(), &[1, 1, 2, 2]), 0.5);
}

#[test]
fn mismatched_data_is_refused() {
    let spec = head(Activation::Linear, LossKind::CrossEntropy, 2);
    let a = arch(1, Activation::Relu, 0.0);
    let mut d = data(&spec, 5, 1);
    d.labels.reverse();
    assert!(BackboneObjective::new(&spec, a.clone(), d, None, GradPath::Auto, Par::Seq).is_err());
    let d = data(&spec, 6, 1);
    let e = BackboneObjective::new(&spec, a, d, None, GradPath::Auto, Par::Seq)
        .err()
        .unwrap();
    assert_eq!(e.kind(), crate::ErrorKind::Job);
    let e = e.to_string();
    assert!(e.starts_with("backbone: input "), "{e}");
    assert!(e.contains("d0 = 6"), "{e}");
}
