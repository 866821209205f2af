//! Explicit SIMD levels and the deterministic math the fit needs.
//!
//! The crate is compiled for baseline x86-64 (SSE2); hot loops are compiled a second and third
//! time for AVX2+FMA and AVX-512F and picked at run time ([`level`]). Every loop here is written
//! so each element sees the same IEEE operations in the same order at every level (FMA included:
//! the baseline build uses `f64::mul_add`, which is the correctly rounded `fma`), so the level
//! changes speed only, never a bit of a result. `UFM_SIMD=scalar|avx2|avx512` forces a level
//! (capped at what the CPU has) to measure or compare the paths.

pub mod cols;
pub mod dispatch;
pub mod exp;

pub use dispatch::{detected, level, requested, Level};
pub use exp::{exp, exp_in_place, ln, ln_in_place};
