//! The fused step against the separate one (the reference), and its own guarantees.

use super::*;
use crate::grad::GradPath;
use crate::job::{BuiltinInit, GaussianInit};
use crate::model::{Activation, LossKind};
use crate::optim::{Optimizer, WithFusedRule};
use crate::train::{Status, TrainOptions, Trainer};
use std::path::Path;

fn spec(d: usize, layers: usize) -> ModelSpec {
    ModelSpec::balanced(
        4,
        3,
        d,
        layers,
        Activation::Linear,
        LossKind::CrossEntropy,
        0.01,
    )
}

fn start(sp: &ModelSpec, std: f64) -> Params {
    crate::init::initialise(
        sp,
        &BuiltinInit::Gaussian(GaussianInit {
            std,
            seed: 7,
            multiplier: 1.0,
        }),
        Path::new("."),
    )
    .unwrap()
}

pub(crate) fn optimizer(rule: FusedRule) -> Box<dyn Optimizer> {
    match rule {
        FusedRule::Gd => Box::new(crate::optim::Gd),
        FusedRule::Momentum {
            momentum,
            dampening,
        } => {
            let params = serde_json::json!({"momentum": momentum, "dampening": dampening});
            let inner = crate::plugin::builtin()
                .optimizer("momentum", &params)
                .unwrap();
            Box::new(WithFusedRule {
                inner: Box::new(inner),
                rule,
            })
        }
    }
}

fn trainer(sp: &ModelSpec, p: Params, rule: FusedRule, lr: f64, mode: UpdateMode) -> Trainer {
    let opts = TrainOptions {
        max_steps: 1000,
        tol: 0.0,
        record_every: 10,
        path: GradPath::Auto,
        par: Par::Seq,
    };
    Trainer::with_update(sp, p, optimizer(rule), lr, opts, mode).unwrap()
}

fn max_abs_diff(a: &Params, b: &Params) -> (f64, f64) {
    let mut diff: f64 = 0.0;
    let mut scale: f64 = 0.0;
    for (x, y) in a.mats.iter().zip(&b.mats) {
        for j in 0..x.ncols() {
            for i in 0..x.nrows() {
                diff = diff.max((x[(i, j)] - y[(i, j)]).abs());
                scale = scale.max(y[(i, j)].abs());
            }
        }
    }
    (diff, scale)
}

fn bits(p: &Params) -> Vec<u64> {
    p.mats
        .iter()
        .flat_map(|m| {
            (0..m.ncols()).flat_map(move |j| (0..m.nrows()).map(move |i| m[(i, j)].to_bits()))
        })
        .collect()
}

const RULES: [FusedRule; 2] = [
    FusedRule::Gd,
    FusedRule::Momentum {
        momentum: 0.8,
        dampening: 0.1,
    },
];

#[test]
fn fused_matches_the_separate_update_to_rounding() {
    for rule in RULES {
        for (d, layers) in [(9, 2), (13, 3), (6, 4)] {
            let sp = spec(d, layers);
            let p = start(&sp, 0.4);
            let mut a = trainer(&sp, p.clone(), rule, 0.1, UpdateMode::Fused);
            let mut b = trainer(&sp, p, rule, 0.1, UpdateMode::Separate);
            assert!(a.fused_rule().is_some() && b.fused_rule().is_none());
            // The starting evaluation is the same sequence of operations (same fit bits); the
            // squared norms of the middle matrices are summed in another order (a few ulps).
            assert_eq!(a.loss().fit, b.loss().fit);
            let (ra, rb) = (a.loss().reg, b.loss().reg);
            assert!((ra - rb).abs() <= 1e-14 * rb, "{ra} vs {rb}");
            for _ in 0..200 {
                assert!(a.advance().unwrap() && b.advance().unwrap());
            }
            // Each step's rounding differs (u = sum_k P_ik Q_jk in another order, new
            // products from the propose formula), by a few ulps of the entries; GD at this lr
            // contracts, so after 200 steps differences stay near 1e-15 relative. 1e-11
            // leaves margin, while a wrong coefficient (decay, momentum, step-1 rule, a
            // missing term) shows at 1e-3 or more.
            let (diff, scale) = max_abs_diff(a.params(), b.params());
            assert!(
                diff <= 1e-11 * scale,
                "{rule:?} d={d} L={layers}: {diff:e} of {scale:e}"
            );
            let (la, lb) = (a.loss().loss, b.loss().loss);
            assert!((la - lb).abs() <= 1e-11 * lb, "{la} vs {lb}");
            let (ga, gb) = (a.grad_norm(), b.grad_norm());
            assert!((ga - gb).abs() <= 1e-9 * gb, "{ga} vs {gb}");
            for i in 0..=layers {
                let (x, y) = (a.gradient_of(i), b.gradient_of(i));
                let (diff, scale) = max_abs_diff(
                    &Params {
                        mats: vec![x.into_owned()],
                    },
                    &Params {
                        mats: vec![y.into_owned()],
                    },
                );
                assert!(diff <= 1e-9 * scale.max(1e-300), "gradient {i}: {diff:e}");
            }
        }
    }
}

