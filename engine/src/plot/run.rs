//! Plots of one run folder: loss curve, singular values, class-mean logit heat map.

use super::caption::{setting, steps};
use super::draw::{colour, dashed_mark, diverging, err, header, log_range, render};
use crate::activations::ExternalReport;
use crate::analysis::{Classification, LayerReport, LogitReport};
use crate::model::Activation;
use crate::report::{Reference, RunResult};
use plotters::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

struct Curve {
    step: Vec<f64>,
    loss: Vec<f64>,
    fit: Vec<f64>,
}

/// An input file of the plots (curve.csv, result.json) that cannot be read or does not match.
fn input(message: String) -> crate::Error {
    crate::Error::Input(message)
}

fn read_curve(path: &Path) -> Result<Curve, crate::Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| input(format!("cannot read {}: {e}", path.display())))?;
    let mut c = Curve {
        step: vec![],
        loss: vec![],
        fit: vec![],
    };
    for (i, line) in text.lines().enumerate().skip(1) {
        // The first five columns (step, loss, fit, reg, grad_norm) are numbers; the logit
        // columns after them may be empty or a structure label.
        let f: Vec<f64> = line
            .split(',')
            .take(5)
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| input(format!("{} line {}: not numbers", path.display(), i + 1)))?;
        if f.len() < 3 {
            return Err(input(format!(
                "{} line {}: too few columns",
                path.display(),
                i + 1
            )));
        }
        c.step.push(f[0]);
        c.loss.push(f[1]);
        c.fit.push(f[2]);
    }
    if c.step.is_empty() {
        return Err(input(format!("{}: no rows", path.display())));
    }
    Ok(c)
}

/// What the plots of a folder read from its result.json, taken from the typed models the
/// engine writes: `RunResult` (`ufm run`) or `ExternalReport` (`ufm analyze`). A field renamed
/// in those models is then a compile error here, and a result.json that does not match them is
/// an error naming the file, instead of a plot labelled "?".
struct Plotted {
    name: String,
    /// result.json's `classification` ("?" for an analysis without logits, which has none).
    class: String,
    /// The job as run, for the setting line (JSON: the caption walks it by path).
    job: Value,
    reference: Option<Reference>,
    relu: bool,
    /// (name, singular values) of each feature matrix.
    layers: Vec<(String, Vec<f64>)>,
    logits: Option<LogitReport>,
}

fn class_name(c: Classification) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn read_result(path: &Path) -> Result<Plotted, crate::Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| input(format!("cannot read {}: {e}", path.display())))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| input(format!("{}: invalid JSON: {e}", path.display())))?;
    let bad = |what: &str, e: serde_json::Error| {
        input(format!(
            "{}: not a result.json of {what} from this ufm: {e}",
            path.display()
        ))
    };
    let layers = |l: &[LayerReport]| {
        l.iter()
            .map(|l| (l.name.clone(), l.singular_values.clone()))
            .collect()
    };
    // A run's result.json holds the job; `ufm analyze`'s does not.
    if v.get("job").is_some() {
        let r: RunResult = serde_json::from_value(v).map_err(|e| bad("`ufm run`", e))?;
        Ok(Plotted {
            name: r.job.name.clone(),
            class: class_name(r.analysis.classification),
            job: serde_json::to_value(&r.job).map_err(|e| crate::Error::Runtime(e.to_string()))?,
            relu: r.job.model.activation == Activation::Relu,
            reference: Some(r.reference),
            layers: layers(&r.analysis.layers),
            logits: Some(r.analysis.logits),
        })
    } else {
        let r: ExternalReport = serde_json::from_value(v).map_err(|e| bad("`ufm analyze`", e))?;
        Ok(Plotted {
            class: r.classification.map_or_else(|| "?".into(), class_name),
            name: r.name,
            job: Value::Null,
            relu: false,
            reference: r.reference,
            layers: layers(&r.layers),
            logits: r.logits,
        })
    }
}

/// Plot a run folder into `out`.
pub fn plot_run(dir: &Path, out: &Path) -> Result<Vec<PathBuf>, crate::Error> {
    let result = read_result(&dir.join("result.json"))?;
    // `ufm analyze` folders have no curve.
    let curve_path = dir.join("curve.csv");
    let (name, class) = (&result.name, &result.class);
    let set = setting(&result.job, &[]);
    let mut files = if curve_path.exists() {
        let curve = read_curve(&curve_path)?;
        loss_plot(out, name, class, &set, &result, &curve)?
    } else {
        Vec::new()
    };
    files.extend(singular_value_plot(out, name, &set, &result)?);
    files.extend(logit_heat_map(out, name, class, &set, &result)?);
    Ok(files)
}

