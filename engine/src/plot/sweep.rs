//! Plots of a sweep folder (summary.json): P(dnc) and rank against the swept variable, and a
//! histogram of final ranks.

use super::caption::{number, setting};
use super::draw::{colour, err, header, render};
use crate::sweep::Summary;
use plotters::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A group of the summary: its x value, its series (second axis) label, and the numbers.
struct Pt {
    x: f64,
    series: usize,
    p: Option<f64>,
    lo: f64,
    hi: f64,
    /// Final logit rank: (median, lower quartile, upper quartile, min, max), from the exact
    /// distribution of ranks (a discrete outcome: no mean +- sd that runs below the minimum).
    rank: Option<(f64, f64, f64, f64, f64)>,
    rank_counts: Vec<(usize, usize)>,
}

struct Layout {
    x_key: String,
    /// x positions are values (numeric axis) or indices (categories).
    categories: Option<Vec<String>>,
    log_x: bool,
    x_range: (f64, f64),
    series_key: Option<String>,
    series_labels: Vec<String>,
    pts: Vec<Pt>,
    /// Distinct x values, ascending.
    xs: Vec<f64>,
}

fn label(v: &Value) -> String {
    number(v)
}

fn layout(summary: &Summary) -> Result<Layout, crate::Error> {
    let group_by = &summary.group_by;
    let points = &summary.points;
    let x_key = group_by
        .first()
        .cloned()
        .unwrap_or_else(|| "all runs".into());
    let series_key = group_by.get(1).cloned();
    let xs: Vec<Value> = points
        .iter()
        .map(|p| p.assignments.get(&x_key).cloned().unwrap_or(Value::Null))
        .collect();
    let numeric = !group_by.is_empty() && xs.iter().all(Value::is_number);
    let mut categories: Vec<String> = vec![];
    let mut series_labels: Vec<String> = vec![];
    let mut pts = vec![];
    for (p, xv) in points.iter().zip(&xs) {
        let x = if numeric {
            xv.as_f64().unwrap_or(0.0)
        } else {
            // A sweep over seeds only has no grouping key: its one setting is "all runs".
            let l = if group_by.is_empty() {
                x_key.clone()
            } else {
                label(xv)
            };
            match categories.iter().position(|c| *c == l) {
                Some(i) => i as f64,
                None => {
                    categories.push(l);
                    (categories.len() - 1) as f64
                }
            }
        };
        let series = match &series_key {
            None => 0,
            Some(k) => {
                let l = label(p.assignments.get(k).unwrap_or(&Value::Null));
                match series_labels.iter().position(|c| *c == l) {
                    Some(i) => i,
                    None => {
                        series_labels.push(l);
                        series_labels.len() - 1
                    }
                }
            }
        };
        let rank_counts: Vec<(usize, usize)> =
            p.rank_counts.iter().map(|(&r, &n)| (r, n)).collect();
        pts.push(Pt {
            rank: quartiles(&rank_counts),
            x,
            series,
            p: p.p_dnc,
            lo: p.p_dnc_interval[0],
            hi: p.p_dnc_interval[1],
            rank_counts,
        });
    }
    let (mut lo, mut hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.x), b.max(p.x))
        });
    let log_x = numeric && lo > 0.0 && hi / lo >= 20.0;
    if log_x {
        lo /= 1.4;
        hi *= 1.4;
    } else {
        // Categories sit at 0, 1, ..: half a slot each side. Numbers: 8% of the span (a fixed
        // 0.5 put lr values 0.1 and 0.2 on an axis from -0.4 to 0.7); a single value: 25% of it.
        let span = hi - lo;
        let pad = if !numeric {
            0.5
        } else if span > 0.0 {
            span * 0.08
        } else if lo != 0.0 {
            lo.abs() * 0.25
        } else {
            0.5
        };
        lo -= pad;
        hi += pad;
    }
    let mut xs: Vec<f64> = pts.iter().map(|p| p.x).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    Ok(Layout {
        xs,
        x_key,
        categories: (!numeric).then_some(categories),
        log_x,
        x_range: (lo, hi),
        series_key,
        series_labels,
        pts,
    })
}

