//! Random initialisers. Streams (a stable contract): matrix `tensor` is drawn column-major from
//! standard normals (`rand_distr::StandardNormal`) of a ChaCha8 generator seeded with
//! `seed_from_u64(seed)` on stream `tensor`, so matrices never depend on each other.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::Deserialize;
use ufm_plugin_sdk::{parse_params, Initializer, MatMut};

/// The generator of matrix `tensor` for run seed `seed`.
pub fn stream(seed: u64, tensor: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(tensor as u64);
    rng
}

/// Fill `m` with `std` times standard normals from `rng`, column-major.
pub fn fill_gaussian(m: &mut MatMut<'_>, std: f64, rng: &mut ChaCha8Rng) {
    for j in 0..m.cols() {
        for i in 0..m.rows() {
            let z: f64 = rng.sample(StandardNormal);
            m.set(i, j, std * z);
        }
    }
}

fn non_negative(name: &str, v: f64) -> Result<(), String> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(format!(
            "params.{name}: must be a finite number >= 0, got {v}"
        ));
    }
    // Every draw v * z must stay finite (|z| of a standard normal draw is far below 64).
    let max = f64::MAX / 64.0;
    if v > max {
        return Err(format!(
            "params.{name}: must be <= {max:.3e} so that the start is finite, got {v:?}"
        ));
    }
    Ok(())
}

fn one() -> f64 {
    1.0
}

/// Entries i.i.d. N(0, std^2).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gaussian {
    pub std: f64,
}

impl Initializer for Gaussian {
    fn create(params: &serde_json::Value) -> Result<Self, String> {
        let g: Self = parse_params(params)?;
        non_negative("std", g.std)?;
        Ok(g)
    }
    fn fill(&self, seed: u64, tensor: usize, mut m: MatMut<'_>) -> Result<(), String> {
        fill_gaussian(&mut m, self.std, &mut stream(seed, tensor));
        Ok(())
    }
}

/// Entries i.i.d. N(0, (scale / sqrt(fan_in))^2), fan_in = d for every matrix (rows of H1,
/// columns of every W_l).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scaled {
    #[serde(default = "one")]
    pub scale: f64,
}

impl Initializer for Scaled {
    fn create(params: &serde_json::Value) -> Result<Self, String> {
        let s: Self = parse_params(params)?;
        non_negative("scale", s.scale)?;
        Ok(s)
    }
    fn fill(&self, seed: u64, tensor: usize, mut m: MatMut<'_>) -> Result<(), String> {
        let fan_in = if tensor == 0 { m.rows() } else { m.cols() };
        let std = self.scale / (fan_in.max(1) as f64).sqrt();
        fill_gaussian(&mut m, std, &mut stream(seed, tensor));
        Ok(())
    }
}

/// A random matrix with orthonormal columns (rows >= cols) or rows (rows < cols), times `gain`:
/// the Q factor (with R's diagonal positive, i.e. Haar-distributed) of a Gaussian matrix drawn
/// from the same stream as `gaussian`, orthonormalised by twice-repeated modified Gram-Schmidt.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Orthogonal {
    #[serde(default = "one")]
    pub gain: f64,
}

impl Initializer for Orthogonal {
    fn create(params: &serde_json::Value) -> Result<Self, String> {
        let o: Self = parse_params(params)?;
        if !o.gain.is_finite() {
            return Err(format!("params.gain: must be finite, got {}", o.gain));
        }
        non_negative("gain", o.gain.abs()).map_err(|e| e.replace("a finite number >= 0, ", ""))?;
        Ok(o)
    }
    fn fill(&self, seed: u64, tensor: usize, mut m: MatMut<'_>) -> Result<(), String> {
        let (rows, cols) = (m.rows(), m.cols());
        let mut rng = stream(seed, tensor);
        // Vectors to orthonormalise: the columns when tall, else the rows.
        let tall = rows >= cols;
        let (count, len) = if tall { (cols, rows) } else { (rows, cols) };
        let mut g = vec![0.0; rows * cols];
        for x in g.iter_mut() {
            *x = rng.sample(StandardNormal);
        }
        // g is column-major rows x cols; vector k entry t:
        let at = |k: usize, t: usize| if tall { k * rows + t } else { t * rows + k };
        for k in 0..count {
            for _pass in 0..2 {
                for q in 0..k {
                    let dot: f64 = (0..len).map(|t| g[at(q, t)] * g[at(k, t)]).sum();
                    for t in 0..len {
                        g[at(k, t)] -= dot * g[at(q, t)];
                    }
                }
            }
            let norm = (0..len).map(|t| g[at(k, t)].powi(2)).sum::<f64>().sqrt();
            if norm.is_nan() || norm <= 1e-300 {
                return Err(format!("tensor {tensor}: degenerate Gaussian draw"));
            }
            for t in 0..len {
                g[at(k, t)] /= norm;
            }
        }
        for j in 0..cols {
            for i in 0..rows {
                m.set(i, j, self.gain * g[j * rows + i]);
            }
        }
        Ok(())
    }
}
