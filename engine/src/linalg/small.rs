//! The engine's own kernel for small products (every dimension <= [`SMALL_MAX`]): the d x d x N
//! products of the layered (ReLU) path and the K-wide products of the factored path. On by
//! default (chosen by shape only); `UFM_SMALL_GEMM=0` sends every product to faer instead.
//!
//! Why: at these sizes (Figures 1 and 6: d = 70, N = 50, K = 10) everything lives in L1/L2 and
//! what a general GEMM spends outside the multiply-adds (packing both operands, blocking for
//! caches the data already fits in) is a large part of the time. Here only what must move moves:
//! op(A) is read in place when its columns are contiguous (the common case) and otherwise
//! transposed, 24 rows at a time, into a small L1-resident panel; op(B) is never copied (the
//! microkernel broadcasts its elements from wherever they are, any strides). The microkernel
//! keeps a 24 x 8 tile of C in 24 zmm registers (AVX-512; 8 x 6 in 12 ymm registers at the
//! AVX2 level); row tails use masked loads and stores instead of padding, and the columns are
//! split into nearly equal blocks (n = 10 runs as 5 + 5, not 8 + 2). Measured with
//! `cargo run --release -p ufm-engine --example small_gemm` on the AMD EPYC (Zen 4, family 25
//! model 17, AVX-512, KVM) development machine, 2026-12-02, load ~6 from other jobs, GFLOP/s
//! faer -> own kernel (AVX-512 level): 70x70x50 52.4 -> 54.0, 70x50x70 (B transposed) 51.8 ->
//! 53.1, 70x70x50 (A transposed) 48.9 -> 50.9, 10x70x50 32.6 -> 34.2, 70x70x10 (both
//! transposed) 35.6 -> 42.4; whole figure6 / figure1 steps +6% / +10% per CPU-second
//! (docs/performance.md, "Small products").
//!
//! Determinism: every output element is `fma`-accumulated over the inner index in increasing
//! order starting from 0, then scaled by alpha (and added to the old value for `Accum::Add`),
//! whatever the level, the tile and the tail handling; the AVX-512, AVX2 and scalar builds
//! therefore give the same bits (tested). On the gradient's shapes (the Figure-1/6 sizes and a
//! `large` one) these are also faer 0.24's bits (tested), so switching the kernel on changed no
//! trajectory; on tiny shapes (one column, inner dimension <= 11) faer takes other routes with
//! other bits, and the choice between the two depends on the shape only, so a run is still
//! reproducible.

use crate::simd::{level, Level};
use faer::{Accum, MatMut, MatRef};
use std::cell::RefCell;

/// Largest dimension handled here; larger products go to faer, whose cache blocking wins there
/// (the own kernel has no blocking of the inner dimension).
pub const SMALL_MAX: usize = 320;

/// Rows of op(A) per tile at the AVX-512 level (3 zmm vectors).
const MR512: usize = 24;
/// Columns of op(B) per tile at the AVX-512 level. 24 x 8 was the fastest of 24 x 8, 16 x 12,
/// 32 x 6 and 24 x 7 on the Figure-1/6 shapes (Zen 4).
const NR512: usize = 8;
/// Rows per tile at the AVX2 level (2 ymm vectors).
const MR256: usize = 8;
/// Columns per tile at the AVX2 level (12 accumulators + 2 for A + 1 broadcast of 16 ymm).
const NR256: usize = 6;
/// Panel length for a transposed op(A): the tallest tile times the inner dimension, plus room
/// to align the start to 64 bytes.
const PANEL_ROWS: usize = MR512;

thread_local! {
    /// Panel for op(A) when its columns are not contiguous, grown on first use and kept (no
    /// allocation in the step loop after its first step).
    static PANEL: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Whether the kernel is switched on: yes unless `UFM_SMALL_GEMM=0` (read once), the switch
/// that lets a benchmark compare it with faer's products in the same build.
pub fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| !std::env::var("UFM_SMALL_GEMM").is_ok_and(|v| v.trim() == "0"))
}

