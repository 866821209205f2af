//! The one loop every fused pass runs over a d x d matrix W.
//!
//! Layout and order: W is swept in row panels of [`PANEL_ROWS`] rows; inside a panel, blocks of
//! [`JB`] columns; inside a block, groups of eight rows (one AVX-512 register). For each 8 x JB
//! tile the JB partial sums u = (P Q^T)[rows, block] are formed in registers (P's eight rows of
//! every k are one contiguous run of the packed panel, Q's entries are broadcast), W (and V) are
//! loaded once, updated and stored, and the tile's share of the next B-product out = W' y is
//! added into out's packed rows. Because a panel's rows of P and of out (2 x 1024 x K values,
//! 160 KB at K = 10) stay in the L2 cache for the whole sweep across the columns, the only
//! stream from memory is W itself (before the panels, P and out were re-read from the L3 cache
//! for every block of eight columns: at d = 8192 twice the bytes of W).
//!
//! Bits: every pass runs the same generic code ([`sweep`]) over one small set of vector
//! operations ([`Ops`]): eight lanes as an array (the scalar and AVX2 levels, which the
//! compiler vectorises) or as one AVX-512 register (intrinsics). Each lane sees the same IEEE
//! operations in the same order either way (`fma` is exactly rounded everywhere), so the
//! level never changes a bit; the orders are fixed by the loop structure alone (never by the
//! instruction set or thread count), so every pass that sums squares (commit, dry run, plain
//! norm) gives the same bits for the same entries.

use super::Entry;
use crate::linalg::stream::{Panel, LANES};
use crate::simd::{self, Level};
use faer::{Mat, MatRef};

/// Columns per block.
const JB: usize = 8;
/// Rows per panel (a multiple of [`LANES`]).
const PANEL_ROWS: usize = 1024;
/// How far ahead (in rows) the AVX-512 sweep prefetches W's columns (a hint only).
const PF_ROWS: usize = 64;

/// What a pass computes for every entry w of W (g = lambda w + (P Q^T)_ij, the gradient).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    /// W <- W' (and V <- V'); out = W' y; sums ||W'||^2 and ||V'||^2.
    Commit,
    /// ||W'||^2 without writing.
    Dry,
    /// ||g||^2.
    GradNorm,
    /// ||W||^2 (P, Q unused).
    Norm,
}

/// The packed operands of a pass (allocated once per model, reused every step).
pub(super) struct Scratch {
    p: Panel,
    out: Panel,
}

impl Scratch {
    /// Panels for d x K factors (sized here, so that no step allocates).
    pub(super) fn new(d: usize, k: usize) -> Self {
        Scratch {
            p: Panel::new(d, k),
            out: Panel::new(d, k),
        }
    }
}

/// Raw access to the matrices of one pass (see [`sweep`] for the contract).
struct Raw {
    w: *mut f64,
    col_stride: usize,
    v: *mut f64,
    d: usize,
    cols: usize,
    /// K (0 for [`Pass::Norm`]).
    k: usize,
    /// P packed ([`Panel`] layout, K columns).
    p: *const f64,
    /// Q and y: d x K, unit row stride, these column strides.
    q: *const f64,
    q_stride: usize,
    y: *const f64,
    y_stride: usize,
    /// out packed ([`Panel`] layout), written only by [`Pass::Commit`].
    out: *mut f64,
}

/// The commit pass (see [`Pass::Commit`]); returns (||W'||^2, ||V'||^2).
#[allow(clippy::too_many_arguments)]
pub(super) fn commit(
    w: &mut Mat<f64>,
    v: Option<&mut [f64]>,
    p: &Mat<f64>,
    q: &Mat<f64>,
    y: &Mat<f64>,
    out: &mut Mat<f64>,
    scratch: &mut Scratch,
    entry: Entry,
    lambda: f64,
) -> (f64, f64) {
    commit_at(simd::level(), w, v, p, q, y, out, scratch, entry, lambda)
}

