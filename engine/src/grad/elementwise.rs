//! Column-wise loops over faer matrices. Owned faer matrices may pad their columns, so every
//! loop goes through column slices instead of assuming one contiguous buffer.

use faer::{Mat, MatMut, MatRef, Par};

/// Column j of a matrix with unit row stride as a slice (every matrix ufm owns has one;
/// views from elsewhere fall back to a copy-free strided path in the callers).
pub fn col(m: MatRef<'_, f64>, j: usize) -> Option<&[f64]> {
    m.col(j).try_as_col_major().map(|c| c.as_slice())
}

/// Mutable column j as a slice, when the row stride is 1.
pub fn col_mut(m: MatMut<'_, f64>, j: usize) -> Option<&mut [f64]> {
    m.col_mut(j)
        .try_as_col_major_mut()
        .map(|c| c.as_slice_mut())
}

/// Run `f` compiled for the engine's SIMD level ([`crate::simd::level`]: AVX-512F or AVX2 when
/// the CPU has them, or as forced by `UFM_SIMD`; the crate is built for baseline x86-64, where
/// these loops would run two lanes wide). Results are bit-identical on every path: Rust never
/// contracts a*b+c into an FMA or reassociates sums, so wider vectors change speed only.
#[inline(always)]
pub fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    crate::simd::dispatch::run_at(crate::simd::level(), f)
}

/// dst = alpha * src (same shapes); returns ||src||_F^2, fused here because the gradient pass
/// reads every parameter anyway and the regulariser needs exactly this sum.
pub fn set_scaled(mut dst: MatMut<'_, f64>, src: MatRef<'_, f64>, alpha: f64) -> f64 {
    if let Some(sum) = crate::simd::cols::scale_into(dst.as_mut(), src, alpha) {
        return sum;
    }
    dispatch(
        #[inline(always)]
        || set_scaled_impl(dst, src, alpha),
    )
}

#[inline(always)]
fn set_scaled_impl(mut dst: MatMut<'_, f64>, src: MatRef<'_, f64>, alpha: f64) -> f64 {
    let mut acc = 0.0;
    for j in 0..dst.ncols() {
        match (col_mut(dst.as_mut(), j), col(src, j)) {
            (Some(d), Some(s)) => {
                let n = d.len().min(s.len());
                let (d, s) = (&mut d[..n], &s[..n]);
                for i in 0..n {
                    d[i] = alpha * s[i];
                }
                acc += sum_squares(s);
            }
            _ => {
                let s = src.col(j);
                for (i, d) in dst.as_mut().col_mut(j).iter_mut().enumerate() {
                    *d = alpha * s[i];
                    acc += s[i] * s[i];
                }
            }
        }
    }
    acc
}

/// [`set_scaled`] split over column blocks across the threads of `par` (see
/// [`crate::linalg::threads::col_blocks`]) for large matrices. The serial loop sums one
/// `sum_squares` per column into the total in column order; here each thread writes its columns'
/// sums into a per-column buffer and the total is then added up in the same column order, so
/// the bits equal the serial result's whatever the thread count. Serial (and allocation-free)
/// for one thread, small matrices or views without unit row stride (whose serial loop sums
/// entry by entry across columns).
pub fn set_scaled_par(dst: MatMut<'_, f64>, src: MatRef<'_, f64>, alpha: f64, par: Par) -> f64 {
    use rayon::prelude::*;
    let (rows, cols) = (dst.nrows(), dst.ncols());
    let parts = crate::linalg::threads::element_parts(par, rows, cols);
    let unit = |rs: isize| rs == 1 || rows <= 1;
    if parts <= 1
        || (src.nrows(), src.ncols()) != (rows, cols)
        || !unit(dst.row_stride())
        || !unit(src.row_stride())
    {
        return set_scaled(dst, src, alpha);
    }
    let mut sums = vec![0.0; cols];
    let mut blocks = Vec::with_capacity(parts);
    let (mut d_rest, mut s_rest) = (dst, sums.as_mut_slice());
    for r in crate::linalg::threads::col_blocks(cols, parts) {
        let (d, d_next) = d_rest.split_at_col_mut(r.len());
        let (s, s_next) = s_rest.split_at_mut(r.len());
        blocks.push((r.start, d, s));
        (d_rest, s_rest) = (d_next, s_next);
    }
    blocks.into_par_iter().for_each(|(c0, mut d, s)| {
        let src = src.subcols(c0, d.ncols());
        for (j, sj) in s.iter_mut().enumerate() {
            // One column through the serial kernel: 0.0 + sum_squares(column).
            *sj = set_scaled(d.as_mut().subcols_mut(j, 1), src.subcols(j, 1), alpha);
        }
    });
    let mut acc = 0.0;
    for s in sums {
        acc += s;
    }
    acc
}

