//! `ufm run` and `ufm validate`.

use super::progress::{bar, show, writing};
use crate::Failure;
use clap::Args;
use std::path::PathBuf;
use ufm::job::{load, LoadedJob};
use ufm::run::{execute, execute_checkpointed, CheckpointOptions};

#[derive(Args)]
pub struct RunArgs {
    /// The job file (JSON, schema_version 1).
    job: PathBuf,
    /// Output folder (default: out/<job name or file stem>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print result.json on stdout instead of the summary.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Save OUT/checkpoint every N steps (a multiple of train.record_every) and at the end.
    #[arg(long, value_name = "N")]
    checkpoint_every: Option<u64>,
    /// Continue from OUT/checkpoint (same model, init and optimizer; train may change).
    #[arg(long)]
    resume: bool,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// The job file to check.
    job: PathBuf,
}

fn load_job(path: &std::path::Path) -> Result<LoadedJob, Failure> {
    load(path).map_err(|e| e.in_file(path))
}

pub fn validate(a: ValidateArgs) -> Result<(), Failure> {
    let checked = ufm::job::check_file(&a.job).map_err(|e| e.in_file(&a.job))?;
    let runs = checked.runs;
    if ufm::job::read(&a.job).is_ok_and(|j| j.backbone.is_some()) {
        // The backbone's size and the data's memory depend on the files, read at run time.
        let s = &checked.base;
        println!(
            "{}: valid ({} run{}, {} head parameters; the backbone's input size and the data are \
             read at run time)",
            a.job.display(),
            runs,
            if runs == 1 { "" } else { "s" },
            s.parameter_count() - s.width * s.samples(),
        );
        return Ok(());
    }
    println!(
        "{}: valid ({} run{}, {} parameters, about {} {})",
        a.job.display(),
        runs,
        if runs == 1 { "" } else { "s" },
        checked.largest.parameter_count(),
        human_bytes(checked.largest_bytes),
        if runs == 1 {
            "per run"
        } else {
            "for the largest run"
        }
    );
    Ok(())
}

pub fn run(a: RunArgs) -> Result<(), Failure> {
    // Ctrl-C or SIGTERM ends the run cleanly (status `cancelled`) so its results are still
    // written (and, with --checkpoint-every, a checkpoint to --resume from).
    let cancel = super::signals::install();
    let loaded = load_job(&a.job)?;
    if !loaded.grid.is_empty() {
        return Err(Failure::Input(format!(
            "{}: sweep: this job sweeps {} runs; run it with `ufm sweep {} --out DIR`",
            a.job.display(),
            loaded.grid.len(),
            a.job.display()
        )));
    }
    let out = a.out.clone().unwrap_or_else(|| {
        let stem = a.job.file_stem().and_then(|s| s.to_str()).unwrap_or("run");
        let name = if loaded.job.name.is_empty() {
            stem
        } else {
            loaded.job.name.as_str()
        };
        PathBuf::from("out").join(name)
    });
    // Fail before training, not after, when the output folder cannot be made.
    std::fs::create_dir_all(&out)
        .map_err(|e| Failure::Runtime(format!("--out: cannot create {}: {e}", out.display())))?;
    let pb = bar(loaded.job.train.max_steps, a.quiet || a.json);
    let mut progress = |p: ufm::train::Progress| show(&pb, &p);
    let ck_dir = out.join("checkpoint");
    let output = if a.checkpoint_every.is_some() || a.resume {
        execute_checkpointed(
            &loaded.job,
            &loaded.spec,
            &loaded.base_dir,
            Some(cancel),
            &mut progress,
            CheckpointOptions {
                dir: &ck_dir,
                every: a.checkpoint_every.unwrap_or(0),
                resume: a.resume,
            },
        )
    } else {
        execute(
            &loaded.job,
            &loaded.spec,
            &loaded.base_dir,
            Some(cancel),
            &mut progress,
        )
    }
    .map_err(|e| e.in_file(&a.job))?;
    writing(&pb);
    ufm::run::write_folder(&out, &output)?;
    pb.finish_and_clear();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&output.result)
                .map_err(|e| Failure::Runtime(e.to_string()))?
        );
    } else {
        print_summary(&output.result, &out);
    }
    let status = output.result.status;
    match super::exit::for_run(status) {
        super::exit::FINISHED => Ok(()),
        code => {
            let message = format!(
                "the run ended with status `{}`{} (exit status {code}; files written to {})",
                serde_json::to_value(status)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                output
                    .result
                    .message
                    .as_ref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default(),
                out.display()
            );
            // The kind carries the exit status (cli/exit.rs): cancelled, or ended unfinished.
            Err(if status == ufm::train::Status::Cancelled {
                Failure::Cancelled(message)
            } else {
                Failure::RunEnded(message)
            })
        }
    }
}

fn print_summary(r: &ufm::report::RunResult, out: &std::path::Path) {
    let s = serde_json::to_value(r.status)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let class = serde_json::to_value(r.analysis.classification)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    println!(
        "status      {s} after {} steps ({:.2} s, {} gradient)",
        r.steps, r.seconds, r.grad_path
    );
    if let Some(m) = &r.message {
        println!("            {m}");
    }
    println!(
        "loss        {:.10} (fit {:.6e}, reg {:.6e}, |grad| {:.2e})",
        r.final_.loss, r.final_.fit, r.final_.reg, r.final_.grad_norm
    );
    match (r.reference.dnc_loss, r.reference.low_rank_loss) {
        (Some(dnc), Some(lr)) => {
            let rel = if r.final_.loss < dnc {
                "below"
            } else {
                "above"
            };
            println!(
                "DNC bound   {dnc:.10} (final loss is {rel} it by {:.3e})",
                (r.final_.loss - dnc).abs()
            );
            println!("low rank    {lr:.10} (paired structure of Eq. 5 at its optimal scale)");
        }
        _ => println!(
            "DNC bound   n/a ({})",
            r.reference
                .note
                .as_deref()
                .unwrap_or("the closed forms do not apply to this model")
        ),
    }
    let k = r.analysis.logits.class_means.len();
    println!(
        "logits      rank {} of K = {k}, simplex cosine {:.4}, train accuracy {:.3}",
        r.analysis.logits.rank, r.analysis.logits.simplex_cosine, r.final_.train_accuracy
    );
    if r.analysis.cancelled {
        println!("analysis    cancelled: the remaining weight spectra were skipped (spectrum \"skipped\")");
    }
    println!("structure   {class}");
    println!(
        "written     {}/result.json, curve.csv, params/",
        out.display()
    );
}

/// `12.3 KiB`, `2.4 MiB`, `1.5 GiB`: a small job's estimate must not read `0.0 MiB`.
fn human_bytes(b: u64) -> String {
    let b = b as f64;
    if b >= (1u64 << 30) as f64 {
        format!("{:.1} GiB", b / (1u64 << 30) as f64)
    } else if b >= (1u64 << 20) as f64 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}