#[test]
fn fused_runs_are_deterministic_and_resume_bit_identically() {
    for rule in RULES {
        let sp = spec(11, 3);
        let p = start(&sp, 0.4);
        let mut a = trainer(&sp, p.clone(), rule, 0.1, UpdateMode::Fused);
        let mut b = trainer(&sp, p.clone(), rule, 0.1, UpdateMode::Fused);
        for _ in 0..40 {
            a.advance().unwrap();
            b.advance().unwrap();
        }
        assert_eq!(bits(a.params()), bits(b.params()));
        // Stop after 20 steps, checkpoint, continue in a fresh trainer.
        let mut c = trainer(&sp, p.clone(), rule, 0.1, UpdateMode::Fused);
        for _ in 0..20 {
            c.advance().unwrap();
        }
        let ck = c.checkpoint();
        let mut d = trainer(&sp, p, rule, 0.1, UpdateMode::Fused);
        d.restore(ck).unwrap();
        for _ in 0..20 {
            d.advance().unwrap();
        }
        assert_eq!(bits(a.params()), bits(d.params()), "{rule:?}");
        assert_eq!(a.loss(), d.loss());
        assert_eq!(a.optimizer_state(), d.optimizer_state());
    }
}

#[test]
fn fused_sgd_with_the_full_batch_equals_fused_gd() {
    let sp = spec(10, 3);
    let p = start(&sp, 0.4);
    let mut a = trainer(&sp, p.clone(), FusedRule::Gd, 0.1, UpdateMode::Fused);
    let mut b = trainer(&sp, p, FusedRule::Gd, 0.1, UpdateMode::Fused).with_batches(12, 3);
    for _ in 0..30 {
        a.advance().unwrap();
        b.advance().unwrap();
    }
    assert_eq!(bits(a.params()), bits(b.params()));
}

#[test]
fn a_diverging_fused_run_keeps_its_last_finite_state() {
    for rule in RULES {
        let sp = spec(8, 3);
        let p = start(&sp, 1.0);
        let mut a = trainer(&sp, p.clone(), rule, 40.0, UpdateMode::Fused);
        let out = a.run(None, &mut |_| {});
        assert_eq!(out.status, Status::Diverged, "{rule:?}");
        let kept = out.steps;
        assert!(a.loss().is_finite());
        assert!(bits(a.params())
            .iter()
            .all(|&b| f64::from_bits(b).is_finite()));
        // The kept state is exactly the state after `kept` steps of an identical run.
        let mut b = trainer(&sp, p, rule, 40.0, UpdateMode::Fused);
        for _ in 0..kept {
            assert!(b.advance().unwrap());
        }
        assert_eq!(bits(a.params()), bits(b.params()), "{rule:?}");
        assert_eq!(a.loss(), b.loss());
        // And one more step diverges there too.
        assert!(!b.advance().unwrap());
        assert_eq!(bits(a.params()), bits(b.params()));
    }
}

#[test]
fn the_exact_regulariser_check_equals_the_committed_one() {
    // The fallback used when the norm bound overflows must predict the committed regulariser
    // bit for bit, or the finiteness decision would not be exact.
    for rule in RULES {
        let sp = spec(9, 3);
        let p = start(&sp, 0.5);
        let mut t = trainer(&sp, p, rule, 0.05, UpdateMode::Fused);
        for _ in 0..3 {
            t.advance().unwrap();
        }
        let (layers, step, lr) = (sp.layers, t.steps() + 1, 0.05);
        let mut cur = t.params().clone();
        let mut cand = cur.clone();
        let mut state = t.optimizer_state().to_vec();
        let mut grad = Params::zeros(&sp);
        let f = t.fused.as_mut().unwrap();
        let mut opt = optimizer(rule);
        for i in [0, layers] {
            let at = crate::optim::StepInfo {
                step,
                lr,
                tensor: i,
            };
            opt.update(
                at,
                cur.mats[i].as_ref(),
                cand.mats[i].as_mut(),
                t.grad.mats[i].as_ref(),
                &mut state[i],
            )
            .unwrap();
        }
        let (fit, bound) = f.propose(&sp, step, lr, &cur, &cand, &state);
        let reg = f.exact_new_reg(&sp, step, lr, &cur, &cand, &state);
        let loss = f.commit(&sp, step, lr, &mut cur, &cand, &mut grad, &mut state);
        assert_eq!(loss.reg.to_bits(), reg.to_bits(), "{rule:?}");
        assert_eq!(loss.fit, fit);
        assert!(loss.loss <= bound, "{} > bound {bound}", loss.loss);
    }
}