fn loss_plot(
    out: &Path,
    name: &str,
    class: &str,
    set: &str,
    result: &Plotted,
    c: &Curve,
) -> Result<Vec<PathBuf>, crate::Error> {
    let dnc = result.reference.as_ref().and_then(|r| r.dnc_loss);
    let lr = result.reference.as_ref().and_then(|r| r.low_rank_loss);
    // The closed forms are the linear model's: for ReLU the DNC value is a lower bound on the
    // DNC loss (paper B.9) and Eq. 5's value is only the linear model's paired optimum.
    let relu = result.relu;
    let (dnc_label, lr_label) = if relu {
        ("DNC lower bound (B.9)", "linear model's Eq. 5 loss")
    } else {
        ("DNC optimum", "paired low-rank optimum (Eq. 5)")
    };
    let last = *c.step.last().unwrap_or(&1.0);
    let x_max = last.max(1.0);
    let (lo, hi) = log_range(c.loss.iter().chain(&c.fit).copied().chain(dnc).chain(lr));
    let pts = |ys: &Vec<f64>| -> Vec<(f64, f64)> {
        c.step
            .iter()
            .zip(ys)
            .filter(|(_, y)| y.is_finite() && **y > 0.0)
            .map(|(&x, &y)| (x, y))
            .collect()
    };
    // Zoom panel: the last part of training, linear y around the two references.
    let fin = *c.loss.last().unwrap_or(&1.0);
    let refs: Vec<f64> = [Some(fin), dnc, lr].into_iter().flatten().collect();
    let (rmin, rmax) = refs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let span = (rmax - rmin).max(0.02 * rmin.abs()).max(1e-12);
    let (zlo, zhi) = (rmin - 0.4 * span, rmax + 0.8 * span);
    let z_start = c
        .step
        .iter()
        .zip(&c.loss)
        .find(|(_, &l)| l <= zhi)
        .map_or(0.0, |(&s, _)| s);
    let files = render!(out, "loss", (1000, 500), |root| {
        let area = header(&root, &format!("{name}: loss (ended {class})"), set)?;
        let (left, right) = area.split_horizontally(580);
        let mut chart = ChartBuilder::on(&left)
            .margin(12)
            .margin_right(28)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..x_max, (lo..hi).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("loss")
            .light_line_style(WHITE)
            .x_labels(6)
            .x_label_formatter(&|v| steps(*v))
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(pts(&c.loss), colour(0).stroke_width(2)))
            .map_err(err)?
            .label("loss")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour(0)));
        chart
            .draw_series(LineSeries::new(pts(&c.fit), colour(1).stroke_width(2)))
            .map_err(err)?
            .label("fit (cross-entropy)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour(1)));
        if let Some(d) = dnc {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, d), (x_max, d)],
                    8,
                    5,
                    BLACK.stroke_width(2),
                ))
                .map_err(err)?
                .label(format!("{dnc_label} {d:.5}"))
                .legend(|p| dashed_mark(p, 8, 5, BLACK.stroke_width(2)));
        }
        if let Some(l) = lr {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, l), (x_max, l)],
                    3,
                    4,
                    colour(2).stroke_width(2),
                ))
                .map_err(err)?
                .label(format!("{lr_label} {l:.5}"))
                .legend(|p| dashed_mark(p, 3, 4, colour(2).stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        let mut zoom = ChartBuilder::on(&right)
            .caption("zoom: loss against the references", ("sans-serif", 15))
            .margin(12)
            .margin_right(30)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(z_start..x_max.max(z_start + 1.0), zlo..zhi)
            .map_err(err)?;
        zoom.configure_mesh()
            .x_desc("step")
            .light_line_style(WHITE)
            .x_labels(4)
            .x_label_formatter(&|v| steps(*v))
            .y_label_formatter(&|v| format!("{v:.4}"))
            .draw()
            .map_err(err)?;
        let zpts: Vec<(f64, f64)> = pts(&c.loss)
            .into_iter()
            .filter(|p| p.0 >= z_start)
            .map(|(x, y)| (x, y.min(zhi)))
            .collect();
        zoom.draw_series(LineSeries::new(zpts, colour(0).stroke_width(2)))
            .map_err(err)?;
        let x1 = x_max.max(z_start + 1.0);
        if let Some(d) = dnc {
            zoom.draw_series(DashedLineSeries::new(
                vec![(z_start, d), (x1, d)],
                8,
                5,
                BLACK.stroke_width(2),
            ))
            .map_err(err)?;
        }
        if let Some(l) = lr {
            zoom.draw_series(DashedLineSeries::new(
                vec![(z_start, l), (x1, l)],
                3,
                4,
                colour(2).stroke_width(2),
            ))
            .map_err(err)?;
        }
        Ok(())
    });
    Ok(files)
}