/// Whether [`gemm`] takes this product (by shape only, so the choice is reproducible).
pub fn applies(dst: &MatMut<'_, f64>, inner: usize) -> bool {
    enabled() && shape_fits(dst, inner)
}

/// The shape condition of [`applies`], without the switch.
pub fn shape_fits(dst: &MatMut<'_, f64>, inner: usize) -> bool {
    let (m, n) = (dst.nrows(), dst.ncols());
    m.max(n).max(inner) <= SMALL_MAX && m > 0 && n > 0 && dst.row_stride() == 1
}

/// dst = alpha op(A) op(B) or dst += alpha op(A) op(B), at the engine's SIMD level.
pub fn gemm(
    dst: MatMut<'_, f64>,
    accum: Accum,
    lhs: MatRef<'_, f64>,
    rhs: MatRef<'_, f64>,
    alpha: f64,
) {
    gemm_at(level(), dst, accum, lhs, rhs, alpha)
}

/// The operands as pointers and element strides.
#[derive(Clone, Copy)]
struct Ops {
    m: usize,
    n: usize,
    k: usize,
    a: *const f64,
    rsa: isize,
    csa: isize,
    b: *const f64,
    rsb: isize,
    csb: isize,
    c: *mut f64,
    ldc: isize,
    alpha: f64,
    add: bool,
}

/// As [`gemm`], compiled for `level` (the same bits at every level; a level the CPU lacks runs
/// the next lower one). Panics on mismatched shapes or an output whose rows are not contiguous
/// (callers check [`applies`]).
pub fn gemm_at(
    level: Level,
    dst: MatMut<'_, f64>,
    accum: Accum,
    lhs: MatRef<'_, f64>,
    rhs: MatRef<'_, f64>,
    alpha: f64,
) {
    assert_eq!(lhs.ncols(), rhs.nrows(), "inner dimensions");
    assert_eq!(
        (dst.nrows(), dst.ncols()),
        (lhs.nrows(), rhs.ncols()),
        "output shape"
    );
    assert_eq!(dst.row_stride(), 1, "output rows must be contiguous");
    let (m, n, k) = (dst.nrows(), dst.ncols(), lhs.ncols());
    if m == 0 || n == 0 {
        return;
    }
    let o = Ops {
        m,
        n,
        k,
        a: lhs.as_ptr(),
        rsa: lhs.row_stride(),
        csa: lhs.col_stride(),
        b: rhs.as_ptr(),
        rsb: rhs.row_stride(),
        csb: rhs.col_stride(),
        c: dst.as_ptr_mut(),
        ldc: dst.col_stride(),
        alpha,
        add: matches!(accum, Accum::Add),
    };
    PANEL.with(|p| {
        let mut buf = p.borrow_mut();
        // A null panel: op(A) is read in place (its columns are contiguous).
        let panel = if o.rsa == 1 {
            std::ptr::null_mut()
        } else {
            let need = PANEL_ROWS * k + 8;
            if buf.len() < need {
                buf.resize(need, 0.0);
            }
            let off = buf.as_ptr().align_offset(64).min(7);
            buf[off..].as_mut_ptr()
        };
        // SAFETY: the pointers and strides describe the three matrices (borrowed for this
        // call, the output uniquely), the panel holds PANEL_ROWS * k elements, and each SIMD
        // driver runs only where the CPU supports its features.
        unsafe {
            #[cfg(target_arch = "x86_64")]
            match level {
                Level::Avx512 if Level::Avx512.supported() => return drive512(o, panel),
                Level::Avx512 | Level::Avx2 if Level::Avx2.supported() => {
                    return drive256(o, panel)
                }
                _ => {}
            }
            let _ = (level, panel);
            drive_scalar(o)
        }
    })
}

