//! The register state after products, observed through XINUSE (no timing involved).

use super::xstate::{in_use, set_tests_skip_cleaning, take_softmax_probe, YMM_UPPER, ZMM_UPPER};
use super::*;
use crate::grad::{GradPath, Workspace};
use crate::init::{gaussian_matrix, stream};
use crate::model::{Activation, LossKind, ModelSpec, Params};

const DIRTY: u64 = YMM_UPPER | ZMM_UPPER;

fn mat(r: usize, c: usize, seed: u64) -> Mat<f64> {
    gaussian_matrix(r, c, 1.0, &mut stream(seed, 0))
}

/// Whether this machine lets the test observe the state at all (x86-64 with AVX and XINUSE).
fn observable() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        in_use().is_some() && std::arch::is_x86_feature_detected!("avx")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Every product shape and transpose pattern the gradient paths use, at the Figure-1/6 sizes
/// (K = 10, N = 50, d = 70): (rows, inner, cols, lhs transposed, rhs transposed). Run alone,
/// every one leaves the upper state dirty in faer 0.24.
const SHAPES: [(usize, usize, usize, bool, bool); 10] = [
    (70, 70, 10, true, true),   // factored: prod = W_l^T A_{l+1}^T
    (50, 70, 10, true, false),  // factored: Z^T = H1^T A_1^T
    (70, 10, 50, false, true),  // factored: dH1 += A_1^T dZ
    (70, 50, 10, false, false), // factored: back[0] = H1 dZ^T
    (70, 70, 10, false, false), // factored: back[l] = W_l back[l-1]
    (70, 70, 50, false, false), // layered: W_l input
    (10, 50, 70, false, true),  // layered: dW_L += dZ input^T
    (70, 70, 50, true, false),  // layered: W_l^T upstream
    (70, 10, 50, true, false),  // layered: W_L^T dZ
    (10, 70, 50, false, false), // layered: Z = W_L input
];

fn operands(s: (usize, usize, usize, bool, bool)) -> (Mat<f64>, Mat<f64>) {
    let (m, k, n, tl, tr) = s;
    let a = if tl { mat(k, m, 1) } else { mat(m, k, 1) };
    let b = if tr { mat(n, k, 2) } else { mat(k, n, 2) };
    (a, b)
}

fn view(a: &Mat<f64>, t: bool) -> MatRef<'_, f64> {
    if t {
        a.transpose()
    } else {
        a.as_ref()
    }
}

#[test]
fn raw_faer_products_leave_the_upper_state_dirty_and_the_wrapper_cleans_it() {
    if !observable() {
        eprintln!("XINUSE or AVX not available: nothing to observe on this CPU");
        return;
    }
    for s in SHAPES {
        let (a, b) = operands(s);
        let mut c = Mat::zeros(s.0, s.2);
        // Raw faer: the bug this module works around (if faer ever fixes it, this assertion
        // fails and the wrapper can go).
        clean_upper_state();
        faer::linalg::matmul::matmul(
            c.as_mut(),
            Accum::Replace,
            view(&a, s.3),
            view(&b, s.4),
            1.0,
            Par::Seq,
        );
        let raw = in_use().unwrap();
        assert!(raw & DIRTY != 0, "{s:?}: raw faer left XINUSE = {raw:#x}");
        // The wrapper, both accumulation modes.
        for accum in [Accum::Replace, Accum::Add] {
            matmul(
                c.as_mut(),
                accum,
                view(&a, s.3),
                view(&b, s.4),
                1.0,
                Par::Seq,
            );
            let x = in_use().unwrap();
            assert_eq!(x & DIRTY, 0, "{s:?} {accum:?}: XINUSE = {x:#x}");
        }
        let _ = mul(view(&a, s.3), view(&b, s.4));
        let x = in_use().unwrap();
        assert_eq!(x & DIRTY, 0, "{s:?} mul: XINUSE = {x:#x}");
    }
    // An SVD through `after_kernel`.
    let a = mat(70, 50, 3);
    let sv = after_kernel(|| a.singular_values().unwrap());
    let x = in_use().unwrap();
    assert_eq!(x & DIRTY, 0, "after_kernel(svd): XINUSE = {x:#x}");
    assert_eq!(sv.len(), 50);
}

