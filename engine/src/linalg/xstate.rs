//! Reading the processor's XINUSE bits, to test what [`super::clean_upper_state`] is for.
//!
//! `xgetbv` with ECX = 1 returns XINUSE (when CPUID.(EAX=0DH, ECX=1):EAX\[2\] says it is
//! supported): bit 2 is set while the upper halves of ymm0-15 may be non-zero, bit 6
//! (ZMM_Hi256) while the upper halves of zmm0-15 may be, bit 7 (Hi16_ZMM) while zmm16-31 may be.
//! Bits 2 and 6 are the state that makes legacy-SSE instructions slow on Intel cores; the
//! probe is exact on any x86 CPU, so the tests need no timing and no Intel machine.

/// XINUSE bit: upper halves of ymm0-15 in use.
pub const YMM_UPPER: u64 = 1 << 2;
/// XINUSE bit: upper 256 bits of zmm0-15 in use.
pub const ZMM_UPPER: u64 = 1 << 6;

/// The XINUSE bitmap, or `None` where it cannot be read (not x86-64, or no XGETBV ECX=1).
#[inline]
pub fn in_use() -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        if !supported() {
            return None;
        }
        let (lo, hi): (u32, u32);
        // SAFETY: XGETBV with ECX = 1 is supported (checked); it reads a register and has no
        // other effect. `nomem, nostack` hold: it touches neither.
        unsafe {
            std::arch::asm!(
                "xgetbv",
                in("ecx") 1u32,
                out("eax") lo,
                out("edx") hi,
                options(nomem, nostack, preserves_flags)
            );
        }
        Some(((hi as u64) << 32) | lo as u64)
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// Whether the dirty-upper-state bits (2 and 6) are set, or `None` where unreadable.
pub fn upper_dirty() -> Option<bool> {
    in_use().map(|x| x & (YMM_UPPER | ZMM_UPPER) != 0)
}

#[cfg(target_arch = "x86_64")]
// `__cpuid_count` is a safe function in newer Rust and unsafe in older ones.
#[allow(unused_unsafe)]
fn supported() -> bool {
    use std::arch::x86_64::__cpuid_count;
    // SAFETY: CPUID is available on every x86-64 CPU.
    let max_leaf = unsafe { __cpuid_count(0, 0) }.eax;
    if max_leaf < 0xd {
        return false;
    }
    // OSXSAVE (CPUID.1:ECX[27]) makes XGETBV usable; leaf 0xD sub-leaf 1 EAX bit 2 adds ECX=1.
    let osxsave = unsafe { __cpuid_count(1, 0) }.ecx & (1 << 27) != 0;
    osxsave && unsafe { __cpuid_count(0xd, 1) }.eax & (1 << 2) != 0
}

#[cfg(test)]
thread_local! {
    static SKIP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static AT_SOFTMAX: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Tests only: make [`super::clean_upper_state`] do nothing on this thread, to show that the
/// probes below see the dirty state when nothing cleans it.
#[cfg(test)]
pub(crate) fn set_tests_skip_cleaning(skip: bool) {
    SKIP.with(|s| s.set(skip));
}

#[cfg(test)]
pub(crate) fn tests_skip_cleaning() -> bool {
    SKIP.with(|s| s.get())
}

/// Record XINUSE where the fit is about to call `exp` (compiled into test builds only).
#[inline(always)]
pub(crate) fn probe_softmax() {
    #[cfg(test)]
    AT_SOFTMAX.with(|s| s.set(in_use()));
}

/// Tests only: the XINUSE value the last [`probe_softmax`] on this thread recorded (and reset).
#[cfg(test)]
pub(crate) fn take_softmax_probe() -> Option<u64> {
    AT_SOFTMAX.with(|s| s.take())
}
