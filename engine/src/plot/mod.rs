//! Plots of a run folder (result.json, curve.csv) or a sweep folder (summary.json, runs.jsonl),
//! written as SVG and PNG with plotters. Text uses an embedded subset of DejaVu Sans (through
//! plotters' `ab_glyph` feature), so no system font or font library is needed.
//!
//! Run: `loss` (loss and fit against step, log scale, with the DNC bound and the low-rank
//! reference), `singular_values` (every layer and Z), `logits` (class-mean logit heat map).
//! Sweep: `p_dnc` (P(dnc) with Wilson 95% intervals against the first grouping axis, one line
//! per value of the second), `rank` (mean logit rank with +- one standard deviation and the
//! min..max range), `rank_histogram` (final ranks of all runs), `alignment` (every run's initial
//! alignment against its outcome, with the AUC of predicting DNC from it).

mod alignment;
mod caption;
mod draw;
mod run;
mod sweep;

use std::path::{Path, PathBuf};

pub use run::plot_run;
pub use sweep::plot_sweep;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-subset.ttf");

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use plotters::style::FontStyle;
        for style in [
            FontStyle::Normal,
            FontStyle::Bold,
            FontStyle::Italic,
            FontStyle::Oblique,
        ] {
            let _ = plotters::style::register_font("sans-serif", style, FONT);
        }
    });
}

/// Plot the folder `dir` (a run or a sweep) into `out` (default `dir/plots`). Returns the files
/// written. A folder that is neither, or whose files do not match the typed reports, is
/// [`crate::Error::Input`]; an output that cannot be written is Io or Runtime.
pub fn plot_dir(dir: &Path, out: Option<&Path>) -> Result<Vec<PathBuf>, crate::Error> {
    register_font();
    let out = out.map_or_else(|| dir.join("plots"), Path::to_path_buf);
    if dir.join("summary.json").exists() {
        plot_sweep(dir, &out)
    } else if dir.join("result.json").exists() {
        plot_run(dir, &out)
    } else {
        Err(crate::Error::Input(format!(
            "{}: neither a run folder (result.json) nor a sweep folder (summary.json)",
            dir.display()
        )))
    }
}
