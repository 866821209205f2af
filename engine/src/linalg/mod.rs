//! The one door to faer's matrix products: every product of the engine (gradient, analysis,
//! theory, initialisers) goes through [`matmul`] or [`mul`], which leave the vector registers in a
//! clean state.
//!
//! Why: faer 0.24's x86 GEMM backend (`private-gemm-x86`) runs hand-written microkernels on
//! ymm/zmm registers and returns without `vzeroupper`, so the upper halves of the registers stay
//! "in use" after every product. On Intel cores each later legacy-SSE instruction (glibc's `exp`
//! and `log`, any Rust code compiled for baseline x86-64) then pays a state-transition penalty:
//! measured on an Intel Xeon, `exp` took ~170 ns instead of ~4 ns and ufm ran at a quarter of its
//! speed. Compilers insert `vzeroupper` after their own AVX code; faer's kernels are assembly,
//! so the wrapper does it. On CPUs without AVX it does nothing; on AMD Zen, where the
//! transition is free, it costs about one cycle per product. `docs/upstream-faer-vzeroupper.md`
//! is the report for faer and [`xstate`] lets tests observe the register state directly.

pub mod block;
pub mod small;
pub mod stream;
pub mod threads;
pub mod xstate;

use faer::{Accum, Mat, MatMut, MatRef, Par};

/// dst = alpha lhs rhs (`Accum::Replace`) or dst += alpha lhs rhs (`Accum::Add`), by faer,
/// followed by [`clean_upper_state`]. With `Par::Rayon` the bits are those of `Par::Seq`
/// ([`threads`]).
#[inline]
pub fn matmul(
    dst: MatMut<'_, f64>,
    accum: Accum,
    lhs: MatRef<'_, f64>,
    rhs: MatRef<'_, f64>,
    alpha: f64,
    par: Par,
) {
    let par = threads::par_for(&dst, &lhs, par);
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, alpha, par);
    clean_upper_state();
}

/// As [`matmul`], but products with every dimension <= [`small::SMALL_MAX`] run the engine's
/// own deterministic kernel ([`small`]) instead of faer's (faster at these sizes, same bits on
/// the gradient's shapes; `UFM_SMALL_GEMM=0` switches it off); the gradient uses this.
#[inline]
pub fn product(
    dst: MatMut<'_, f64>,
    accum: Accum,
    lhs: MatRef<'_, f64>,
    rhs: MatRef<'_, f64>,
    alpha: f64,
    par: Par,
) {
    if matches!(par, Par::Seq) && small::applies(&dst, lhs.ncols()) {
        // Compiled code: the compiler ends its AVX code with vzeroupper itself (tested through
        // XINUSE in `tests::the_own_small_kernel_leaves_the_upper_state_clean`).
        small::gemm(dst, accum, lhs, rhs, alpha);
    } else {
        matmul(dst, accum, lhs, rhs, alpha, par);
    }
}

/// lhs * rhs as a new matrix (single-threaded); the allocating form for code outside the step
/// loop, in place of faer's `*` operator.
pub fn mul(lhs: MatRef<'_, f64>, rhs: MatRef<'_, f64>) -> Mat<f64> {
    let mut out = Mat::zeros(lhs.nrows(), rhs.ncols());
    matmul(out.as_mut(), Accum::Replace, lhs, rhs, 1.0, Par::Seq);
    out
}

/// Run another external SIMD kernel (an SVD, an eigensolver) and clean the register state
/// after it.
#[inline]
pub fn after_kernel<R>(f: impl FnOnce() -> R) -> R {
    let r = f();
    clean_upper_state();
    r
}

/// `vzeroupper` when the CPU has AVX (runtime-detected), else nothing.
#[inline]
pub fn clean_upper_state() {
    #[cfg(test)]
    if xstate::tests_skip_cleaning() {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports AVX, the only feature `zero_upper` is compiled for.
        unsafe { zero_upper() }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn zero_upper() {
    std::arch::x86_64::_mm256_zeroupper();
}

#[cfg(test)]
mod tests;