/// Sum of squares with eight interleaved accumulators, so the compiler can vectorise it while
/// the summation order stays fixed (bit-identical on every run and every instruction set).
#[inline(always)]
pub fn sum_squares(x: &[f64]) -> f64 {
    let mut a = [0.0f64; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            a[k] += c[k] * c[k];
        }
    }
    let mut total = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for v in rest {
        total += v * v;
    }
    total
}

/// max(x, 0) for every entry, in place (`x > 0 ? x : +0`, see [`crate::simd::cols::relu`]).
pub fn relu_in_place(m: &mut Mat<f64>) {
    // An owned matrix always has contiguous rows, the only case the kernel declines.
    let _applied = crate::simd::cols::relu(m.as_mut());
    debug_assert!(_applied.is_some());
}

/// Zero the entries of `delta` where the activation `act` = max(pre, 0) is not positive, i.e.
/// where pre <= 0 (ReLU'(x) = 0 for x <= 0, the convention autograd frameworks use as well).
pub fn relu_mask(delta: &mut Mat<f64>, act: &Mat<f64>) {
    if crate::simd::cols::keep_where_positive(delta.as_mut(), act.as_ref()).is_some() {
        return;
    }
    dispatch(
        #[inline(always)]
        || {
            for j in 0..act.ncols() {
                let p = act.col_as_slice(j);
                for (d, &x) in delta.col_as_slice_mut(j).iter_mut().zip(p) {
                    *d = if x > 0.0 { *d } else { 0.0 };
                }
            }
        },
    )
}

/// Squared Frobenius norm, summed in column order (deterministic).
pub fn squared_norm(m: MatRef<'_, f64>) -> f64 {
    if let Some(sum) = crate::simd::cols::squared_norm(m) {
        return sum;
    }
    dispatch(
        #[inline(always)]
        || squared_norm_impl(m),
    )
}

#[inline(always)]
fn squared_norm_impl(m: MatRef<'_, f64>) -> f64 {
    let mut acc = 0.0;
    for j in 0..m.ncols() {
        match col(m, j) {
            Some(c) => acc += sum_squares(c),
            None => acc += m.col(j).iter().map(|x| x * x).sum::<f64>(),
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_vector_paths_give_the_same_bits_as_the_baseline() {
        // `dispatch` may run the AVX-512/AVX2 build of a loop; the plain call runs the baseline
        // build. Identical bits are the determinism contract across machines.
        let src = Mat::from_fn(37, 9, |i, j| {
            ((i * 31 + j * 17) as f64).sin() * 1e3_f64.powi((i % 5) as i32 - 2)
        });
        let (mut a, mut b) = (Mat::zeros(37, 9), Mat::zeros(37, 9));
        let sa = set_scaled(a.as_mut(), src.as_ref(), 0.37);
        let sb = set_scaled_impl(b.as_mut(), src.as_ref(), 0.37);
        assert_eq!(sa.to_bits(), sb.to_bits());
        assert_eq!(
            squared_norm(src.as_ref()).to_bits(),
            squared_norm_impl(src.as_ref()).to_bits()
        );
        for j in 0..9 {
            for i in 0..37 {
                assert_eq!(a[(i, j)].to_bits(), b[(i, j)].to_bits());
            }
        }
    }
}
