//! The one loop every fused pass runs over a d x d matrix W: blocks of [`JB`] columns, eight
//! rows (one AVX-512 register) at a time, with the JB partial sums u = (P Q^T)[rows, block]
//! held in registers while P's rows are loaded once per k. The summation orders are fixed by
//! the loop structure alone (never by the instruction set or thread count), so every pass that
//! sums squares (commit, dry run, plain norm) gives the same bits for the same entries. The two
//! K-long products use fused multiply-adds (`mul_add`, exactly rounded on every machine: the
//! same bits with or without hardware FMA), halving their instruction count.

use super::Entry;
use crate::grad::elementwise::dispatch;
use faer::{Mat, MatRef};

/// Rows per register.
const LANES: usize = 8;
/// Columns per block.
const JB: usize = 8;

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

/// Raw access to the matrices of one pass (see [`sweep`] for the contract).
struct Raw {
    w: *mut f64,
    col_stride: usize,
    v: *mut f64,
    d: usize,
    cols: usize,
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
    entry: Entry,
    lambda: f64,
) -> (f64, f64) {
    let (d, cols) = (w.nrows(), w.ncols());
    let v = v.filter(|v| v.len() == d * cols);
    let raw = Raw {
        w: w.as_ptr_mut(),
        col_stride: w.col_stride() as usize,
        v: v.map_or(std::ptr::null_mut(), |v| v.as_mut_ptr()),
        d,
        cols,
    };
    out.fill(0.0);
    // SAFETY: `w` and `v` are exclusively borrowed for the call; `raw` describes them.
    dispatch(
        #[inline(always)]
        || unsafe { sweep(Pass::Commit, &raw, p, q, Some(y), Some(out), entry, lambda) },
    )
}

/// A read-only pass ([`Pass::Dry`], [`Pass::GradNorm`], [`Pass::Norm`]); returns the sum.
pub(super) fn read(
    pass: Pass,
    w: MatRef<'_, f64>,
    v: Option<&[f64]>,
    p: &Mat<f64>,
    q: &Mat<f64>,
    entry: Entry,
    lambda: f64,
) -> f64 {
    let (d, cols) = (w.nrows(), w.ncols());
    let v = v.filter(|v| v.len() == d * cols);
    let raw = Raw {
        w: w.as_ptr() as *mut f64,
        col_stride: w.col_stride() as usize,
        v: v.map_or(std::ptr::null_mut(), |v| v.as_ptr() as *mut f64),
        d,
        cols,
    };
    debug_assert!(pass != Pass::Commit);
    // SAFETY: the pass is not `Commit`, so nothing is written through `raw`.
    dispatch(
        #[inline(always)]
        || unsafe { sweep(pass, &raw, p, q, None, None, entry, lambda) }.0,
    )
}

/// ||W||^2 in the order every other pass sums squares.
pub(super) fn norm(w: MatRef<'_, f64>, p: &Mat<f64>) -> f64 {
    read(Pass::Norm, w, None, p, p, super::Entry::Gd { lr: 0.0 }, 0.0)
}