#[test]
fn auto_fuses_only_wide_linear_models_with_a_fused_rule() {
    let wide = spec(FUSED_AUTO_WIDTH, 3);
    let narrow = spec(64, 3);
    let gd: Box<dyn Optimizer> = Box::new(crate::optim::Gd);
    let auto =
        |sp: &ModelSpec, o: &dyn Optimizer, m| Trainer::fused_rule_for(sp, o, GradPath::Auto, m);
    assert_eq!(
        auto(&wide, gd.as_ref(), UpdateMode::Auto).ok(),
        Some(Some(FusedRule::Gd))
    );
    assert_eq!(
        auto(&narrow, gd.as_ref(), UpdateMode::Auto).ok(),
        Some(None)
    );
    assert_eq!(
        auto(&wide, gd.as_ref(), UpdateMode::Separate).ok(),
        Some(None)
    );
    assert_eq!(
        auto(&narrow, gd.as_ref(), UpdateMode::Fused).ok(),
        Some(Some(FusedRule::Gd))
    );
    let adam = crate::plugin::builtin()
        .optimizer("adam", &serde_json::json!({}))
        .unwrap();
    assert_eq!(auto(&wide, &adam, UpdateMode::Auto).ok(), Some(None));
    let e = auto(&wide, &adam, UpdateMode::Fused).unwrap_err();
    assert!(
        matches!(&e, crate::Error::Job(j) if j.path == "train.update"),
        "{e}"
    );
    let e = e.to_string();
    assert!(e.starts_with("train.update: "), "{e}");
    let relu = ModelSpec {
        activation: Activation::Relu,
        ..spec(8, 3)
    };
    let e = auto(&relu, gd.as_ref(), UpdateMode::Fused)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("train.update: "), "{e}");
    let e = Trainer::fused_rule_for(&narrow, gd.as_ref(), GradPath::Layered, UpdateMode::Fused)
        .unwrap_err()
        .to_string();
    assert!(e.contains("factored"), "{e}");
}

/// A deterministic d x c matrix with entries in [-1, 1) (no RNG crate needed).
fn grid(rows: usize, cols: usize, seed: u64) -> Mat<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Mat::from_fn(rows, cols, |_, _| {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        let r = s.wrapping_mul(0x2545_F491_4F6C_DD1D);
        2.0 * ((r >> 11) as f64 / (1u64 << 53) as f64) - 1.0
    })
}

fn mat_bits(m: &Mat<f64>) -> Vec<u64> {
    (0..m.ncols())
        .flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)].to_bits()))
        .collect()
}

/// Bits of a commit: W', V', out, ||W'||^2, ||V'||^2.
type Outcome = (Vec<u64>, Vec<u64>, Vec<u64>, u64, u64);

const ENTRIES: [Entry; 3] = [
    Entry::Gd { lr: 0.3 },
    Entry::MomentumFirst { lr: 0.3 },
    Entry::Momentum {
        lr: 0.3,
        mu: 0.8,
        keep: 0.9,
    },
];

