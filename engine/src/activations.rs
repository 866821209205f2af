//! Measurements of activations exported from any network (`ufm analyze`, `ufm_analyze` in C,
//! `ufm.analyze` in Python): the per-layer singular values and ranks, NC1-NC3, class-mean logits
//! and the structure label that a run's result.json holds, computed by the same functions.
//!
//! Inputs are in the frameworks' layout, one row per sample (N x d, or N x C x H x W flattened),
//! in any sample order; they are reordered by class (stable) before measuring. Weights are in
//! PyTorch's `nn.Linear` layout (out x in). Weight i is paired with layer i as its input, so
//! list the layers as the inputs of the head's matrices in order: h(X), s(W_1 h(X)), ...

use crate::analysis::{
    nc3, relative_rank, singular_values, Classification, LayerReport, LogitReport, WeightReport,
};
use crate::report::Reference;
use crate::theory::effective_lambda;
use crate::Error;
use faer::Mat;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Activations, labels and (optionally) weights and logits of one network on one data set.
#[derive(Clone, Debug, Default)]
pub struct External {
    /// (name, N x d_l) in order.
    pub layers: Vec<(String, Mat<f64>)>,
    /// Class of every sample, 0..K-1 (every class must occur).
    pub labels: Vec<usize>,
    /// (name, out x in) head matrices in order; weight i takes layer i as input.
    pub weights: Vec<(String, Mat<f64>)>,
    /// N x K logits, optional.
    pub logits: Option<Mat<f64>>,
    /// Regularisation of the head, for its loss and the DNC bound (both or neither).
    pub lambda_h: Option<f64>,
    pub lambda_w: Option<f64>,
}

/// The head's loss from the exported matrices: mean cross-entropy of the logits plus
/// lambda_h/2 ||layer 1||^2 + lambda_w/2 sum_l ||W_l||^2.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HeadLoss {
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub loss: f64,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub fit: f64,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub reg: f64,
}

/// The measurement sections of result.json for exported activations.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExternalReport {
    pub ufm_version: String,
    pub name: String,
    pub samples: usize,
    pub classes: usize,
    pub class_sizes: Vec<usize>,
    /// Present with logits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logits: Option<LogitReport>,
    pub layers: Vec<LayerReport>,
    pub weights: Vec<WeightReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    /// With logits, weights and lambda_h/lambda_w.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_loss: Option<HeadLoss>,
    /// DNC bound and low-rank optimum for K, n, L = number of weights and
    /// lambda_eff = (lambda_h lambda_w^L)^(1/(L+1)) (balanced classes, lambdas given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
}

