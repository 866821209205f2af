//! GFLOP/s of faer's product against the engine's own small-product kernel
//! (`ufm_engine::linalg::small`) at every SIMD level this CPU has, on the gradient's product
//! shapes at the Figure-1/6 sizes (d = 70, N = 50, K = 10) and two of the `large` setting;
//! CPU time of this thread, one product repeated. Also checks that the levels give the same
//! bits (and says whether faer's match). For tuning the kernel; docs/performance.md quotes it.
//! Run: `cargo run --release -p ufm-engine --example small_gemm [REPS]` (default 20000).

use faer::{Accum, Mat, MatRef, Par};
use ufm_engine::init::{gaussian_matrix, stream};
use ufm_engine::linalg::small;
use ufm_engine::simd::Level;

fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20000);
    // (rows, inner, cols, lhs transposed, rhs transposed, what)
    let shapes = [
        (70, 70, 50, false, false, "layered: W_l x"),
        (70, 50, 70, false, true, "layered: dW_l += up x^T"),
        (70, 70, 50, true, false, "layered: W_l^T up"),
        (10, 70, 50, false, false, "layered: Z = W_L x"),
        (10, 50, 70, false, true, "layered: dW_L += dZ x^T"),
        (70, 10, 50, true, false, "layered: W_L^T dZ"),
        (70, 70, 10, true, true, "factored: W_l^T A^T"),
        (50, 70, 10, true, false, "factored: Z^T = H1^T A_1^T"),
        (70, 10, 50, false, true, "factored: dH1 += A_1^T dZ"),
        (70, 50, 10, false, false, "factored: H1 dZ^T"),
        (70, 70, 10, false, false, "factored: W_l back"),
        (70, 10, 70, true, true, "factored: dW_l += A^T back^T"),
        (256, 256, 20, true, true, "large: W_l^T A^T"),
        (256, 256, 20, false, false, "large: W_l back"),
    ];
    let levels: Vec<Level> = Level::ALL
        .into_iter()
        .filter(|l| l.supported() && *l != Level::Scalar)
        .collect();
    print!("{:>12} {:>3} {:>3} {:>7}", "m x k x n", "tA", "tB", "faer");
    for l in &levels {
        print!(" {:>7}", l.name());
    }
    println!("  GFLOP/s   levels-same-bits faer-same-bits  product");
    for &(m, k, n, tl, tr, what) in &shapes {
        let a = if tl {
            gaussian_matrix(k, m, 1.0, &mut stream(1, 0))
        } else {
            gaussian_matrix(m, k, 1.0, &mut stream(1, 0))
        };
        let b = if tr {
            gaussian_matrix(n, k, 1.0, &mut stream(2, 0))
        } else {
            gaussian_matrix(k, n, 1.0, &mut stream(2, 0))
        };
        let av: MatRef<'_, f64> = if tl { a.transpose() } else { a.as_ref() };
        let bv: MatRef<'_, f64> = if tr { b.transpose() } else { b.as_ref() };
        let mut c = Mat::<f64>::zeros(m, n);
        let flop = 2.0 * (m * n * k) as f64 * reps as f64;
        let time = |f: &mut dyn FnMut()| {
            f();
            let t = cpu_seconds();
            for _ in 0..reps {
                f();
            }
            flop / (cpu_seconds() - t) / 1e9
        };
        let faer_rate = time(&mut || {
            faer::linalg::matmul::matmul(c.as_mut(), Accum::Replace, av, bv, 1.0, Par::Seq)
        });
        ufm_engine::linalg::clean_upper_state();
        let theirs = c.clone();
        let mut rates = Vec::new();
        let mut results = Vec::new();
        for &l in &levels {
            rates.push(time(&mut || {
                small::gemm_at(l, c.as_mut(), Accum::Replace, av, bv, 1.0)
            }));
            results.push(c.clone());
        }
        let same = |x: &Mat<f64>, y: &Mat<f64>| {
            (0..n).all(|j| (0..m).all(|i| x[(i, j)].to_bits() == y[(i, j)].to_bits()))
        };
        let levels_same = results.windows(2).all(|w| same(&w[0], &w[1]));
        let faer_same = results.iter().all(|r| same(r, &theirs));
        print!(
            "{:>4}x{:>3}x{:>3} {:>3} {:>3} {faer_rate:>7.1}",
            m, k, n, tl as u8, tr as u8
        );
        for r in rates {
            print!(" {r:>7.1}");
        }
        println!("  {levels_same:>16} {faer_same:>14}  {what}");
    }
}