/// [`commit`] at an explicit level (tests).
#[allow(clippy::too_many_arguments)]
pub(super) fn commit_at(
    level: Level,
    w: &mut Mat<f64>,
    v: Option<&mut [f64]>,
    p: &Mat<f64>,
    q: &Mat<f64>,
    y: &Mat<f64>,
    out: &mut Mat<f64>,
    scratch: &mut Scratch,
    entry: Entry,
    lambda: f64,
) -> (f64, f64) {
    let (d, cols) = (w.nrows(), w.ncols());
    let k = p.ncols();
    assert!(
        p.nrows() == d && q.shape() == (cols, k) && y.shape() == (cols, k),
        "fused commit: factor shapes"
    );
    assert_eq!(out.shape(), (d, k), "fused commit: output shape");
    let v = v.filter(|v| v.len() == d * cols);
    scratch.p.fill(p.as_ref());
    scratch.out.reset(d, k);
    let raw = Raw {
        w: w.as_ptr_mut(),
        col_stride: w.col_stride() as usize,
        v: v.map_or(std::ptr::null_mut(), |v| v.as_mut_ptr()),
        d,
        cols,
        k,
        p: scratch.p.as_slice().as_ptr(),
        q: q.as_ptr(),
        q_stride: q.col_stride() as usize,
        y: y.as_ptr(),
        y_stride: y.col_stride() as usize,
        out: scratch.out.as_mut_slice().as_mut_ptr(),
    };
    // SAFETY: `w`, `v` and the out panel are exclusively borrowed for the call; `raw` describes
    // them and the read-only operands, whose shapes were checked above.
    let r = unsafe { run(level, Pass::Commit, &raw, entry, lambda) };
    scratch.out.unpack_into(out.as_mut());
    r
}

/// A read-only pass ([`Pass::Dry`], [`Pass::GradNorm`], [`Pass::Norm`]); returns the sum.
#[allow(clippy::too_many_arguments)]
pub(super) fn read(
    pass: Pass,
    w: MatRef<'_, f64>,
    v: Option<&[f64]>,
    p: &Mat<f64>,
    q: &Mat<f64>,
    scratch: &mut Scratch,
    entry: Entry,
    lambda: f64,
) -> f64 {
    read_at(simd::level(), pass, w, v, p, q, scratch, entry, lambda)
}

/// [`read`] at an explicit level (tests).
#[allow(clippy::too_many_arguments)]
pub(super) fn read_at(
    level: Level,
    pass: Pass,
    w: MatRef<'_, f64>,
    v: Option<&[f64]>,
    p: &Mat<f64>,
    q: &Mat<f64>,
    scratch: &mut Scratch,
    entry: Entry,
    lambda: f64,
) -> f64 {
    assert!(pass != Pass::Commit, "fused read: not a read pass");
    let (d, cols) = (w.nrows(), w.ncols());
    assert_eq!(w.row_stride(), 1, "fused read: unit row stride");
    let k = if pass == Pass::Norm { 0 } else { p.ncols() };
    if k > 0 {
        assert!(
            p.nrows() == d && q.shape() == (cols, k),
            "fused read: factor shapes"
        );
        scratch.p.fill(p.as_ref());
    }
    let v = v.filter(|v| v.len() == d * cols);
    let raw = Raw {
        w: w.as_ptr() as *mut f64,
        col_stride: w.col_stride() as usize,
        v: v.map_or(std::ptr::null_mut(), |v| v.as_ptr() as *mut f64),
        d,
        cols,
        k,
        p: scratch.p.as_slice().as_ptr(),
        q: q.as_ptr(),
        q_stride: q.col_stride() as usize,
        y: std::ptr::null(),
        y_stride: 0,
        out: std::ptr::null_mut(),
    };
    // SAFETY: the pass is not `Commit`, so nothing is written through `raw`; shapes checked.
    unsafe { run(level, pass, &raw, entry, lambda) }.0
}