/// Measure `e`; `rank_tol` as `analysis.rank_tol` of a job. An export that does not fit
/// together (labels, row counts, shapes, non-finite values) is [`Error::Input`], its message
/// naming the array; a bad `lambda_h` / `lambda_w` is [`Error::Argument`].
pub fn analyze_external(e: &External, name: &str, rank_tol: f64) -> Result<ExternalReport, Error> {
    let bad = Error::Input;
    let n = e.labels.len();
    if n == 0 {
        return Err(bad("labels: no samples".into()));
    }
    let k = e.labels.iter().max().map_or(0, |&m| m + 1);
    let k = e.logits.as_ref().map_or(k, |z| z.ncols().max(k));
    if k < 2 {
        return Err(bad(format!("labels: need >= 2 classes, found {k}")));
    }
    let mut sizes = vec![0usize; k];
    for &y in &e.labels {
        sizes[y] += 1;
    }
    if let Some(c) = sizes.iter().position(|&s| s == 0) {
        return Err(bad(format!(
            "labels: class {c} has no samples (classes are 0..{})",
            k - 1
        )));
    }
    // Stable order by class: column j of every measured matrix is sample order[j].
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| e.labels[i]);
    let by_class = |name: &str, m: &Mat<f64>| -> Result<Mat<f64>, Error> {
        if m.nrows() != n {
            return Err(bad(format!(
                "{name}: expected {n} rows (one per label), found {}",
                m.nrows()
            )));
        }
        if let Some((i, j)) = (0..m.ncols())
            .flat_map(|j| (0..n).map(move |i| (i, j)))
            .find(|&(i, j)| !m[(i, j)].is_finite())
        {
            return Err(bad(format!(
                "{name}: non-finite value at sample {i}, column {j}"
            )));
        }
        Ok(Mat::from_fn(m.ncols(), n, |r, c| m[(order[c], r)]))
    };
    let mut feats = Vec::with_capacity(e.layers.len());
    let mut layers = Vec::with_capacity(e.layers.len());
    for (lname, m) in &e.layers {
        let h = by_class(lname, m)?;
        let (sv, info) = spectrum(h.as_ref(), rank_tol);
        let c = crate::analysis::collapse::collapse(h.as_ref(), &sizes);
        layers.push(LayerReport {
            name: lname.clone(),
            rank: relative_rank(&sv, rank_tol),
            singular_values: sv,
            nc1: c.nc1,
            nc1_quotient: c.nc1_quotient,
            nc2: c.nc2,
            info,
        });
        feats.push(h);
    }
    if e.weights.len() > feats.len() {
        return Err(bad(format!(
            "weights: {} matrices but only {} layers; weight i needs layer i as its input",
            e.weights.len(),
            feats.len()
        )));
    }
    let mut weights = Vec::with_capacity(e.weights.len());
    for (i, (wname, w)) in e.weights.iter().enumerate() {
        if (0..w.ncols()).any(|j| w.col(j).iter().any(|v| !v.is_finite())) {
            return Err(bad(format!("{wname}: non-finite entry")));
        }
        if w.ncols() != feats[i].nrows() {
            return Err(bad(format!(
                "{wname}: has {} columns (inputs), but layer {} ({}) has {} features",
                w.ncols(),
                i + 1,
                e.layers[i].0,
                feats[i].nrows()
            )));
        }
        let (sv, info) = spectrum(w.as_ref(), rank_tol);
        weights.push(WeightReport {
            name: wname.clone(),
            rank: Some(relative_rank(&sv, rank_tol)),
            singular_values: sv,
            nc3: nc3(w.as_ref(), feats[i].as_ref(), &sizes),
            info,
        });
    }
    let (mut logits, mut classification, mut train_accuracy, mut fit) = (None, None, None, None);
    if let Some(z) = &e.logits {
        if z.ncols() != k {
            return Err(bad(format!(
                "logits: expected {k} columns (classes), found {}",
                z.ncols()
            )));
        }
        let zc = by_class("logits", z)?;
        let (report, class, correct) =
            crate::analysis::measure_logits(zc.as_ref(), &sizes, rank_tol);
        classification = Some(class);
        train_accuracy = Some(correct as f64 / n as f64);
        fit = Some(crate::grad::fit_only(
            crate::model::LossKind::CrossEntropy,
            zc.as_ref(),
            &(0..k)
                .flat_map(|c| std::iter::repeat_n(c, sizes[c]))
                .collect::<Vec<_>>(),
        ));
        logits = Some(report);
    }
    let (mut head_loss, mut reference) = (None, None);
    match (e.lambda_h, e.lambda_w) {
        (Some(lh), Some(lw)) => {
            for (what, v) in [("lambda_h", lh), ("lambda_w", lw)] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(Error::argument(
                        what,
                        format!("must be finite and >= 0, got {v}"),
                    ));
                }
            }
            let l = e.weights.len();
            if let (Some(fit), true, false) = (fit, l > 0, feats.is_empty()) {
                let reg = 0.5 * lh * feats[0].squared_norm_l2()
                    + 0.5
                        * lw
                        * e.weights
                            .iter()
                            .map(|(_, w)| w.squared_norm_l2())
                            .sum::<f64>();
                head_loss = Some(HeadLoss {
                    loss: fit + reg,
                    fit,
                    reg,
                });
            }
            let balanced = sizes.iter().all(|&s| s == sizes[0]);
            // lambda_eff = 0 has no minimiser (the closed forms need lambda > 0).
            let lam = effective_lambda(lh, lw, l.max(1)).filter(|&x| x > 0.0);
            if let (true, true, Some(lam)) = (l > 0, balanced, lam) {
                let dnc = crate::theory::optimal_dnc(k, sizes[0], l, lam);
                let lr = crate::theory::optimal_low_rank(k, sizes[0], l, lam);
                reference = Some(Reference {
                    dnc_loss: Some(dnc.loss),
                    dnc_scale: Some(dnc.scale),
                    low_rank_loss: Some(lr.loss),
                    low_rank_scale: Some(lr.scale),
                    note: None,
                });
            }
        }
        (None, None) => {}
        _ => {
            let missing = if e.lambda_h.is_none() {
                "lambda_h"
            } else {
                "lambda_w"
            };
            return Err(Error::argument(
                missing,
                "give both lambda_h and lambda_w, or neither",
            ));
        }
    }
    Ok(ExternalReport {
        ufm_version: crate::version().to_string(),
        name: name.to_string(),
        samples: n,
        classes: k,
        class_sizes: sizes,
        train_accuracy,
        logits,
        layers,
        weights,
        classification,
        head_loss,
        reference,
    })
}

