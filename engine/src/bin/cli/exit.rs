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

use ufm::train::Status;
use ufm::{Error, ErrorKind};

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

/// The exit status of a command that failed with `e`: one match on its kind. A command cut
/// short by SIGINT/SIGTERM exits 128 + the signal, whatever the error.
pub fn for_error(e: &Error) -> u8 {
    if let Some(status) = super::signals::interrupted_status() {
        return status;
    }
    match e.kind() {
        ErrorKind::Job
        | ErrorKind::Input
        | ErrorKind::Plugin
        | ErrorKind::Argument
        | ErrorKind::Limit => INPUT,
        ErrorKind::Io | ErrorKind::Numerical | ErrorKind::Runtime | ErrorKind::RunEnded => RUNTIME,
        ErrorKind::Cancelled => cancelled(),
    }
}

/// The status of a command cancelled by a signal: 128 + the signal number (130 for SIGINT,
/// 143 for SIGTERM; see [`super::signals`]); 130 when no signal was recorded.
pub fn cancelled() -> u8 {
    super::signals::interrupted_status().unwrap_or(130)
}
