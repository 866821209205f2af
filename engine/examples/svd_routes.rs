//! Singular values of a dense d x d matrix by three routes, on matrices with known spectra:
//! faer's values-only SVD (what `analysis.spectrum: full` runs), the same with 2 threads, and
//! the eigenvalues of the Gram matrix W^T W (one GEMM + a symmetric tridiagonal eigensolver).
//! Prints seconds and the errors against the known values; docs/performance.md records a run.
//! Run: `cargo run --release -p ufm-engine --example svd_routes -- 1024 2048`.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd::{self, ComputeEigenvectors};
use faer::linalg::svd::{self, ComputeSvdVectors};
use faer::{Accum, Mat, Par};
use std::time::Instant;

/// x <- (I - 2 v v^T / v^T v) x for every column (rows = true: for every row, i.e. x H).
fn reflect(a: &mut Mat<f64>, v: &[f64], rows: bool) {
    let d = a.nrows();
    let vv: f64 = v.iter().map(|x| x * x).sum();
    if rows {
        let mut t = vec![0.0; d];
        for j in 0..d {
            for (i, ti) in t.iter_mut().enumerate() {
                *ti += a[(i, j)] * v[j];
            }
        }
        for j in 0..d {
            for i in 0..d {
                a[(i, j)] -= 2.0 * t[i] * v[j] / vv;
            }
        }
    } else {
        for j in 0..d {
            let s: f64 = (0..d).map(|i| a[(i, j)] * v[i]).sum();
            for i in 0..d {
                a[(i, j)] -= 2.0 * s * v[i] / vv;
            }
        }
    }
}

/// U diag(s) V^T with U, V products of three Householder reflectors each (dense, exactly
/// orthogonal up to rounding): the singular values are `s`.
fn with_spectrum(s: &[f64], seed: u64) -> Mat<f64> {
    let d = s.len();
    let mut a = Mat::from_fn(d, d, |i, j| if i == j { s[i] } else { 0.0 });
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    for side in [false, false, false, true, true, true] {
        let v: Vec<f64> = (0..d).map(|_| next()).collect();
        reflect(&mut a, &v, side);
    }
    a
}

fn svd_values(a: &Mat<f64>, par: Par) -> Vec<f64> {
    let d = a.nrows();
    let mut s = Diag::<f64>::zeros(d);
    let req = svd::svd_scratch::<f64>(
        d,
        d,
        ComputeSvdVectors::No,
        ComputeSvdVectors::No,
        par,
        Default::default(),
    );
    let mut buf = MemBuffer::new(req);
    svd::svd(
        a.as_ref(),
        s.as_mut(),
        None,
        None,
        par,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .unwrap();
    let mut v: Vec<f64> = s.column_vector().iter().map(|x| x.abs()).collect();
    v.sort_by(|a, b| b.total_cmp(a));
    v
}

fn gram_values(a: &Mat<f64>) -> Vec<f64> {
    let d = a.nrows();
    let mut g = Mat::<f64>::zeros(d, d);
    ufm_engine::linalg::matmul(
        g.as_mut(),
        Accum::Replace,
        a.transpose(),
        a.as_ref(),
        1.0,
        Par::Seq,
    );
    let mut s = Diag::<f64>::zeros(d);
    let req = evd::self_adjoint_evd_scratch::<f64>(
        d,
        ComputeEigenvectors::No,
        Par::Seq,
        Default::default(),
    );
    let mut buf = MemBuffer::new(req);
    evd::self_adjoint_evd(
        g.as_ref(),
        s.as_mut(),
        None,
        Par::Seq,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .unwrap();
    let mut v: Vec<f64> = s
        .column_vector()
        .iter()
        .map(|x| x.max(0.0).sqrt())
        .collect();
    v.sort_by(|a, b| b.total_cmp(a));
    v
}

/// (max |x - s| / s_max, max |x - s| / s over s >= 1e-6 s_max).
fn errors(x: &[f64], s: &[f64]) -> (f64, f64) {
    let smax = s[0];
    let mut abs: f64 = 0.0;
    let mut rel: f64 = 0.0;
    for (a, b) in x.iter().zip(s) {
        abs = abs.max((a - b).abs() / smax);
        if *b >= 1e-6 * smax {
            rel = rel.max((a - b).abs() / b);
        }
    }
    (abs, rel)
}

fn main() {
    let widths: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("width"))
        .collect();
    for d in widths {
        let spectra: [(&str, Vec<f64>); 3] = [
            (
                "geometric 1..1e-12",
                (0..d)
                    .map(|i| 10f64.powf(-12.0 * i as f64 / (d - 1) as f64))
                    .collect(),
            ),
            (
                "clustered 1 +- 1e-10, 1e-8",
                (0..d)
                    .map(|i| {
                        if i < d / 2 {
                            1.0 + 1e-10 * i as f64 / d as f64
                        } else {
                            1e-8 * (1.0 + (i - d / 2) as f64 / d as f64)
                        }
                    })
                    .collect(),
            ),
            (
                "linear 2..1",
                (0..d).map(|i| 2.0 - i as f64 / d as f64).collect(),
            ),
        ];
        for (name, mut s) in spectra {
            s.sort_by(|a, b| b.total_cmp(a));
            let a = with_spectrum(&s, d as u64);
            let t = Instant::now();
            let x = svd_values(&a, Par::Seq);
            let t_svd = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let y = svd_values(&a, Par::rayon(2));
            let t_par = t.elapsed().as_secs_f64();
            let same = x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits());
            let t = Instant::now();
            let z = gram_values(&a);
            let t_gram = t.elapsed().as_secs_f64();
            let (ea, er) = errors(&x, &s);
            let (ga, gr) = errors(&z, &s);
            println!(
                "d {d:5} {name:28} svd {t_svd:8.2} s (abs {ea:.1e} rel {er:.1e}) | svd 2 threads {t_par:8.2} s same bits {same} | gram+evd {t_gram:8.2} s (abs {ga:.1e} rel {gr:.1e})"
            );
        }
    }
}
