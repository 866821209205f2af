//! `alignment` plot of a sweep: every run's initial alignment (result.json
//! `dynamics.initial.alignment`, runs.jsonl `alignment`) against its outcome (DNC or not), with
//! the AUC of predicting DNC from it and its bootstrap interval (summary.json `alignment_auc`).

use super::draw::{colour, err, header, render};
use crate::analysis::Classification;
use crate::sweep::{store::read_runs, Summary};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Draw `out/alignment.{svg,png}`; nothing when no run has the statistic.
pub fn plot_alignment(
    dir: &Path,
    out: &Path,
    title: &dyn Fn(&str) -> String,
    set: &str,
    summary: &Summary,
) -> Result<Vec<PathBuf>, crate::Error> {
    // The typed records (a renamed field fails here, not as a silently empty plot); a sweep
    // folder without runs.jsonl has nothing to draw.
    let path = dir.join(crate::sweep::store::RUNS_FILE);
    let records = if path.exists() {
        read_runs(&path)?.0
    } else {
        vec![]
    };
    // (alignment, dnc, index): one point per run with the statistic.
    let runs: Vec<(f64, bool, u64)> = records
        .iter()
        .filter_map(|r| {
            Some((
                r.alignment?,
                r.classification == Classification::Dnc,
                r.index as u64,
            ))
        })
        .collect();
    if runs.is_empty() {
        return Ok(vec![]);
    }
    let (lo, hi) = runs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), r| {
            (a.min(r.0), b.max(r.0))
        });
    let pad = ((hi - lo) * 0.05).max(1e-3);
    let caption = match &summary.alignment_auc {
        Some(a) => title(&format!(
            "initial alignment vs outcome, AUC {:.3} [{:.3}, {:.3}]",
            a.auc, a.interval[0], a.interval[1]
        )),
        None => title("initial alignment vs outcome (one outcome only: no AUC)"),
    };
    let files = render!(out, "alignment", (760, 420), |root| {
        let area = header(&root, &caption, set)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(14)
            .x_label_area_size(42)
            .y_label_area_size(80)
            .build_cartesian_2d((lo - pad)..(hi + pad), -0.5f64..1.5)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("simplex cosine - pair cosine of the step-0 class-mean logits")
            .y_labels(3)
            .y_label_formatter(&|v: &f64| {
                if (v - 1.0).abs() < 1e-9 {
                    "DNC".to_string()
                } else if v.abs() < 1e-9 {
                    "not DNC".to_string()
                } else {
                    String::new()
                }
            })
            .light_line_style(WHITE)
            .draw()
            .map_err(err)?;
        // Deterministic vertical jitter from the run index (golden-ratio sequence).
        let jitter = |i: u64| ((i as f64 * 0.618_033_988_749_895).fract() - 0.5) * 0.5;
        for (dnc, c) in [(true, colour(0)), (false, colour(1))] {
            chart
                .draw_series(runs.iter().filter(|r| r.1 == dnc).map(|r| {
                    let y = if dnc { 1.0 } else { 0.0 } + jitter(r.2);
                    Circle::new((r.0, y), 3, c.mix(0.7).filled())
                }))
                .map_err(err)?;
        }
        Ok(())
    });
    Ok(files)
}
