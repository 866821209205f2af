//! Element-wise passes over the columns of a matrix (the gradient's `lambda W` copy with its
//! squared norm, the squared norm alone, gradient descent's update, ReLU and its mask), written
//! with explicit AVX-512 and AVX2 intrinsics.
//!
//! Why not the plain Rust loops: compiled for the wide levels, those loops left most of their
//! time outside the vector body. The 8-accumulator sum of squares came out as 2-lane `xmm`
//! shuffles, every column paid a slice conversion and a scalar remainder loop (70-row columns
//! end in 6 scalar entries, W_L's 10-row columns in 2), and on Figure 1 the copy and the update
//! together took ~27% of a step (`perf record` of `ufm bench --setting figure1`). Here the level
//! is chosen once per matrix and columns are walked with their stride. The update and ReLU
//! passes end a column with a masked load and store (AVX-512) or a copy through a small buffer
//! (AVX2); the squared-norm passes take whole groups of 8 rows in vectors and the rest one by
//! one, which their summation order requires anyway.
//!
//! **Same bits at every level.** Each entry sees the same IEEE operations as in the scalar
//! loop (a product then a difference, never a fused multiply-add). The squared norm keeps the
//! order the engine has always used: per column, eight running sums over entries 8c + k
//! (lane k of one zmm, or of two ymm), added as ((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7)), then the
//! remaining rows % 8 squares one by one; the column sums are added in column order.
//!
//! Views must have unit row stride (every matrix ufm owns has); the functions return `None`
//! for other views, and callers keep their strided fallback.

use super::dispatch::{level, Level};
use faer::{MatMut, MatRef};

/// Runs `$kernel` compiled for `$level`: its AVX-512 or AVX2 instantiation inside the
/// target-feature function of that level when the CPU has it, else the one-lane baseline build
/// (so an unsupported level can never execute instructions the CPU lacks). Each vector
/// instantiation is compiled only into its own level's function (not into `run_at`'s
/// fallbacks, where it would be dead code calling the intrinsics out of line).
macro_rules! at_level {
    ($level:expr, $kernel:ident$(::<$($g:tt),*>)?($($arg:expr),*)) => {{
        match $level {
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 if Level::Avx512.supported() => super::dispatch::with_avx512(
                #[inline(always)]
                || $kernel::<wide::Zmm $($(, $g)*)?>($($arg),*),
            ),
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 if Level::Avx2.supported() => super::dispatch::with_avx2(
                #[inline(always)]
                || $kernel::<wide::Ymm $($(, $g)*)?>($($arg),*),
            ),
            _ => $kernel::<One $($(, $g)*)?>($($arg),*),
        }
    }};
}

/// Pointer and column stride of a view whose entries (i, j) are at `ptr + i + j * cs`, or
/// `None` when its rows are not contiguous.
fn raw(m: MatRef<'_, f64>) -> Option<(*const f64, isize)> {
    (m.row_stride() == 1 || m.nrows() <= 1).then(|| (m.as_ptr(), m.col_stride()))
}

fn raw_mut(m: MatMut<'_, f64>) -> Option<(*mut f64, isize)> {
    (m.row_stride() == 1 || m.nrows() <= 1).then(|| (m.as_ptr_mut(), m.col_stride()))
}

/// dst = alpha * src; returns the squared norm of src in the engine's summation order.
/// `None` (nothing written) when shapes differ or a view has no unit row stride.
pub fn scale_into(dst: MatMut<'_, f64>, src: MatRef<'_, f64>, alpha: f64) -> Option<f64> {
    scale_into_at(level(), dst, src, alpha)
}

pub fn scale_into_at(
    level: Level,
    dst: MatMut<'_, f64>,
    src: MatRef<'_, f64>,
    alpha: f64,
) -> Option<f64> {
    let (rows, cols) = (src.nrows(), src.ncols());
    if (dst.nrows(), dst.ncols()) != (rows, cols) {
        return None;
    }
    let (s, ss) = raw(src)?;
    let (d, ds) = raw_mut(dst)?;
    // SAFETY: both views cover rows x cols entries at the strides read off them; `dst` is a
    // unique borrow, so it does not overlap `src`.
    Some(unsafe { at_level!(level, scale_cols::<true>(d, ds, s, ss, rows, cols, alpha)) })
}

