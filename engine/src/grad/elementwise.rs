//! Column-wise loops over faer matrices. Owned faer matrices may pad their columns, so every
//! loop goes through column slices instead of assuming one contiguous buffer.

use faer::{Mat, MatMut, MatRef};

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

/// dst = alpha * src (same shapes); returns ||src||_F^2, fused here because the gradient pass
/// reads every parameter anyway and the regulariser needs exactly this sum.
pub fn set_scaled(mut dst: MatMut<'_, f64>, src: MatRef<'_, f64>, alpha: f64) -> f64 {
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

/// Sum of squares with four interleaved accumulators, so the compiler can vectorise it while
/// the summation order stays fixed (bit-identical on every run).
pub fn sum_squares(x: &[f64]) -> f64 {
    let mut a = [0.0f64; 4];
    let chunks = x.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..4 {
            a[k] += c[k] * c[k];
        }
    }
    let mut total = (a[0] + a[1]) + (a[2] + a[3]);
    for v in rest {
        total += v * v;
    }
    total
}

/// src with every negative entry replaced by 0, written into dst.
pub fn relu_into(dst: &mut Mat<f64>, src: &Mat<f64>) {
    for j in 0..src.ncols() {
        let s = src.col_as_slice(j);
        for (d, &x) in dst.col_as_slice_mut(j).iter_mut().zip(s) {
            *d = if x > 0.0 { x } else { 0.0 };
        }
    }
}

/// Zero the entries of `delta` where the pre-activation `pre` is not positive (ReLU'(x) = 0 for
/// x <= 0, the subgradient convention autograd frameworks use as well).
pub fn relu_mask(delta: &mut Mat<f64>, pre: &Mat<f64>) {
    for j in 0..pre.ncols() {
        let p = pre.col_as_slice(j);
        for (d, &x) in delta.col_as_slice_mut(j).iter_mut().zip(p) {
            if x <= 0.0 {
                *d = 0.0;
            }
        }
    }
}

/// Squared Frobenius norm, summed in column order (deterministic).
pub fn squared_norm(m: MatRef<'_, f64>) -> f64 {
    let mut acc = 0.0;
    for j in 0..m.ncols() {
        match col(m, j) {
            Some(c) => acc += sum_squares(c),
            None => acc += m.col(j).iter().map(|x| x * x).sum::<f64>(),
        }
    }
    acc
}
