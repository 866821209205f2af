//! `ufm bench`: steps/s of GD on the benchmark settings.

use crate::Failure;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use ufm::bench::{initial_params, measure, setting, SETTINGS};

#[derive(Clone, Copy, ValueEnum)]
enum PathChoice {
    /// Factored gradient for linear models (layer-by-layer for ReLU).
    Fast,
    /// Layer-by-layer backpropagation through d x N features.
    Reference,
}

#[derive(Args)]
pub struct BenchArgs {
    /// figure1, figure6, large, big, or all.
    #[arg(long, default_value = "all")]
    setting: String,
    /// GD steps to time (default: about one second's worth per setting; with
    /// --exp-after-matmul: rounds, default 20000).
    #[arg(long)]
    steps: Option<u64>,
    /// Start from DIR/H1.npy, W1.npy, ... instead of the seeded `scaled` initialisation.
    #[arg(long)]
    init_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, value_enum, default_value = "fast")]
    path: PathChoice,
    /// One JSON object per setting on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// Instead of the settings: time glibc `exp` alone, after a raw faer product and after the
    /// engine's wrapped product (the reproducer of docs/upstream-faer-vzeroupper.md).
    #[arg(long)]
    exp_after_matmul: bool,
    /// Width scaling instead: linear, L = 3, K = 10, n = 5, GD; per width (each in its own
    /// process) the step time, the end-of-run analysis time and the peak memory.
    #[arg(long)]
    scaling: bool,
    /// Widths for --scaling (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "128,256,512,1024,2048,4096,8192"
    )]
    widths: Vec<usize>,
    /// --scaling: the update of the d x d weights (auto, fused, separate).
    #[arg(long, default_value = "auto")]
    update: String,
    /// --scaling: analysis.spectrum (auto, full, top).
    #[arg(long, default_value = "auto")]
    spectrum: String,
    /// --scaling: start from the paper's paired low-rank solution (rank-K/2 weights) instead
    /// of the full-rank `scaled` start, so that the analysis meets numerically low-rank weights.
    #[arg(long)]
    low_rank_start: bool,
    /// --scaling: skip the analysis (step time and training memory only).
    #[arg(long)]
    no_analysis: bool,
    /// `train.threads` to time (comma-separated: each setting is timed at every count in turn,
    /// in this one process; --scaling uses the first).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    threads: Vec<usize>,
    /// Repeat the timings this many times (alternating thread counts within each round).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Internal: measure one width in this process and print its JSON line.
    #[arg(long, hide = true)]
    scaling_child: Option<usize>,
}

fn parse_choice<T: serde::de::DeserializeOwned>(
    flag: &str,
    v: &str,
    allowed: &str,
) -> Result<T, Failure> {
    serde_json::from_value(serde_json::Value::String(v.into()))
        .map_err(|_| Failure::Input(format!("{flag}: must be one of {allowed}, got {v}")))
}