fn gradient_step(act: Activation, path: GradPath, width: usize) -> Option<u64> {
    let spec = ModelSpec::balanced(10, 5, width, 3, act, LossKind::CrossEntropy, 1.0 / 512.0);
    let params = Params {
        mats: spec
            .shapes()
            .iter()
            .enumerate()
            .map(|(i, &(r, c))| gaussian_matrix(r, c, 0.12, &mut stream(7, i)))
            .collect(),
    };
    let mut grad = Params::zeros(&spec);
    let mut ws = Workspace::new(&spec, path, Par::Seq);
    take_softmax_probe();
    ws.loss_and_grad(&spec, &params, &mut grad);
    take_softmax_probe()
}

#[test]
fn the_softmax_runs_with_a_clean_register_state_in_a_real_gradient_step() {
    if !observable() {
        eprintln!("XINUSE or AVX not available: nothing to observe on this CPU");
        return;
    }
    // Width 70 runs the engine's own small-product kernel (compiled code, which the compiler
    // ends with vzeroupper), or faer's products with UFM_SMALL_GEMM=0; width 330 >
    // small::SMALL_MAX always runs faer's products. Without the
    // wrapper's vzeroupper the probe at the exp call of the factored path sees the dirty state
    // left by faer's product computing Z^T (so the probe can tell the difference). In the layered
    // path's sequence of faer products the last one (Z = W_L input, K rows) was measured to leave
    // bits 2 and 6 clear (XINUSE 0xa2: only zmm16-31 in use) although the same product run alone
    // leaves them set, so there the raw state is only reported.
    for (act, path, raw_dirty) in [
        (Activation::Linear, GradPath::Factored, true),
        (Activation::Linear, GradPath::Layered, false),
        (Activation::Relu, GradPath::Layered, false),
    ] {
        set_tests_skip_cleaning(true);
        let raw = gradient_step(act, path, 330);
        set_tests_skip_cleaning(false);
        let raw = raw.expect("the fit recorded XINUSE");
        eprintln!("{act:?} {path:?}: XINUSE at exp without the wrapper {raw:#x}");
        if raw_dirty {
            assert!(raw & DIRTY != 0, "{act:?} {path:?}: XINUSE = {raw:#x}");
        }
        // With the wrapper, the state is clean, with faer's products and with the engine's own.
        for width in [330, 70] {
            let x = gradient_step(act, path, width).expect("the fit recorded XINUSE");
            assert_eq!(
                x & DIRTY,
                0,
                "{act:?} {path:?} d = {width}: XINUSE = {x:#x}"
            );
        }
    }
}

/// The own small-product kernel leaves bits 2 and 6 clear at every SIMD level, for every
/// product shape of the gradient, with the state dirty (by a raw faer product) beforehand, so
/// the clearing is the kernel's own doing. Its AVX-512 code uses zmm registers, so this is the
/// check that the compiler's `vzeroupper` at the end of it is there.
#[test]
fn the_own_small_kernel_leaves_the_upper_state_clean() {
    if !observable() {
        eprintln!("XINUSE or AVX not available: nothing to observe on this CPU");
        return;
    }
    let levels: Vec<_> = crate::simd::Level::ALL
        .into_iter()
        .filter(|l| l.supported())
        .collect();
    for s in SHAPES {
        let (a, b) = operands(s);
        let mut c = Mat::zeros(s.0, s.2);
        for &lv in &levels {
            for accum in [Accum::Replace, Accum::Add] {
                faer::linalg::matmul::matmul(
                    c.as_mut(),
                    Accum::Replace,
                    view(&a, s.3),
                    view(&b, s.4),
                    1.0,
                    Par::Seq,
                );
                if lv == crate::simd::Level::Scalar {
                    // Baseline code touches no vector upper halves: it keeps a clean state
                    // clean (and could not clean a dirty one).
                    clean_upper_state();
                }
                let dirty = in_use().unwrap();
                small::gemm_at(lv, c.as_mut(), accum, view(&a, s.3), view(&b, s.4), 1.0);
                let x = in_use().unwrap();
                assert_eq!(
                    x & DIRTY,
                    0,
                    "{s:?} {lv:?} {accum:?}: XINUSE = {x:#x} (before: {dirty:#x})"
                );
            }
        }
        // Through the gradient's door.
        assert!(small::applies(&c.as_mut(), s.1) || !small::enabled());
        product(
            c.as_mut(),
            Accum::Replace,
            view(&a, s.3),
            view(&b, s.4),
            1.0,
            Par::Seq,
        );
        let x = in_use().unwrap();
        assert_eq!(x & DIRTY, 0, "{s:?} product: XINUSE = {x:#x}");
    }
}

