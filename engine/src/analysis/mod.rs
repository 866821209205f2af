//! Measurements of a deep-UFM solution: singular values and rank, neural-collapse metrics per
//! layer and per weight, the class-mean logit matrix and the solution classification
//! (docs/results.md is the contract for every definition and name).
//!
//! [`analyze`] runs a forward pass and measures everything; the standalone functions work on
//! caller-supplied matrices (columns in class order, `class_sizes` giving n_1..n_K).
//!
//! - [`spectrum`]: [`singular_values`], [`relative_rank`].
//! - [`class_means`](mod@class_means): [`class_means()`]; the global mean is the unweighted average
//!   of the class means (paper, section 2), also for imbalanced classes.
//! - [`collapse`]: [`nc1`], [`nc1_quotient`], [`nc2`], [`nc3`]. Sigma_W averages over the N
//!   samples, Sigma_B over the K classes. Tolerances and the conventions for degenerate inputs
//!   (zero features, coinciding class means, zero weights) are documented there; all metrics are
//!   finite and non-negative for finite input.
//! - [`logits`]: [`simplex_cosine`], [`diagonally_superior`], [`train_accuracy`], [`classify`].
//! - [`structure`](mod@structure): [`identify`], [`identify_into`]: which pair + simplex structure
//!   the class-mean logits show.
//!
//! Inputs are expected to be finite; non-finite entries make the affected values NaN (never a
//! panic). Everything runs single-threaded (`Par::Seq`). Cost: the singular values of every
//! layer (d x N) and weight (d x d) dominate; the NC metrics cost O(d N K) per layer and never
//! form a d x d covariance.

pub mod class_means;
pub mod collapse;
pub mod logits;
pub mod partial_svd;
pub mod spectrum;
pub mod structure;

pub use class_means::class_means;
pub use collapse::{nc1, nc1_quotient, nc2, nc3, span_tolerance, NC1_MAX};
pub use logits::{
    centred_logit_means, centred_rank, classify, diagonally_superior, simplex_cosine,
    train_accuracy, Classification, DNC_COSINE,
};
pub use spectrum::{relative_rank, singular_values};
pub use structure::{identify, identify_into, PairSimplexId, STRUCTURE_TOL};

use faer::MatRef;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::model::{self, Activation, ModelSpec, Params};

/// Everything measured on one solution (the analysis keys of result.json).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Analysis {
    /// Fraction of training columns whose own-class logit is strictly the largest.
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub train_accuracy: f64,
    pub logits: LogitReport,
    /// "H1", then for l = 2..L: "H{l}" (pre-activation) and, for ReLU models, "H{l}~".
    pub layers: Vec<LayerReport>,
    /// "W1".."WL".
    pub weights: Vec<WeightReport>,
    pub classification: Classification,
    /// True when the run was cancelled during the analysis: the weights not yet measured then
    /// have `spectrum: "skipped"`, no singular values and a null rank.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
}

/// How the singular values of a matrix were found (`spectrum` in result.json).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SpectrumInfo {
    /// "full" (every singular value, dense SVD), "top" (only those above rank_tol times the
    /// largest, by the certified partial method of [`partial_svd`]) or "skipped" (cancelled).
    pub spectrum: String,
    /// How many singular values `singular_values` holds.
    pub singular_value_count: usize,
    /// For "top": certified bound on how far each listed value may lie below the true one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spectrum_error: Option<f64>,
}

/// Matrices with at least this many rows and columns use the partial method under
/// `analysis.spectrum = "auto"` (below it a full SVD takes well under a second).
pub const AUTO_TOP_SIZE: usize = 1024;

