//! Minimal reproducer for faer: its x86 GEMM returns with the upper ymm/zmm state in use (no
//! `vzeroupper`), which slows the SSE code after it (glibc `exp`). Uses faer only; the text of
//! the report is docs/upstream-faer-vzeroupper.md.
//! Run: `cargo run --release -p ufm-engine --example faer_vzeroupper` (x86-64 with AVX only).

use faer::{linalg::matmul::matmul, Accum, Mat, Par};
use std::{hint::black_box, time::Instant};

fn xinuse() -> u64 {
    let (lo, hi): (u32, u32);
    unsafe { std::arch::asm!("xgetbv", in("ecx") 1u32, out("eax") lo, out("edx") hi) };
    ((hi as u64) << 32) | lo as u64
}

#[target_feature(enable = "avx")]
unsafe fn vzeroupper() {
    std::arch::x86_64::_mm256_zeroupper()
}

fn main() {
    let a = Mat::from_fn(70, 70, |i, j| ((i * 7 + j) as f64).sin());
    let b = Mat::from_fn(70, 10, |i, j| ((i + 3 * j) as f64).cos());
    let mut c = Mat::<f64>::zeros(70, 10);
    let xs: Vec<f64> = (0..500).map(|i| -(i as f64) * 0.01).collect();
    let (mut alone, mut after) = (0.0, 0.0);
    let mut sink = 0.0;
    for _ in 0..20_000 {
        unsafe { vzeroupper() };
        let t = Instant::now();
        for &x in &xs {
            sink += black_box(x).exp();
        }
        alone += t.elapsed().as_secs_f64();
        matmul(
            c.as_mut(),
            Accum::Replace,
            a.as_ref(),
            b.as_ref(),
            1.0,
            Par::Seq,
        );
        let bits = xinuse();
        let t = Instant::now();
        for &x in &xs {
            sink += black_box(x).exp();
        }
        after += t.elapsed().as_secs_f64();
        assert!(
            bits & 0b0100_0100 != 0,
            "upper state clean after matmul: {bits:#x}"
        );
    }
    black_box(sink);
    println!(
        "exp alone {:.2} ns, after matmul {:.2} ns, ratio {:.2}",
        alone * 1e9 / 1e7,
        after * 1e9 / 1e7,
        after / alone
    );
}