/// Plot a sweep folder into `out`.
pub fn plot_sweep(dir: &Path, out: &Path) -> Result<Vec<PathBuf>, crate::Error> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| crate::Error::Input(format!("cannot read {}: {e}", path.display())))?;
    // The typed model `ufm sweep` writes: a renamed or missing field is an error naming it,
    // never a silently empty plot.
    let summary: Summary = serde_json::from_str(&text).map_err(|e| {
        crate::Error::Input(format!(
            "{}: not a summary.json this ufm writes: {e}",
            path.display()
        ))
    })?;
    // The job (sweep.json) names the sweep and gives the setting line; the folder name is only
    // the fallback for a folder without it.
    let job = std::fs::read_to_string(dir.join(crate::sweep::store::META_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .map(|meta| meta["job"].clone())
        .unwrap_or(Value::Null);
    let name = job["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .or_else(|| dir.file_name().and_then(|s| s.to_str()))
        .unwrap_or("sweep")
        .to_string();
    let swept: Vec<String> = job["sweep"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let set = setting(&job, &swept);
    let note = status_note(&summary);
    let lay = layout(&summary)?;
    let title = |what: &str| format!("{name}: {what}{note}");
    let mut files = xy_plot(out, &title, &set, &lay, Metric::PDnc)?;
    files.extend(xy_plot(out, &title, &set, &lay, Metric::Rank)?);
    files.extend(histogram(out, &title, &set, &lay)?);
    files.extend(super::alignment::plot_alignment(
        dir, out, &title, &set, &summary,
    )?);
    Ok(files)
}

/// " (12 of 60 runs did not converge)" when some runs ended otherwise than `converged`, so a
/// plot cannot hide that its P(DNC) counts unfinished runs.
fn status_note(summary: &Summary) -> String {
    let (mut runs, mut converged) = (0usize, 0usize);
    for p in &summary.points {
        for (status, &n) in &p.status {
            runs += n;
            if status == "converged" {
                converged += n;
            }
        }
    }
    if runs > converged {
        format!(" ({} of {runs} runs did not converge)", runs - converged)
    } else {
        String::new()
    }
}

/// Median, quartiles, min and max of a distribution given as (value, count) pairs; quantiles
/// are the smallest value whose cumulative count reaches the fraction (no interpolation:
/// ranks are integers, and an interpolated 5.5 is a rank no run had).
fn quartiles(counts: &[(usize, usize)]) -> Option<(f64, f64, f64, f64, f64)> {
    let mut c: Vec<(usize, usize)> = counts.iter().copied().filter(|&(_, n)| n > 0).collect();
    c.sort_unstable();
    let total: usize = c.iter().map(|&(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let q = |f: f64| {
        let want = ((f * total as f64).ceil() as usize).max(1);
        let mut seen = 0;
        for &(v, n) in &c {
            seen += n;
            if seen >= want {
                return v as f64;
            }
        }
        c.last().unwrap().0 as f64
    };
    Some((
        q(0.5),
        q(0.25),
        q(0.75),
        c[0].0 as f64,
        c.last().unwrap().0 as f64,
    ))
}

#[derive(Clone, Copy, PartialEq)]
enum Metric {
    PDnc,
    Rank,
}

/// Draw `body` into a chart over the sweep's x axis (linear or log) and y range.
macro_rules! with_x_axis {
    ($lay:expr, $root:expr, $y:expr, $ydesc:expr, $yfmt:expr, |$chart:ident| $body:block) => {{
        let (x0, x1) = $lay.x_range;
        let cats = $lay.categories.clone();
        let fmt = move |v: &f64| match &cats {
            Some(c) => {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < c.len() {
                    c[i as usize].clone()
                } else {
                    String::new()
                }
            }
            None if v.abs() < 1e-12 => "0".to_string(),
            None => label(&serde_json::json!(*v)),
        };
        if $lay.log_x {
            let mut $chart = ChartBuilder::on(&$root)
                .margin(14)
                .x_label_area_size(42)
                .y_label_area_size(60)
                .build_cartesian_2d((x0..x1).log_scale().with_key_points($lay.xs.clone()), $y)
                .map_err(err)?;
            $chart
                .configure_mesh()
                .x_desc($lay.x_key.clone())
                .y_desc($ydesc)
                .light_line_style(WHITE)
                .y_label_formatter(&$yfmt)
                .x_label_formatter(&fmt)
                .draw()
                .map_err(err)?;
            $body
        } else {
            let mut $chart = ChartBuilder::on(&$root)
                .margin(14)
                .x_label_area_size(42)
                .y_label_area_size(60)
                .build_cartesian_2d(x0..x1, $y)
                .map_err(err)?;
            let n_labels = $lay.categories.as_ref().map_or(10, |c| c.len() * 2 + 1);
            $chart
                .configure_mesh()
                .x_desc($lay.x_key.clone())
                .y_desc($ydesc)
                .light_line_style(WHITE)
                .y_label_formatter(&$yfmt)
                .x_labels(n_labels)
                .x_label_formatter(&fmt)
                .draw()
                .map_err(err)?;
            $body
        }
    }};
}

fn xy_plot(
    out: &Path,
    title: &dyn Fn(&str) -> String,
    set: &str,
    lay: &Layout,
    metric: Metric,
) -> Result<Vec<PathBuf>, crate::Error> {
    let n_series = lay.series_labels.len().max(1);
    let y_max = match metric {
        Metric::PDnc => 1.05,
        Metric::Rank => {
            lay.pts
                .iter()
                .filter_map(|p| p.rank.map(|r| r.4))
                .fold(1.0f64, f64::max)
                + 1.0
        }
    };
    let (file, caption, ydesc) = match metric {
        Metric::PDnc => ("p_dnc", title("P(DNC), Wilson 95% intervals"), "P(DNC)"),
        Metric::Rank => (
            "rank",
            title("logit rank (median, quartiles, min..max)"),
            "rank of Z",
        ),
    };
    let yfmt = move |v: &f64| match metric {
        Metric::PDnc => format!("{v:.1}"),
        // Ranks are integers: label whole values only.
        Metric::Rank if (v - v.round()).abs() < 1e-9 => format!("{}", v.round() as i64),
        Metric::Rank => String::new(),
    };
    // Legend away from the data: bottom right if the right end of the curves is high.
    let right_end = lay
        .pts
        .iter()
        .filter(|p| p.x == *lay.xs.last().unwrap_or(&0.0))
        .filter_map(|p| match metric {
            Metric::PDnc => p.p,
            Metric::Rank => p.rank.map(|r| r.0 / y_max),
        })
        .fold(0.0f64, f64::max);
    let legend_low = right_end > 0.5;
    let files = render!(out, file, (760, 500), |root| {
        let area = header(&root, &caption, set)?;
        with_x_axis!(lay, area, -0.02f64..y_max, ydesc, yfmt, |chart| {
            for s in 0..n_series {
                let c = colour(s);
                let mut line: Vec<(f64, f64)> = vec![];
                for p in lay.pts.iter().filter(|p| p.series == s) {
                    match metric {
                        Metric::PDnc => {
                            if let Some(v) = p.p {
                                line.push((p.x, v));
                                chart
                                    .draw_series(std::iter::once(ErrorBar::new_vertical(
                                        p.x,
                                        p.lo,
                                        v,
                                        p.hi,
                                        c.stroke_width(2),
                                        10,
                                    )))
                                    .map_err(err)?;
                            }
                        }
                        Metric::Rank => {
                            if let Some((med, q1, q3, lo, hi)) = p.rank {
                                line.push((p.x, med));
                                // min..max: whiskers; quartiles: the thick bar.
                                chart
                                    .draw_series(std::iter::once(ErrorBar::new_vertical(
                                        p.x,
                                        lo,
                                        med,
                                        hi,
                                        c.stroke_width(1),
                                        10,
                                    )))
                                    .map_err(err)?;
                                chart
                                    .draw_series(std::iter::once(PathElement::new(
                                        vec![(p.x, q1), (p.x, q3)],
                                        c.mix(0.45).stroke_width(8),
                                    )))
                                    .map_err(err)?;
                            }
                        }
                    }
                }
                let legend = match (&lay.series_key, lay.series_labels.get(s)) {
                    (Some(k), Some(l)) => format!("{k} = {l}"),
                    _ if metric == Metric::PDnc => "P(DNC)".to_string(),
                    _ => "median rank".to_string(),
                };
                chart
                    .draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))
                    .map_err(err)?
                    .label(legend)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
                chart
                    .draw_series(line.iter().map(|&q| Circle::new(q, 4, c.filled())))
                    .map_err(err)?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(if legend_low {
                    SeriesLabelPosition::LowerRight
                } else {
                    SeriesLabelPosition::UpperRight
                })
                .label_font(("sans-serif", 14))
                .draw()
                .map_err(err)?;
        });
        Ok(())
    });
    Ok(files)
}

fn histogram(
    out: &Path,
    title: &dyn Fn(&str) -> String,
    set: &str,
    lay: &Layout,
) -> Result<Vec<PathBuf>, crate::Error> {
    // Stacked bars: one colour per x value (at most 8 distinct colours).
    let xs: Vec<f64> = {
        let mut v: Vec<f64> = lay.pts.iter().map(|p| p.x).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let max_rank = lay
        .pts
        .iter()
        .flat_map(|p| p.rank_counts.iter().map(|r| r.0))
        .max()
        .unwrap_or(1);
    let mut totals = vec![0usize; max_rank + 1];
    for p in &lay.pts {
        for &(r, n) in &p.rank_counts {
            totals[r] += n;
        }
    }
    let y_max = totals.iter().copied().max().unwrap_or(1) as f64 * 1.1 + 0.5;
    let x_label = |x: f64| match &lay.categories {
        Some(c) => c.get(x as usize).cloned().unwrap_or_default(),
        None => label(&serde_json::json!(x)),
    };
    let files = render!(out, "rank_histogram", (760, 500), |root| {
        let area = header(&root, &title("final logit ranks"), set)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(14)
            .x_label_area_size(42)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5f64..max_rank as f64 + 0.5, 0f64..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("rank of Z")
            .y_desc("runs")
            .light_line_style(WHITE)
            // Counts are whole runs: ticks on integers only (with few runs, plotters' default
            // ticks at 0.5 steps printed as "2, 2, 1, 1, 0").
            .y_labels((y_max.floor() as usize + 1).min(11))
            .y_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-6 {
                    format!("{}", v.round() as i64)
                } else {
                    String::new()
                }
            })
            .x_labels(max_rank + 2)
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-6 && *v >= 0.0 {
                    format!("{}", v.round() as i64)
                } else {
                    String::new()
                }
            })
            .draw()
            .map_err(err)?;
        let mut base = vec![0usize; max_rank + 1];
        for (xi, &x) in xs.iter().enumerate() {
            let c = colour(xi);
            let mut bars = vec![];
            for p in lay.pts.iter().filter(|p| p.x == x) {
                for &(r, n) in &p.rank_counts {
                    let b = base[r];
                    base[r] += n;
                    bars.push(Rectangle::new(
                        [
                            (r as f64 - 0.38, b as f64),
                            (r as f64 + 0.38, (b + n) as f64),
                        ],
                        c.filled(),
                    ));
                }
            }
            let legend = if lay.x_key == "all runs" {
                "all runs".to_string()
            } else {
                format!("{} = {}", lay.x_key, x_label(x))
            };
            chart
                .draw_series(bars)
                .map_err(err)?
                .label(legend)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        Ok(())
    });
    Ok(files)
}
