//! Which instruction set the engine's own vector loops run with.
//!
//! Detection is done once (`is_x86_feature_detected!` is itself cached) and can be overridden
//! with the `UFM_SIMD` environment variable, so benchmarks can compare the AVX-512 and AVX2 builds
//! on one machine and tests can check that every level gives the same bits.

use std::sync::OnceLock;

/// An instruction-set level, ordered from the baseline up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Baseline x86-64 (or any non-x86 target): plain scalar code, FMA through `f64::mul_add`.
    Scalar,
    /// AVX2 with FMA (Haswell / Zen 1 and newer).
    Avx2,
    /// AVX-512F with FMA (Skylake-SP, Ice Lake, Sapphire Rapids, Zen 4/5).
    Avx512,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 3] = [Level::Scalar, Level::Avx2, Level::Avx512];

    /// The name `UFM_SIMD` accepts and benchmarks print.
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// Parse a `UFM_SIMD` value.
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == s.trim())
    }

    /// Whether this CPU can run the level.
    pub fn supported(self) -> bool {
        self <= detected()
    }
}

/// The highest level this CPU supports.
pub fn detected() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("fma") {
            return Level::Avx512;
        }
        if has!("avx2") && has!("fma") {
            return Level::Avx2;
        }
    }
    Level::Scalar
}

/// The level `UFM_SIMD` asks for: `Ok(None)` when unset or empty, an error naming the variable
/// and the allowed values when it is not one of them or the CPU lacks the level (an
/// [`crate::Error::Input`]: the environment is the command's input).
pub fn requested() -> Result<Option<Level>, crate::Error> {
    let Ok(v) = std::env::var("UFM_SIMD") else {
        return Ok(None);
    };
    if v.trim().is_empty() {
        return Ok(None);
    }
    let best = detected();
    match Level::parse(&v) {
        Some(l) if l <= best => Ok(Some(l)),
        Some(l) => Err(crate::Error::Input(format!(
            "UFM_SIMD: this CPU supports up to {}, got {}",
            best.name(),
            l.name()
        ))),
        None => Err(crate::Error::Input(format!(
            "UFM_SIMD: must be one of scalar, avx2, avx512, got {v:?}"
        ))),
    }
}

/// The level the engine dispatches to: `UFM_SIMD` when it is valid for this CPU, else the best
/// the CPU has (the `ufm` command line reports an invalid `UFM_SIMD` as an error first).
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| requested().ok().flatten().unwrap_or_else(detected))
}

/// Run `f` compiled for `level` (which the caller has checked is supported; an unsupported
/// level runs the baseline build). `f` must be `#[inline(always)]` so it is compiled into the
/// target-feature function rather than called from it.
#[inline(always)]
pub fn run_at<R>(level: Level, f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if level == Level::Avx512 && Level::Avx512.supported() {
            // SAFETY: the CPU supports the features the function is compiled for.
            return unsafe { with_avx512(f) };
        }
        if level >= Level::Avx2 && Level::Avx2.supported() {
            // SAFETY: as above.
            return unsafe { with_avx2(f) };
        }
    }
    let _ = level;
    f()
}

#[cfg(target_arch = "x86_64")]
/// `f` compiled with AVX-512F and FMA. Caller: the CPU supports both.
#[target_feature(enable = "avx512f,fma")]
pub(crate) unsafe fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
/// `f` compiled with AVX2 and FMA. Caller: the CPU supports both.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_levels_are_ordered() {
        for l in Level::ALL {
            assert_eq!(Level::parse(l.name()), Some(l));
        }
        assert_eq!(Level::parse("sse"), None);
        assert!(Level::Scalar < Level::Avx2 && Level::Avx2 < Level::Avx512);
        assert!(Level::Scalar.supported());
        assert!(level() <= detected());
    }
}