/// ||m||_F^2 in the engine's summation order, or `None` for a view without unit row stride.
pub fn squared_norm(m: MatRef<'_, f64>) -> Option<f64> {
    squared_norm_at(level(), m)
}

pub fn squared_norm_at(level: Level, m: MatRef<'_, f64>) -> Option<f64> {
    let (p, ps) = raw(m)?;
    // SAFETY: the view covers its rows x cols entries at this stride.
    Some(unsafe {
        at_level!(
            level,
            scale_cols::<false>(std::ptr::null_mut(), 0, p, ps, m.nrows(), m.ncols(), 0.0)
        )
    })
}

/// out = p - lr * g (gradient descent). `None` (nothing written) when shapes differ or a view
/// has no unit row stride.
pub fn descend(
    out: MatMut<'_, f64>,
    p: MatRef<'_, f64>,
    g: MatRef<'_, f64>,
    lr: f64,
) -> Option<()> {
    descend_at(level(), out, p, g, lr)
}

pub fn descend_at(
    level: Level,
    out: MatMut<'_, f64>,
    p: MatRef<'_, f64>,
    g: MatRef<'_, f64>,
    lr: f64,
) -> Option<()> {
    let (rows, cols) = (p.nrows(), p.ncols());
    if (out.nrows(), out.ncols()) != (rows, cols) || (g.nrows(), g.ncols()) != (rows, cols) {
        return None;
    }
    let (pp, ps) = raw(p)?;
    let (gp, gs) = raw(g)?;
    let (o, os) = raw_mut(out)?;
    // SAFETY: every view covers rows x cols entries at its stride; `out` is a unique borrow.
    unsafe { at_level!(level, descend_cols(o, os, pp, ps, gp, gs, rows, cols, lr)) };
    Some(())
}

/// d = d where act > 0, else +0 (ReLU's derivative is 0 at and below 0, and for NaN). With
/// `act` = d itself this is ReLU in place ([`relu`]). `None` when shapes differ or a view has
/// no unit row stride.
pub fn keep_where_positive(d: MatMut<'_, f64>, act: MatRef<'_, f64>) -> Option<()> {
    keep_where_positive_at(level(), d, act)
}

pub fn keep_where_positive_at(
    level: Level,
    d: MatMut<'_, f64>,
    act: MatRef<'_, f64>,
) -> Option<()> {
    let (rows, cols) = (d.nrows(), d.ncols());
    if (act.nrows(), act.ncols()) != (rows, cols) {
        return None;
    }
    let (a, as_) = raw(act)?;
    let (dp, ds) = raw_mut(d)?;
    // SAFETY: both views cover rows x cols entries at their strides.
    unsafe { at_level!(level, mask_cols(dp, ds, a, as_, rows, cols)) };
    Some(())
}

/// x = max(x, 0) for every entry, written as `x > 0 ? x : +0` (NaN gives 0, as the scalar
/// loop does). `None` for a view without unit row stride.
pub fn relu(m: MatMut<'_, f64>) -> Option<()> {
    relu_at(level(), m)
}

pub fn relu_at(level: Level, m: MatMut<'_, f64>) -> Option<()> {
    let (rows, cols) = (m.nrows(), m.ncols());
    let (p, ps) = raw_mut(m)?;
    // SAFETY: the view covers rows x cols entries; reading an entry before overwriting it in
    // the same lane makes `act` = `d` well defined.
    unsafe { at_level!(level, mask_cols(p, ps, p, ps, rows, cols)) };
    Some(())
}

