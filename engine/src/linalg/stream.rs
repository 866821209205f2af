//! Streaming products with one wide operand: W^T X for a d x d matrix W and a thin d x K
//! matrix X (K = classes, ~10), reading W once, in order.
//!
//! Why not faer: for such a thin right-hand side faer's GEMM packs the whole of W into its own
//! layout first (`gemm_pack_f64_simd512_m48`), an extra read and write of every entry; in the
//! fused wide step that packing took a third of the step at d = 2048 (BENCHMARKS.md). Here X is
//! packed instead (d K entries, [`Panel`]), and W's columns stream through the vector registers:
//! (W^T X)[j, k] = sum_i W[i, j] X[i, k], a few columns of W at a time with their accumulators
//! in registers. The AVX-512 path goes over W in groups of 12 columns and blocks of 256 rows,
//! saving the group's lane accumulators between row blocks, so that a row block of X (20 KB at
//! K = 10) is read from L2 once per 12 columns and then from L1 (before: all of X from L2 for
//! every 3 columns, 3.3 times the bytes of W), and prefetches W far ahead into L2.
//!
//! Bits: every output entry is summed in one fixed order, whatever the instruction set, the
//! register blocking or the thread count. Eight "lanes" l = 0..8 accumulate the rows i = l mod 8
//! in increasing i with fused multiply-adds (`acc_l = fma(W[i, j], X[i, k], acc_l)`, starting
//! from +0), then the lanes are added as ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)), the
//! order an AVX-512 register halves in; the AVX2 path keeps the eight lanes in two registers and
//! the scalar path in an array (`f64::mul_add` is the correctly rounded fma), so the three give
//! the same bits (tested). Rows past d are padding: X's are zero and W's are loaded as zero, and
//! fma(0, 0, acc) = acc (acc is never -0: it starts at +0 and round-to-nearest sums of opposite
//! zeros are +0).

use crate::simd::{self, Level};
use faer::{Accum, MatMut, MatRef};

/// Rows per lane group (one AVX-512 register, two AVX2 registers).
pub const LANES: usize = 8;

/// A d x K operand laid out for the streaming kernels: rows in groups of eight, each group
/// holding its eight rows of column 0, then of column 1, ... (`data[(b K + k) 8 + l] =
/// X[8 b + l, k]`), zero-padded to a multiple of eight rows. One group of every column is one
/// contiguous 64 K-byte run, so a pass down W reads X as a single forward stream.
///
/// The values start on a 64-byte boundary, so that every group of eight is one cache line and
/// one aligned AVX-512 load (a `Vec<f64>` is only 16-byte aligned: every load would straddle
/// two lines).
#[derive(Clone, Debug, Default)]
pub struct Panel {
    rows: usize,
    cols: usize,
    /// `len` values from `off`; `buf` has LANES - 1 spare values to align `off`.
    buf: Vec<f64>,
    off: usize,
    len: usize,
}

