//! Progress bar with ETA on stderr, only when stderr is a terminal (never on stdout).

use indicatif::{ProgressBar, ProgressFinish, ProgressStyle};
use std::io::IsTerminal;

/// A bar over `total` steps, or a hidden one when stderr is not a terminal or `quiet` is set.
/// Dropped unfinished (an error return, a cancelled command) it clears its line, so no stale bar
/// stays on screen above the message that follows.
pub fn bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total).with_finish(ProgressFinish::AndClear);
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {msg}  [{elapsed} < {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

/// Show one progress report: training steps, then the analysis (one tick per matrix; a full
/// SVD of a wide weight can take minutes, so the bar says what it is doing).
pub fn show(pb: &ProgressBar, p: &ufm::train::Progress) {
    match p.stage {
        ufm::train::Stage::Train => {
            pb.set_position(p.step);
            pb.set_message(format!("loss {:.6e}", p.loss));
        }
        ufm::train::Stage::Analysis { done, total } => {
            if done == 0 {
                pb.set_style(
                    ProgressStyle::with_template(
                        "{bar:40} {pos}/{len} analysis  {msg}  [{elapsed}]",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                pb.set_length(total as u64);
            }
            pb.set_position(done as u64);
            pb.set_message(format!("loss {:.6e}; Ctrl-C skips the rest", p.loss));
        }
    }
}

/// The bar's last phase: writing the files.
pub fn writing(pb: &ProgressBar) {
    pb.set_style(
        ProgressStyle::with_template("{spinner} writing results  {msg}  [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message("");
    pb.tick();
}