/// A vector of `N` f64 lanes with the few operations the kernels need. Implemented for one
/// plain f64 (the baseline build) and, on x86-64, for ymm and zmm registers.
trait Lanes: Copy {
    const N: usize;
    unsafe fn splat(x: f64) -> Self;
    unsafe fn load(p: *const f64) -> Self;
    unsafe fn store(self, p: *mut f64);
    /// The first `n` (0 < n < N) entries at `p`, the other lanes 0.
    unsafe fn load_part(p: *const f64, n: usize) -> Self;
    /// Writes the first `n` (0 < n < N) lanes to `p`, nothing else.
    unsafe fn store_part(self, p: *mut f64, n: usize);
    unsafe fn add(self, o: Self) -> Self;
    unsafe fn sub(self, o: Self) -> Self;
    unsafe fn mul(self, o: Self) -> Self;
    /// self in the lanes where `c > 0` (ordered: false for NaN), +0 elsewhere.
    unsafe fn where_positive(self, c: Self) -> Self;
}

#[derive(Clone, Copy)]
struct One(f64);

impl Lanes for One {
    const N: usize = 1;
    #[inline(always)]
    unsafe fn splat(x: f64) -> Self {
        One(x)
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        One(*p)
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        *p = self.0
    }
    #[inline(always)]
    unsafe fn load_part(_: *const f64, _: usize) -> Self {
        unreachable!("a one-lane vector has no partial loads")
    }
    #[inline(always)]
    unsafe fn store_part(self, _: *mut f64, _: usize) {
        unreachable!("a one-lane vector has no partial stores")
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        One(self.0 + o.0)
    }
    #[inline(always)]
    unsafe fn sub(self, o: Self) -> Self {
        One(self.0 - o.0)
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        One(self.0 * o.0)
    }
    #[inline(always)]
    unsafe fn where_positive(self, c: Self) -> Self {
        if c.0 > 0.0 {
            self
        } else {
            One(0.0)
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod wide {
    use super::Lanes;
    use std::arch::x86_64::*;

    /// The methods whose body is one intrinsic, the same for both widths.
    macro_rules! same_shape {
        ($w:ident, $set1:ident, $loadu:ident, $storeu:ident) => {
            #[inline(always)]
            unsafe fn splat(x: f64) -> Self {
                $w($set1(x))
            }
            #[inline(always)]
            unsafe fn load(p: *const f64) -> Self {
                $w($loadu(p))
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut f64) {
                $storeu(p, self.0)
            }
        };
    }

    macro_rules! arithmetic {
        ($w:ident, $add:ident, $sub:ident, $mul:ident) => {
            #[inline(always)]
            unsafe fn add(self, o: Self) -> Self {
                $w($add(self.0, o.0))
            }
            #[inline(always)]
            unsafe fn sub(self, o: Self) -> Self {
                $w($sub(self.0, o.0))
            }
            #[inline(always)]
            unsafe fn mul(self, o: Self) -> Self {
                $w($mul(self.0, o.0))
            }
        };
    }

    #[derive(Clone, Copy)]
    pub struct Ymm(__m256d);

    impl Lanes for Ymm {
        const N: usize = 4;
        same_shape!(Ymm, _mm256_set1_pd, _mm256_loadu_pd, _mm256_storeu_pd);
        #[inline(always)]
        unsafe fn load_part(p: *const f64, n: usize) -> Self {
            let mut buf = [0.0; 4];
            std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n);
            Ymm(_mm256_loadu_pd(buf.as_ptr()))
        }
        #[inline(always)]
        unsafe fn store_part(self, p: *mut f64, n: usize) {
            let mut buf = [0.0; 4];
            _mm256_storeu_pd(buf.as_mut_ptr(), self.0);
            std::ptr::copy_nonoverlapping(buf.as_ptr(), p, n);
        }
        arithmetic!(Ymm, _mm256_add_pd, _mm256_sub_pd, _mm256_mul_pd);
        #[inline(always)]
        unsafe fn where_positive(self, c: Self) -> Self {
            let keep = _mm256_cmp_pd::<_CMP_GT_OQ>(c.0, _mm256_setzero_pd());
            Ymm(_mm256_and_pd(keep, self.0))
        }
    }

    #[derive(Clone, Copy)]
    pub struct Zmm(__m512d);

    /// Lanes 0..n of a zmm (n < 8).
    #[inline(always)]
    fn first(n: usize) -> __mmask8 {
        ((1u32 << n) - 1) as __mmask8
    }

    impl Lanes for Zmm {
        const N: usize = 8;
        same_shape!(Zmm, _mm512_set1_pd, _mm512_loadu_pd, _mm512_storeu_pd);
        #[inline(always)]
        unsafe fn load_part(p: *const f64, n: usize) -> Self {
            // Masked-off lanes are not read (no fault past the column's end).
            Zmm(_mm512_maskz_loadu_pd(first(n), p))
        }
        #[inline(always)]
        unsafe fn store_part(self, p: *mut f64, n: usize) {
            _mm512_mask_storeu_pd(p, first(n), self.0)
        }
        arithmetic!(Zmm, _mm512_add_pd, _mm512_sub_pd, _mm512_mul_pd);
        #[inline(always)]
        unsafe fn where_positive(self, c: Self) -> Self {
            let keep = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(c.0, _mm512_setzero_pd());
            Zmm(_mm512_maskz_mov_pd(keep, self.0))
        }
    }
}

/// The squared norm's running sums: lane k of the `8 / N` vectors holds the sum over entries
/// 8c + k of the column (only the first 8 / N are used).
type Sums<V> = [V; 8];

/// ((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7)) of the running sums.
#[inline(always)]
unsafe fn fold<V: Lanes>(acc: &Sums<V>) -> f64 {
    let mut a = [0.0f64; 8];
    for (k, v) in acc.iter().enumerate().take(8 / V::N) {
        v.store(a.as_mut_ptr().add(k * V::N));
    }
    ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

/// d = alpha s (when WRITE; without it `d` is not touched and may be null) and the squared
/// norm of s, column by column.
#[inline(always)]
unsafe fn scale_cols<V: Lanes, const WRITE: bool>(
    d: *mut f64,
    ds: isize,
    s: *const f64,
    ss: isize,
    rows: usize,
    cols: usize,
    alpha: f64,
) -> f64 {
    let va = V::splat(alpha);
    let body = rows / 8 * 8;
    let mut total = 0.0;
    for j in 0..cols as isize {
        let (dj, sj) = (d.wrapping_offset(j * ds), s.wrapping_offset(j * ss));
        let mut acc: Sums<V> = [V::splat(0.0); 8];
        let mut i = 0;
        while i < body {
            for (k, a) in acc.iter_mut().enumerate().take(8 / V::N) {
                let x = V::load(sj.add(i + k * V::N));
                if WRITE {
                    x.mul(va).store(dj.add(i + k * V::N));
                }
                *a = a.add(x.mul(x));
            }
            i += 8;
        }
        let mut col = fold(&acc);
        for i in body..rows {
            let x = *sj.add(i);
            if WRITE {
                *dj.add(i) = x * alpha;
            }
            col += x * x;
        }
        total += col;
    }
    total
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn descend_cols<V: Lanes>(
    o: *mut f64,
    os: isize,
    p: *const f64,
    ps: isize,
    g: *const f64,
    gs: isize,
    rows: usize,
    cols: usize,
    lr: f64,
) {
    let vl = V::splat(lr);
    let body = rows / V::N * V::N;
    for j in 0..cols as isize {
        let (oj, pj, gj) = (
            o.wrapping_offset(j * os),
            p.wrapping_offset(j * ps),
            g.wrapping_offset(j * gs),
        );
        let mut i = 0;
        while i < body {
            V::load(pj.add(i))
                .sub(vl.mul(V::load(gj.add(i))))
                .store(oj.add(i));
            i += V::N;
        }
        if body < rows {
            let n = rows - body;
            V::load_part(pj.add(body), n)
                .sub(vl.mul(V::load_part(gj.add(body), n)))
                .store_part(oj.add(body), n);
        }
    }
}

#[inline(always)]
unsafe fn mask_cols<V: Lanes>(
    d: *mut f64,
    ds: isize,
    a: *const f64,
    as_: isize,
    rows: usize,
    cols: usize,
) {
    let body = rows / V::N * V::N;
    for j in 0..cols as isize {
        let (dj, aj) = (d.wrapping_offset(j * ds), a.wrapping_offset(j * as_));
        let mut i = 0;
        while i < body {
            V::load(dj.add(i))
                .where_positive(V::load(aj.add(i)))
                .store(dj.add(i));
            i += V::N;
        }
        if body < rows {
            let n = rows - body;
            V::load_part(dj.add(body), n)
                .where_positive(V::load_part(aj.add(body), n))
                .store_part(dj.add(body), n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    /// Entries of both signs and several magnitudes, with exact zeros of both signs and a NaN, so
    /// the masks see every case the scalar comparison distinguishes.
    fn sample(rows: usize, cols: usize, salt: usize) -> Mat<f64> {
        Mat::from_fn(rows, cols, |i, j| match (i * 7 + j * 3 + salt) % 23 {
            0 => 0.0,
            1 => -0.0,
            2 if salt % 2 == 1 => f64::NAN,
            // Magnitudes within a factor ~1e3 of each other, so that a changed summation order
            // shows in the last bits of a sum of squares (widely spread values would hide it).
            k => ((i * 31 + j * 17 + salt) as f64).sin() * 3f64.powi(k as i32 % 7 - 3),
        })
    }

    /// The plain loops these kernels replace, written the obvious way: what every level must
    /// reproduce bit for bit.
    fn reference_sumsq(m: MatRef<'_, f64>) -> f64 {
        let mut total = 0.0;
        for j in 0..m.ncols() {
            let col: Vec<f64> = (0..m.nrows()).map(|i| m[(i, j)]).collect();
            let mut a = [0.0f64; 8];
            let body = col.len() / 8 * 8;
            for (i, x) in col[..body].iter().enumerate() {
                a[i % 8] += x * x;
            }
            let mut c = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
            for x in &col[body..] {
                c += x * x;
            }
            total += c;
        }
        total
    }

    fn same_bits(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> bool {
        (0..a.ncols()).all(|j| (0..a.nrows()).all(|i| a[(i, j)].to_bits() == b[(i, j)].to_bits()))
    }

    /// A value no kernel produces from the samples: marks entries outside a view.
    const SENTINEL: f64 = 12345.678;

    /// A rows x cols view at (1, 1) of a larger matrix filled with [`SENTINEL`] (column stride
    /// != rows), and whether everything outside the view is still the sentinel.
    fn framed(rows: usize, cols: usize) -> Mat<f64> {
        Mat::from_fn(rows + 4, cols + 2, |_, _| SENTINEL)
    }

    fn frame_intact(m: &Mat<f64>, rows: usize, cols: usize) -> bool {
        (0..m.ncols()).all(|j| {
            (0..m.nrows()).all(|i| {
                let inside = (1..=rows).contains(&i) && (1..=cols).contains(&j);
                inside || m[(i, j)].to_bits() == SENTINEL.to_bits()
            })
        })
    }

    /// `f(i, j)` for every entry, as an owned matrix: the plain loop's expected values.
    fn expect(rows: usize, cols: usize, f: impl Fn(usize, usize) -> f64) -> Mat<f64> {
        Mat::from_fn(rows, cols, f)
    }

    #[test]
    fn every_level_matches_the_plain_loops_bit_for_bit() {
        // Every row count up to three zmm plus a tail; one column and several; inputs and
        // outputs as views into larger matrices (column stride != rows, unaligned start) whose
        // surroundings must stay untouched (so a tail store past a column's end is caught),
        // in natural and in reversed column order (negative column stride).
        for rows in 1..=27 {
            for cols in [1, 2, 5] {
                for salt in 0..2 {
                    for reversed in [false, true] {
                        let big = sample(rows + 5, cols + 2, salt);
                        // The sums are checked on NaN-free data (a NaN would hide their order).
                        let clean_big = Mat::from_fn(rows + 5, cols + 2, |i, j| {
                            let x = big[(i, j)];
                            if x.is_nan() {
                                0.5
                            } else {
                                x
                            }
                        });
                        let gbig = sample(rows + 2, cols + 3, salt + 7);
                        let mut src = big.as_ref().submatrix(3, 1, rows, cols);
                        let mut clean = clean_big.as_ref().submatrix(3, 1, rows, cols);
                        let mut g = gbig.as_ref().submatrix(2, 2, rows, cols);
                        if reversed {
                            src = src.reverse_cols();
                            clean = clean.reverse_cols();
                            g = g.reverse_cols();
                        }
                        let want_scaled = expect(rows, cols, |i, j| 0.37 * clean[(i, j)]);
                        let want_desc = expect(rows, cols, |i, j| src[(i, j)] - 0.1 * g[(i, j)]);
                        // NaN compares false: masked like a non-positive entry.
                        let keep = |x: f64, y: f64| if x > 0.0 { y } else { 0.0 };
                        let want_mask = expect(rows, cols, |i, j| keep(src[(i, j)], g[(i, j)]));
                        let want_relu = expect(rows, cols, |i, j| keep(src[(i, j)], src[(i, j)]));
                        let want_sum = reference_sumsq(clean);
                        for level in Level::ALL.into_iter().filter(|l| l.supported()) {
                            let ctx = format!(
                                "{rows}x{cols} salt {salt} reversed {reversed} at {}",
                                level.name()
                            );
                            // Runs `op` on a framed output view (initialised from `init`) and
                            // checks the values and the frame.
                            let check =
                                |what: &str,
                                 init: Option<MatRef<'_, f64>>,
                                 want: &Mat<f64>,
                                 op: &dyn Fn(MatMut<'_, f64>)| {
                                    let mut out = framed(rows, cols);
                                    {
                                        let mut v = out.as_mut().submatrix_mut(1, 1, rows, cols);
                                        if reversed {
                                            v = v.reverse_cols_mut();
                                        }
                                        if let Some(init) = init {
                                            v.copy_from(init);
                                        }
                                        op(v);
                                    }
                                    let mut v = out.as_ref().submatrix(1, 1, rows, cols);
                                    if reversed {
                                        v = v.reverse_cols();
                                    }
                                    assert!(same_bits(v, want.as_ref()), "{what} {ctx}");
                                    assert!(frame_intact(&out, rows, cols), "{what} frame {ctx}");
                                };
                            check("scale", None, &want_scaled, &|v| {
                                let sum = scale_into_at(level, v, clean, 0.37).unwrap();
                                assert_eq!(sum.to_bits(), want_sum.to_bits(), "sum {ctx}");
                            });
                            let sum = squared_norm_at(level, clean).unwrap();
                            assert_eq!(sum.to_bits(), want_sum.to_bits(), "norm {ctx}");
                            check("descend", None, &want_desc, &|v| {
                                descend_at(level, v, src, g, 0.1).unwrap()
                            });
                            check("mask", Some(g), &want_mask, &|v| {
                                keep_where_positive_at(level, v, src).unwrap()
                            });
                            check("relu", Some(src), &want_relu, &|v| {
                                relu_at(level, v).unwrap()
                            });
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn mismatched_shapes_and_strided_rows_are_declined() {
        let a = sample(6, 4, 0);
        let mut b = Mat::<f64>::zeros(6, 3);
        assert!(scale_into(b.as_mut(), a.as_ref(), 1.0).is_none());
        assert!(keep_where_positive(b.as_mut(), a.as_ref()).is_none());
        let mut c = Mat::<f64>::zeros(4, 6);
        // The transpose has row stride != 1.
        assert!(squared_norm(a.as_ref().transpose()).is_none());
        assert!(descend(
            c.as_mut(),
            a.as_ref().transpose(),
            a.as_ref().transpose(),
            1.0
        )
        .is_none());
        assert!(b.as_ref().col(0).iter().all(|&x| x == 0.0));
        // Empty matrices: nothing to read or write, at every level.
        for level in Level::ALL.into_iter().filter(|l| l.supported()) {
            for (r, c) in [(0, 3), (3, 0), (0, 0)] {
                let e = Mat::<f64>::zeros(r, c);
                let mut o = Mat::<f64>::zeros(r, c);
                assert_eq!(squared_norm_at(level, e.as_ref()), Some(0.0));
                assert_eq!(scale_into_at(level, o.as_mut(), e.as_ref(), 2.0), Some(0.0));
                assert!(descend_at(level, o.as_mut(), e.as_ref(), e.as_ref(), 1.0).is_some());
                assert!(relu_at(level, o.as_mut()).is_some());
            }
        }
    }
}