impl Panel {
    /// A zero panel for `rows` x `cols` operands.
    pub fn new(rows: usize, cols: usize) -> Self {
        let mut p = Panel::default();
        p.reset(rows, cols);
        p
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Reshape (allocating only when the size grows) and zero.
    pub fn reset(&mut self, rows: usize, cols: usize) {
        let len = rows.div_ceil(LANES) * LANES * cols;
        self.rows = rows;
        self.cols = cols;
        if self.buf.len() < len + LANES - 1 {
            self.buf = vec![0.0; len + LANES - 1];
        }
        self.off = self.buf.as_ptr().align_offset(64).min(LANES - 1);
        self.len = len;
        self.as_mut_slice().fill(0.0);
    }

    /// Copy `x` (any strides) in; reshapes to `x`'s shape first if needed.
    pub fn fill(&mut self, x: MatRef<'_, f64>) {
        if (x.nrows(), x.ncols()) != (self.rows, self.cols) {
            self.reset(x.nrows(), x.ncols());
        }
        let (k, rows) = (self.cols, self.rows);
        let data = self.as_mut_slice();
        for c in 0..k {
            for i in 0..rows {
                data[((i / LANES) * k + c) * LANES + i % LANES] = x[(i, c)];
            }
        }
    }

    /// Copy the panel out into `dst` (same shape).
    pub fn unpack_into(&self, mut dst: MatMut<'_, f64>) {
        assert_eq!((dst.nrows(), dst.ncols()), (self.rows, self.cols));
        let k = self.cols;
        let data = self.as_slice();
        for c in 0..k {
            for i in 0..self.rows {
                dst[(i, c)] = data[((i / LANES) * k + c) * LANES + i % LANES];
            }
        }
    }

    /// The interleaved values (see the type's docs).
    pub fn as_slice(&self) -> &[f64] {
        &self.buf[self.off..self.off + self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        &mut self.buf[self.off..self.off + self.len]
    }
}

/// out = alpha W^T X (`Accum::Replace`) or out += alpha W^T X (`Accum::Add`), W m x n,
/// X = `x` (m x K), out n x K, at the engine's SIMD level. The bits do not depend on the level
/// (module docs).
///
/// Panics when the shapes do not fit (a caller's bug, never the user's input).
pub fn wtx(out: MatMut<'_, f64>, accum: Accum, w: MatRef<'_, f64>, x: &Panel, alpha: f64) {
    wtx_at(simd::level(), out, accum, w, x, alpha)
}

/// [`wtx`] at an explicit level (capped at what the CPU supports); for tests and benchmarks.
pub fn wtx_at(
    level: Level,
    out: MatMut<'_, f64>,
    accum: Accum,
    w: MatRef<'_, f64>,
    x: &Panel,
    alpha: f64,
) {
    assert_eq!(w.nrows(), x.rows, "W^T X: rows of W and X");
    assert_eq!(
        (out.nrows(), out.ncols()),
        (w.ncols(), x.cols),
        "W^T X: shape of the output"
    );
    let level = level.min(simd::detected());
    #[cfg(target_arch = "x86_64")]
    if w.row_stride() == 1 && w.nrows() > 0 && x.cols > 0 {
        match level {
            // SAFETY: the CPU supports the level (capped above); W has unit row stride.
            Level::Avx512 => return unsafe { x86::wtx_avx512(out, accum, w, x, alpha) },
            // SAFETY: as above.
            Level::Avx2 => return unsafe { x86::wtx_avx2(out, accum, w, x, alpha) },
            Level::Scalar => {}
        }
    }
    let _ = level;
    wtx_portable(out, accum, w, x, alpha);
}

/// The scalar path (and the definition of the order): any strides.
fn wtx_portable(mut out: MatMut<'_, f64>, accum: Accum, w: MatRef<'_, f64>, x: &Panel, a: f64) {
    let (m, k) = (w.nrows(), x.cols);
    let data = x.as_slice();
    for j in 0..w.ncols() {
        for c in 0..k {
            let mut acc = [0.0f64; LANES];
            for i in 0..m {
                let xv = data[((i / LANES) * k + c) * LANES + i % LANES];
                acc[i % LANES] = w[(i, j)].mul_add(xv, acc[i % LANES]);
            }
            put(&mut out, accum, j, c, a * reduce8(&acc));
        }
    }
}

/// The fixed lane reduction (module docs).
#[inline(always)]
pub fn reduce8(a: &[f64; LANES]) -> f64 {
    ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

#[inline(always)]
fn put(out: &mut MatMut<'_, f64>, accum: Accum, j: usize, c: usize, v: f64) {
    out[(j, c)] = match accum {
        Accum::Replace => v,
        Accum::Add => out[(j, c)] + v,
    };
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{put, reduce8, Panel, LANES};
    use core::arch::x86_64::*;
    use faer::{Accum, MatMut, MatRef};

    /// Columns of W per AVX-512 block, and the largest K chunk: 3 x 5 accumulators + 3 W
    /// registers + 1 X. (2 x 10 accumulators, all of K = 10 in one pass, made LLVM spill a
    /// quarter of them to the stack in the inner loop; 4 x 5 measured slower than 3 x 5 at
    /// d = 8192.)
    const J512: usize = 3;
    const KC512: usize = 5;
    /// Largest K chunk of the AVX2 kernel (one column: 2 x KC accumulators + 2 + 1 <= 16).
    const KC256: usize = 6;
    /// How far ahead (in rows, 4 KB) the AVX-512 kernel prefetches W's columns, into the L2
    /// cache (`_MM_HINT_T1`): with the row blocks the L1 cache holds X's block, and a far
    /// prefetch into L2 left the W^T X time a third lower than 128 rows into L1 (perf samples
    /// at d = 8192, BENCHMARKS.md).
    const PF_ROWS: usize = 512;
    /// Columns of W per group sharing one read of each row block of X, and lane groups (of
    /// eight rows) per row block: 256 rows of X (K = 10: 20 KB) stay in the L1 cache while
    /// the group's 4 x 3 columns pass over them.
    const GROUP: usize = 4 * J512;
    const ROW_GROUPS: usize = 32;
    /// Most columns of X kept in the group state (GROUP x KMAX registers, 12 KB on the stack).
    const KMAX: usize = 16;

    /// Split 0..k into chunks of at most `max`, as even as possible (so that K = 10 at the AVX2
    /// level runs 5 + 5, not 6 + 4).
    fn chunks(k: usize, max: usize) -> impl Iterator<Item = (usize, usize)> {
        let n = k.div_ceil(max).max(1);
        (0..n).map(move |t| (t * k / n, (t + 1) * k / n))
    }

    macro_rules! by_kc {
        ($kc:expr, $f:ident :: <$j:tt>, $($arg:expr),*) => {
            match $kc {
                1 => $f::<$j, 1>($($arg),*),
                2 => $f::<$j, 2>($($arg),*),
                3 => $f::<$j, 3>($($arg),*),
                4 => $f::<$j, 4>($($arg),*),
                5 => $f::<$j, 5>($($arg),*),
                6 => $f::<$j, 6>($($arg),*),
                _ => unreachable!("chunk sizes are 1..=6"),
            }
        };
    }

    /// # Safety
    /// AVX-512F and FMA are available; `w` has unit row stride; shapes checked by the caller.
    #[target_feature(enable = "avx512f,fma")]
    pub(super) unsafe fn wtx_avx512(
        mut out: MatMut<'_, f64>,
        accum: Accum,
        w: MatRef<'_, f64>,
        x: &Panel,
        alpha: f64,
    ) {
        let n = w.ncols();
        let k = x.cols;
        let m = w.nrows();
        let full = m / LANES;
        // Column groups of GROUP columns and row blocks of ROW_GROUPS lane groups: the
        // lane accumulators of the whole group are kept in `state` between row blocks, so
        // each row block of X is read from the L2 cache once per column group (and from L1 by
        // its J512-column sub-blocks) instead of once per J512 columns. Saving and reloading
        // an accumulator does not change its value: every lane still sums its rows in
        // increasing order with the same fmas (module docs), so the bits are those of a
        // single pass. More than KMAX columns of X fall back to one row block.
        let rb = if k <= KMAX { ROW_GROUPS } else { full.max(1) };
        let mut state = [[_mm512_setzero_pd(); KMAX]; GROUP];
        let mut j0 = 0;
        while j0 < n {
            let gn = if k <= KMAX {
                (n - j0).min(GROUP)
            } else {
                (n - j0).min(J512)
            };
            for s in state.iter_mut().take(gn) {
                *s = [_mm512_setzero_pd(); KMAX];
            }
            let mut res = [[0.0f64; KC256]; J512];
            let mut b0 = 0;
            loop {
                let b1 = (b0 + rb).min(full);
                // The partial last lane group goes with the last row block.
                let last = b1 == full;
                let mut j = j0;
                while j < j0 + gn {
                    let jb = (j0 + gn - j).min(J512);
                    // The K chunks inside the column block, so that the later chunks find
                    // the block's rows in the L1 cache (W is read from memory once).
                    for (k0, k1) in chunks(k, KC512) {
                        // More than KMAX columns of X: no saved state and one row block (rb covers
                        // all rows, so b0 = 0, b1 = full and `last`): the sums are reduced into
                        // `res` and written out below.
                        let st = (k <= KMAX).then_some((&mut state, j - j0));
                        // SAFETY (all arms): columns j..j + jb exist; forwarded contract.
                        match jb {
                            3 => unsafe {
                                by_kc!(
                                    k1 - k0,
                                    block512::<3>,
                                    w,
                                    j,
                                    x,
                                    k0,
                                    b0,
                                    b1,
                                    last,
                                    st,
                                    &mut res
                                )
                            },
                            2 => unsafe {
                                by_kc!(
                                    k1 - k0,
                                    block512::<2>,
                                    w,
                                    j,
                                    x,
                                    k0,
                                    b0,
                                    b1,
                                    last,
                                    st,
                                    &mut res
                                )
                            },
                            _ => unsafe {
                                by_kc!(
                                    k1 - k0,
                                    block512::<1>,
                                    w,
                                    j,
                                    x,
                                    k0,
                                    b0,
                                    b1,
                                    last,
                                    st,
                                    &mut res
                                )
                            },
                        }
                        if k > KMAX {
                            for (c, r) in res.iter().enumerate().take(jb) {
                                for (t, &v) in r.iter().enumerate().take(k1 - k0) {
                                    put(&mut out, accum, j + c, k0 + t, alpha * v);
                                }
                            }
                        }
                    }
                    j += jb;
                }
                if last {
                    break;
                }
                b0 = b1;
            }
            if k <= KMAX {
                for (c, s) in state.iter().enumerate().take(gn) {
                    for (t, v) in s.iter().enumerate().take(k) {
                        let mut a = [0.0f64; LANES];
                        // SAFETY: `a` holds eight values.
                        unsafe { _mm512_storeu_pd(a.as_mut_ptr(), *v) };
                        put(&mut out, accum, j0 + c, t, alpha * reduce8(&a));
                    }
                }
            }
            j0 += gn;
        }
    }

    /// The lane sums of columns j..j+J of W against columns k0..k0+KC of X over lane groups
    /// b0..b1 (and the partial last group when `last`): continued from and saved to
    /// `state[c0 + c][k0 + t]` when given, else from zero and reduced into `res`.
    ///
    /// # Safety
    /// As [`wtx_avx512`], with j + J <= n, k0 + KC <= K (<= KMAX with a state, whose
    /// column block c0..c0 + J lies inside GROUP) and b1 <= m / 8.
    #[target_feature(enable = "avx512f,fma")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block512<const J: usize, const KC: usize>(
        w: MatRef<'_, f64>,
        j: usize,
        x: &Panel,
        k0: usize,
        b0: usize,
        b1: usize,
        last: bool,
        mut state: Option<(&mut [[__m512d; KMAX]; GROUP], usize)>,
        res: &mut [[f64; KC256]; J512],
    ) {
        let m = w.nrows();
        let k = x.cols;
        let full = m / LANES;
        let rem = m % LANES;
        let cs = w.col_stride();
        let base = w.as_ptr();
        let xp = x.as_slice().as_ptr();
        let mut acc = [[_mm512_setzero_pd(); KC]; J];
        if let Some((s, c0)) = &state {
            for c in 0..J {
                for t in 0..KC {
                    acc[c][t] = s[c0 + c][k0 + t];
                }
            }
        }
        let mut cols = [base; J];
        for (c, p) in cols.iter_mut().enumerate() {
            // SAFETY: column j + c exists (contract).
            *p = unsafe { base.offset(cs * (j + c) as isize) };
        }
        for b in b0..b1 {
            let mut wv = [_mm512_setzero_pd(); J];
            for c in 0..J {
                // Software prefetch PF_ROWS rows ahead in each column, into L2 (a hint: no
                // fault past the end, and no effect on any value).
                _mm_prefetch::<_MM_HINT_T1>(cols[c].wrapping_add(b * LANES + PF_ROWS) as *const i8);
                // SAFETY: rows 8b..8b+8 of the column exist.
                wv[c] = unsafe { _mm512_loadu_pd(cols[c].add(b * LANES)) };
            }
            // SAFETY: the panel holds full groups of every column.
            let xb = unsafe { xp.add((b * k + k0) * LANES) };
            for t in 0..KC {
                // SAFETY: as above.
                let xv = unsafe { _mm512_loadu_pd(xb.add(t * LANES)) };
                for (a, wc) in acc.iter_mut().zip(&wv) {
                    a[t] = _mm512_fmadd_pd(*wc, xv, a[t]);
                }
            }
        }
        if last && rem > 0 {
            let mask: __mmask8 = (1u8 << rem) - 1;
            let mut wv = [_mm512_setzero_pd(); J];
            for c in 0..J {
                // SAFETY: only the `rem` existing rows are read (masked load).
                wv[c] = unsafe { _mm512_maskz_loadu_pd(mask, cols[c].add(full * LANES)) };
            }
            // SAFETY: the panel is zero-padded to whole groups.
            let xb = unsafe { xp.add((full * k + k0) * LANES) };
            for t in 0..KC {
                // SAFETY: as above.
                let xv = unsafe { _mm512_loadu_pd(xb.add(t * LANES)) };
                for (a, wc) in acc.iter_mut().zip(&wv) {
                    a[t] = _mm512_fmadd_pd(*wc, xv, a[t]);
                }
            }
        }
        if let Some((s, c0)) = &mut state {
            for c in 0..J {
                for t in 0..KC {
                    s[*c0 + c][k0 + t] = acc[c][t];
                }
            }
            return;
        }
        for c in 0..J {
            for t in 0..KC {
                let mut a = [0.0f64; LANES];
                // SAFETY: `a` holds eight values.
                unsafe { _mm512_storeu_pd(a.as_mut_ptr(), acc[c][t]) };
                res[c][t] = reduce8(&a);
            }
        }
    }

    /// # Safety
    /// AVX2 and FMA are available; `w` has unit row stride; shapes checked by the caller.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn wtx_avx2(
        mut out: MatMut<'_, f64>,
        accum: Accum,
        w: MatRef<'_, f64>,
        x: &Panel,
        alpha: f64,
    ) {
        let n = w.ncols();
        let mut res = [0.0f64; KC256];
        for j in 0..n {
            // Chunks inside: the column is re-read from the L1/L2 cache.
            for (k0, k1) in chunks(x.cols, KC256) {
                // SAFETY: column j exists; forwarded contract.
                unsafe { by_kc!(k1 - k0, block256::<1>, w, j, x, k0, &mut res) };
                for (t, &v) in res.iter().enumerate().take(k1 - k0) {
                    put(&mut out, accum, j, k0 + t, alpha * v);
                }
            }
        }
    }

    /// One column j of W against columns k0..k0+KC of X (the eight lanes in two registers).
    ///
    /// # Safety
    /// As [`wtx_avx2`], with j < n and k0 + KC <= K.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn block256<const J: usize, const KC: usize>(
        w: MatRef<'_, f64>,
        j: usize,
        x: &Panel,
        k0: usize,
        res: &mut [f64; KC256],
    ) {
        let m = w.nrows();
        let k = x.cols;
        let full = m / LANES;
        let rem = m % LANES;
        // SAFETY: column j exists (contract).
        let col = unsafe { w.as_ptr().offset(w.col_stride() * j as isize) };
        let xp = x.as_slice().as_ptr();
        let mut lo = [_mm256_setzero_pd(); KC];
        let mut hi = [_mm256_setzero_pd(); KC];
        for b in 0..full {
            // SAFETY: rows 8b..8b+8 exist.
            let (wl, wh) = unsafe {
                (
                    _mm256_loadu_pd(col.add(b * LANES)),
                    _mm256_loadu_pd(col.add(b * LANES + 4)),
                )
            };
            // SAFETY: the panel holds full groups of every column.
            let xb = unsafe { xp.add((b * k + k0) * LANES) };
            for t in 0..KC {
                // SAFETY: as above.
                let (xl, xh) = unsafe {
                    (
                        _mm256_loadu_pd(xb.add(t * LANES)),
                        _mm256_loadu_pd(xb.add(t * LANES + 4)),
                    )
                };
                lo[t] = _mm256_fmadd_pd(wl, xl, lo[t]);
                hi[t] = _mm256_fmadd_pd(wh, xh, hi[t]);
            }
        }
        if rem > 0 {
            let mut tail = [0.0f64; LANES];
            for (i, v) in tail.iter_mut().enumerate().take(rem) {
                // SAFETY: row full * 8 + i < m.
                *v = unsafe { *col.add(full * LANES + i) };
            }
            // SAFETY: `tail` holds eight values.
            let (wl, wh) = unsafe {
                (
                    _mm256_loadu_pd(tail.as_ptr()),
                    _mm256_loadu_pd(tail.as_ptr().add(4)),
                )
            };
            // SAFETY: the panel is zero-padded to whole groups.
            let xb = unsafe { xp.add((full * k + k0) * LANES) };
            for t in 0..KC {
                // SAFETY: as above.
                let (xl, xh) = unsafe {
                    (
                        _mm256_loadu_pd(xb.add(t * LANES)),
                        _mm256_loadu_pd(xb.add(t * LANES + 4)),
                    )
                };
                lo[t] = _mm256_fmadd_pd(wl, xl, lo[t]);
                hi[t] = _mm256_fmadd_pd(wh, xh, hi[t]);
            }
        }
        for t in 0..KC {
            let mut a = [0.0f64; LANES];
            // SAFETY: `a` holds eight values.
            unsafe {
                _mm256_storeu_pd(a.as_mut_ptr(), lo[t]);
                _mm256_storeu_pd(a.as_mut_ptr().add(4), hi[t]);
            }
            res[t] = reduce8(&a);
        }
    }
}

#[cfg(test)]
mod tests;
