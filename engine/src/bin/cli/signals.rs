//! SIGINT (Ctrl-C) and SIGTERM (`kill`, Slurm's `scancel` and time limit, before its SIGKILL)
//! both raise one cancellation flag: a run stops at its next step and still writes its files, a
//! sweep starts no new run and abandons the runs in flight (they run again on resume). A command
//! cut short this way exits with 128 + the signal number (130 for SIGINT, 143 for SIGTERM), the
//! shell's convention, so a batch system sees that the task was interrupted.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Raised by the first SIGINT or SIGTERM; polled by the trainer and the sweep runner.
pub static CANCEL: AtomicBool = AtomicBool::new(false);
/// The last signal received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    // Only atomic stores: async-signal-safe.
    SIGNAL.store(sig, Ordering::SeqCst);
    CANCEL.store(true, Ordering::SeqCst);
}

/// Route SIGINT and SIGTERM to [`CANCEL`]. Returns the flag to hand to the engine.
pub fn install() -> &'static AtomicBool {
    #[cfg(unix)]
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with a handler that only stores atomics, installed for two
        // catchable signals; SA_RESTART keeps interrupted file writes from failing with EINTR.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    &CANCEL
}

/// 128 + the signal that cancelled the command, if one did (130 SIGINT, 143 SIGTERM).
pub fn interrupted_status() -> Option<u8> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        sig => u8::try_from(128 + sig).ok(),
    }
}
