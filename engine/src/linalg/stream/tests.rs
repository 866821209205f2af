//! The streaming W^T X against an independent, nearly exact reference, and across SIMD levels.

use super::*;
use faer::Mat;

/// Deterministic values in [-1, 1) (xorshift64*), with an occasional exact zero and a spread of
/// magnitudes so that the sums are not all of one scale.
fn filled(rows: usize, cols: usize, seed: u64) -> Mat<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Mat::from_fn(rows, cols, |_, _| {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        let r = s.wrapping_mul(0x2545_F491_4F6C_DD1D);
        if r.is_multiple_of(17) {
            0.0
        } else {
            let u = (r >> 11) as f64 / (1u64 << 53) as f64;
            (2.0 * u - 1.0) * if r.is_multiple_of(5) { 1e-3 } else { 1.0 }
        }
    })
}

/// sum_i a_i b_i to about twice working precision (Ogita, Rump and Oishi's Dot2: the product's
/// error by fma, the sum's by TwoSum), and sum_i |a_i b_i|.
fn dot2(a: impl Iterator<Item = (f64, f64)>) -> (f64, f64) {
    let (mut s, mut c, mut abs) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a {
        let p = x * y;
        let pe = x.mul_add(y, -p);
        let t = s + p;
        let z = t - s;
        let se = (s - (t - z)) + (p - z);
        s = t;
        c += pe + se;
        abs += p.abs();
    }
    (s + c, abs)
}

fn levels() -> Vec<Level> {
    Level::ALL.into_iter().filter(|l| l.supported()).collect()
}

fn bits(m: &Mat<f64>) -> Vec<u64> {
    (0..m.ncols())
        .flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)].to_bits()))
        .collect()
}

// The last three cross the AVX-512 kernel's row blocks (256 rows) and column groups (12
// columns) with partial ones of each, and K above its saved-state limit (16).
const SHAPES: [(usize, usize, usize); 15] = [
    (1, 1, 1),
    (7, 3, 2),
    (8, 2, 10),
    (9, 5, 10),
    (16, 4, 6),
    (31, 7, 13),
    (64, 3, 5),
    (100, 9, 10),
    (129, 6, 12),
    (200, 5, 25),
    (57, 4, 7),
    (300, 3, 1),
    (603, 29, 10),
    (777, 14, 7),
    (520, 13, 17),
];

#[test]
fn wtx_is_accurate_against_a_nearly_exact_reference() {
    for &(m, n, k) in &SHAPES {
        let w = filled(m, n, (m * 1000 + n * 10 + k) as u64);
        let xm = filled(m, k, (m + n + k) as u64 + 99);
        let mut x = Panel::new(m, k);
        x.fill(xm.as_ref());
        let alpha = -0.75;
        let init = filled(n, k, 5);
        for accum in [Accum::Replace, Accum::Add] {
            let mut out = init.clone();
            wtx(out.as_mut(), accum, w.as_ref(), &x, alpha);
            for j in 0..n {
                for c in 0..k {
                    let (exact, abs) = dot2((0..m).map(|i| (w[(i, j)], xm[(i, c)])));
                    let base = if accum == Accum::Add {
                        init[(j, c)]
                    } else {
                        0.0
                    };
                    let want = base + alpha * exact;
                    // Each lane sums ceil(m / 8) products with one rounding per fma, then three
                    // additions join the lanes, one multiplication applies alpha and one
                    // addition the accumulation: at most n = ceil(m / 8) + 5 roundings of at
                    // most eps / 2 each on partial sums bounded by sum |w x| (times |alpha|),
                    // plus the base's own rounding. n * eps bounds gamma_n = n (eps / 2) / (1 -
                    // n eps / 2) with a factor-2 margin; a wrong index or a lost term is off by
                    // a whole product (>= 1e-3 * 1e-3 here, far above the bound).
                    let rounds = m.div_ceil(LANES) + 5;
                    let tol = rounds as f64 * f64::EPSILON * (alpha.abs() * abs + base.abs())
                        + f64::MIN_POSITIVE;
                    let got = out[(j, c)];
                    assert!(
                        (got - want).abs() <= tol,
                        "m={m} n={n} k={k} ({j},{c}): {got:e} vs {want:e}, tol {tol:e}"
                    );
                }
            }
        }
    }
}

#[test]
fn wtx_gives_the_same_bits_at_every_level_and_for_strided_w() {
    for &(m, n, k) in &SHAPES {
        let w = filled(m, n, (m * 7 + n + k) as u64);
        let xm = filled(m, k, (m * 3 + k) as u64);
        let mut x = Panel::new(m, k);
        x.fill(xm.as_ref());
        // W as a view into a larger matrix (column stride > rows) and as the transpose of a
        // row-major copy (row stride != 1: the portable path at every level).
        let big = {
            let mut b = Mat::<f64>::zeros(m + 3, n);
            b.as_mut().submatrix_mut(1, 0, m, n).copy_from(w.as_ref());
            b
        };
        let wt = w.transpose().to_owned();
        for accum in [Accum::Replace, Accum::Add] {
            let mut first: Option<Vec<u64>> = None;
            for level in levels() {
                for view in [
                    w.as_ref(),
                    big.as_ref().submatrix(1, 0, m, n),
                    wt.as_ref().transpose(),
                ] {
                    let mut out = filled(n, k, 11);
                    wtx_at(level, out.as_mut(), accum, view, &x, 1.25);
                    let b = bits(&out);
                    match &first {
                        None => first = Some(b),
                        Some(f) => assert_eq!(f, &b, "{level:?} m={m} n={n} k={k}"),
                    }
                }
            }
        }
    }
}

#[test]
fn panel_round_trips_and_reshapes() {
    let xm = filled(13, 4, 3);
    let mut p = Panel::new(5, 2);
    p.fill(xm.as_ref());
    assert_eq!((p.rows(), p.cols()), (13, 4));
    assert_eq!(p.as_slice().len(), 16 * 4);
    // Padding rows are zero.
    assert!((13..16).all(|i| (0..4).all(|c| p.as_slice()[((i / 8) * 4 + c) * 8 + i % 8] == 0.0)));
    let mut back = Mat::<f64>::zeros(13, 4);
    p.unpack_into(back.as_mut());
    assert_eq!(bits(&back), bits(&xm));
}

#[test]
fn panel_values_start_on_a_cache_line() {
    for (r, c) in [(1, 1), (13, 4), (64, 10)] {
        let mut p = Panel::new(r, c);
        assert_eq!(p.as_slice().as_ptr() as usize % 64, 0);
        p.reset(r + 9, c);
        assert_eq!(p.as_mut_slice().as_ptr() as usize % 64, 0);
    }
}