/// Row blocks of whole vectors: the ceil(m / lanes) vectors of a column split into
/// ceil(vectors / max_vecs) nearly equal groups, as (start, rows); only the last block can end
/// in a partial vector (m = 50 in 8-lane vectors runs as 24 + 16 + 10 rows: 7 vectors, where
/// equal row counts 17 + 17 + 16 would need 9).
#[inline(always)]
fn row_blocks(m: usize, lanes: usize, max_vecs: usize) -> impl Iterator<Item = (usize, usize)> {
    blocks(m.div_ceil(lanes), max_vecs)
        .map(move |(v0, nv)| (v0 * lanes, (nv * lanes).min(m - v0 * lanes)))
}

/// Split `len` into `ceil(len / max)` nearly equal blocks, as (start, size).
#[inline(always)]
fn blocks(len: usize, max: usize) -> impl Iterator<Item = (usize, usize)> {
    let nb = len.div_ceil(max).max(1);
    let (base, extra) = (len / nb, len % nb);
    (0..nb).scan(0usize, move |start, i| {
        let size = base + usize::from(i < extra);
        let s = *start;
        *start += size;
        Some((s, size))
    })
}

/// The reference order: each element accumulated with `mul_add` over p = 0, 1, ... from 0, then
/// alpha times that, added to the old value for `Accum::Add`.
///
/// # Safety
/// `o` describes valid matrices (see [`gemm_at`]).
unsafe fn drive_scalar(o: Ops) {
    for j in 0..o.n as isize {
        for i in 0..o.m as isize {
            let mut acc = 0.0f64;
            for p in 0..o.k as isize {
                let a = *o.a.offset(i * o.rsa + p * o.csa);
                let b = *o.b.offset(p * o.rsb + j * o.csb);
                acc = a.mul_add(b, acc);
            }
            let c = o.c.offset(i + j * o.ldc);
            let r = o.alpha * acc;
            *c = if o.add { *c + r } else { r };
        }
    }
}

/// Copy rows [i0, i0 + mr) of op(A) into `panel` (column-major, leading dimension `ld`).
///
/// # Safety
/// `o` describes valid matrices, `panel` holds `ld * k` elements, AVX is supported.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx")]
unsafe fn pack_rows(o: &Ops, i0: usize, mr: usize, panel: *mut f64, ld: usize) {
    use std::arch::x86_64::*;
    let a = o.a.offset(i0 as isize * o.rsa);
    if o.csa != 1 {
        for p in 0..o.k {
            for i in 0..mr {
                *panel.add(p * ld + i) = *a.offset(i as isize * o.rsa + p as isize * o.csa);
            }
        }
        return;
    }
    // Rows of op(A) are contiguous (A transposed): 4 x 4 transposes in registers.
    let (m4, k4, rs) = (mr / 4 * 4, o.k / 4 * 4, o.rsa);
    for i in (0..m4).step_by(4) {
        let row = |q: usize| a.offset((i + q) as isize * rs);
        for p in (0..k4).step_by(4) {
            let r0 = _mm256_loadu_pd(row(0).add(p));
            let r1 = _mm256_loadu_pd(row(1).add(p));
            let r2 = _mm256_loadu_pd(row(2).add(p));
            let r3 = _mm256_loadu_pd(row(3).add(p));
            let t0 = _mm256_unpacklo_pd(r0, r1);
            let t1 = _mm256_unpackhi_pd(r0, r1);
            let t2 = _mm256_unpacklo_pd(r2, r3);
            let t3 = _mm256_unpackhi_pd(r2, r3);
            let out = panel.add(p * ld + i);
            _mm256_storeu_pd(out, _mm256_permute2f128_pd(t0, t2, 0x20));
            _mm256_storeu_pd(out.add(ld), _mm256_permute2f128_pd(t1, t3, 0x20));
            _mm256_storeu_pd(out.add(2 * ld), _mm256_permute2f128_pd(t0, t2, 0x31));
            _mm256_storeu_pd(out.add(3 * ld), _mm256_permute2f128_pd(t1, t3, 0x31));
        }
        for p in k4..o.k {
            for q in 0..4 {
                *panel.add(p * ld + i + q) = *row(q).add(p);
            }
        }
    }
    for i in m4..mr {
        let row = a.offset(i as isize * rs);
        for p in 0..o.k {
            *panel.add(p * ld + i) = *row.add(p);
        }
    }
}

