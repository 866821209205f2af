//! `ufm sweep` and `ufm merge`.

use crate::Failure;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use ufm::sweep::{run_sweep, Shard, SweepEvent, SweepOptions};

#[derive(Args)]
pub struct SweepArgs {
    /// The job file; its `sweep` section defines the grid (a job without one is a single run).
    job: PathBuf,
    /// Output folder: runs.jsonl, summary.json, sweep.json. Finished runs found there are skipped.
    #[arg(long)]
    out: PathBuf,
    /// Worker threads, one run per thread (default: the number of CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// Run only shard I of N (1-based): the grid points whose index i has i mod N = I - 1.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<Shard>,
    /// Also write each run's result.json, curve.csv and params/ into OUT/runs/<index>/.
    #[arg(long)]
    keep_runs: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
pub struct MergeArgs {
    /// Sweep folders of the same job (e.g. the shards of one sweep).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Folder for the merged runs.jsonl, summary.json and sweep.json.
    #[arg(long, required_unless_present = "status")]
    out: Option<PathBuf>,
    /// Only report progress: per folder its shard, runs done, failed and missing (nothing is
    /// written; safe while the shards run).
    #[arg(long, conflicts_with = "out")]
    status: bool,
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    s.parse()
}

pub fn sweep(a: SweepArgs) -> Result<(), Failure> {
    // Ctrl-C or SIGTERM: start no new run, abandon the runs in flight, write summary.json.
    let cancel = super::signals::install();
    let loaded = ufm::job::load(&a.job).map_err(|e| e.in_file(&a.job))?;
    let threads = match a.threads {
        Some(0) => return Err(Failure::Input("--threads: must be >= 1, got 0".into())),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let show = !a.quiet && std::io::stderr().is_terminal();
    // Cleared also when dropped unfinished (an error return), not left on screen.
    let pb = if show {
        ProgressBar::new(0).with_finish(indicatif::ProgressFinish::AndClear)
    } else {
        ProgressBar::hidden()
    };
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {msg}  [{elapsed} < {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let dnc = std::sync::atomic::AtomicUsize::new(0);
    let on_event = |ev: SweepEvent| match ev {
        SweepEvent::Start { todo, skipped } => {
            pb.set_length(todo as u64);
            if skipped > 0 {
                pb.println(format!("resuming: {skipped} runs already finished"));
            }
        }
        SweepEvent::Finished(r) => {
            if r.classification == ufm::analysis::Classification::Dnc {
                dnc.fetch_add(1, Ordering::Relaxed);
            }
            pb.inc(1);
            pb.set_message(format!("{} dnc", dnc.load(Ordering::Relaxed)));
        }
    };
    let opts = SweepOptions {
        threads,
        shard: a.shard.unwrap_or(Shard::ALL),
        keep_runs: a.keep_runs,
    };
    let report = run_sweep(&loaded, &a.out, opts, cancel, &on_event)?;
    pb.finish_and_clear();
    let shard = a
        .shard
        .map(|s| format!(" (shard {s}: {} runs)", report.in_shard))
        .unwrap_or_default();
    eprintln!(
        "sweep: {} runs{shard}, {} already finished, {} ran in {:.1} s on {threads} thread{}",
        report.total,
        report.skipped,
        report.ran,
        report.seconds,
        if threads == 1 { "" } else { "s" }
    );
    if report.cancelled {
        return Err(Failure::Cancelled(format!(
            "sweep interrupted with {} of {} runs finished; run the same command again to \
                 resume",
            report.skipped + report.ran,
            report.in_shard
        )));
    }
    print_table(&report.summary);
    println!("written     {}/runs.jsonl, summary.json", a.out.display());
    Ok(())
}

pub fn merge(a: MergeArgs) -> Result<(), Failure> {
    let dirs: Vec<&std::path::Path> = a.dirs.iter().map(PathBuf::as_path).collect();
    let out = match (a.status, a.out) {
        (false, Some(out)) => out,
        _ => return print_status(&ufm::sweep::status(&dirs)?),
    };
    let summary = ufm::sweep::merge(&dirs, &out)?;
    print_table(&summary);
    println!(
        "merged      {} of {} runs from {} folders into {}/runs.jsonl, summary.json",
        summary.finished_runs,
        summary.total_runs,
        dirs.len(),
        out.display()
    );
    Ok(())
}

/// `ufm merge --status`: one line per folder, then the totals over all of them.
fn print_status(st: &ufm::sweep::SweepStatus) -> Result<(), Failure> {
    println!(
        "{:<7} {:>6} {:>6} {:>6} {:>7}  {:<11} folder",
        "shard", "runs", "done", "failed", "missing", "state"
    );
    let mut complete = 0;
    for f in &st.folders {
        match &f.progress {
            Some(p) => {
                let state = if p.missing == 0 {
                    complete += 1;
                    "complete"
                } else if p.done == 0 {
                    "started"
                } else {
                    "incomplete"
                };
                println!(
                    "{:<7} {:>6} {:>6} {:>6} {:>7}  {state:<11} {}",
                    p.shard.to_string(),
                    p.runs,
                    p.done,
                    p.failed,
                    p.missing,
                    f.dir.display()
                );
            }
            None => println!(
                "{:<7} {:>6} {:>6} {:>6} {:>7}  {:<11} {}",
                "-",
                "-",
                "-",
                "-",
                "-",
                "not started",
                f.dir.display()
            ),
        }
    }
    println!(
        "total   {:>6} {:>6} {:>6} {:>7}  {complete} of {} folders complete",
        st.total_runs,
        st.done,
        st.failed,
        st.missing,
        st.folders.len()
    );
    Ok(())
}

/// One line per group: the grouping values, runs, P(dnc) with its interval, rank, loss and how
/// the runs ended (counts per status: `converged`, `max_steps`, `diverged`, `failed`, ...). A
/// warning line follows when any run did not converge, since then the ranks, losses and P(dnc)
/// describe unfinished or broken runs (the summary alone would hide it).
fn print_table(s: &ufm::sweep::Summary) {
    for p in &s.points {
        let what: Vec<String> = p
            .assignments
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let what = if what.is_empty() {
            "all".to_string()
        } else {
            what.join(" ")
        };
        let p_dnc = p.p_dnc.map_or("   -".to_string(), |x| format!("{x:.2}"));
        let rank = p.rank.as_ref().map_or("-".to_string(), |r| {
            format!("{:.1} +- {:.1}", r.mean, r.std)
        });
        let loss = p.loss.as_ref().map_or("-".to_string(), |r| {
            if r.mean.abs() < 1e6 {
                format!("{:.6}", r.mean)
            } else {
                format!("{:.3e}", r.mean)
            }
        });
        let auc = p.alignment_auc.as_ref().map_or(String::new(), |a| {
            format!(
                "  AUC(alignment) {:.2} [{:.2}, {:.2}]",
                a.auc, a.interval[0], a.interval[1]
            )
        });
        println!(
            "{what:<32} runs {:>3}/{:<3} P(dnc) {p_dnc} [{:.2}, {:.2}]  rank {rank}  loss {loss}  {}{auc}",
            p.runs,
            p.expected_runs,
            p.p_dnc_interval[0],
            p.p_dnc_interval[1],
            status_counts(&p.status)
        );
    }
    if let Some(a) = &s.alignment_auc {
        println!(
            "initial alignment predicts DNC (all runs): AUC {:.3} [{:.3}, {:.3}] ({} dnc, {} other; {} bootstrap resamples, seed {})",
            a.auc, a.interval[0], a.interval[1], a.dnc_runs, a.other_runs, a.resamples, a.seed
        );
    }
    if let Some(w) = not_converged_warning(s) {
        println!("{w}");
    }
}

/// `converged 5, max_steps 1` (every status present, converged first); `-` without runs.
fn status_counts(status: &std::collections::BTreeMap<String, usize>) -> String {
    let mut parts: Vec<String> = status
        .get("converged")
        .map(|n| format!("converged {n}"))
        .into_iter()
        .collect();
    parts.extend(
        status
            .iter()
            .filter(|(k, n)| k.as_str() != "converged" && **n > 0)
            .map(|(k, n)| format!("{k} {n}")),
    );
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// The warning line when some finished runs did not converge: how many, and how they ended.
pub(super) fn not_converged_warning(s: &ufm::sweep::Summary) -> Option<String> {
    let mut by_status = std::collections::BTreeMap::<&str, usize>::new();
    let mut finished = 0;
    for p in &s.points {
        for (k, n) in &p.status {
            finished += n;
            if k != "converged" && *n > 0 {
                *by_status.entry(k.as_str()).or_insert(0) += n;
            }
        }
    }
    let bad: usize = by_status.values().sum();
    if bad == 0 {
        return None;
    }
    let how: Vec<String> = by_status.iter().map(|(k, n)| format!("{k} {n}")).collect();
    Some(format!(
        "warning: {bad} of {finished} runs did not converge ({}): their rank, loss and P(dnc) \
         describe where they stopped, not a converged solution (runs.jsonl: each run's status)",
        how.join(", ")
    ))
}
