//! `ufm analyze`: the measurement sections of result.json (and the plots) for activations
//! exported from any network.

use crate::Failure;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct AnalyzeArgs {
    /// Export folder: labels.npy (N,), layers/*.npy (N x d, one per layer, name order),
    /// optional weights/*.npy (out x in, weight i takes layer i as input) and logits.npy (N x K).
    dir: PathBuf,
    /// Where to write result.json and plots/ (default: DIR/analysis).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Relative rank tolerance (singular values above rank_tol times the largest count).
    #[arg(long, default_value_t = 1e-6)]
    rank_tol: f64,
    /// Weight decay on the first layer's features (with --lambda-w: head loss and DNC bound).
    #[arg(long)]
    lambda_h: Option<f64>,
    /// Weight decay on the head's matrices.
    #[arg(long)]
    lambda_w: Option<f64>,
    /// Refuse files larger than this many GiB.
    #[arg(long, default_value_t = 4.0)]
    max_memory_gib: f64,
    /// Print result.json instead of the summary.
    #[arg(long)]
    json: bool,
    /// Skip the plots.
    #[arg(long)]
    no_plots: bool,
}

pub fn analyze(a: AnalyzeArgs) -> Result<(), Failure> {
    if !(a.rank_tol > 0.0 && a.rank_tol < 1.0) {
        return Err(Failure::Input(format!(
            "--rank-tol: must be in (0, 1), got {}",
            a.rank_tol
        )));
    }
    if !(a.max_memory_gib.is_finite() && a.max_memory_gib > 0.0) {
        return Err(Failure::Input(format!(
            "--max-memory-gib: must be a finite number > 0, got {}",
            a.max_memory_gib
        )));
    }
    if !a.dir.is_dir() {
        return Err(Failure::Input(format!(
            "DIR: {} is not a folder",
            a.dir.display()
        )));
    }
    let max_bytes = (a.max_memory_gib * (1u64 << 30) as f64) as u64;
    let mut e = ufm::activations::read_export(&a.dir, max_bytes)?;
    e.lambda_h = a.lambda_h;
    e.lambda_w = a.lambda_w;
    let name = a
        .dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "export".into());
    // A bad lambda is shown as the flag that gave it (`lambda_h` as `--lambda-h`).
    let report =
        ufm::activations::analyze_external(&e, &name, a.rank_tol).map_err(|e| match e {
            Failure::Argument { name, message } => Failure::Argument {
                name: format!("--{}", name.replace('_', "-")),
                message,
            },
            e => e,
        })?;
    let out = a.out.unwrap_or_else(|| a.dir.join("analysis"));
    std::fs::create_dir_all(&out)
        .map_err(|err| Failure::Runtime(format!("cannot create {}: {err}", out.display())))?;
    let json =
        serde_json::to_string_pretty(&report).map_err(|e| Failure::Runtime(e.to_string()))?;
    ufm::io::write_atomic(&out.join("result.json"), json.as_bytes())
        .map_err(|err| Failure::Runtime(format!("cannot write into {}: {err}", out.display())))?;
    let plots = if a.no_plots {
        vec![]
    } else {
        ufm::plot::plot_dir(&out, None)?
    };
    if a.json {
        println!("{json}");
        return Ok(());
    }
    println!(
        "samples     {} in {} classes ({} layers, {} weights)",
        report.samples,
        report.classes,
        report.layers.len(),
        report.weights.len()
    );
    for l in &report.layers {
        println!(
            "layer       {:<12} rank {:>4}  nc1 {:.3e}  nc2 {:.3e}",
            l.name, l.rank, l.nc1, l.nc2
        );
    }
    for w in &report.weights {
        println!(
            "weight      {:<12} rank {:>4}  nc3 {:.3e}",
            w.name,
            w.rank.map_or("-".to_string(), |r| r.to_string()),
            w.nc3
        );
    }
    if let (Some(z), Some(c)) = (&report.logits, &report.classification) {
        println!(
            "logits      rank {} (centred {}), simplex cosine {:.4}, train accuracy {:.3}",
            z.rank,
            z.centred_rank,
            z.simplex_cosine,
            report.train_accuracy.unwrap_or(f64::NAN)
        );
        println!(
            "structure   {}",
            serde_json::to_value(c)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
        );
    }
    if let Some(h) = &report.head_loss {
        println!(
            "head loss   {:.10} (fit {:.6e}, reg {:.6e})",
            h.loss, h.fit, h.reg
        );
    }
    if let Some(r) = &report.reference {
        if let Some(d) = r.dnc_loss {
            println!("DNC bound   {d:.10}");
        }
    }
    println!("written     {}", out.join("result.json").display());
    for p in plots {
        println!("written     {}", p.display());
    }
    Ok(())
}