/// ||W||^2 in the order every other pass sums squares.
pub(super) fn norm(w: MatRef<'_, f64>) -> f64 {
    assert_eq!(w.row_stride(), 1, "fused norm: unit row stride");
    let raw = Raw {
        w: w.as_ptr() as *mut f64,
        col_stride: w.col_stride() as usize,
        v: std::ptr::null_mut(),
        d: w.nrows(),
        cols: w.ncols(),
        k: 0,
        p: std::ptr::null(),
        q: std::ptr::null(),
        q_stride: 0,
        y: std::ptr::null(),
        y_stride: 0,
        out: std::ptr::null_mut(),
    };
    // SAFETY: nothing is written, and `Norm` reads only W.
    unsafe { run(simd::level(), Pass::Norm, &raw, Entry::Gd { lr: 0.0 }, 0.0) }.0
}

/// [`sweep`] at `level` (capped at what the CPU supports).
///
/// # Safety
/// As [`sweep`].
unsafe fn run(level: Level, pass: Pass, raw: &Raw, entry: Entry, lambda: f64) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if level == Level::Avx512 && Level::Avx512.supported() {
        // SAFETY: the CPU has AVX-512F; forwarded contract.
        return unsafe { sweep_avx512(pass, raw, entry, lambda) };
    }
    // The array code at the requested level (the compiler vectorises it there).
    simd::dispatch::run_at(
        level.min(Level::Avx2),
        #[inline(always)]
        || unsafe { sweep::<Lanes>(pass, raw, entry, lambda) },
    )
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn sweep_avx512(pass: Pass, raw: &Raw, entry: Entry, lambda: f64) -> (f64, f64) {
    // SAFETY: forwarded contract; the AVX-512 operations run inside this AVX-512 function.
    unsafe { sweep::<x86::Zmm>(pass, raw, entry, lambda) }
}

/// Eight lanes of f64 and the operations the sweep needs, each one IEEE operation per lane.
trait Ops {
    type V: Copy;
    fn zero() -> Self::V;
    fn splat(x: f64) -> Self::V;
    /// # Safety
    /// `p` points to eight readable values.
    unsafe fn load(p: *const f64) -> Self::V;
    /// The first `n` (< 8) values, zero in the other lanes.
    ///
    /// # Safety
    /// `p` points to `n` readable values.
    unsafe fn load_n(p: *const f64, n: usize) -> Self::V;
    /// # Safety
    /// `p` points to eight writable values.
    unsafe fn store(p: *mut f64, v: Self::V);
    /// # Safety
    /// `p` points to `n` (< 8) writable values.
    unsafe fn store_n(p: *mut f64, v: Self::V, n: usize);
    fn add(a: Self::V, b: Self::V) -> Self::V;
    fn sub(a: Self::V, b: Self::V) -> Self::V;
    fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// a b + c, rounded once.
    fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    fn lanes(v: Self::V) -> [f64; LANES];
    /// A prefetch hint for the cache line at `p` (any address; no effect on values).
    fn prefetch(p: *const f64);
}

/// The portable lanes (scalar and AVX2 levels).
struct Lanes;

