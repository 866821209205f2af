//! Independent checks of the Hessian tools: the analytic HVP against central differences of the
//! engine's exact gradient, dense symmetry, dense spectrum against Lanczos, Hutchinson against
//! the exact trace, and the orbit / null-space dimensions at constructed critical points.

use faer::Mat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::hessian::{
    constructed_point, hessian_report, orbit_dimension, orbit_tangents, theorem5, HessianOptions,
    Method, Root,
};
use super::hvp::{flatten, unflatten, HessianOp};
use super::spectrum::{dense_eigenvalues, hutchinson, lanczos};
use super::Structure;
use crate::grad::{GradPath, Workspace};
use crate::model::{features, Activation, LossKind, ModelSpec, Params};

fn spec(k: usize, n: usize, d: usize, layers: usize, act: Activation, loss: LossKind) -> ModelSpec {
    let mut s = ModelSpec::balanced(k, n, d, layers, act, loss, 0.0);
    // Different lambdas for H1 and W so that a swapped regulariser would be caught.
    s.lambda_h = 3e-3;
    s.lambda_w = 7e-3;
    s
}

fn gaussian(p: usize, std: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..p)
        .map(|_| {
            let g: f64 = StandardNormal.sample(rng);
            std * g
        })
        .collect()
}

fn grad_flat(spec: &ModelSpec, x: &[f64]) -> Vec<f64> {
    let params = unflatten(spec, x);
    let mut g = Params::zeros(spec);
    Workspace::new(spec, GradPath::Layered, faer::Par::Seq).loss_and_grad(spec, &params, &mut g);
    flatten(&g)
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Signs of every ReLU pre-activation, to make sure a finite difference stays on one smooth piece.
fn relu_pattern(spec: &ModelSpec, x: &[f64]) -> Vec<bool> {
    let f = features(spec, &unflatten(spec, x));
    f.pre[1..]
        .iter()
        .flat_map(|m| {
            (0..m.ncols()).flat_map(move |j| (0..m.nrows()).map(move |i| m[(i, j)] > 0.0))
        })
        .collect()
}

#[test]
fn hvp_matches_central_differences_of_the_gradient() {
    // Central differences of the exact gradient have truncation error h^2/6 |D^3 L| and
    // rounding error ~ eps |grad| / h. With |v| = 1, parameters O(1) and h = 1e-5 both are
    // ~1e-10..1e-11 relative to |H v| (which is O(1e-2..1)), so 1e-6 is a safe bound that a
    // wrong term (e.g. a missing G_Z (R X)^T term, of relative size O(1)) cannot meet.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let h = 1e-5;
    let mut checked = 0;
    for act in [Activation::Linear, Activation::Relu] {
        for loss in [LossKind::CrossEntropy, LossKind::Mse] {
            for layers in [1, 2, 3, 4] {
                let s = spec(3, 2, 5, layers, act, loss);
                let p = s.parameter_count();
                let x = gaussian(p, 0.8, &mut rng);
                let op = HessianOp::new(&s, &unflatten(&s, &x)).unwrap();
                let mut v = gaussian(p, 1.0, &mut rng);
                let nv = norm(&v);
                v.iter_mut().for_each(|a| *a /= nv);
                let xp: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + h * b).collect();
                let xm: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a - h * b).collect();
                if act == Activation::Relu {
                    let base = relu_pattern(&s, &x);
                    assert_eq!(base, relu_pattern(&s, &xp), "FD step crosses a ReLU kink");
                    assert_eq!(base, relu_pattern(&s, &xm), "FD step crosses a ReLU kink");
                }
                let (gp, gm) = (grad_flat(&s, &xp), grad_flat(&s, &xm));
                let fd: Vec<f64> = gp
                    .iter()
                    .zip(&gm)
                    .map(|(a, b)| (a - b) / (2.0 * h))
                    .collect();
                let hv = op.apply_flat(&v);
                let err: Vec<f64> = hv.iter().zip(&fd).map(|(a, b)| a - b).collect();
                let rel = norm(&err) / norm(&hv);
                assert!(norm(&hv) > 1e-3, "{act:?} {loss:?} L={layers}: trivial H v");
                assert!(
                    rel < 1e-6,
                    "{act:?} {loss:?} L={layers}: relative error {rel:e}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 16);
}

#[test]
fn dense_hessian_is_symmetric_and_matches_products() {
    // Each column of the dense matrix is an exact product H e_j, so H - H^T is rounding only:
    // entries are sums of O(d N) products, so |H - H^T| <= ~1e-14 max|H|; 1e-12 leaves margin.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for act in [Activation::Linear, Activation::Relu] {
        let s = spec(3, 2, 4, 3, act, LossKind::CrossEntropy);
        let x = gaussian(s.parameter_count(), 0.7, &mut rng);
        let op = HessianOp::new(&s, &unflatten(&s, &x)).unwrap();
        let (h, asym) = op.dense();
        assert!(asym < 1e-12, "{act:?}: asymmetry {asym:e}");
        let v = gaussian(s.parameter_count(), 1.0, &mut rng);
        let hv = op.apply_flat(&v);
        let vm = Mat::from_fn(v.len(), 1, |i, _| v[i]);
        let dv = &h * &vm;
        let err: f64 = (0..v.len())
            .map(|i| (dv[(i, 0)] - hv[i]).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(err < 1e-12 * norm(&hv), "{act:?}: dense vs product {err:e}");
    }
}

#[test]
fn lanczos_matches_dense_extremes() {
    // Lanczos Ritz values are within their residual bound |beta_m y_m| of an eigenvalue; with
    // full reorthogonalisation and ~100 steps on p ~ 150 the extremes converge to ~1e-12.
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let s = spec(4, 3, 6, 2, Activation::Linear, LossKind::CrossEntropy);
    let x = gaussian(s.parameter_count(), 0.6, &mut rng);
    let op = HessianOp::new(&s, &unflatten(&s, &x)).unwrap();
    let (h, _) = op.dense();
    let ev = dense_eigenvalues(&h).unwrap();
    let (lo, hi) = (ev[0], ev[ev.len() - 1]);
    let scale = lo.abs().max(hi.abs());
    let lz = lanczos(op.dim(), 100, 3, |v| op.apply_flat(v)).unwrap();
    assert!(
        (lz.min - lo).abs() <= 1e-8 * scale,
        "min {} vs {lo}",
        lz.min
    );
    assert!(
        (lz.max - hi).abs() <= 1e-8 * scale,
        "max {} vs {hi}",
        lz.max
    );
    assert!((lz.min - lo).abs() <= lz.min_residual + 1e-12 * scale);
    // Too few steps must not claim convergence it does not have (guard against a vacuous test).
    let short = lanczos(op.dim(), 4, 3, |v| op.apply_flat(v)).unwrap();
    assert!((short.min - lo).abs() > 1e-8 * scale || (short.max - hi).abs() > 1e-8 * scale);
}

#[test]
fn hutchinson_trace_within_statistical_tolerance() {
    // Rademacher Hutchinson is unbiased; with a fixed seed the error is a draw from a
    // distribution with the reported standard error, so |error| < 4 SE (p ~ 6e-5 to fail by
    // chance for a Gaussian limit; deterministic here). The SE must also be informative.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let s = spec(4, 3, 6, 2, Activation::Relu, LossKind::CrossEntropy);
    let x = gaussian(s.parameter_count(), 0.6, &mut rng);
    let op = HessianOp::new(&s, &unflatten(&s, &x)).unwrap();
    let (h, _) = op.dense();
    let ev = dense_eigenvalues(&h).unwrap();
    let trace: f64 = ev.iter().sum();
    let fro2: f64 = ev.iter().map(|x| x * x).sum();
    let hu = hutchinson(op.dim(), 400, 9, |v| op.apply_flat(v));
    assert!(
        (hu.trace - trace).abs() < 4.0 * hu.trace_stderr,
        "{hu:?} vs {trace}"
    );
    assert!(hu.trace_stderr < 0.1 * trace.abs(), "{hu:?}");
    assert!(
        (hu.frobenius_sq - fro2).abs() < 4.0 * hu.frobenius_sq_stderr,
        "{hu:?} vs {fro2}"
    );
}

#[test]
fn orbit_tangent_rank_is_stiefel_dimension() {
    // For a Lemma-1 point with rank-r logits, the O(d)^L orbit of the parameters (fixed Z) is
    // a product of L Stiefel manifolds St(r, d): dimension L (r d - r (r+1)/2).
    for (structure, k) in [
        (Structure::Dnc, 4),
        (Structure::LowRank, 4),
        (Structure::Dnc, 5),
    ] {
        for (layers, d) in [(1, 5), (2, 6), (3, 7)] {
            let (s, params, _) =
                constructed_point(structure, Root::Large, k, 2, layers, 1e-3, d, 1).unwrap();
            let r = if structure == Structure::Dnc {
                k - 1
            } else {
                k / 2
            };
            let dim = orbit_dimension(&orbit_tangents(&s, &params)).unwrap();
            assert_eq!(
                dim,
                layers * (r * d - r * (r + 1) / 2),
                "{structure:?} K={k} L={layers}"
            );
        }
    }
}

fn report_at(
    structure: Structure,
    k: usize,
    n: usize,
    layers: usize,
    lambda: f64,
    d: usize,
) -> super::HessianReport {
    let (s, params, scale) =
        constructed_point(structure, Root::Large, k, n, layers, lambda, d, 4).unwrap();
    let mut r = hessian_report(
        &s,
        &params,
        &HessianOptions {
            method: Method::Dense,
            ..Default::default()
        },
    )
    .unwrap();
    r.scale = Some(scale);
    r
}

#[test]
fn constructed_critical_points_have_null_space_equal_to_orbit() {
    // At an exact critical point the Hessian annihilates every orbit tangent (differentiate
    // grad L(g theta) = g grad L(theta) at grad = 0): residual at rounding level.
    for structure in [Structure::Dnc, Structure::LowRank] {
        let r = report_at(structure, 4, 2, 2, 1e-3, 6);
        eprintln!("{structure:?}: {r:?}");
        assert!(r.gradient_norm < 1e-12, "{r:?}");
        assert!(r.orbit_residual.unwrap() < 1e-10, "{r:?}");
        assert!(r.zero.unwrap() >= r.symmetry_dimension.unwrap(), "{r:?}");
    }
}

#[test]
fn theorem4_check_dnc_large_root() {
    for lambda in [1e-2, 1e-3, 2f64.powi(-10), 1e-4, 1e-6] {
        let r = report_at(Structure::Dnc, 4, 2, 2, lambda, 6);
        eprintln!(
            "lambda {lambda:e} alpha {:?}: neg {:?} zero {:?} pos {:?} sym {:?} min {:e} class {} negs {:?} th5 {:?}",
            r.scale, r.negative, r.zero, r.positive, r.symmetry_dimension, r.eigenvalue_min,
            r.classification, r.negative_eigenvalues, r.theorem5
        );
        let r = report_at(Structure::LowRank, 4, 2, 2, lambda, 6);
        eprintln!(
            "LR lambda {lambda:e} beta {:?}: neg {:?} zero {:?} pos {:?} sym {:?} min {:e} class {} negs {:?}",
            r.scale, r.negative, r.zero, r.positive, r.symmetry_dimension, r.eigenvalue_min,
            r.classification, r.negative_eigenvalues
        );
    }
    let _ = theorem5;
}
