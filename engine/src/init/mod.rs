//! Initial parameters: built-in random initialisers and `.npy` files.
//!
//! Random streams (documented contract, stable across versions): matrix i (0 = H1, l = W_l) is
//! filled in column-major order with standard normals from `rand_distr::StandardNormal` driven by
//! a ChaCha8 generator seeded with `seed_from_u64(seed)` and switched to stream i. Each matrix has
//! its own stream, so results do not depend on thread count or on how many matrices precede it.

use crate::job::BuiltinInit;
use crate::model::{ModelSpec, Params};
use crate::report::npy::read_matrix;
use faer::Mat;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::path::Path;

/// The generator for matrix `index` of a run seeded with `seed`.
pub fn stream(seed: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64);
    rng
}

/// A rows x cols matrix of i.i.d. N(0, std^2) entries from `rng`, column-major.
pub fn gaussian_matrix(rows: usize, cols: usize, std: f64, rng: &mut ChaCha8Rng) -> Mat<f64> {
    let mut m = Mat::zeros(rows, cols);
    for j in 0..cols {
        for x in m.col_as_slice_mut(j) {
            let z: f64 = rng.sample(StandardNormal);
            *x = std * z;
        }
    }
    m
}

/// Build the initial parameters of `spec`. Relative `npy` directories are resolved against
/// `base_dir` (the job file's folder).
pub fn initialise(spec: &ModelSpec, init: &BuiltinInit, base_dir: &Path) -> Result<Params, String> {
    let shapes = spec.shapes();
    let (mats, multiplier): (Vec<Mat<f64>>, f64) = match init {
        BuiltinInit::Gaussian(g) => (
            shapes
                .iter()
                .enumerate()
                .map(|(i, &(r, c))| gaussian_matrix(r, c, g.std, &mut stream(g.seed, i)))
                .collect(),
            g.multiplier,
        ),
        BuiltinInit::Scaled(s) => (
            shapes
                .iter()
                .enumerate()
                .map(|(i, &(r, c))| {
                    // fan_in = columns of the matrix (d for every W_l); H1 (d x N) uses d as well.
                    let fan_in = if i == 0 { spec.width } else { c };
                    gaussian_matrix(
                        r,
                        c,
                        s.scale / (fan_in as f64).sqrt(),
                        &mut stream(s.seed, i),
                    )
                })
                .collect(),
            s.multiplier,
        ),
        BuiltinInit::Npy(n) => (read_dir(spec, &base_dir.join(&n.dir))?.mats, n.multiplier),
    };
    let mut params = Params { mats };
    if multiplier != 1.0 {
        for m in &mut params.mats {
            *m *= faer::Scale(multiplier);
        }
    }
    Ok(params)
}

/// Read H1.npy, W1.npy, ... from `dir`, checking every shape against the model.
pub fn read_dir(spec: &ModelSpec, dir: &Path) -> Result<Params, String> {
    let names = Params::names(spec.layers);
    let mut mats = Vec::with_capacity(names.len());
    for (name, (r, c)) in names.iter().zip(spec.shapes()) {
        let path = dir.join(format!("{name}.npy"));
        let m = read_matrix(&path).map_err(|e| format!("init.dir: {e}"))?;
        if (m.nrows(), m.ncols()) != (r, c) {
            return Err(format!(
                "init.dir: {} has shape ({}, {}), the model needs ({r}, {c})",
                path.display(),
                m.nrows(),
                m.ncols()
            ));
        }
        mats.push(m);
    }
    Ok(Params { mats })
}
