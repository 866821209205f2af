//! The engine's own kernel for small products (every dimension <= [`SMALL_MAX`]), the d x d x N
//! products of the layered (ReLU) path and the K-wide products of the factored path. Opt-in
//! (`UFM_SMALL_GEMM=1`): as it stands it is slower than faer's products (see [`enabled`]).
//!
//! Why: at these sizes (Figures 1 and 6: d = 70, N = 50, K = 10) faer's GEMM, tuned for large
//! matrices, spends much of its time outside the arithmetic (it ran at ~17 GFLOP/s on 70x70x50
//! on an Intel Xeon where JAX reached ~34). Here both operands are packed into zero-padded panels
//! (MR rows of op(A), NR columns of op(B)), so every transpose pattern runs the same
//! register-blocked microkernel, and the packing is a few percent of the multiply-adds.
//!
//! Determinism: every output element is `fma`-accumulated over the inner index in increasing
//! order, starting from 0, whatever the level and tile shape; the AVX-512, AVX2 and scalar
//! builds therefore give the same bits (tested). (These bits differ from faer's, whose
//! summation order depends on its blocking; the choice between the two depends on the shape
//! only, so a run is still reproducible.)

use crate::simd::dispatch::run_at;
use crate::simd::{level, Level};
use faer::{Accum, MatMut, MatRef};
use std::cell::RefCell;

/// Largest dimension handled here; larger products go to faer, whose cache blocking wins there.
pub const SMALL_MAX: usize = 320;

