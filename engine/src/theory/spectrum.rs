//! Spectra of a symmetric operator: the full dense spectrum, Lanczos for the extreme
//! eigenvalues of large ones, and Hutchinson estimates of the trace and squared Frobenius norm.

use faer::{Mat, Side};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::Error;

/// All eigenvalues of the symmetric matrix `h`, nondecreasing.
pub fn dense_eigenvalues(h: &Mat<f64>) -> Result<Vec<f64>, Error> {
    h.self_adjoint_eigenvalues(Side::Lower)
        .map_err(|_| Error::Numerical("eigenvalue solver did not converge".into()))
}

/// Extreme eigenvalues by Lanczos.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LanczosResult {
    /// Smallest and largest Ritz values.
    pub min: f64,
    pub max: f64,
    /// Residual bounds |beta_m y_m| of the two Ritz pairs: each Ritz value is within this
    /// distance of a true eigenvalue (a standard Lanczos bound for symmetric operators).
    pub min_residual: f64,
    pub max_residual: f64,
    /// Lanczos steps taken.
    pub steps: usize,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Lanczos with full reorthogonalisation (twice, Gram-Schmidt; exact arithmetic behaviour is
/// kept, so no ghost eigenvalues) for `steps` steps (capped at the dimension `p`) from a seeded
/// random start. `op(v)` must return H v for a symmetric H.
pub fn lanczos(
    p: usize,
    steps: usize,
    seed: u64,
    mut op: impl FnMut(&[f64]) -> Vec<f64>,
) -> Result<LanczosResult, Error> {
    if p == 0 {
        return Err(Error::Numerical("lanczos: empty operator".into()));
    }
    let m = steps.clamp(1, p);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut q: Vec<f64> = (0..p)
        .map(|_| -> f64 { StandardNormal.sample(&mut rng) })
        .collect();
    let nq = dot(&q, &q).sqrt();
    q.iter_mut().for_each(|x| *x /= nq);
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(m);
    let (mut alpha, mut beta) = (Vec::with_capacity(m), Vec::with_capacity(m));
    let mut last_beta = 0.0;
    for _ in 0..m {
        let mut w = op(&q);
        let a = dot(&w, &q);
        basis.push(q.clone());
        alpha.push(a);
        for _ in 0..2 {
            for b in &basis {
                let c = dot(&w, b);
                w.iter_mut().zip(b).for_each(|(x, y)| *x -= c * y);
            }
        }
        let bnorm = dot(&w, &w).sqrt();
        last_beta = bnorm;
        let scale = alpha.iter().fold(0.0f64, |s, x| s.max(x.abs())).max(1e-300);
        if bnorm <= 1e-14 * scale || basis.len() == m {
            break;
        }
        beta.push(bnorm);
        q = w.into_iter().map(|x| x / bnorm).collect();
    }
    let k = alpha.len();
    let t = Mat::from_fn(k, k, |i, j| {
        if i == j {
            alpha[i]
        } else if i == j + 1 {
            beta[j]
        } else if j == i + 1 {
            beta[i]
        } else {
            0.0
        }
    });
    let evd = t.self_adjoint_eigen(Side::Lower).map_err(|_| {
        Error::Numerical("lanczos: tridiagonal eigensolver did not converge".into())
    })?;
    let s = evd.S().column_vector();
    let u = evd.U();
    let res = |j: usize| (last_beta * u[(k - 1, j)]).abs();
    Ok(LanczosResult {
        min: s[0],
        max: s[k - 1],
        min_residual: res(0),
        max_residual: res(k - 1),
        steps: k,
    })
}

/// Hutchinson estimates with Rademacher probes v: tr H = E[v^T H v] and
/// ||H||_F^2 = E[||H v||^2], each with its standard error (sample std / sqrt(probes)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hutchinson {
    pub trace: f64,
    pub trace_stderr: f64,
    pub frobenius_sq: f64,
    pub frobenius_sq_stderr: f64,
    pub probes: usize,
}

/// `probes` Rademacher probes from `seed` (at least 2, for the standard errors).
pub fn hutchinson(
    p: usize,
    probes: usize,
    seed: u64,
    mut op: impl FnMut(&[f64]) -> Vec<f64>,
) -> Hutchinson {
    let probes = probes.max(2);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut t, mut f) = (Vec::with_capacity(probes), Vec::with_capacity(probes));
    for _ in 0..probes {
        let v: Vec<f64> = (0..p)
            .map(|_| {
                let g: f64 = StandardNormal.sample(&mut rng);
                if g >= 0.0 {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect();
        let hv = op(&v);
        t.push(dot(&v, &hv));
        f.push(dot(&hv, &hv));
    }
    let stats = |x: &[f64]| {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|y| (y - mean) * (y - mean)).sum::<f64>() / (n - 1.0);
        (mean, (var / n).sqrt())
    };
    let (trace, trace_stderr) = stats(&t);
    let (frobenius_sq, frobenius_sq_stderr) = stats(&f);
    Hutchinson {
        trace,
        trace_stderr,
        frobenius_sq,
        frobenius_sq_stderr,
        probes,
    }
}