/// # Safety
/// `raw.w` points to a d x cols column-major matrix with unit row stride and column stride
/// `raw.col_stride`; `raw.v` is null or points to d * cols values (column-major, stride d).
/// Both are written only for [`Pass::Commit`], and must then be exclusively the caller's.
/// `p`, `q`, `y`, `out` are d x K (`y`, `out` only for `Commit`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn sweep(
    pass: Pass,
    raw: &Raw,
    p: &Mat<f64>,
    q: &Mat<f64>,
    y: Option<&Mat<f64>>,
    mut out: Option<&mut Mat<f64>>,
    entry: Entry,
    lambda: f64,
) -> (f64, f64) {
    let cols = raw.cols;
    let mut acc = [[0.0f64; LANES]; JB];
    let mut acc_v = [[0.0f64; LANES]; JB];
    let mut j0 = 0;
    while j0 + JB <= cols {
        // SAFETY: forwarded contract.
        unsafe {
            block::<JB>(
                pass,
                raw,
                j0,
                p,
                q,
                y,
                out.as_deref_mut(),
                entry,
                lambda,
                &mut acc,
                &mut acc_v,
            )
        };
        j0 += JB;
    }
    while j0 < cols {
        // SAFETY: forwarded contract.
        unsafe {
            block::<1>(
                pass,
                raw,
                j0,
                p,
                q,
                y,
                out.as_deref_mut(),
                entry,
                lambda,
                &mut acc,
                &mut acc_v,
            )
        };
        j0 += 1;
    }
    let total = |a: &[[f64; LANES]; JB]| a.iter().flatten().sum::<f64>();
    (
        total(&acc),
        if raw.v.is_null() { 0.0 } else { total(&acc_v) },
    )
}

/// Rows 0..d of columns j0..j0+B (one column block) of [`sweep`].
///
/// # Safety
/// As [`sweep`], with j0 + B <= cols.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block<const B: usize>(
    pass: Pass,
    raw: &Raw,
    j0: usize,
    p: &Mat<f64>,
    q: &Mat<f64>,
    y: Option<&Mat<f64>>,
    mut out: Option<&mut Mat<f64>>,
    entry: Entry,
    lambda: f64,
    acc: &mut [[f64; LANES]; JB],
    acc_v: &mut [[f64; LANES]; JB],
) {
    let d = raw.d;
    let full = d - d % LANES;
    let mut i0 = 0;
    // Full eight-row groups and the tail apart, so that the full groups' loads and stores
    // compile to single vector moves (merged with the tail's variable-length copy they became
    // a `memcpy` call, with a `vzeroupper`, per store: 16% of the fused step at d = 2048).
    while i0 < full {
        // SAFETY: forwarded contract; rows i0..i0 + 8 exist.
        unsafe {
            rows::<B, true>(
                pass,
                raw,
                j0,
                i0,
                LANES,
                p,
                q,
                y,
                out.as_deref_mut(),
                entry,
                lambda,
                acc,
                acc_v,
            )
        };
        i0 += LANES;
    }
    if i0 < d {
        // SAFETY: as above, rows i0..d.
        unsafe {
            rows::<B, false>(
                pass,
                raw,
                j0,
                i0,
                d - i0,
                p,
                q,
                y,
                out,
                entry,
                lambda,
                acc,
                acc_v,
            )
        };
    }
}