thread_local! {
    /// Packing buffers, grown on first use and kept (no allocation in the step loop after its
    /// first step).
    static PACK: RefCell<(Vec<f64>, Vec<f64>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Whether the kernel is switched on: only with `UFM_SMALL_GEMM=1` (read once). Measured (with
/// an earlier 16 x 5 AVX-512 microkernel) 2026-12-02 on the AMD EPYC (Zen 5) development machine, interleaved, load ~9: Figure 1
/// 17.7k-29.5k steps/s with it against 37.7k-41.8k with faer's products, Figure 6 8.1k-8.6k
/// against 8.9k-12.9k; so faer stays the default until the kernel is tuned (see
/// docs/performance.md).
pub fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("UFM_SMALL_GEMM").is_ok_and(|v| v.trim() == "1"))
}

/// Whether [`gemm`] takes this product (by shape only, so the choice is reproducible).
pub fn applies(dst: &MatMut<'_, f64>, inner: usize) -> bool {
    if !enabled() {
        return false;
    }
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

/// As [`gemm`], compiled for `level` (the same bits at every level).
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
    PACK.with(|p| {
        let (pa, pb) = &mut *p.borrow_mut();
        match level {
            // 8 x 5 tile: 10 ymm accumulators and 2 for A fit the 16 ymm registers. The AVX-512
            // level runs it too: AVX-512 intrinsics need Rust 1.89, above this crate's
            // rust-version (1.85), and the kernel is opt-in while it loses to faer.
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 | Level::Avx512 if Level::Avx2.supported() => run_at(
                Level::Avx2,
                #[inline(always)]
                || {
                    blocked::<8, 5>(dst, accum, lhs, rhs, alpha, pa, pb, |a, b, acc| {
                        // SAFETY: AVX2 and FMA are supported (checked above).
                        unsafe { micro_avx2(a, b, acc) }
                    })
                },
            ),
            _ => blocked::<4, 4>(dst, accum, lhs, rhs, alpha, pa, pb, micro_scalar::<4, 4>),
        }
    })
}

/// The reference microkernel: acc[j][i] = sum_p a[p][i] b[p][j], FMA-accumulated in increasing
/// p from 0 (the order every other microkernel reproduces lane by lane).
#[inline(always)]
fn micro_scalar<const MR: usize, const NR: usize>(a: &[f64], b: &[f64], acc: &mut [[f64; MR]; NR]) {
    *acc = [[0.0; MR]; NR];
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        for j in 0..NR {
            for i in 0..MR {
                acc[j][i] = ap[i].mul_add(bp[j], acc[j][i]);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn micro_avx2(a: &[f64], b: &[f64], acc: &mut [[f64; 8]; 5]) {
    use std::arch::x86_64::*;
    let k = a.len() / 8;
    assert!(b.len() >= 5 * k);
    let (a, b) = (a.as_ptr(), b.as_ptr());
    let mut c = [[_mm256_setzero_pd(); 2]; 5];
    for p in 0..k {
        // SAFETY: p < k, so a[8p .. 8p + 8] and b[5p .. 5p + 5] are in bounds.
        let (a0, a1) = (
            _mm256_loadu_pd(a.add(8 * p)),
            _mm256_loadu_pd(a.add(8 * p + 4)),
        );
        for (j, cj) in c.iter_mut().enumerate() {
            let bj = _mm256_broadcast_sd(&*b.add(5 * p + j));
            cj[0] = _mm256_fmadd_pd(a0, bj, cj[0]);
            cj[1] = _mm256_fmadd_pd(a1, bj, cj[1]);
        }
    }
    for (j, cj) in c.iter().enumerate() {
        _mm256_storeu_pd(acc[j].as_mut_ptr(), cj[0]);
        _mm256_storeu_pd(acc[j].as_mut_ptr().add(4), cj[1]);
    }
}

/// Pack op(A) (m x k) into zero-padded panels of MR rows: element (i, p) of panel b at
/// [b MR k + p MR + i]. Reads columns or rows as slices when they are contiguous.
#[inline(always)]
fn pack_a<const MR: usize>(lhs: MatRef<'_, f64>, pa: &mut [f64]) {
    let (m, k) = (lhs.nrows(), lhs.ncols());
    for b in 0..m.div_ceil(MR) {
        let panel = &mut pa[b * MR * k..(b + 1) * MR * k];
        let rows = MR.min(m - b * MR);
        if rows < MR {
            panel.fill(0.0);
        }
        if lhs.row_stride() == 1 {
            for p in 0..k {
                let col = lhs.col(p).try_as_col_major().expect("unit row stride");
                panel[p * MR..p * MR + rows]
                    .copy_from_slice(&col.as_slice()[b * MR..b * MR + rows]);
            }
        } else if lhs.col_stride() == 1 {
            for i in 0..rows {
                let row = lhs
                    .row(b * MR + i)
                    .try_as_row_major()
                    .expect("unit column stride");
                for (p, &x) in row.as_slice().iter().enumerate() {
                    panel[p * MR + i] = x;
                }
            }
        } else {
            for p in 0..k {
                for i in 0..rows {
                    panel[p * MR + i] = lhs[(b * MR + i, p)];
                }
            }
        }
    }
}

/// Pack op(B) (k x n) into zero-padded panels of NR columns: element (p, j) of panel c at
/// [c NR k + p NR + j].
#[inline(always)]
fn pack_b<const NR: usize>(rhs: MatRef<'_, f64>, pb: &mut [f64]) {
    let (k, n) = (rhs.nrows(), rhs.ncols());
    for c in 0..n.div_ceil(NR) {
        let panel = &mut pb[c * NR * k..(c + 1) * NR * k];
        let cols = NR.min(n - c * NR);
        if cols < NR {
            panel.fill(0.0);
        }
        if rhs.row_stride() == 1 {
            for j in 0..cols {
                let col = rhs
                    .col(c * NR + j)
                    .try_as_col_major()
                    .expect("unit row stride");
                for (p, &x) in col.as_slice().iter().enumerate() {
                    panel[p * NR + j] = x;
                }
            }
        } else if rhs.col_stride() == 1 {
            for p in 0..k {
                let row = rhs.row(p).try_as_row_major().expect("unit column stride");
                panel[p * NR..p * NR + cols]
                    .copy_from_slice(&row.as_slice()[c * NR..c * NR + cols]);
            }
        } else {
            for j in 0..cols {
                for p in 0..k {
                    panel[p * NR + j] = rhs[(p, c * NR + j)];
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn blocked<const MR: usize, const NR: usize>(
    mut dst: MatMut<'_, f64>,
    accum: Accum,
    lhs: MatRef<'_, f64>,
    rhs: MatRef<'_, f64>,
    alpha: f64,
    pa: &mut Vec<f64>,
    pb: &mut Vec<f64>,
    micro: impl Fn(&[f64], &[f64], &mut [[f64; MR]; NR]),
) {
    let (m, n, k) = (dst.nrows(), dst.ncols(), lhs.ncols());
    let mb = m.div_ceil(MR);
    let nb = n.div_ceil(NR);
    if pa.len() < mb * MR * k {
        pa.resize(mb * MR * k, 0.0);
    }
    if pb.len() < nb * NR * k {
        pb.resize(nb * NR * k, 0.0);
    }
    pack_a::<MR>(lhs, pa);
    pack_b::<NR>(rhs, pb);
    let mut acc = [[0.0f64; MR]; NR];
    for c in 0..nb {
        let bpanel = &pb[c * NR * k..(c + 1) * NR * k];
        let cols = NR.min(n - c * NR);
        for b in 0..mb {
            let apanel = &pa[b * MR * k..(b + 1) * MR * k];
            let rows = MR.min(m - b * MR);
            micro(apanel, bpanel, &mut acc);
            for (j, accj) in acc.iter().enumerate().take(cols) {
                let out = dst.as_mut().col_mut(c * NR + j).try_as_col_major_mut();
                let out = &mut out.expect("unit row stride").as_slice_mut()[b * MR..b * MR + rows];
                match accum {
                    Accum::Replace => {
                        for i in 0..rows {
                            out[i] = alpha * accj[i];
                        }
                    }
                    Accum::Add => {
                        for i in 0..rows {
                            out[i] += alpha * accj[i];
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::{gaussian_matrix, stream};
    use faer::{Mat, Par};

    #[test]
    fn small_kernel_matches_faer_and_gives_the_same_bits_at_every_level() {
        // Shapes of the Figure-1/6 products, odd remainders in every dimension, every transpose
        // pattern, both accumulation modes.
        let shapes = [
            (70, 70, 50),
            (10, 70, 50),
            (70, 10, 50),
            (50, 70, 10),
            (17, 33, 9),
            (1, 1, 1),
            (3, 300, 2),
        ];
        for &(m, k, n) in &shapes {
            for (tl, tr) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = if tl {
                    gaussian_matrix(k, m, 1.0, &mut stream(1, 0))
                } else {
                    gaussian_matrix(m, k, 1.0, &mut stream(1, 0))
                };
                let b = if tr {
                    gaussian_matrix(n, k, 1.0, &mut stream(2, 0))
                } else {
                    gaussian_matrix(k, n, 1.0, &mut stream(2, 0))
                };
                let av = if tl { a.transpose() } else { a.as_ref() };
                let bv = if tr { b.transpose() } else { b.as_ref() };
                let c0 = gaussian_matrix(m, n, 1.0, &mut stream(3, 0));
                for accum in [Accum::Replace, Accum::Add] {
                    let mut want = c0.clone();
                    faer::linalg::matmul::matmul(want.as_mut(), accum, av, bv, 0.75, Par::Seq);
                    let mut first: Option<Mat<f64>> = None;
                    for lv in Level::ALL.into_iter().filter(|l| l.supported()) {
                        let mut got = c0.clone();
                        gemm_at(lv, got.as_mut(), accum, av, bv, 0.75);
                        // A dot product of k N(0,1) pairs has rounding error <= k eps sum|a||b|
                        // ~ k eps k; 4 k eps * sqrt(k) (scale of the entries) bounds both
                        // algorithms' errors with room, and is far below any indexing mistake (O(1)).
                        let tol =
                            4.0 * k as f64 * f64::EPSILON * (k as f64).sqrt().max(1.0) + 1e-14;
                        for j in 0..n {
                            for i in 0..m {
                                let d = (got[(i, j)] - want[(i, j)]).abs();
                                assert!(
                                    d <= tol * (1.0 + want[(i, j)].abs()),
                                    "{m}x{k}x{n} {tl} {tr} {accum:?} {lv:?} ({i},{j}): {} vs {}",
                                    got[(i, j)],
                                    want[(i, j)]
                                );
                            }
                        }
                        match &first {
                            None => first = Some(got),
                            Some(f) => {
                                for j in 0..n {
                                    for i in 0..m {
                                        assert_eq!(
                                            got[(i, j)].to_bits(),
                                            f[(i, j)].to_bits(),
                                            "{lv:?} {m}x{k}x{n} ({i},{j})"
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