/// AVX-512: tiles of up to 24 x 8.
///
/// # Safety
/// `o` describes valid matrices, `panel` is null (op(A) has contiguous columns) or holds
/// `MR512 * k` elements, AVX-512F and FMA are supported.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn drive512(o: Ops, panel: *mut f64) {
    for (i0, mr) in row_blocks(o.m, 8, MR512 / 8) {
        let mv = mr.div_ceil(8);
        let tail = mr - 8 * (mv - 1);
        let mask: u8 = if tail == 8 { 0xff } else { (1u8 << tail) - 1 };
        let (a, lda) = if panel.is_null() {
            (o.a.add(i0), o.csa)
        } else {
            pack_rows(&o, i0, mr, panel, MR512);
            (panel as *const f64, MR512 as isize)
        };
        for (j0, nr) in blocks(o.n, NR512) {
            let b = o.b.offset(j0 as isize * o.csb);
            let c = o.c.offset(i0 as isize + j0 as isize * o.ldc);
            macro_rules! go {
                ($mv:literal) => {
                    match nr {
                        1 => micro512::<$mv, 1>(&o, a, lda, b, c, mask),
                        2 => micro512::<$mv, 2>(&o, a, lda, b, c, mask),
                        3 => micro512::<$mv, 3>(&o, a, lda, b, c, mask),
                        4 => micro512::<$mv, 4>(&o, a, lda, b, c, mask),
                        5 => micro512::<$mv, 5>(&o, a, lda, b, c, mask),
                        6 => micro512::<$mv, 6>(&o, a, lda, b, c, mask),
                        7 => micro512::<$mv, 7>(&o, a, lda, b, c, mask),
                        _ => micro512::<$mv, 8>(&o, a, lda, b, c, mask),
                    }
                };
            }
            match mv {
                1 => go!(1),
                2 => go!(2),
                _ => go!(3),
            }
        }
    }
}

/// One tile: rows [0, 8 (MV - 1) + popcount(mask)) of the column-major `a` (leading dimension
/// `lda`) times NR columns of op(B) from `b`, into `c`.
///
/// # Safety
/// As [`drive512`]; the tile lies inside the matrices.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f,fma")]
unsafe fn micro512<const MV: usize, const NR: usize>(
    o: &Ops,
    a: *const f64,
    lda: isize,
    b: *const f64,
    c: *mut f64,
    mask: u8,
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm512_setzero_pd(); MV]; NR];
    let (mut ap, mut bp) = (a, b);
    for _ in 0..o.k {
        let mut av = [_mm512_setzero_pd(); MV];
        for (v, x) in av.iter_mut().enumerate() {
            // Masked-off lanes are not read (no fault past the matrix) and load as 0.
            *x = if v + 1 < MV {
                _mm512_loadu_pd(ap.add(8 * v))
            } else {
                _mm512_maskz_loadu_pd(mask, ap.add(8 * v))
            };
        }
        for (j, accj) in acc.iter_mut().enumerate() {
            let bj = _mm512_set1_pd(*bp.offset(j as isize * o.csb));
            for v in 0..MV {
                accj[v] = _mm512_fmadd_pd(av[v], bj, accj[v]);
            }
        }
        ap = ap.offset(lda);
        bp = bp.offset(o.rsb);
    }
    let alpha = _mm512_set1_pd(o.alpha);
    for (j, accj) in acc.iter().enumerate() {
        let cp = c.offset(j as isize * o.ldc);
        for (v, &x) in accj.iter().enumerate() {
            let m = if v + 1 < MV { 0xff } else { mask };
            let mut r = _mm512_mul_pd(alpha, x);
            if o.add {
                r = _mm512_add_pd(_mm512_maskz_loadu_pd(m, cp.add(8 * v)), r);
            }
            _mm512_mask_storeu_pd(cp.add(8 * v), m, r);
        }
    }
}