/// The singular values of `m` as `choice` asks (see [`SpectrumInfo`]); `None` when cancelled.
pub fn spectrum_of(
    m: MatRef<f64>,
    choice: SpectrumChoice,
    rank_tol: f64,
    cancel: Option<&AtomicBool>,
) -> Option<(Vec<f64>, SpectrumInfo)> {
    let size = m.nrows().min(m.ncols());
    let max_block = match choice {
        SpectrumChoice::Full => None,
        SpectrumChoice::Top => Some(size / 2),
        // The top method costs about 10 d^2 b per block tried: worth it while b <= d / 16.
        SpectrumChoice::Auto => (size >= AUTO_TOP_SIZE).then_some(size / 16),
    };
    if let Some(max_block) = max_block {
        match partial_svd::top_singular_values(m, rank_tol, max_block, cancel) {
            Ok(t) => {
                let info = SpectrumInfo {
                    spectrum: "top".into(),
                    singular_value_count: t.values.len(),
                    spectrum_error: Some(t.error_bound),
                };
                return Some((t.values, info));
            }
            Err(partial_svd::NoTop::Cancelled) => return None,
            Err(_) => {}
        }
    }
    if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
        return None;
    }
    let sv = singular_values(m);
    let info = SpectrumInfo {
        spectrum: "full".into(),
        singular_value_count: sv.len(),
        spectrum_error: None,
    };
    Some((sv, info))
}

/// `analysis.spectrum`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SpectrumChoice {
    #[default]
    Auto,
    Full,
    Top,
}

/// The logit matrix Z (K x N) and its class means.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogitReport {
    /// Singular values of Z (K x N), nonincreasing.
    #[serde(deserialize_with = "crate::io::json_float::vec_or_nan")]
    pub singular_values: Vec<f64>,
    /// rank of Z: singular values above rank_tol times the largest.
    pub rank: usize,
    /// `class_means[c]` = mean logit vector (length K) of class c.
    #[serde(deserialize_with = "crate::io::json_float::rows_or_nan")]
    pub class_means: Vec<Vec<f64>>,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub simplex_cosine: f64,
    pub diagonally_superior: bool,
    /// rank of the centred class-mean logit matrix C (same rank_tol, at most K - 1): the rank
    /// the classification uses. An addition to the original result.json keys.
    pub centred_rank: usize,
}

/// One feature matrix (d x N).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LayerReport {
    pub name: String,
    #[serde(deserialize_with = "crate::io::json_float::vec_or_nan")]
    pub singular_values: Vec<f64>,
    pub rank: usize,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub nc1: f64,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub nc1_quotient: f64,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub nc2: f64,
    #[serde(flatten)]
    pub info: SpectrumInfo,
}

/// One weight matrix W_l.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WeightReport {
    pub name: String,
    #[serde(deserialize_with = "crate::io::json_float::vec_or_nan")]
    pub singular_values: Vec<f64>,
    /// null when the spectrum was skipped (run cancelled during the analysis).
    pub rank: Option<usize>,
    #[serde(deserialize_with = "crate::io::json_float::f64_or_nan")]
    pub nc3: f64,
    #[serde(flatten)]
    pub info: SpectrumInfo,
}

fn layer_report(
    name: String,
    m: MatRef<f64>,
    class_sizes: &[usize],
    opts: &AnalysisOptions,
) -> LayerReport {
    // Feature matrices are d x N: their spectra are never skipped (O(d N min(d, N))).
    let (sv, info) = spectrum_of(m, opts.spectrum, opts.rank_tol, None).unwrap_or_default();
    let c = collapse::collapse(m, class_sizes);
    LayerReport {
        name,
        rank: relative_rank(&sv, opts.rank_tol),
        singular_values: sv,
        nc1: c.nc1,
        nc1_quotient: c.nc1_quotient,
        nc2: c.nc2,
        info,
    }
}

/// What [`analyze_with`] measures and how.
#[derive(Clone, Copy, Debug)]
pub struct AnalysisOptions {
    pub rank_tol: f64,
    pub spectrum: SpectrumChoice,
}

/// The logit report of Z (K x N, columns in class order with `sizes[c]` columns of class c),
/// its classification and how many columns are classified correctly: one computation for a
/// run ([`analyze_with`]) and for exported activations ([`crate::activations`]).
pub fn measure_logits(
    z: MatRef<'_, f64>,
    sizes: &[usize],
    rank_tol: f64,
) -> (LogitReport, Classification, usize) {
    let k = sizes.len();
    let sv = singular_values(z);
    let means = class_means(z, sizes);
    let cosine = simplex_cosine(means.as_ref());
    let c_rank = centred_rank(means.as_ref(), rank_tol);
    let correct = logits::correct_count(z, sizes);
    let classification = logits::classify_parts(k, c_rank, cosine, correct == z.ncols());
    let report = LogitReport {
        rank: relative_rank(&sv, rank_tol),
        singular_values: sv,
        class_means: (0..k)
            .map(|c| means.col(c).iter().copied().collect())
            .collect(),
        simplex_cosine: cosine,
        diagonally_superior: diagonally_superior(means.as_ref()),
        centred_rank: c_rank,
    };
    (report, classification, correct)
}

