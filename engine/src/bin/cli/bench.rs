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
}

pub fn bench(a: BenchArgs) -> Result<(), Failure> {
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
            "{:<8} {:<9} {:>7} {:>9} {:>11} {:>13} {:>14}",
            "setting", "path", "steps", "seconds", "steps/s", "steps/cpu-s", "loss"
        );
    }
    for s in chosen {
        let params = initial_params(&s, a.init_dir.as_deref(), a.seed).map_err(Failure::Input)?;
        let steps = match a.steps {
            Some(n) => n,
            None => {
                // Calibrate: time a few steps, then aim for about one second.
                let probe = measure(&s, params.clone(), 3, reference);
                ((3.0 / probe.seconds.max(1e-9)) as u64).clamp(3, 200_000)
            }
        };
        let r = measure(&s, params, steps, reference);
        if a.json {
            println!(
                "{}",
                serde_json::to_string(&r).map_err(|e| Failure::Runtime(e.to_string()))?
            );
        } else {
            println!(
                "{:<8} {:<9} {:>7} {:>9.3} {:>11.1} {:>13.1} {:>14.10}",
                r.setting, r.path, r.steps, r.seconds, r.steps_per_sec, r.steps_per_cpu_sec, r.loss
            );
        }
    }
    Ok(())
}