#[test]
fn kernel_passes_give_the_same_bits_at_every_level() {
    use crate::simd::Level;
    // Widths below, at and across a row panel (1024 rows), with row and column tails
    // (d mod 8, d mod 8 columns per block).
    for (d, k) in [(13, 3), (37, 10), (64, 4), (1100, 3)] {
        let w0 = grid(d, d, d as u64);
        let vm = grid(d, d, 3 * d as u64 + 1);
        let v0: Vec<f64> = (0..d * d).map(|i| vm[(i % d, i / d)]).collect();
        let (p, q, y) = (grid(d, k, 5), grid(d, k, 6), grid(d, k, 7));
        for entry in ENTRIES {
            for with_v in [false, true] {
                let mut first: Option<Outcome> = None;
                let mut first_reads: Option<Vec<u64>> = None;
                for level in Level::ALL.into_iter().filter(|l| l.supported()) {
                    let mut scratch = kernel::Scratch::new(d, k);
                    let reads: Vec<u64> = [kernel::Pass::Dry, kernel::Pass::GradNorm]
                        .into_iter()
                        .map(|pass| {
                            kernel::read_at(
                                level,
                                pass,
                                w0.as_ref(),
                                with_v.then_some(v0.as_slice()),
                                &p,
                                &q,
                                &mut scratch,
                                entry,
                                0.01,
                            )
                            .to_bits()
                        })
                        .collect();
                    let mut w = w0.clone();
                    let mut v = v0.clone();
                    let mut out = Mat::zeros(d, k);
                    let (sw, sv) = kernel::commit_at(
                        level,
                        &mut w,
                        with_v.then_some(v.as_mut_slice()),
                        &p,
                        &q,
                        &y,
                        &mut out,
                        &mut scratch,
                        entry,
                        0.01,
                    );
                    // The dry run predicts the committed sum bit for bit.
                    assert_eq!(reads[0], sw.to_bits(), "{level:?} d={d}");
                    let got = (
                        mat_bits(&w),
                        v.iter().map(|x| x.to_bits()).collect(),
                        mat_bits(&out),
                        sw.to_bits(),
                        sv.to_bits(),
                    );
                    match (&first, &first_reads) {
                        (Some(f), Some(r)) => {
                            assert!(f == &got, "{level:?} d={d} k={k} {entry:?} v={with_v}");
                            assert_eq!(r, &reads, "{level:?} d={d}");
                        }
                        _ => {
                            first = Some(got);
                            first_reads = Some(reads);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn kernel_commit_matches_a_naive_update() {
    // The commit against the update written out entry by entry (u summed by plain
    // multiply-adds, the new B-product by a plain dot product, the sums of squares in index
    // order). Tolerances: u is a K-term sum (error <= K eps sum_k |p q|, here <= K eps K),
    // scaled by lr; the B-product is a d-term sum of |W' y| <= (1 + lr (lambda + K)) per term,
    // so its error is <= d eps d (1 + lr K) in absolute terms; the sums of squares of d^2
    // terms agree to d^2 eps relative. Each bound is used with a factor >= 2 of margin, and
    // a wrong coefficient or index is off by O(lr) = 0.1, far above all of them.
    let (d, k, lambda) = (45, 5, 0.01);
    let w0 = grid(d, d, 1);
    let vm = grid(d, d, 2);
    let v0: Vec<f64> = (0..d * d).map(|i| vm[(i % d, i / d)]).collect();
    let (p, q, y) = (grid(d, k, 3), grid(d, k, 4), grid(d, k, 5));
    let eps = f64::EPSILON;
    for entry in ENTRIES {
        for with_v in [false, true] {
            let mut w = w0.clone();
            let mut v = v0.clone();
            let mut out = Mat::zeros(d, k);
            let mut scratch = kernel::Scratch::new(d, k);
            let (sw, sv) = kernel::commit(
                &mut w,
                with_v.then_some(v.as_mut_slice()),
                &p,
                &q,
                &y,
                &mut out,
                &mut scratch,
                entry,
                lambda,
            );
            let mut want_w = Mat::<f64>::zeros(d, d);
            let mut want_v = vec![0.0; d * d];
            for j in 0..d {
                for i in 0..d {
                    let u: f64 = (0..k).map(|t| p[(i, t)] * q[(j, t)]).sum();
                    let g = lambda * w0[(i, j)] + u;
                    let (x, nv) = match (entry, with_v) {
                        (Entry::Momentum { lr, mu, keep }, true) => {
                            let nv = mu * v0[j * d + i] + keep * g;
                            (w0[(i, j)] - lr * nv, nv)
                        }
                        (Entry::Gd { lr }, _)
                        | (Entry::MomentumFirst { lr }, _)
                        | (Entry::Momentum { lr, .. }, false) => (w0[(i, j)] - lr * g, g),
                    };
                    want_w[(i, j)] = x;
                    want_v[j * d + i] = nv;
                }
            }
            let tol_w = 2.0 * (k * k) as f64 * eps;
            for j in 0..d {
                for i in 0..d {
                    assert!((w[(i, j)] - want_w[(i, j)]).abs() <= tol_w, "{entry:?} W");
                    if with_v {
                        assert!((v[j * d + i] - want_v[j * d + i]).abs() <= tol_w, "V");
                    }
                }
            }
            let tol_out = 2.0 * (d * d) as f64 * (1.0 + k as f64) * eps;
            for t in 0..k {
                for i in 0..d {
                    let o: f64 = (0..d).map(|j| want_w[(i, j)] * y[(j, t)]).sum();
                    assert!((out[(i, t)] - o).abs() <= tol_out, "{entry:?} out");
                }
            }
            let sq = |m: &[f64]| m.iter().map(|x| x * x).sum::<f64>();
            let ww: Vec<f64> = (0..d * d).map(|i| want_w[(i % d, i / d)]).collect();
            let rel = 2.0 * (d * d) as f64 * eps;
            assert!((sw - sq(&ww)).abs() <= rel * sq(&ww), "{entry:?} ||W'||^2");
            if with_v {
                assert!((sv - sq(&want_v)).abs() <= rel * sq(&want_v), "||V'||^2");
            } else {
                assert_eq!(sv, 0.0);
            }
        }
    }
}