/// Every product of the engine goes through this module, so the upper SIMD state is clean after
/// it (a merge once brought in three modules calling faer's `matmul` directly, one of them in the
/// fused training step right before the softmax's `exp`). Only this module and the bench
/// reproducer, which times the raw product on purpose, may name faer's `matmul`.
#[test]
fn no_engine_module_calls_faer_matmul_directly() {
    fn scan(dir: &std::path::Path, hits: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                scan(&path, hits);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains("linalg::matmul::matmul") {
                    hits.push(path.display().to_string());
                }
            }
        }
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut hits = Vec::new();
    scan(&src, &mut hits);
    hits.retain(|p| {
        let p = p.replace('\\', "/");
        !(p.contains("/src/linalg/") || p.ends_with("/src/bench.rs"))
    });
    assert!(
        hits.is_empty(),
        "call crate::linalg::matmul instead in: {hits:?}"
    );
}

/// `train.threads`: faer's parallel products give the sequential bits. Shapes straddle faer's
/// tile sizes (24/48 rows, 4/8 columns), its 512-deep k blocks and its parallel threshold, in
/// every transpose pattern and both accumulation modes; matrix-vector shapes included (they
/// are run sequentially by `par_for`, whose parallel form in faer splits k).
#[test]
fn parallel_products_match_sequential_bits() {
    let par2 = threads::par(2);
    let mut checked = 0;
    for &m in &[1usize, 33, 130, 1030] {
        for &n in &[1usize, 5, 100, 257] {
            for &k in &[1usize, 64, 600, 1100] {
                if m * n * k > 40_000_000 {
                    continue;
                }
                for (tl, tr) in [(false, false), (true, false), (false, true), (true, true)] {
                    let (a, b) = operands((m, k, n, tl, tr));
                    let init = mat(m, n, 3);
                    for accum in [Accum::Replace, Accum::Add] {
                        let mut seq = init.clone();
                        let mut par = init.clone();
                        let (av, bv) = (view(&a, tl), view(&b, tr));
                        matmul(seq.as_mut(), accum, av, bv, 0.75, Par::Seq);
                        matmul(par.as_mut(), accum, av, bv, 0.75, par2);
                        for j in 0..n {
                            for i in 0..m {
                                assert_eq!(
                                    seq[(i, j)].to_bits(),
                                    par[(i, j)].to_bits(),
                                    "{m}x{k}x{n} tl={tl} tr={tr} at ({i},{j})"
                                );
                            }
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 300);
}

#[test]
fn threads_map_to_faer_parallelism() {
    assert!(matches!(threads::par(0), Par::Seq));
    assert!(matches!(threads::par(1), Par::Seq));
    assert_eq!(threads::par(3).degree(), 3);
}

/// Whole training runs at `train.threads` = 1 and 2 end with the same bits, on every update
/// path (factored + separate, fused, layered ReLU) at sizes where faer's products do go
/// parallel (m n k above its threshold of 32768 multiply-adds) and where the engine's own
/// element-wise loops split across threads (H1 160 x 300 and W 160 x 160 are above
/// `threads::PAR_MIN_ENTRIES`): the separate update's gd and momentum (at 2 threads applied
/// by `optim::update_in_parallel`, at 1 by the optimiser itself, so this also checks that the
/// two compute the same bits), the gradient's `lambda W` and norm pass.
#[test]
fn training_bits_do_not_depend_on_the_thread_count() {
    use crate::optim::FusedRule;
    use crate::train::{TrainOptions, Trainer, UpdateMode};
    let momentum = FusedRule::Momentum {
        momentum: 0.9,
        dampening: 0.25,
    };
    let cases = [
        (
            Activation::Linear,
            GradPath::Factored,
            UpdateMode::Separate,
            FusedRule::Gd,
        ),
        (
            Activation::Linear,
            GradPath::Factored,
            UpdateMode::Separate,
            momentum,
        ),
        (
            Activation::Linear,
            GradPath::Factored,
            UpdateMode::Fused,
            FusedRule::Gd,
        ),
        (
            Activation::Relu,
            GradPath::Layered,
            UpdateMode::Separate,
            FusedRule::Gd,
        ),
        (
            Activation::Relu,
            GradPath::Layered,
            UpdateMode::Separate,
            momentum,
        ),
    ];
    // The same optimiser for a fused rule as the fused step's own tests use.
    let optimizer = crate::train::fused::tests::optimizer;
    for (act, path, mode, rule) in cases {
        let spec = ModelSpec::balanced(10, 30, 160, 3, act, LossKind::CrossEntropy, 0.01);
        let run = |threads: usize| {
            let params = crate::init::initialise(
                &spec,
                &crate::job::BuiltinInit::Scaled(crate::job::ScaledInit {
                    scale: 1.0,
                    seed: 3,
                    multiplier: 1.0,
                }),
                std::path::Path::new("."),
            )
            .unwrap();
            let opts = TrainOptions {
                max_steps: 15,
                tol: 0.0,
                record_every: 5,
                path,
                par: threads::par(threads),
            };
            let mut t =
                Trainer::with_update(&spec, params, optimizer(rule), 0.5, opts, mode).unwrap();
            for _ in 0..15 {
                assert!(t.advance().unwrap());
            }
            let bits: Vec<u64> = t
                .params()
                .mats
                .iter()
                .flat_map(|m| {
                    (0..m.ncols())
                        .flat_map(move |j| (0..m.nrows()).map(move |i| m[(i, j)].to_bits()))
                })
                .collect();
            (t.steps(), t.loss().loss.to_bits(), bits)
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one.0, 15, "{act:?} {path:?} {mode:?} {rule:?}");
        assert_eq!(
            one.1, two.1,
            "loss bits, {act:?} {path:?} {mode:?} {rule:?}"
        );
        assert!(
            one.2 == two.2,
            "parameter bits, {act:?} {path:?} {mode:?} {rule:?}"
        );
    }
}

/// Why `par_for` keeps matrix-vector products sequential: faer's parallel column-major matvec
/// splits the inner sum across threads, which changes the bits (if a future faer stops doing
/// so, this fails and the restriction can go).
#[test]
fn faer_parallel_matvec_splits_the_inner_sum() {
    let (m, k) = (64, 20_000);
    let a = mat(m, k, 5);
    let x = mat(k, 1, 6);
    let mut seq = Mat::<f64>::zeros(m, 1);
    let mut par = Mat::<f64>::zeros(m, 1);
    faer::linalg::matmul::matmul(
        seq.as_mut(),
        Accum::Replace,
        a.as_ref(),
        x.as_ref(),
        1.0,
        Par::Seq,
    );
    faer::linalg::matmul::matmul(
        par.as_mut(),
        Accum::Replace,
        a.as_ref(),
        x.as_ref(),
        1.0,
        threads::par(2),
    );
    clean_upper_state();
    assert!((0..m).any(|i| seq[(i, 0)].to_bits() != par[(i, 0)].to_bits()));
    // Through the wrapper, the same bits.
    matmul(
        par.as_mut(),
        Accum::Replace,
        a.as_ref(),
        x.as_ref(),
        1.0,
        threads::par(2),
    );
    assert!((0..m).all(|i| seq[(i, 0)].to_bits() == par[(i, 0)].to_bits()));
}

/// The column partition covers every column once, in order, with near-equal blocks, and the
/// element-wise loops split only with several threads and enough entries.
#[test]
fn column_blocks_partition_the_columns() {
    for cols in [0usize, 1, 2, 7, 160, 1001] {
        for parts in [1usize, 2, 3, 8, 2000] {
            let blocks: Vec<_> = threads::col_blocks(cols, parts).collect();
            let mut next = 0;
            for b in &blocks {
                assert_eq!(b.start, next, "{cols} {parts}");
                next = b.end;
            }
            assert_eq!(next, cols, "{cols} {parts}");
            let widths: Vec<usize> = blocks.iter().map(|b| b.len()).collect();
            let (lo, hi) = (widths.iter().min(), widths.iter().max());
            assert!(
                hi.unwrap_or(&0) - lo.unwrap_or(&0) <= 1,
                "{cols} {parts} {widths:?}"
            );
        }
    }
    assert_eq!(threads::element_parts(Par::Seq, 1000, 1000), 1);
    assert_eq!(threads::element_parts(threads::par(2), 1000, 1000), 2);
    assert_eq!(threads::element_parts(threads::par(2), 10, 10), 1);
    assert_eq!(threads::element_parts(threads::par(4), 20_000, 3), 3);
}