/// Measure the solution `params` of the model `spec`; `rank_tol` is the relative rank
/// tolerance (`analysis.rank_tol` of the job).
///
/// # Panics
/// When the shapes of `params` do not match `spec`, or `spec` has an empty class.
pub fn analyze(spec: &ModelSpec, params: &Params, rank_tol: f64) -> Analysis {
    let opts = AnalysisOptions {
        rank_tol,
        spectrum: SpectrumChoice::Auto,
    };
    analyze_with(spec, params, &opts, None, &mut |_| {})
}

/// As [`analyze`], with the spectrum method of `opts`, a cancellation flag (polled between
/// weight matrices and inside the partial method; a full SVD in progress runs to its end) and
/// a callback told which matrix is being measured next (for progress bars).
///
/// # Panics
/// As [`analyze`].
pub fn analyze_with(
    spec: &ModelSpec,
    params: &Params,
    opts: &AnalysisOptions,
    cancel: Option<&AtomicBool>,
    progress: &mut dyn FnMut(&str),
) -> Analysis {
    let rank_tol = opts.rank_tol;
    let shapes = spec.shapes();
    assert_eq!(
        params.mats.len(),
        shapes.len(),
        "analyze: params hold {} matrices, the model has {}",
        params.mats.len(),
        shapes.len()
    );
    for (i, (m, s)) in params.mats.iter().zip(&shapes).enumerate() {
        assert_eq!(
            m.shape(),
            *s,
            "analyze: {} has shape {:?}, the model needs {:?}",
            Params::names(spec.layers)[i],
            m.shape(),
            s
        );
    }
    let sizes = &spec.class_sizes;
    let f = model::features(spec, params);
    let relu = spec.activation == Activation::Relu;

    progress("features");
    let mut layers = vec![layer_report("H1".into(), f.pre[0].as_ref(), sizes, opts)];
    for l in 2..=spec.layers {
        layers.push(layer_report(
            format!("H{l}"),
            f.pre[l - 1].as_ref(),
            sizes,
            opts,
        ));
        if relu {
            layers.push(layer_report(
                format!("H{l}~"),
                f.post[l - 1].as_ref(),
                sizes,
                opts,
            ));
        }
    }

    let mut cancelled = false;
    let weights = (1..=spec.layers)
        .map(|l| {
            let w = params.w(l);
            let name = format!("W{l}");
            progress(&name);
            let measured = if cancelled {
                None
            } else {
                spectrum_of(w, opts.spectrum, rank_tol, cancel)
            };
            cancelled |= measured.is_none();
            let (sv, info, rank) = match measured {
                Some((sv, info)) => {
                    let r = relative_rank(&sv, rank_tol);
                    (sv, info, Some(r))
                }
                None => (
                    Vec::new(),
                    SpectrumInfo {
                        spectrum: "skipped".into(),
                        ..Default::default()
                    },
                    None,
                ),
            };
            WeightReport {
                name,
                rank,
                singular_values: sv,
                nc3: nc3(w, f.post[l - 1].as_ref(), sizes),
                info,
            }
        })
        .collect();
    progress("logits");

    let z = f.logits.as_ref();
    let n = z.ncols();
    let (logits, classification, correct) = measure_logits(z, sizes, rank_tol);

    Analysis {
        train_accuracy: if n == 0 {
            0.0
        } else {
            correct as f64 / n as f64
        },
        logits,
        layers,
        weights,
        classification,
        cancelled,
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use faer::Mat;

    /// Deterministic pseudo-random matrix with entries uniform in [-1, 1) (splitmix64), so the
    /// tests need no RNG crate API.
    pub fn random_mat(rows: usize, cols: usize, seed: u64) -> Mat<f64> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        let mut m = Mat::zeros(rows, cols);
        for j in 0..cols {
            for i in 0..rows {
                m[(i, j)] = next();
            }
        }
        m
    }

    /// A member of the pair + simplex family, built directly from its definition (independent
    /// of the code under test): classes relabelled by `perm`, pairs (perm[0], perm[1]), ...,
    /// (perm[2p-2], perm[2p-1]) with blocks beta [[1, -1], [-1, 1]], and gamma (I - 11^T / q)
    /// on the q = K - 2p classes left (nothing for q < 2: one class left over is all zero).
    pub fn member(k: usize, p: usize, beta: f64, gamma: f64, perm: &[usize]) -> Mat<f64> {
        let q = k - 2 * p;
        let mut m = Mat::zeros(k, k);
        for j in 0..p {
            let (a, b) = (perm[2 * j], perm[2 * j + 1]);
            m[(a, a)] = beta;
            m[(b, a)] = -beta;
            m[(b, b)] = beta;
            m[(a, b)] = -beta;
        }
        if q >= 2 {
            let s: Vec<usize> = perm[2 * p..].to_vec();
            for &c in &s {
                for &i in &s {
                    m[(i, c)] = if i == c { gamma } else { 0.0 } - gamma / q as f64;
                }
            }
        }
        m
    }

    /// S = I - 11^T / K.
    pub fn simplex(k: usize) -> Mat<f64> {
        Mat::from_fn(k, k, |i, j| {
            if i == j {
                1.0 - 1.0 / k as f64
            } else {
                -1.0 / k as f64
            }
        })
    }

    /// The class-mean matrix of paper Eq. (5): blocks [[1, -1], [-1, 1]] on the diagonal; for
    /// odd K a last class with 1 on its diagonal and 0 elsewhere (appendix B.3).
    pub fn low_rank_means(k: usize) -> Mat<f64> {
        Mat::from_fn(k, k, |i, j| {
            if k % 2 == 1 && (i == k - 1 || j == k - 1) {
                return if i == j { 1.0 } else { 0.0 };
            }
            if i / 2 != j / 2 {
                0.0
            } else if i == j {
                1.0
            } else {
                -1.0
            }
        })
    }

    /// scale * (M kron 1_n^T): every column of M repeated n times.
    pub fn kron_ones(m: &Mat<f64>, n: usize, scale: f64) -> Mat<f64> {
        Mat::from_fn(m.nrows(), m.ncols() * n, |i, j| scale * m[(i, j / n)])
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::{kron_ones, low_rank_means, random_mat, simplex};
    use super::*;
    use crate::model::LossKind;
    use faer::Mat;

    fn spec(k: usize, n: usize, d: usize, layers: usize, act: Activation) -> ModelSpec {
        ModelSpec::balanced(k, n, d, layers, act, LossKind::CrossEntropy, 1e-3)
    }

    fn embed(m: &Mat<f64>, rows: usize, cols: usize) -> Mat<f64> {
        Mat::from_fn(rows, cols, |i, j| {
            if i < m.nrows() && j < m.ncols() {
                m[(i, j)]
            } else {
                0.0
            }
        })
    }

    /// A DNC solution in a linear L = 3 model with d > K: H1 = S kron 1^T (embedded),
    /// W1 = W2 = S (embedded), W3 = alpha S (K x d). Then every H_l = S kron 1^T and Z = alpha S
    /// kron 1^T.
    fn dnc_params(k: usize, n: usize, d: usize, layers: usize, alpha: f64) -> Params {
        let s = simplex(k);
        let mut mats = vec![embed(&kron_ones(&s, n, 1.0), d, k * n)];
        for _ in 1..layers {
            mats.push(embed(&s, d, d));
        }
        mats.push(embed(&Mat::from_fn(k, k, |i, j| alpha * s[(i, j)]), k, d));
        Params { mats }
    }

    #[test]
    fn analyze_recognises_a_dnc_solution() {
        let (k, n, d, layers) = (4, 3, 7, 3);
        let sp = spec(k, n, d, layers, Activation::Linear);
        let a = analyze(&sp, &dnc_params(k, n, d, layers, 5.0), 1e-6);
        let names: Vec<_> = a.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["H1", "H2", "H3"]);
        let names: Vec<_> = a.weights.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["W1", "W2", "W3"]);
        for l in &a.layers {
            assert_eq!(l.rank, k - 1, "{}", l.name);
            assert_eq!(l.singular_values.len(), d.min(k * n));
            assert_eq!((l.nc1, l.nc1_quotient), (0.0, 0.0), "{}", l.name);
            assert!(l.nc2 < 1e-12, "{}: {}", l.name, l.nc2);
        }
        for w in &a.weights {
            assert_eq!(w.rank, Some(k - 1));
            // Rows of S lie in the span of the centred means (1-perp in the first K coordinates).
            assert!(w.nc3 < 1e-12, "{}: {}", w.name, w.nc3);
        }
        assert_eq!(a.logits.rank, k - 1);
        assert_eq!(a.logits.centred_rank, k - 1);
        // Singular values of alpha S kron 1_n^T: alpha sqrt(n) (K - 1 times) and 0.
        let want = 5.0 * (n as f64).sqrt();
        assert!(a.logits.singular_values[..k - 1]
            .iter()
            .all(|s| (s - want).abs() < 1e-12));
        assert!((a.logits.simplex_cosine - 1.0).abs() < 1e-14);
        assert!(a.logits.diagonally_superior);
        assert_eq!(a.logits.class_means.len(), k);
        for (c, mean) in a.logits.class_means.iter().enumerate() {
            assert_eq!(mean.len(), k);
            for (i, &x) in mean.iter().enumerate() {
                let want = 5.0 * if i == c { 1.0 - 0.25 } else { -0.25 };
                assert!((x - want).abs() < 1e-14);
            }
        }
        assert_eq!(a.train_accuracy, 1.0);
        assert_eq!(a.classification, Classification::Dnc);
    }

    #[test]
    fn analyze_recognises_the_paired_low_rank_solution() {
        for k in [6, 5] {
            // L = 1: Z = W1 H1 with H1 = the Eq. (5) structure and W1 = I.
            let n = 2;
            let sp = spec(k, n, k, 1, Activation::Linear);
            let h1 = kron_ones(&low_rank_means(k), n, 3.0);
            let w1 = Mat::from_fn(k, k, |i, j| if i == j { 1.0 } else { 0.0 });
            let a = analyze(&sp, &Params { mats: vec![h1, w1] }, 1e-6);
            let want = k.div_ceil(2);
            assert_eq!(a.logits.rank, want);
            assert_eq!(a.logits.centred_rank, want);
            assert_eq!(a.layers[0].rank, want);
            assert!(a.logits.diagonally_superior);
            assert_eq!(a.train_accuracy, 1.0);
            assert_eq!(a.classification, Classification::LowRank);
        }
    }

    #[test]
    fn relu_models_report_post_activation_layers() {
        let (k, n, d, layers) = (3, 2, 5, 3);
        let sp = spec(k, n, d, layers, Activation::Relu);
        let p = Params {
            mats: sp
                .shapes()
                .iter()
                .enumerate()
                .map(|(i, &(r, c))| random_mat(r, c, 40 + i as u64))
                .collect(),
        };
        let a = analyze(&sp, &p, 1e-6);
        let names: Vec<_> = a.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["H1", "H2", "H2~", "H3", "H3~"]);
        // The reports agree with the standalone functions on the forward-pass matrices.
        let f = model::features(&sp, &p);
        let sizes = &sp.class_sizes;
        assert_eq!(a.layers[2].nc1, nc1(f.post[1].as_ref(), sizes));
        assert_eq!(a.layers[3].nc2, nc2(f.pre[2].as_ref(), sizes));
        assert_eq!(a.weights[2].nc3, nc3(p.w(3), f.post[2].as_ref(), sizes));
        assert_eq!(a.weights[1].nc3, nc3(p.w(2), f.post[1].as_ref(), sizes));
        assert_eq!(a.classification, classify(f.logits.as_ref(), sizes, 1e-6));
        // Post-activation matrices are non-negative, so they differ from the pre-activation ones.
        assert_ne!(a.layers[1].nc1, a.layers[2].nc1);
    }

    #[test]
    fn zero_parameters_give_finite_non_negative_values() {
        for act in [Activation::Linear, Activation::Relu] {
            let sp = ModelSpec {
                class_sizes: vec![3, 1, 2],
                ..spec(3, 1, 4, 2, act)
            };
            let a = analyze(&sp, &Params::zeros(&sp), 1e-6);
            let json = serde_json::to_value(&a).unwrap();
            let mut floats = Vec::new();
            collect_floats(&json, &mut floats);
            assert!(floats.iter().all(|x| x.is_finite() && *x >= 0.0), "{json}");
            assert_eq!(a.train_accuracy, 0.0);
            assert_eq!(a.classification, Classification::Other);
            assert!(a
                .layers
                .iter()
                .all(|l| l.rank == 0 && l.nc1 == 0.0 && l.nc2 == 1.0));
            assert!(a.weights.iter().all(|w| w.rank == Some(0) && w.nc3 == 0.0));
        }
    }

    fn collect_floats(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Number(x) => out.push(x.as_f64().unwrap()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect_floats(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| collect_floats(x, out)),
            serde_json::Value::Null => panic!("null in the analysis"),
            _ => {}
        }
    }

    #[test]
    fn imbalanced_random_model_is_consistent() {
        let sp = ModelSpec {
            class_sizes: vec![6, 2, 4, 1],
            ..spec(4, 1, 9, 2, Activation::Linear)
        };
        let p = Params {
            mats: sp
                .shapes()
                .iter()
                .enumerate()
                .map(|(i, &(r, c))| random_mat(r, c, 60 + i as u64))
                .collect(),
        };
        let a = analyze(&sp, &p, 1e-6);
        let f = model::features(&sp, &p);
        // Class means of Z, weighted by class size, reproduce the sample mean of Z.
        for i in 0..4 {
            let weighted: f64 = (0..4)
                .map(|c| sp.class_sizes[c] as f64 * a.logits.class_means[c][i])
                .sum();
            let direct: f64 = (0..13).map(|j| f.logits[(i, j)]).sum();
            assert!((weighted - direct).abs() < 1e-12);
        }
        assert_eq!(
            a.train_accuracy,
            train_accuracy(f.logits.as_ref(), &sp.class_sizes)
        );
        assert_eq!(a.logits.rank, 4);
        for l in &a.layers {
            assert!(l.nc1 > 0.0 && l.nc1.is_finite() && l.nc2 > 0.0);
        }
    }

    #[test]
    fn analysis_serialises_with_contract_keys() {
        let (k, n, d) = (3, 1, 3);
        let sp = spec(k, n, d, 1, Activation::Linear);
        let a = analyze(&sp, &dnc_params(k, n, d, 1, 2.0), 1e-6);
        let v = serde_json::to_value(&a).unwrap();
        for key in [
            "train_accuracy",
            "logits",
            "layers",
            "weights",
            "classification",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        for key in [
            "singular_values",
            "rank",
            "class_means",
            "simplex_cosine",
            "diagonally_superior",
        ] {
            assert!(v["logits"].get(key).is_some(), "logits.{key}");
        }
        for key in [
            "name",
            "singular_values",
            "rank",
            "nc1",
            "nc1_quotient",
            "nc2",
        ] {
            assert!(v["layers"][0].get(key).is_some(), "layers.{key}");
        }
        for key in ["name", "singular_values", "rank", "nc3"] {
            assert!(v["weights"][0].get(key).is_some(), "weights.{key}");
        }
        assert_eq!(v["classification"], "dnc");
        let back: Analysis = serde_json::from_value(v).unwrap();
        assert_eq!(back.classification, Classification::Dnc);
    }

    /// Timing at the size the brief names (d = 1024, N = 1000, L = 2). Meaningless in debug
    /// builds; run with `cargo test --release -p ufm-engine --lib analysis -- --ignored`.
    #[test]
    #[ignore]
    fn analyze_large_width_timing() {
        let sp = spec(10, 100, 1024, 2, Activation::Relu);
        let p = Params {
            mats: sp
                .shapes()
                .iter()
                .enumerate()
                .map(|(i, &(r, c))| random_mat(r, c, 80 + i as u64))
                .collect(),
        };
        let t = std::time::Instant::now();
        let a = analyze(&sp, &p, 1e-6);
        let secs = t.elapsed().as_secs_f64();
        eprintln!("analyze d=1024 N=1000 L=2 relu: {secs:.3} s");
        assert_eq!(a.layers.len(), 3);
    }
}
