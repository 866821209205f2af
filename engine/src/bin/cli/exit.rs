//! The exit-status policy of every command, in one place (README, "Commands"):
//!
//! | status | meaning |
//! |---|---|
//! | 0 | finished (a run that `converged` or reached `max_steps`; a sweep whose runs all ended) |
//! | 1 | a run-time failure, or a single run that ended `diverged` or `failed` (files written) |
//! | 2 | invalid input: the message names the field or argument |
//! | 130 / 143 | cancelled by SIGINT / SIGTERM, after writing what was done |
//!
//! The C API reports the same outcomes as statuses (docs/c-api.md, "Exit statuses and C API
//! statuses").

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use ufm::train::Status;

/// Finished.
pub const FINISHED: u8 = 0;
/// A run-time failure, or a single run that diverged or failed.
pub const RUNTIME: u8 = 1;
/// Invalid input.
pub const INPUT: u8 = 2;

/// The exit status of a single run (`ufm run`) that ended with `status` and wrote its files.
pub fn for_run(status: Status) -> u8 {
    match status {
        Status::Converged | Status::MaxSteps => FINISHED,
        Status::Diverged | Status::Failed => RUNTIME,
        Status::Cancelled => cancelled(),
    }
}

/// The signal that cancelled the command (0 = none seen by [`cancel_on_signals`]).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Set by the handlers: the running command should stop and write what it has.
static CANCEL: AtomicBool = AtomicBool::new(false);

/// The status of a command cancelled by a signal: 128 + the signal number (130 for SIGINT,
/// 143 for SIGTERM); 130 when the signal was caught by another handler (Ctrl-C).
pub fn cancelled() -> u8 {
    match SIGNAL.load(Ordering::Relaxed) {
        s if s > 0 && s < 128 => 128 + s as u8,
        _ => 130,
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    // Only atomic stores: async-signal-safe.
    SIGNAL.store(sig, Ordering::Relaxed);
    CANCEL.store(true, Ordering::Relaxed);
}

/// Make SIGINT and SIGTERM (Ctrl-C, `kill`, Slurm's time limit) set the returned flag instead
/// of killing the process, so that the command stops cleanly and writes its files.
pub fn cancel_on_signals() -> &'static AtomicBool {
    #[cfg(unix)]
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installing a handler that only stores to atomics; `sa_mask` is emptied.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
    &CANCEL
}