impl Ops for Lanes {
    type V = [f64; LANES];
    #[inline(always)]
    fn zero() -> Self::V {
        [0.0; LANES]
    }
    #[inline(always)]
    fn splat(x: f64) -> Self::V {
        [x; LANES]
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self::V {
        // SAFETY: contract.
        unsafe { *(p as *const [f64; LANES]) }
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f64, n: usize) -> Self::V {
        let mut x = [0.0; LANES];
        // SAFETY: contract.
        x[..n].copy_from_slice(unsafe { std::slice::from_raw_parts(p, n) });
        x
    }
    #[inline(always)]
    unsafe fn store(p: *mut f64, v: Self::V) {
        // SAFETY: contract.
        unsafe { *(p as *mut [f64; LANES]) = v };
    }
    #[inline(always)]
    unsafe fn store_n(p: *mut f64, v: Self::V, n: usize) {
        // SAFETY: contract.
        unsafe { std::slice::from_raw_parts_mut(p, n) }.copy_from_slice(&v[..n]);
    }
    #[inline(always)]
    fn add(a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|l| a[l] + b[l])
    }
    #[inline(always)]
    fn sub(a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|l| a[l] - b[l])
    }
    #[inline(always)]
    fn mul(a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|l| a[l] * b[l])
    }
    #[inline(always)]
    fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        std::array::from_fn(|l| a[l].mul_add(b[l], c[l]))
    }
    #[inline(always)]
    fn lanes(v: Self::V) -> [f64; LANES] {
        v
    }
    #[inline(always)]
    fn prefetch(_: *const f64) {}
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Ops, LANES};
    use core::arch::x86_64::*;

    /// One AVX-512 register. Its operations are only ever inlined into [`super::sweep_avx512`]
    /// (AVX-512F enabled, the CPU checked by the caller).
    pub(super) struct Zmm;

    impl Ops for Zmm {
        type V = __m512d;
        #[inline(always)]
        fn zero() -> Self::V {
            // SAFETY: only compiled into AVX-512 code (type docs).
            unsafe { _mm512_setzero_pd() }
        }
        #[inline(always)]
        fn splat(x: f64) -> Self::V {
            // SAFETY: as above.
            unsafe { _mm512_set1_pd(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> Self::V {
            // SAFETY: contract.
            unsafe { _mm512_loadu_pd(p) }
        }
        #[inline(always)]
        unsafe fn load_n(p: *const f64, n: usize) -> Self::V {
            // SAFETY: contract; the masked load reads only the first n values.
            unsafe { _mm512_maskz_loadu_pd(((1u32 << n) - 1) as u8, p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f64, v: Self::V) {
            // SAFETY: contract.
            unsafe { _mm512_storeu_pd(p, v) }
        }
        #[inline(always)]
        unsafe fn store_n(p: *mut f64, v: Self::V, n: usize) {
            // SAFETY: contract; the masked store writes only the first n values.
            unsafe { _mm512_mask_storeu_pd(p, ((1u32 << n) - 1) as u8, v) }
        }
        #[inline(always)]
        fn add(a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: as `zero`.
            unsafe { _mm512_add_pd(a, b) }
        }
        #[inline(always)]
        fn sub(a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: as `zero`.
            unsafe { _mm512_sub_pd(a, b) }
        }
        #[inline(always)]
        fn mul(a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: as `zero`.
            unsafe { _mm512_mul_pd(a, b) }
        }
        #[inline(always)]
        fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
            // SAFETY: as `zero`.
            unsafe { _mm512_fmadd_pd(a, b, c) }
        }
        #[inline(always)]
        fn lanes(v: Self::V) -> [f64; LANES] {
            let mut a = [0.0; LANES];
            // SAFETY: `a` holds eight values.
            unsafe { _mm512_storeu_pd(a.as_mut_ptr(), v) };
            a
        }
        #[inline(always)]
        fn prefetch(p: *const f64) {
            // SAFETY: a prefetch is a hint: it never faults, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
        }
    }
}

/// Pass and update kind as compile-time constants, so that the per-column loop of a tile is
/// free of branches and unrolls with its partial sums in registers.
const P_COMMIT: u8 = 0;
const P_DRY: u8 = 1;
const P_GRAD: u8 = 2;
const P_NORM: u8 = 3;
/// No state: x = w - lr g.
const M_PLAIN: u8 = 0;
/// State v <- g, x = w - lr v (momentum's first step; GD's rule with a state vector).
const M_FIRST: u8 = 1;
/// v <- mu v + keep g, x = w - lr v.
const M_MOMENTUM: u8 = 2;

/// The coefficients of one pass, splatted once.
#[derive(Clone, Copy)]
struct Coef<V> {
    lambda: V,
    lr: V,
    mu: V,
    keep: V,
}

/// [`sweep_with`] for the pass and entry's update kind.
///
/// # Safety
/// As [`sweep_with`].
#[inline(always)]
unsafe fn sweep<O: Ops>(pass: Pass, raw: &Raw, entry: Entry, lambda: f64) -> (f64, f64) {
    let has_v = !raw.v.is_null();
    let (lr, mu, keep, mode) = match (entry, has_v) {
        (Entry::Gd { lr }, false)
        | (Entry::MomentumFirst { lr } | Entry::Momentum { lr, .. }, false) => {
            (lr, 0.0, 0.0, M_PLAIN)
        }
        (Entry::Gd { lr } | Entry::MomentumFirst { lr }, true) => (lr, 0.0, 0.0, M_FIRST),
        (Entry::Momentum { lr, mu, keep }, true) => (lr, mu, keep, M_MOMENTUM),
    };
    let c = Coef {
        lambda: O::splat(lambda),
        lr: O::splat(lr),
        mu: O::splat(mu),
        keep: O::splat(keep),
    };
    // SAFETY (all arms): forwarded contract.
    unsafe {
        match (pass, mode) {
            (Pass::Commit, M_PLAIN) => sweep_with::<O, P_COMMIT, M_PLAIN>(raw, c),
            (Pass::Commit, M_FIRST) => sweep_with::<O, P_COMMIT, M_FIRST>(raw, c),
            (Pass::Commit, _) => sweep_with::<O, P_COMMIT, M_MOMENTUM>(raw, c),
            (Pass::Dry, M_PLAIN) => sweep_with::<O, P_DRY, M_PLAIN>(raw, c),
            (Pass::Dry, M_FIRST) => sweep_with::<O, P_DRY, M_FIRST>(raw, c),
            (Pass::Dry, _) => sweep_with::<O, P_DRY, M_MOMENTUM>(raw, c),
            (Pass::GradNorm, _) => sweep_with::<O, P_GRAD, M_PLAIN>(raw, c),
            (Pass::Norm, _) => sweep_with::<O, P_NORM, M_PLAIN>(raw, c),
        }
    }
}

/// # Safety
/// `raw.w` points to a d x cols column-major matrix with unit row stride and column stride
/// `raw.col_stride`; `raw.v` is null or points to d * cols values (column-major, stride d),
/// and is null when `MODE` is [`M_PLAIN`] and not null otherwise (for the update passes).
/// Both are written only for [`P_COMMIT`], and must then be exclusively the caller's.
/// Unless the pass is [`P_NORM`]: `raw.p` is a packed d x K panel and `raw.q` a cols x K
/// matrix; for `P_COMMIT` also `raw.y` (cols x K) and `raw.out` (a packed d x K panel, zeroed,
/// exclusively the caller's).
#[inline(always)]
unsafe fn sweep_with<O: Ops, const PASS: u8, const MODE: u8>(
    raw: &Raw,
    coef: Coef<O::V>,
) -> (f64, f64) {
    let (d, cols) = (raw.d, raw.cols);
    let mut acc = [O::zero(); JB];
    let mut acc_v = [O::zero(); JB];
    let mut r0 = 0;
    while r0 < d {
        let r1 = (r0 + PANEL_ROWS).min(d);
        let mut j0 = 0;
        while j0 + JB <= cols {
            // SAFETY: forwarded contract.
            unsafe { block::<O, PASS, MODE, JB>(raw, r0, r1, j0, coef, &mut acc, &mut acc_v) };
            j0 += JB;
        }
        while j0 < cols {
            // SAFETY: forwarded contract.
            unsafe { block::<O, PASS, MODE, 1>(raw, r0, r1, j0, coef, &mut acc, &mut acc_v) };
            j0 += 1;
        }
        r0 = r1;
    }
    let total = |a: &[O::V; JB]| a.iter().flat_map(|&v| O::lanes(v)).sum::<f64>();
    (
        total(&acc),
        if raw.v.is_null() { 0.0 } else { total(&acc_v) },
    )
}

/// Rows r0..r1 (r0 a multiple of 8) of columns j0..j0+B of [`sweep_with`]. The B column sums
/// of squares are carried in registers across the block's tiles.
///
/// # Safety
/// As [`sweep_with`], with j0 + B <= cols and r1 <= d.
#[inline(always)]
unsafe fn block<O: Ops, const PASS: u8, const MODE: u8, const B: usize>(
    raw: &Raw,
    r0: usize,
    r1: usize,
    j0: usize,
    coef: Coef<O::V>,
    acc: &mut [O::V; JB],
    acc_v: &mut [O::V; JB],
) {
    let mut a = [O::zero(); B];
    let mut av = [O::zero(); B];
    a.copy_from_slice(&acc[..B]);
    av.copy_from_slice(&acc_v[..B]);
    let full = r1 - (r1 - r0) % LANES;
    let mut i0 = r0;
    // Two row groups per tile while they last: twice the independent fma chains, and each
    // broadcast of Q and y serves two registers. Each entry sees the same operations, and every
    // column's sum of squares the same order, as with one group at a time.
    while i0 + 2 * LANES <= full {
        // SAFETY: forwarded contract; rows i0..i0 + 16 exist.
        unsafe { tile_full::<O, PASS, MODE, B, 2>(raw, j0, i0, coef, &mut a, &mut av) };
        i0 += 2 * LANES;
    }
    while i0 < full {
        // SAFETY: forwarded contract; rows i0..i0 + 8 exist.
        unsafe { tile::<O, PASS, MODE, B, true>(raw, j0, i0, LANES, coef, &mut a, &mut av) };
        i0 += LANES;
    }
    if i0 < r1 {
        // SAFETY: as above, rows i0..r1.
        unsafe { tile::<O, PASS, MODE, B, false>(raw, j0, i0, r1 - i0, coef, &mut a, &mut av) };
    }
    acc[..B].copy_from_slice(&a);
    acc_v[..B].copy_from_slice(&av);
}

/// Rows i0..i0+n (n <= 8; n = 8 when `FULL`) of columns j0..j0+B.
///
/// # Safety
/// As [`block`], with i0 + n <= d.
#[inline(always)]
unsafe fn tile<O: Ops, const PASS: u8, const MODE: u8, const B: usize, const FULL: bool>(
    raw: &Raw,
    j0: usize,
    i0: usize,
    n: usize,
    coef: Coef<O::V>,
    acc: &mut [O::V; B],
    acc_v: &mut [O::V; B],
) {
    let k = raw.k;
    let group = i0 / LANES;
    let load = |p: *const f64| {
        if FULL {
            // SAFETY: eight values (caller's contract).
            unsafe { O::load(p) }
        } else {
            // SAFETY: n values.
            unsafe { O::load_n(p, n) }
        }
    };
    let store = |p: *mut f64, v: O::V| {
        if FULL {
            // SAFETY: as `load`.
            unsafe { O::store(p, v) }
        } else {
            // SAFETY: as `load`.
            unsafe { O::store_n(p, v, n) }
        }
    };
    // u[c] = sum_k q[j0 + c, k] p[i0.., k], in k order (P's rows of this group: one run).
    let mut u = [O::zero(); B];
    if PASS != P_NORM {
        // SAFETY: the panel holds whole groups of K columns.
        let pg = unsafe { raw.p.add(group * k * LANES) };
        for kk in 0..k {
            // SAFETY: as above.
            let pl = unsafe { O::load(pg.add(kk * LANES)) };
            // SAFETY: q is cols x K with column stride q_stride.
            let qk = unsafe { raw.q.add(kk * raw.q_stride + j0) };
            for (c, uc) in u.iter_mut().enumerate() {
                // SAFETY: row j0 + c < cols.
                *uc = O::fma(O::splat(unsafe { *qk.add(c) }), pl, *uc);
            }
        }
    }
    for c in 0..B {
        let j = j0 + c;
        // SAFETY: column j, rows i0..i0+n lie inside the matrix (caller's contract).
        let wc = unsafe { raw.w.add(j * raw.col_stride + i0) };
        if FULL {
            O::prefetch(wc.wrapping_add(PF_ROWS));
        }
        let wl = load(wc);
        if PASS == P_NORM {
            acc[c] = O::add(acc[c], O::mul(wl, wl));
            continue;
        }
        // The optimiser's own per-entry arithmetic (see `ufm-plugin-std`).
        let g = O::add(O::mul(coef.lambda, wl), u[c]);
        if PASS == P_GRAD {
            acc[c] = O::add(acc[c], O::mul(g, g));
            continue;
        }
        // The state's entries (stride d): dereferenced only when not `M_PLAIN`, when `raw.v`
        // is not null (caller's contract).
        let vc = raw.v.wrapping_add(j * raw.d + i0);
        if FULL && MODE == M_MOMENTUM {
            O::prefetch(vc.wrapping_add(PF_ROWS));
        }
        let (x, vl) = match MODE {
            M_PLAIN => (O::sub(wl, O::mul(coef.lr, g)), g),
            M_FIRST => (O::sub(wl, O::mul(coef.lr, g)), g),
            _ => {
                let vl = O::add(O::mul(coef.mu, load(vc)), O::mul(coef.keep, g));
                (O::sub(wl, O::mul(coef.lr, vl)), vl)
            }
        };
        acc[c] = O::add(acc[c], O::mul(x, x));
        if MODE != M_PLAIN {
            acc_v[c] = O::add(acc_v[c], O::mul(vl, vl));
        }
        if PASS == P_COMMIT {
            store(wc, x);
            if MODE != M_PLAIN {
                store(vc, vl);
            }
        }
        // From here on u[c] holds the new entries W'[rows, j].
        u[c] = x;
    }
    if PASS == P_COMMIT {
        // out[i0.., k] += W'[i0.., j] y[j, k] over the block's columns, in order.
        // SAFETY: the out panel holds whole groups of K columns.
        let og = unsafe { raw.out.add(group * k * LANES) };
        for kk in 0..k {
            // SAFETY: as above; the panel's padding rows are written too (never read back
            // as results).
            let o = unsafe { og.add(kk * LANES) };
            // SAFETY: as above.
            let mut ol = unsafe { O::load(o) };
            // SAFETY: y is cols x K with column stride y_stride.
            let yk = unsafe { raw.y.add(kk * raw.y_stride + j0) };
            for (c, x) in u.iter().enumerate() {
                // SAFETY: row j0 + c < cols.
                ol = O::fma(*x, O::splat(unsafe { *yk.add(c) }), ol);
            }
            // SAFETY: as above.
            unsafe { O::store(o, ol) };
        }
    }
}

/// [`tile`] for G whole row groups (rows i0..i0 + 8 G) at once, the groups' operations
/// interleaved.
///
/// # Safety
/// As [`block`], with i0 + 8 G <= d.
#[inline(always)]
// Indexing u[g][c] by both loop counters shows the interleaving of the groups; iterator
// chains over the two dimensions would hide it.
#[allow(clippy::needless_range_loop)]
unsafe fn tile_full<O: Ops, const PASS: u8, const MODE: u8, const B: usize, const G: usize>(
    raw: &Raw,
    j0: usize,
    i0: usize,
    coef: Coef<O::V>,
    acc: &mut [O::V; B],
    acc_v: &mut [O::V; B],
) {
    let k = raw.k;
    let group = i0 / LANES;
    // u[g][c] = sum_k q[j0 + c, k] p[rows of group g, k], in k order.
    let mut u = [[O::zero(); B]; G];
    if PASS != P_NORM {
        // SAFETY: the panel holds whole groups of K columns.
        let pg = unsafe { raw.p.add(group * k * LANES) };
        for kk in 0..k {
            let mut pl = [O::zero(); G];
            for (g, x) in pl.iter_mut().enumerate() {
                // SAFETY: as above.
                *x = unsafe { O::load(pg.add((g * k + kk) * LANES)) };
            }
            // SAFETY: q is cols x K with column stride q_stride.
            let qk = unsafe { raw.q.add(kk * raw.q_stride + j0) };
            for c in 0..B {
                // SAFETY: row j0 + c < cols.
                let qc = O::splat(unsafe { *qk.add(c) });
                for g in 0..G {
                    u[g][c] = O::fma(qc, pl[g], u[g][c]);
                }
            }
        }
    }
    for c in 0..B {
        let j = j0 + c;
        for g in 0..G {
            // SAFETY: column j, rows i0 + 8g..+8 lie inside the matrix (caller's contract).
            let wc = unsafe { raw.w.add(j * raw.col_stride + i0 + g * LANES) };
            O::prefetch(wc.wrapping_add(PF_ROWS));
            // SAFETY: as above.
            let wl = unsafe { O::load(wc) };
            if PASS == P_NORM {
                acc[c] = O::add(acc[c], O::mul(wl, wl));
                continue;
            }
            let g_ = O::add(O::mul(coef.lambda, wl), u[g][c]);
            if PASS == P_GRAD {
                acc[c] = O::add(acc[c], O::mul(g_, g_));
                continue;
            }
            // Dereferenced only when not `M_PLAIN` (then `raw.v` is not null).
            let vc = raw.v.wrapping_add(j * raw.d + i0 + g * LANES);
            if MODE == M_MOMENTUM {
                O::prefetch(vc.wrapping_add(PF_ROWS));
            }
            let (x, vl) = match MODE {
                M_PLAIN => (O::sub(wl, O::mul(coef.lr, g_)), g_),
                M_FIRST => (O::sub(wl, O::mul(coef.lr, g_)), g_),
                _ => {
                    // SAFETY: eight state values (caller's contract).
                    let old = unsafe { O::load(vc) };
                    let vl = O::add(O::mul(coef.mu, old), O::mul(coef.keep, g_));
                    (O::sub(wl, O::mul(coef.lr, vl)), vl)
                }
            };
            acc[c] = O::add(acc[c], O::mul(x, x));
            if MODE != M_PLAIN {
                acc_v[c] = O::add(acc_v[c], O::mul(vl, vl));
            }
            if PASS == P_COMMIT {
                // SAFETY: as above.
                unsafe { O::store(wc, x) };
                if MODE != M_PLAIN {
                    // SAFETY: as above.
                    unsafe { O::store(vc, vl) };
                }
            }
            u[g][c] = x;
        }
    }
    if PASS == P_COMMIT {
        // out[rows, k] += W'[rows, j] y[j, k] over the block's columns, in order, per group.
        // SAFETY: the out panel holds whole groups of K columns.
        let og = unsafe { raw.out.add(group * k * LANES) };
        for kk in 0..k {
            let mut ol = [O::zero(); G];
            for (g, o) in ol.iter_mut().enumerate() {
                // SAFETY: as above.
                *o = unsafe { O::load(og.add((g * k + kk) * LANES)) };
            }
            // SAFETY: y is cols x K with column stride y_stride.
            let yk = unsafe { raw.y.add(kk * raw.y_stride + j0) };
            for c in 0..B {
                // SAFETY: row j0 + c < cols.
                let yc = O::splat(unsafe { *yk.add(c) });
                for g in 0..G {
                    ol[g] = O::fma(u[g][c], yc, ol[g]);
                }
            }
            for (g, o) in ol.iter().enumerate() {
                // SAFETY: as above.
                unsafe { O::store(og.add((g * k + kk) * LANES), *o) };
            }
        }
    }
}
