//! Initial parameters: built-in random initialisers and `.npy` files.
//!
//! Random streams (documented contract, stable across versions): matrix i (0 = H1, l = W_l) is
//! filled in column-major order with standard normals from `rand_distr::StandardNormal` driven by
//! a ChaCha8 generator seeded with `seed_from_u64(seed)` and switched to stream i. Each matrix has
//! its own stream, so results do not depend on thread count or on how many matrices precede it.

pub mod backbone;

use crate::io::npy::{read_header, read_matrix};
use crate::job::{BuiltinInit, InitChoice, Job, StructuredInit};
use crate::model::{ModelSpec, Params};
use crate::theory::{aligned_params, structure_logits, Structure};
use crate::Error;
use faer::Mat;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::path::Path;

/// The deep UFM's initial parameters [H1, W_1..W_L] (also the head's start of a backbone run).
pub fn ufm_params(job: &Job, spec: &ModelSpec, base_dir: &Path) -> Result<Params, Error> {
    match &job.init {
        InitChoice::Builtin(b) => initialise(spec, b, base_dir),
        InitChoice::Plugin(p) => {
            let lib = crate::plugin::load(&crate::plugin::path(base_dir, &p.plugin))
                .map_err(|e| e.context("init.plugin"))?;
            let init = lib
                .initializer(&p.id, &p.params)
                .map_err(|e| e.context("init"))?;
            let mut params = from_plugin(spec, &init, p.seed)?;
            scale_all(&mut params, p.multiplier);
            Ok(params)
        }
    }
}

/// The seed of a job's run (the initialiser's; 0 for `npy`): it also drives `sgd` batches.
pub fn run_seed(job: &Job) -> u64 {
    match &job.init {
        InitChoice::Builtin(b) => match b {
            BuiltinInit::Gaussian(c) => c.seed,
            BuiltinInit::Scaled(c) => c.seed,
            BuiltinInit::Orthogonal(c) => c.seed,
            BuiltinInit::Npy(_) => 0,
            BuiltinInit::Dnc(c) | BuiltinInit::LowRank(c) => c.seed,
        },
        InitChoice::Plugin(p) => p.seed,
    }
}

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
/// `base_dir` (the job file's folder). `gaussian`, `scaled` and `orthogonal` are the
/// `ufm-plugin-std` initialisers (through the plugin vtables, exactly as when loaded by path).
pub fn initialise(spec: &ModelSpec, init: &BuiltinInit, base_dir: &Path) -> Result<Params, Error> {
    let std_init = |id: &str, params: serde_json::Value, seed: u64| {
        let init = crate::plugin::builtin().initializer(id, &params)?;
        from_plugin(spec, &init, seed)
    };
    let (mut params, multiplier) = match init {
        BuiltinInit::Gaussian(g) => (
            std_init("gaussian", serde_json::json!({"std": g.std}), g.seed)?,
            g.multiplier,
        ),
        BuiltinInit::Scaled(s) => (
            std_init("scaled", serde_json::json!({"scale": s.scale}), s.seed)?,
            s.multiplier,
        ),
        BuiltinInit::Orthogonal(o) => (
            std_init("orthogonal", serde_json::json!({"gain": o.gain}), o.seed)?,
            o.multiplier,
        ),
        BuiltinInit::Npy(n) => (read_dir(spec, &base_dir.join(&n.dir))?, n.multiplier),
        BuiltinInit::Dnc(c) => (structured(spec, Structure::Dnc, c)?, c.multiplier),
        BuiltinInit::LowRank(c) => (structured(spec, Structure::LowRank, c)?, c.multiplier),
    };
    scale_all(&mut params, multiplier);
    Ok(params)
}

/// Multiply every matrix by `multiplier` (no-op for 1).
pub fn scale_all(params: &mut Params, multiplier: f64) {
    if multiplier != 1.0 {
        for m in &mut params.mats {
            *m *= faer::Scale(multiplier);
        }
    }
}

/// Fill every matrix of `spec` with a plugin initialiser.
pub fn from_plugin(
    spec: &ModelSpec,
    init: &crate::plugin::PluginInitializer,
    seed: u64,
) -> Result<Params, Error> {
    let mut params = Params::zeros(spec);
    for (i, m) in params.mats.iter_mut().enumerate() {
        init.fill(seed, i, m.as_mut())?;
    }
    Ok(params)
}

/// ChaCha8 stream of the random orthogonal frames of `dnc` / `low_rank` starts.
pub const FRAME_STREAM: u64 = 1 << 32;

/// The `dnc` / `low_rank` start: Lemma-1-aligned parameters realising the structure's logits
/// at scale `c.scale`, with random orthogonal frames from stream [`FRAME_STREAM`] of `c.seed`,
/// plus `c.noise` times the `gaussian` draw of the same seed (matrix i from stream i).
fn structured(spec: &ModelSpec, structure: Structure, c: &StructuredInit) -> Result<Params, Error> {
    let name = match structure {
        Structure::Dnc => "dnc",
        Structure::LowRank => "low_rank",
    };
    let n = spec.per_class().ok_or_else(|| {
        Error::Input(format!(
            "init.name: `{name}` needs balanced classes (model.per_class)"
        ))
    })?;
    let z = structure_logits(structure, spec.classes(), n, c.scale);
    let mut rng = stream(c.seed, 0);
    rng.set_stream(FRAME_STREAM);
    let mut params = aligned_params(spec, z.as_ref(), &mut rng)
        .map_err(|e| e.context(&format!("init ({name})")))?;
    if c.noise > 0.0 {
        for (i, m) in params.mats.iter_mut().enumerate() {
            let noise = gaussian_matrix(m.nrows(), m.ncols(), c.noise, &mut stream(c.seed, i));
            *m += noise;
        }
    }
    Ok(params)
}

