//! Initial parameters of a backbone run: the head from the job's initialiser (the same draw as
//! for the deep UFM with that seed, minus H1), the backbone's matrices N(0, (gain/sqrt(fan_in))^2)
//! with biases 0. Backbone matrix i (1-based) is drawn column-major from ChaCha8 seeded with the
//! run's seed on stream [`STREAM`] + i. The `npy` initialiser reads W1.npy.. and B1_W.npy,
//! B1_b.npy, .. from its folder (a finished run's `params/` works; its H1.npy is ignored).

use super::gaussian_matrix;
use crate::backbone::{trainable_names, trainable_shapes, BackboneSpec};
use crate::io::npy::read_matrix;
use crate::job::{BuiltinInit, InitChoice, Job};
use crate::model::{Activation, ModelSpec, Params};
use crate::Error;
use faer::Mat;
use rand::SeedableRng;
use std::path::Path;

/// First ChaCha8 stream of the backbone's matrices.
pub const STREAM: u64 = 1 << 33;

/// The default gain: sqrt(2) for ReLU (He), 1 for linear.
pub fn default_gain(act: Activation) -> f64 {
    match act {
        Activation::Relu => std::f64::consts::SQRT_2,
        Activation::Linear => 1.0,
    }
}

/// Initial trainable parameters (layout: W_1..W_L, A_1, b_1, ..., A_m, b_m).
pub fn initial_params(
    job: &Job,
    head: &ModelSpec,
    arch: &BackboneSpec,
    gain: f64,
    base_dir: &Path,
) -> Result<Params, Error> {
    if let InitChoice::Builtin(BuiltinInit::Npy(n)) = &job.init {
        let dir = base_dir.join(&n.dir);
        let mut mats = Vec::new();
        for (name, (r, c)) in trainable_names(head, arch)
            .iter()
            .zip(trainable_shapes(head, arch))
        {
            let path = dir.join(format!("{name}.npy"));
            let mut m = read_matrix(&path).map_err(|e| e.context("init.dir"))?;
            if (m.nrows(), m.ncols()) != (r, c) {
                return Err(Error::Input(format!(
                    "init.dir: {} has shape ({}, {}), the model needs ({r}, {c})",
                    path.display(),
                    m.nrows(),
                    m.ncols()
                )));
            }
            if n.multiplier != 1.0 {
                m *= faer::Scale(n.multiplier);
            }
            mats.push(m);
        }
        return Ok(Params { mats });
    }
    let full = super::ufm_params(job, head, base_dir)?;
    let seed = super::run_seed(job);
    let mut mats: Vec<Mat<f64>> = full.mats.into_iter().skip(1).collect();
    for i in 1..=arch.layers {
        let (r, c) = arch.layer_shape(i);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(STREAM + i as u64);
        mats.push(gaussian_matrix(r, c, gain / (c as f64).sqrt(), &mut rng));
        mats.push(Mat::zeros(r, 1));
    }
    Ok(Params { mats })
}