/// AVX2: tiles of up to 8 x 6.
///
/// # Safety
/// As [`drive512`], with `MR256 * k` panel elements and AVX2 + FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn drive256(o: Ops, panel: *mut f64) {
    use std::arch::x86_64::*;
    for (i0, mr) in row_blocks(o.m, 4, MR256 / 4) {
        let mv = mr.div_ceil(4);
        let tail = mr - 4 * (mv - 1);
        let lane = |q: usize| -i64::from(tail > q);
        let mask = _mm256_setr_epi64x(lane(0), lane(1), lane(2), lane(3));
        let (a, lda) = if panel.is_null() {
            (o.a.add(i0), o.csa)
        } else {
            pack_rows(&o, i0, mr, panel, MR256);
            (panel as *const f64, MR256 as isize)
        };
        for (j0, nr) in blocks(o.n, NR256) {
            let b = o.b.offset(j0 as isize * o.csb);
            let c = o.c.offset(i0 as isize + j0 as isize * o.ldc);
            macro_rules! go {
                ($mv:literal) => {
                    match nr {
                        1 => micro256::<$mv, 1>(&o, a, lda, b, c, mask),
                        2 => micro256::<$mv, 2>(&o, a, lda, b, c, mask),
                        3 => micro256::<$mv, 3>(&o, a, lda, b, c, mask),
                        4 => micro256::<$mv, 4>(&o, a, lda, b, c, mask),
                        5 => micro256::<$mv, 5>(&o, a, lda, b, c, mask),
                        _ => micro256::<$mv, 6>(&o, a, lda, b, c, mask),
                    }
                };
            }
            match mv {
                1 => go!(1),
                _ => go!(2),
            }
        }
    }
}