/// `.npy` files of `dir` in name order (natural: `layer2` before `layer10`).
fn npy_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, Error> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Error::Input(format!("cannot read {}: {e}", dir.display())))?;
    let mut files: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "npy"))
        .collect();
    files.sort_by_key(|p| natural_key(&p.file_name().unwrap_or_default().to_string_lossy()));
    Ok(files)
}

/// Split a name into text and number runs so that numbers compare by value.
fn natural_key(s: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut num: Option<u64> = None;
    for ch in s.chars() {
        match (ch.to_digit(10), num) {
            (Some(d), Some(v)) => num = Some(v.saturating_mul(10).saturating_add(d as u64)),
            (Some(d), None) => num = Some(d as u64),
            (None, Some(v)) => {
                out.push((std::mem::take(&mut text), v));
                num = None;
                text.push(ch);
            }
            (None, None) => text.push(ch),
        }
    }
    out.push((text, num.unwrap_or(0)));
    out
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// Read an export folder: `labels.npy` (N,), `layers/*.npy` (N x d each, name order), optional
/// `weights/*.npy` (out x in, name order) and `logits.npy` (N x K). A missing or malformed file
/// is [`Error::Input`], a file over `max_bytes` [`Error::Limit`] (the data readers' kinds).
pub fn read_export(dir: &Path, max_bytes: u64) -> Result<External, Error> {
    let labels = crate::data::read_npy_labels(&dir.join("labels.npy"), max_bytes)?;
    let labels = labels
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            usize::try_from(y).map_err(|_| {
                Error::Input(format!(
                    "{}: label {y} at index {i} is negative",
                    dir.join("labels.npy").display()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let layer_dir = dir.join("layers");
    if !layer_dir.is_dir() {
        return Err(Error::Input(format!(
            "{}: missing folder (one .npy per layer)",
            layer_dir.display()
        )));
    }
    let mut layers = Vec::new();
    for p in npy_files(&layer_dir)? {
        layers.push((stem(&p), crate::data::read_npy_rows(&p, max_bytes)?));
    }
    if layers.is_empty() {
        return Err(Error::Input(format!(
            "{}: no .npy files",
            layer_dir.display()
        )));
    }
    let mut weights = Vec::new();
    let wdir = dir.join("weights");
    if wdir.is_dir() {
        for p in npy_files(&wdir)? {
            weights.push((stem(&p), crate::data::read_npy_rows(&p, max_bytes)?));
        }
    }
    let lpath = dir.join("logits.npy");
    let logits = if lpath.exists() {
        Some(crate::data::read_npy_rows(&lpath, max_bytes)?)
    } else {
        None
    };
    Ok(External {
        layers,
        labels,
        weights,
        logits,
        lambda_h: None,
        lambda_w: None,
    })
}

/// Singular values as a run's analysis finds them (`analysis.spectrum = "auto"`: the certified
/// partial method for matrices of at least 1024 x 1024, the dense SVD below).
fn spectrum(m: faer::MatRef<f64>, rank_tol: f64) -> (Vec<f64>, crate::analysis::SpectrumInfo) {
    use crate::analysis::{spectrum_of, SpectrumChoice, SpectrumInfo};
    // spectrum_of returns None only when cancelled, and nothing cancels here; the dense SVD
    // keeps that impossible case from needing a panic.
    spectrum_of(m, SpectrumChoice::Auto, rank_tol, None).unwrap_or_else(|| {
        let sv = singular_values(m);
        let info = SpectrumInfo {
            spectrum: "full".into(),
            singular_value_count: sv.len(),
            spectrum_error: None,
        };
        (sv, info)
    })
}
