//! From a file's samples to training data: a seeded per-class subsample in class order (the
//! column order the deep UFM's analysis assumes), an optional held-out test split, a finite-value
//! check and standardisation with the training split's statistics.

use super::{read_cifar10, read_idx_pair, read_npy_pair, read_npz_pair, Dataset, RawData};
use super::{DataSection, DataSource};
use crate::Error;
use faer::Mat;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How inputs are standardised (statistics from the training split, applied to both splits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standardize {
    /// Per input feature: (x - mean_j) / std_j; features with std 0 are only centred.
    #[default]
    Feature,
    /// One mean and one std over every value (MNIST's usual (x - 0.1307) / 0.3081 kind).
    Global,
    /// Values as read.
    None,
}

/// Training data and, when asked for, a test split.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub train: Dataset,
    pub test: Option<Dataset>,
}

/// The ChaCha8 stream of the subsampling generator (initialisers use small streams, the
/// mini-batch sampler 2^40).
pub const STREAM: u64 = 1 << 41;

/// Draw `class_sizes[c]` samples of every class c (without replacement, seeded) and return them
/// in class order (within a class, in file order), with the file indices used. Labels must lie
/// in 0..K (K = class_sizes.len()).
pub fn subsample(
    raw: &RawData,
    class_sizes: &[usize],
    seed: u64,
) -> Result<(Dataset, Vec<usize>), Error> {
    let k = class_sizes.len();
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &y) in raw.labels.iter().enumerate() {
        if y < 0 || y as usize >= k {
            return Err(Error::Input(format!(
                "{}: label {y} of sample {i} is outside 0..{} (model.classes = {k})",
                raw.source,
                k - 1
            )));
        }
        by_class[y as usize].push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(STREAM);
    let mut chosen = Vec::with_capacity(class_sizes.iter().sum());
    for (c, (idx, &want)) in by_class.iter_mut().zip(class_sizes).enumerate() {
        if want > idx.len() {
            return Err(Error::Input(format!(
                "{}: class {c} has {} samples, the model asks for {want} \
                 (model.per_class / model.class_sizes)",
                raw.source,
                idx.len()
            )));
        }
        // Partial Fisher-Yates: the first `want` positions become a uniform random subset.
        for i in 0..want {
            let j = i + (rng.next_u64() % (idx.len() - i) as u64) as usize;
            idx.swap(i, j);
        }
        let mut pick = idx[..want].to_vec();
        pick.sort_unstable();
        chosen.extend(pick);
    }
    let data = gather(raw, &chosen)?;
    Ok((data, chosen))
}

/// The samples at `indices` as a d0 x N matrix, refusing non-finite values.
fn gather(raw: &RawData, indices: &[usize]) -> Result<Dataset, Error> {
    let mut x = Mat::zeros(raw.d0, indices.len());
    for (col, &i) in indices.iter().enumerate() {
        for j in 0..raw.d0 {
            let v = raw.value(i, j);
            if !v.is_finite() {
                return Err(Error::Input(format!(
                    "{}: sample {i} has the non-finite value {v} at feature {j}",
                    raw.source
                )));
            }
            x[(j, col)] = v;
        }
    }
    Ok(Dataset {
        x,
        labels: indices.iter().map(|&i| raw.labels[i] as usize).collect(),
    })
}

/// Standardise `train` in place and apply the same affine map to `others`.
pub fn standardise(how: Standardize, train: &mut Dataset, others: &mut [&mut Dataset]) {
    let (d0, n) = (train.x.nrows(), train.x.ncols());
    if how == Standardize::None || n == 0 {
        return;
    }
    let (mean, std): (Vec<f64>, Vec<f64>) = match how {
        Standardize::Feature => (0..d0)
            .map(|j| {
                let m = (0..n).map(|i| train.x[(j, i)]).sum::<f64>() / n as f64;
                let v = (0..n).map(|i| (train.x[(j, i)] - m).powi(2)).sum::<f64>() / n as f64;
                (m, v.sqrt())
            })
            .unzip(),
        _ => {
            let count = (d0 * n) as f64;
            let m = (0..n)
                .map(|i| train.x.col(i).iter().sum::<f64>())
                .sum::<f64>()
                / count;
            let v = (0..n)
                .map(|i| train.x.col(i).iter().map(|x| (x - m).powi(2)).sum::<f64>())
                .sum::<f64>()
                / count;
            (vec![m; d0], vec![v.sqrt(); d0])
        }
    };
    let apply = |d: &mut Dataset| {
        for i in 0..d.x.ncols() {
            for j in 0..d0 {
                let s = if std[j] > 0.0 { std[j] } else { 1.0 };
                d.x[(j, i)] = (d.x[(j, i)] - mean[j]) / s;
            }
        }
    };
    apply(train);
    for o in others.iter_mut() {
        apply(o);
    }
}

fn read_source(src: &DataSource, base_dir: &Path, max_bytes: u64) -> Result<RawData, Error> {
    let p = |s: &str| base_dir.join(s);
    match src {
        DataSource::Npy { x, y } => read_npy_pair(&p(x), &p(y), max_bytes),
        DataSource::Npz { file, x, y } => read_npz_pair(&p(file), x, y, max_bytes),
        DataSource::Idx { images, labels } => read_idx_pair(&p(images), &p(labels), max_bytes),
        DataSource::Cifar10 { files } => {
            let paths: Vec<_> = files.iter().map(|f| p(f)).collect();
            let refs: Vec<&Path> = paths.iter().map(|q| q.as_path()).collect();
            read_cifar10(&refs, max_bytes)
        }
    }
}

/// Read the job's data files (relative paths against `base_dir`), subsample the training split
/// to `class_sizes`, build the test split (a test file, or with `holdout` the training file's
/// samples of classes 0..K-1 that were not drawn) and standardise both.
pub fn prepare(
    sec: &DataSection,
    base_dir: &Path,
    class_sizes: &[usize],
    max_bytes: u64,
) -> Result<Prepared, Error> {
    let raw = read_source(&sec.train, base_dir, max_bytes)?;
    let (mut train, chosen) = subsample(&raw, class_sizes, sec.seed)?;
    let mut test = if let Some(t) = &sec.test {
        let traw = read_source(t, base_dir, max_bytes)?;
        if traw.d0 != raw.d0 {
            return Err(Error::Input(format!(
                "{}: test samples have {} values each, the training samples {} ({})",
                traw.source, traw.d0, raw.d0, raw.source
            )));
        }
        let all: Vec<usize> = (0..traw.n).collect();
        let k = class_sizes.len() as i64;
        if let Some(i) = traw.labels.iter().position(|&y| y < 0 || y >= k) {
            return Err(Error::Input(format!(
                "{}: label {} of sample {i} is outside 0..{} (model.classes = {k})",
                traw.source,
                traw.labels[i],
                k - 1
            )));
        }
        Some(gather(&traw, &all)?)
    } else if sec.holdout {
        let mut used = vec![false; raw.n];
        for &i in &chosen {
            used[i] = true;
        }
        let rest: Vec<usize> = (0..raw.n).filter(|&i| !used[i]).collect();
        if rest.is_empty() {
            return Err(Error::Input(format!(
                "data.holdout: every sample of {} is used for training; lower model.per_class",
                raw.source
            )));
        }
        Some(gather(&raw, &rest)?)
    } else {
        None
    };
    match test.as_mut() {
        Some(t) => standardise(sec.standardize, &mut train, &mut [t]),
        None => standardise(sec.standardize, &mut train, &mut []),
    }
    Ok(Prepared { train, test })
}