/// `ufm bench --scaling`: one child process per width (so VmHWM is that width's peak).
fn scaling(a: &BenchArgs) -> Result<(), Failure> {
    let update: ufm::train::UpdateMode =
        parse_choice("--update", &a.update, "auto, fused, separate")?;
    let spectrum: ufm::job::SpectrumChoice =
        parse_choice("--spectrum", &a.spectrum, "auto, full, top")?;
    if let Some(d) = a.scaling_child {
        let steps = a.steps.unwrap_or(5);
        let analysis = ufm::job::AnalysisSection {
            spectrum,
            ..Default::default()
        };
        let mut p = ufm::bench::scaling_point(
            d,
            steps,
            update,
            &analysis,
            !a.no_analysis,
            a.low_rank_start,
            a.threads[0],
        )?;
        p.peak_bytes = ufm::bench::peak_rss_bytes();
        println!(
            "{}",
            serde_json::to_string(&p).map_err(|e| Failure::Runtime(e.to_string()))?
        );
        return Ok(());
    }
    if a.widths.is_empty() || a.widths.contains(&0) {
        return Err(Failure::Input("--widths: every width must be >= 1".into()));
    }
    let exe = std::env::current_exe().map_err(|e| Failure::Runtime(e.to_string()))?;
    if !a.json {
        println!(
            "{:>6} {:>8} {:>6} {:>11} {:>10} {:>9} {:>11} {:>10} {:>10} {:>6} {:>9}",
            "width",
            "update",
            "steps",
            "step (ms)",
            "cpu (ms)",
            "GB/s",
            "analysis s",
            "spectrum",
            "peak MB",
            "params",
            "peak/par"
        );
    }
    for &d in &a.widths {
        let steps = a.steps.unwrap_or(if d >= 4096 {
            3
        } else if d >= 1024 {
            10
        } else {
            100
        });
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(["bench", "--scaling", "--scaling-child", &d.to_string()])
            .args([
                "--steps",
                &steps.to_string(),
                "--update",
                &a.update,
                "--spectrum",
                &a.spectrum,
                "--threads",
                &a.threads[0].to_string(),
            ]);
        if a.no_analysis {
            cmd.arg("--no-analysis");
        }
        if a.low_rank_start {
            cmd.arg("--low-rank-start");
        }
        let out = cmd
            .output()
            .map_err(|e| Failure::Runtime(format!("width {d}: {e}")))?;
        if !out.status.success() {
            return Err(Failure::Runtime(format!(
                "width {d}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let line = String::from_utf8_lossy(&out.stdout);
        if a.json {
            print!("{line}");
            continue;
        }
        let p: ufm::bench::ScalingPoint = serde_json::from_str(line.trim())
            .map_err(|e| Failure::Runtime(format!("width {d}: {e}")))?;
        let mb = |b: u64| b as f64 / 1e6;
        println!(
            "{:>6} {:>8} {:>6} {:>11.2} {:>10.2} {:>9.1} {:>11.2} {:>10} {:>10.1} {:>6.1} {:>9.2}",
            p.width,
            p.update,
            p.steps,
            p.step_seconds * 1e3,
            p.step_cpu_seconds * 1e3,
            p.min_step_bytes as f64 / p.step_cpu_seconds / 1e9,
            p.analysis_seconds,
            if p.spectrum.is_empty() {
                "-".to_string()
            } else {
                p.spectrum.join(",")
            },
            mb(p.peak_bytes),
            mb(p.param_bytes),
            p.peak_bytes as f64 / p.param_bytes as f64
        );
    }
    Ok(())
}

pub fn bench(a: BenchArgs) -> Result<(), Failure> {
    let most = ufm::linalg::threads::MAX_THREADS;
    if a.threads.is_empty() || a.threads.iter().any(|&t| !(1..=most).contains(&t)) {
        return Err(Failure::Input(format!(
            "--threads: every count must be in 1..={most}"
        )));
    }
    if a.rounds == 0 {
        return Err(Failure::Input("--rounds: must be >= 1, got 0".into()));
    }
    if a.scaling || a.scaling_child.is_some() {
        return scaling(&a);
    }
    if a.exp_after_matmul {
        let reps = a.steps.unwrap_or(20_000) as usize;
        if reps == 0 {
            return Err(Failure::Input("--steps: must be >= 1, got 0".into()));
        }
        let r = ufm::bench::exp_after_matmul(reps);
        if a.json {
            println!(
                "{}",
                serde_json::to_string(&r).map_err(|e| Failure::Runtime(e.to_string()))?
            );
        } else {
            println!(
                "cpu {} (simd {}, load {:.2}), {reps} rounds of 500 exp calls",
                r.machine.cpu, r.machine.simd, r.machine.load
            );
            println!("exp alone                  {:8.2} ns", r.exp_alone_ns);
            println!(
                "exp after raw faer matmul  {:8.2} ns  ratio {:.2}  (XINUSE {})",
                r.exp_after_faer_ns,
                r.ratio_faer,
                r.xinuse_after_faer
                    .map(|x| format!("{x:#x}"))
                    .unwrap_or_else(|| "unreadable".into())
            );
            println!(
                "exp after ufm's matmul     {:8.2} ns  ratio {:.2}",
                r.exp_after_wrapper_ns, r.ratio_wrapper
            );
        }
        return Ok(());
    }
    let chosen: Vec<_> = if a.setting == "all" {
        SETTINGS.to_vec()
    } else {
        vec![setting(&a.setting).ok_or_else(|| {
            Failure::Input(format!(
                "--setting: must be one of figure1, figure6, large, big, all; got {}",
                a.setting
            ))
        })?]
    };
    if a.init_dir.is_some() && chosen.len() > 1 {
        return Err(Failure::Input(
            "--init-dir: needs a single --setting".into(),
        ));
    }
    if a.steps == Some(0) {
        return Err(Failure::Input("--steps: must be >= 1, got 0".into()));
    }
    let reference = matches!(a.path, PathChoice::Reference);
    if !a.json {
        let m = ufm::bench::machine();
        println!(
            "cpu {}, simd {} (detected {}), load {:.2}",
            m.cpu, m.simd, m.simd_detected, m.load
        );
        println!(
            "{:<8} {:<9} {:>7} {:>7} {:>9} {:>11} {:>13} {:>14} {:>14}",
            "setting",
            "path",
            "threads",
            "steps",
            "seconds",
            "steps/s",
            "steps/cpu-s",
            "all-cpu ms/st",
            "loss"
        );
    }
    for s in chosen {
        let params = initial_params(&s, a.init_dir.as_deref(), a.seed)?;
        let steps = match a.steps {
            Some(n) => n,
            None => {
                // Calibrate: time a few steps, then aim for about one second.
                let probe = measure(&s, params.clone(), 3, reference, a.threads[0]);
                ((3.0 / probe.seconds.max(1e-9)) as u64).clamp(3, 200_000)
            }
        };
        for _ in 0..a.rounds {
            for &t in &a.threads {
                let r = measure(&s, params.clone(), steps, reference, t);
                if a.json {
                    println!(
                        "{}",
                        serde_json::to_string(&r).map_err(|e| Failure::Runtime(e.to_string()))?
                    );
                } else {
                    println!(
                        "{:<8} {:<9} {:>7} {:>7} {:>9.3} {:>11.1} {:>13.1} {:>14.3} {:>14.10}",
                        r.setting,
                        r.path,
                        r.threads,
                        r.steps,
                        r.seconds,
                        r.steps_per_sec,
                        r.steps_per_cpu_sec,
                        r.process_cpu_seconds * 1e3 / r.steps.max(1) as f64,
                        r.loss
                    );
                }
            }
        }
    }
    Ok(())
}