/// As [`micro512`] with 4-lane vectors; `mask` selects the rows of the last one.
///
/// # Safety
/// As [`drive256`]; the tile lies inside the matrices.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn micro256<const MV: usize, const NR: usize>(
    o: &Ops,
    a: *const f64,
    lda: isize,
    b: *const f64,
    c: *mut f64,
    mask: std::arch::x86_64::__m256i,
) {
    use std::arch::x86_64::*;
    let all = _mm256_set1_epi64x(-1);
    let mut acc = [[_mm256_setzero_pd(); MV]; NR];
    let (mut ap, mut bp) = (a, b);
    for _ in 0..o.k {
        let mut av = [_mm256_setzero_pd(); MV];
        for (v, x) in av.iter_mut().enumerate() {
            *x = if v + 1 < MV {
                _mm256_loadu_pd(ap.add(4 * v))
            } else {
                _mm256_maskload_pd(ap.add(4 * v), mask)
            };
        }
        for (j, accj) in acc.iter_mut().enumerate() {
            let bj = _mm256_broadcast_sd(&*bp.offset(j as isize * o.csb));
            for v in 0..MV {
                accj[v] = _mm256_fmadd_pd(av[v], bj, accj[v]);
            }
        }
        ap = ap.offset(lda);
        bp = bp.offset(o.rsb);
    }
    let alpha = _mm256_set1_pd(o.alpha);
    for (j, accj) in acc.iter().enumerate() {
        let cp = c.offset(j as isize * o.ldc);
        for (v, &x) in accj.iter().enumerate() {
            let m = if v + 1 < MV { all } else { mask };
            let mut r = _mm256_mul_pd(alpha, x);
            if o.add {
                r = _mm256_add_pd(_mm256_maskload_pd(cp.add(4 * v), m), r);
            }
            _mm256_maskstore_pd(cp.add(4 * v), m, r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::{gaussian_matrix, stream};
    use faer::{Mat, Par};

    /// Shapes of the Figure-1/6 products and of the `large` setting, every tile tail (rows 1..=25
    /// against the 24-, 8- and 4-row vectors, columns 1..=9 against the 8- and 6-wide blocks),
    /// inner dimensions 0, 1 and odd, and the largest size taken.
    const SHAPES: [(usize, usize, usize); 22] = [
        // The gradient's products at the Figure-1/6 sizes (d = 70, N = 50, K = 10) and a
        // `large`-setting one (d = 256, K = 20).
        (70, 70, 50),
        (70, 50, 70),
        (10, 70, 50),
        (10, 50, 70),
        (70, 10, 50),
        (50, 70, 10),
        (70, 70, 10),
        (70, 10, 70),
        (256, 256, 20),
        // Tails and edge cases.
        (17, 33, 9),
        (1, 1, 1),
        (3, 300, 2),
        (25, 7, 7),
        (24, 5, 8),
        (23, 9, 6),
        (9, 4, 5),
        (8, 3, 3),
        (5, 11, 1),
        (2, 2, 13),
        (49, 1, 11),
        (33, 0, 4),
        (SMALL_MAX, 3, SMALL_MAX),
    ];

    /// How many of [`SHAPES`] (from the start) are the gradient's.
    const GRADIENT_SHAPES: usize = 9;

    /// op(X) (r x c) from a fresh matrix: optionally transposed, and optionally a strided view
    /// (every other row of a matrix twice as tall, so neither stride of op(X) is 1).
    struct Operand {
        data: Mat<f64>,
        rows: usize,
        cols: usize,
        transposed: bool,
        strided: bool,
    }

    fn operand(r: usize, c: usize, transposed: bool, strided: bool, seed: u64) -> Operand {
        let (rows, cols) = if transposed { (c, r) } else { (r, c) };
        let tall = if strided { 2 * rows } else { rows };
        Operand {
            data: gaussian_matrix(tall, cols, 1.0, &mut stream(seed, 0)),
            rows,
            cols,
            transposed,
            strided,
        }
    }

    fn view(x: &Operand) -> MatRef<'_, f64> {
        let v = if x.strided {
            // SAFETY: rows 0, 2, ..., 2 (rows - 1) of columns 0..cols lie inside `data`
            // (2 rows x cols, column-major with column stride col_stride()), borrowed for
            // the view's lifetime.
            unsafe {
                MatRef::from_raw_parts(x.data.as_ptr(), x.rows, x.cols, 2, x.data.col_stride())
            }
        } else {
            x.data.as_ref()
        };
        if x.transposed {
            v.transpose()
        } else {
            v
        }
    }

    #[test]
    fn small_kernel_matches_a_plain_reference_faer_and_itself_at_every_level() {
        let levels: Vec<Level> = Level::ALL.into_iter().filter(|l| l.supported()).collect();
        let mut checked = 0;
        let mut faer_differs = Vec::new();
        for (si, &(m, k, n)) in SHAPES.iter().enumerate() {
            for (tl, tr) in [(false, false), (true, false), (false, true), (true, true)] {
                for strided in [false, true] {
                    let a = operand(m, k, tl, strided, 1);
                    let b = operand(k, n, tr, strided, 2);
                    let (av, bv) = (view(&a), view(&b));
                    assert_eq!((av.nrows(), av.ncols(), bv.ncols()), (m, k, n));
                    let c0 = gaussian_matrix(m, n, 1.0, &mut stream(3, 0));
                    for accum in [Accum::Replace, Accum::Add] {
                        let alpha = -0.75;
                        let mut first: Option<Mat<f64>> = None;
                        for &lv in &levels {
                            let mut got = c0.clone();
                            gemm_at(lv, got.as_mut(), accum, av, bv, alpha);
                            for j in 0..n {
                                for i in 0..m {
                                    // Plain f64 reference (multiply, then add, in p order).
                                    // Both it and the FMA chain are within gamma_k sum|a b| of
                                    // the exact dot product (Higham, Thm 3.1), and alpha and
                                    // the add round twice more; (2k + 4) eps (|alpha| sum|a b|
                                    // + |c|) bounds the difference. A wrong index or tail gives
                                    // an O(1) relative error, far above it.
                                    let (mut s, mut abs) = (0.0f64, 0.0f64);
                                    for p in 0..k {
                                        s += av[(i, p)] * bv[(p, j)];
                                        abs += (av[(i, p)] * bv[(p, j)]).abs();
                                    }
                                    let old = if accum == Accum::Add { c0[(i, j)] } else { 0.0 };
                                    let want = old + alpha * s;
                                    let tol = (2 * k + 4) as f64
                                        * f64::EPSILON
                                        * (alpha.abs() * abs + old.abs());
                                    let d = (got[(i, j)] - want).abs();
                                    assert!(
                                        d <= tol,
                                        "{m}x{k}x{n} tl={tl} tr={tr} strided={strided} \
                                         {accum:?} {lv:?} ({i},{j}): {} vs {want}",
                                        got[(i, j)]
                                    );
                                }
                            }
                            match &first {
                                None => first = Some(got),
                                Some(f) => assert!(
                                    bits_equal(f, &got),
                                    "{lv:?} differs from {:?}: {m}x{k}x{n} tl={tl} tr={tr} \
                                     strided={strided} {accum:?}",
                                    levels[0]
                                ),
                            }
                            checked += 1;
                        }
                        // On the gradient's shapes (the first GRADIENT_SHAPES) faer 0.24
                        // accumulates each element the same way (FMA in p order from 0, then
                        // alpha and the old value), so the kernel choice does not change a
                        // trajectory. If a faer upgrade changes that, this fails: the kernel is
                        // still correct (checked above), but the docs' claim must go. (On tiny
                        // shapes, n = 1 and k <= 11 here, faer takes other routes with other
                        // bits.)
                        if si >= GRADIENT_SHAPES {
                            continue;
                        }
                        let mut theirs = c0.clone();
                        crate::linalg::matmul(theirs.as_mut(), accum, av, bv, alpha, Par::Seq);
                        if !bits_equal(first.as_ref().unwrap(), &theirs) {
                            faer_differs.push(format!(
                                "{m}x{k}x{n} tl={tl} tr={tr} strided={strided} {accum:?}"
                            ));
                        }
                    }
                }
            }
        }
        assert!(checked >= SHAPES.len() * 16);
        assert!(
            faer_differs.is_empty(),
            "faer's bits differ: {faer_differs:#?}"
        );
    }

    fn bits_equal(x: &Mat<f64>, y: &Mat<f64>) -> bool {
        (0..x.ncols()).all(|j| (0..x.nrows()).all(|i| x[(i, j)].to_bits() == y[(i, j)].to_bits()))
    }

    #[test]
    fn output_views_with_a_column_stride_and_shapes_beyond_the_limit() {
        // Writing into a sub-block of a larger matrix touches only that block.
        let a = gaussian_matrix(30, 20, 1.0, &mut stream(4, 0));
        let b = gaussian_matrix(20, 9, 1.0, &mut stream(5, 0));
        let mut big = gaussian_matrix(40, 12, 1.0, &mut stream(6, 0));
        let before = big.clone();
        gemm(
            big.as_mut().submatrix_mut(5, 2, 30, 9),
            Accum::Replace,
            a.as_ref(),
            b.as_ref(),
            1.0,
        );
        let want = crate::linalg::mul(a.as_ref(), b.as_ref());
        for j in 0..12 {
            for i in 0..40 {
                let inside = (5..35).contains(&i) && (2..11).contains(&j);
                if inside {
                    assert_eq!(big[(i, j)].to_bits(), want[(i - 5, j - 2)].to_bits());
                } else {
                    assert_eq!(big[(i, j)].to_bits(), before[(i, j)].to_bits());
                }
            }
        }
        let mut c = Mat::<f64>::zeros(SMALL_MAX + 1, 2);
        assert!(!shape_fits(&c.as_mut(), 3));
        assert!(shape_fits(&c.as_mut().subrows_mut(0, SMALL_MAX), SMALL_MAX));
        assert!(!shape_fits(
            &c.as_mut().subrows_mut(0, SMALL_MAX),
            SMALL_MAX + 1
        ));
        assert!(!shape_fits(&c.as_mut().transpose_mut(), 3));
    }
}