fn singular_value_plot(
    out: &Path,
    name: &str,
    set: &str,
    result: &Plotted,
) -> Result<Vec<PathBuf>, crate::Error> {
    let mut series: Vec<(String, Vec<f64>)> = result.layers.clone();
    series.push((
        "Z".into(),
        result
            .logits
            .as_ref()
            .map(|l| l.singular_values.clone())
            .unwrap_or_default(),
    ));
    // Show the first 2K values (the rest are zero up to rounding for every layer).
    let k = result.logits.as_ref().map_or(10, |l| l.class_means.len());
    let shown = (2 * k).max(2);
    let floor = series
        .iter()
        .flat_map(|(_, s)| s.first().copied())
        .fold(0.0f64, f64::max)
        * 1e-17;
    let clip = |v: f64| v.max(floor).max(f64::MIN_POSITIVE);
    let (lo, hi) = log_range(
        series
            .iter()
            .flat_map(|(_, s)| s.iter().take(shown).map(|&v| clip(v))),
    );
    let files = render!(out, "singular_values", (760, 500), |root| {
        let area = header(
            &root,
            &format!("{name}: singular values of each layer"),
            set,
        )?;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.5f64..shown as f64 + 0.5, (lo..hi).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("index")
            .y_desc("singular value")
            .light_line_style(WHITE)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(err)?;
        for (i, (label, s)) in series.iter().enumerate() {
            let pts: Vec<(f64, f64)> = s
                .iter()
                .take(shown)
                .enumerate()
                .map(|(j, &v)| ((j + 1) as f64, clip(v)))
                .collect();
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                .map_err(err)?
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
                .map_err(err)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        Ok(())
    });
    Ok(files)
}

fn logit_heat_map(
    out: &Path,
    name: &str,
    class: &str,
    set: &str,
    result: &Plotted,
) -> Result<Vec<PathBuf>, crate::Error> {
    let means: Vec<Vec<f64>> = result
        .logits
        .as_ref()
        .map(|l| l.class_means.clone())
        .unwrap_or_default();
    let k = means.len();
    if k == 0 {
        return Ok(vec![]);
    }
    let scale = means
        .iter()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    let rank = result.logits.as_ref().map_or(0, |l| l.rank);
    let files = render!(out, "logits", (760, 640), |root| {
        let area = header(
            &root,
            &format!("{name}: class-mean logits (ended {class}, rank {rank})"),
            set,
        )?;
        let (map, bar) = area.split_horizontally(620);
        colour_bar(&bar, scale)?;
        let mut chart = ChartBuilder::on(&map)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(40)
            .build_cartesian_2d((0..k - 1).into_segmented(), (0..k - 1).into_segmented())
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("class c (column c = mean logit vector of class c)")
            .y_desc("logit")
            .x_labels(k)
            .y_labels(k)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => i.to_string(),
                _ => String::new(),
            })
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if *i < k => (k - 1 - i).to_string(),
                _ => String::new(),
            })
            .draw()
            .map_err(err)?;
        let cells = means.iter().enumerate().flat_map(|(c, col)| {
            col.iter().enumerate().map(move |(row, &v)| {
                let y = k - 1 - row;
                Rectangle::new(
                    [
                        (SegmentValue::Exact(c), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(c + 1), SegmentValue::Exact(y + 1)),
                    ],
                    diverging(v / scale).filled(),
                )
            })
        });
        chart.draw_series(cells).map_err(err)?;
        Ok(())
    });
    Ok(files)
}

/// A vertical colour bar for the heat map's diverging scale, from -scale (blue) to +scale (red).
fn colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    scale: f64,
) -> Result<(), crate::Error> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(12)
        .margin_bottom(52)
        .margin_right(8)
        .y_label_area_size(58)
        .build_cartesian_2d(0f64..1.0, -scale..scale)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(5)
        .y_label_formatter(&|v| format!("{v:.2}"))
        .draw()
        .map_err(err)?;
    const STEPS: usize = 100;
    let cells = (0..STEPS).map(|i| {
        let lo = -scale + 2.0 * scale * i as f64 / STEPS as f64;
        let hi = -scale + 2.0 * scale * (i + 1) as f64 / STEPS as f64;
        Rectangle::new(
            [(0.0, lo), (1.0, hi)],
            diverging((lo + hi) / (2.0 * scale)).filled(),
        )
    });
    chart.draw_series(cells).map_err(err)?;
    Ok(())
}