/// Rows i0..i0+n (n <= 8; n = 8 when `FULL`) of one column block of [`block`].
///
/// # Safety
/// As [`block`], with i0 + n <= d.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn rows<const B: usize, const FULL: bool>(
    pass: Pass,
    raw: &Raw,
    j0: usize,
    i0: usize,
    n: usize,
    p: &Mat<f64>,
    q: &Mat<f64>,
    y: Option<&Mat<f64>>,
    out: Option<&mut Mat<f64>>,
    entry: Entry,
    lambda: f64,
    acc: &mut [[f64; LANES]; JB],
    acc_v: &mut [[f64; LANES]; JB],
) {
    let d = raw.d;
    let k = if pass == Pass::Norm { 0 } else { p.ncols() };
    {
        // u[c] = sum_k q[j0 + c, k] p[i0.., k], in k order.
        let mut u = [[0.0f64; LANES]; B];
        for kk in 0..k {
            let pl = load::<FULL>(&p.col_as_slice(kk)[i0..], n);
            let qk = &q.col_as_slice(kk)[j0..j0 + B];
            for c in 0..B {
                let s = qk[c];
                for l in 0..LANES {
                    u[c][l] = s.mul_add(pl[l], u[c][l]);
                }
            }
        }
        let mut neww = [[0.0f64; LANES]; B];
        for c in 0..B {
            let j = j0 + c;
            // SAFETY: column j, rows i0..i0+n lie inside the matrix (caller's contract).
            let wc =
                unsafe { std::slice::from_raw_parts_mut(raw.w.add(j * raw.col_stride + i0), n) };
            let wl = load::<FULL>(wc, n);
            let vc = if raw.v.is_null() {
                None
            } else {
                // SAFETY: as above, for the state (stride d).
                Some(unsafe { std::slice::from_raw_parts_mut(raw.v.add(j * d + i0), n) })
            };
            let mut vl = match &vc {
                Some(vc) => load::<FULL>(vc, n),
                None => [0.0; LANES],
            };
            let uc = &u[c];
            let a = &mut acc[c];
            let av = &mut acc_v[c];
            let x = &mut neww[c];
            match pass {
                Pass::Norm => {
                    for l in 0..LANES {
                        a[l] += wl[l] * wl[l];
                    }
                    continue;
                }
                Pass::GradNorm => {
                    for l in 0..LANES {
                        let g = lambda * wl[l] + uc[l];
                        a[l] += g * g;
                    }
                    continue;
                }
                Pass::Commit | Pass::Dry => {}
            }
            // The optimiser's own per-entry arithmetic (see `ufm-plugin-std`).
            match (entry, vc.is_some()) {
                (Entry::Gd { lr }, _)
                | (Entry::MomentumFirst { lr } | Entry::Momentum { lr, .. }, false) => {
                    for l in 0..LANES {
                        let g = lambda * wl[l] + uc[l];
                        x[l] = wl[l] - lr * g;
                        vl[l] = g;
                    }
                }
                (Entry::MomentumFirst { lr }, true) => {
                    for l in 0..LANES {
                        let g = lambda * wl[l] + uc[l];
                        vl[l] = g;
                        x[l] = wl[l] - lr * vl[l];
                    }
                }
                (Entry::Momentum { lr, mu, keep }, true) => {
                    for l in 0..LANES {
                        let g = lambda * wl[l] + uc[l];
                        vl[l] = mu * vl[l] + keep * g;
                        x[l] = wl[l] - lr * vl[l];
                    }
                }
            }
            for l in 0..LANES {
                a[l] += x[l] * x[l];
                av[l] += vl[l] * vl[l];
            }
            if pass == Pass::Commit {
                store::<FULL>(wc, x, n);
                if let Some(vc) = vc {
                    store::<FULL>(vc, &vl, n);
                }
            }
        }
        if let (Pass::Commit, Some(y), Some(out)) = (pass, y, out) {
            // out[i0.., k] += W'[i0.., j] y[j, k] over the block's columns, in order.
            for kk in 0..p.ncols() {
                let yk = &y.col_as_slice(kk)[j0..j0 + B];
                let o = &mut out.col_as_slice_mut(kk)[i0..i0 + n];
                let mut ol = load::<FULL>(o, n);
                for c in 0..B {
                    let s = yk[c];
                    for l in 0..LANES {
                        ol[l] = neww[c][l].mul_add(s, ol[l]);
                    }
                }
                store::<FULL>(o, &ol, n);
            }
        }
    }
}

/// The first `n` (<= 8) values of `src`, zero-padded; one vector load when `FULL` (n = 8).
#[inline(always)]
fn load<const FULL: bool>(src: &[f64], n: usize) -> [f64; LANES] {
    if FULL {
        *src.first_chunk::<LANES>().expect("eight rows")
    } else {
        let mut x = [0.0; LANES];
        x[..n].copy_from_slice(&src[..n]);
        x
    }
}

/// dst[..n] = x[..n]; one vector store when `FULL` (n = 8).
#[inline(always)]
fn store<const FULL: bool>(dst: &mut [f64], x: &[f64; LANES], n: usize) {
    if FULL {
        *dst.first_chunk_mut::<LANES>().expect("eight rows") = *x;
    } else {
        dst[..n].copy_from_slice(&x[..n]);
    }
}