/// Read H1.npy, W1.npy, ... from `dir`, checking every shape against the model.
pub fn read_dir(spec: &ModelSpec, dir: &Path) -> Result<Params, Error> {
    let names = Params::names(spec.layers);
    let mut mats = Vec::with_capacity(names.len());
    for (name, (r, c)) in names.iter().zip(spec.shapes()) {
        let path = dir.join(format!("{name}.npy"));
        // The header first: a file of another shape is refused before its data is read.
        let h = read_header(&path).map_err(|e| e.context("init.dir"))?;
        if (h.rows, h.cols) != (r as u64, c as u64) {
            return Err(Error::Input(format!(
                "init.dir: {} has shape ({}, {}), the model needs ({r}, {c})",
                path.display(),
                h.rows,
                h.cols
            )));
        }
        mats.push(read_matrix(&path).map_err(|e| e.context("init.dir"))?);
    }
    Ok(Params { mats })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{GaussianInit, OrthogonalInit};
    use crate::linalg::matmul;
    use crate::model::{Activation, LossKind};

    fn spec(d: usize, layers: usize) -> ModelSpec {
        ModelSpec::balanced(
            4,
            3,
            d,
            layers,
            Activation::Linear,
            LossKind::CrossEntropy,
            1e-3,
        )
    }

    fn logits(spec: &ModelSpec, p: &Params) -> Mat<f64> {
        crate::model::features(spec, p).logits
    }

    #[test]
    fn gaussian_keeps_its_documented_streams() {
        let s = spec(5, 2);
        let p = initialise(
            &s,
            &BuiltinInit::Gaussian(GaussianInit {
                std: 0.3,
                seed: 9,
                multiplier: 2.0,
            }),
            Path::new(""),
        )
        .unwrap();
        for (i, (r, c)) in s.shapes().into_iter().enumerate() {
            let want = gaussian_matrix(r, c, 0.3, &mut stream(9, i)) * faer::Scale(2.0);
            assert_eq!(p.mats[i], want, "matrix {i}");
        }
    }

    #[test]
    fn orthogonal_matrices_have_orthonormal_columns_or_rows_times_gain() {
        let s = spec(6, 2);
        let init = BuiltinInit::Orthogonal(OrthogonalInit {
            gain: 1.5,
            seed: 1,
            multiplier: 1.0,
        });
        let p = initialise(&s, &init, Path::new("")).unwrap();
        for m in &p.mats {
            let (r, c) = (m.nrows(), m.ncols());
            let mut g = if r >= c {
                Mat::zeros(c, c)
            } else {
                Mat::zeros(r, r)
            };
            if r >= c {
                matmul(
                    g.as_mut(),
                    faer::Accum::Replace,
                    m.transpose(),
                    m.as_ref(),
                    1.0,
                    faer::Par::Seq,
                );
            } else {
                matmul(
                    g.as_mut(),
                    faer::Accum::Replace,
                    m.as_ref(),
                    m.transpose(),
                    1.0,
                    faer::Par::Seq,
                );
            }
            for i in 0..g.nrows() {
                for j in 0..g.ncols() {
                    let want = if i == j { 2.25 } else { 0.0 };
                    assert!(
                        (g[(i, j)] - want).abs() < 1e-12,
                        "{r}x{c}: G[{i},{j}] = {}",
                        g[(i, j)]
                    );
                }
            }
        }
    }

    #[test]
    fn structured_starts_realise_the_paper_logits() {
        for layers in [1, 2, 3] {
            let s = spec(7, layers);
            for (structure, name) in [(Structure::Dnc, "dnc"), (Structure::LowRank, "low_rank")] {
                let c = StructuredInit {
                    scale: 2.5,
                    noise: 0.0,
                    seed: 4,
                    multiplier: 1.0,
                };
                let init = match structure {
                    Structure::Dnc => BuiltinInit::Dnc(c.clone()),
                    Structure::LowRank => BuiltinInit::LowRank(c.clone()),
                };
                let p = initialise(&s, &init, Path::new("")).unwrap();
                let z = logits(&s, &p);
                let want = structure_logits(structure, 4, 3, 2.5);
                let err = (&z - &want).norm_max();
                assert!(err < 1e-12, "{name}, L={layers}: |Z - target| = {err}");
                // Noise perturbs; the multiplier scales the logits by multiplier^(L+1).
                let noisy = BuiltinInit::Dnc(StructuredInit {
                    noise: 0.01,
                    ..c.clone()
                });
                let q = initialise(&s, &noisy, Path::new("")).unwrap();
                assert!((&logits(&s, &q) - &dnc_logits_of(4, 3, 2.5)).norm_max() > 1e-6);
                let scaled = BuiltinInit::Dnc(StructuredInit {
                    multiplier: 0.5,
                    ..c
                });
                let r = initialise(&s, &scaled, Path::new("")).unwrap();
                let f = 0.5f64.powi(layers as i32 + 1);
                let err = (&logits(&s, &r) - dnc_logits_of(4, 3, 2.5 * f)).norm_max();
                assert!(err < 1e-12, "multiplier: {err}");
            }
        }
    }

    fn dnc_logits_of(k: usize, n: usize, a: f64) -> Mat<f64> {
        structure_logits(Structure::Dnc, k, n, a)
    }

    #[test]
    fn structured_starts_refuse_widths_below_the_rank() {
        let s = spec(2, 2);
        let c = StructuredInit {
            scale: 1.0,
            noise: 0.0,
            seed: 0,
            multiplier: 1.0,
        };
        let e = initialise(&s, &BuiltinInit::Dnc(c), Path::new("")).unwrap_err();
        assert!(
            e.to_string()
                .contains("model.width: must be >= rank(z) = 3"),
            "{e}"
        );
    }
}
