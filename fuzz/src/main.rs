//! `ufm-fuzz`: the fuzzing harness's command line (docs/fuzzing.md).
//!
//! - `ufm-fuzz batch jobs|npy|capi SEED FROM COUNT` runs one batch in this process and prints
//!   its tally as one JSON line (exit 1 on any failure);
//! - `ufm-fuzz long [--jobs N] [--npy N] [--capi N] [--seed S] [--timeout SECS]` runs batches
//!   in child processes, each with a timeout, and counts panics, mismatches, crashes (a child
//!   killed by a signal or exiting without a tally) and hangs (a child over its time limit).

use std::io::Read;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use ufm_fuzz::{jobs::Env, Tally};

const JOB_BATCH: u64 = 5_000;
const NPY_BATCH: u64 = 5_000;
const CAPI_BATCH: u64 = 50_000;

fn scratch(tag: &str) -> std::path::PathBuf {
    // Memory-backed when available: the npy target writes one file per input.
    let shm = std::path::Path::new("/dev/shm");
    let root = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let d = root.join(format!("ufm-fuzz-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).ok();
    d
}

fn batch(args: &[String]) -> ExitCode {
    let (Some(kind), Some(seed), Some(from), Some(count)) = (
        args.first(),
        args.get(1).and_then(|s| s.parse::<u64>().ok()),
        args.get(2).and_then(|s| s.parse::<u64>().ok()),
        args.get(3).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: ufm-fuzz batch jobs|npy|capi SEED FROM COUNT");
        return ExitCode::from(2);
    };
    let dir = scratch(kind);
    let env = Env::create(&dir);
    ufm_fuzz::quiet_panics();
    let t = match kind.as_str() {
        "jobs" => ufm_fuzz::run_jobs(seed, from, count, &env),
        "npy" => ufm_fuzz::run_npy(seed, from, count, &dir),
        "capi" => ufm_fuzz::run_capi(seed.wrapping_add(from), count, &env),
        _ => {
            eprintln!("batch: unknown target {kind:?} (jobs, npy, capi)");
            return ExitCode::from(2);
        }
    };
    std::fs::remove_dir_all(&dir).ok();
    println!("{}", t.to_json());
    ExitCode::from(u8::from(t.failures() > 0))
}

/// Outcome of one child batch.
struct Child {
    tally: Tally,
    crashed: Option<String>,
    hung: bool,
}

fn run_child(kind: &str, seed: u64, from: u64, count: u64, timeout: Duration) -> Child {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .args([
            "batch",
            kind,
            &seed.to_string(),
            &from.to_string(),
            &count.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn a batch");
    let start = Instant::now();
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if start.elapsed() > timeout {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    if let Some(mut so) = child.stdout.take() {
        so.read_to_string(&mut out).ok();
    }
    let what = format!("{kind} batch seed {seed} from {from} count {count}");
    let Some(status) = status else {
        return Child {
            tally: Tally::default(),
            crashed: None,
            hung: true,
        };
    };
    match serde_json::from_str::<serde_json::Value>(out.trim()) {
        Ok(v) => Child {
            tally: Tally::from_json(&v),
            crashed: None,
            hung: false,
        },
        Err(_) => Child {
            tally: Tally::default(),
            crashed: Some(format!("{what}: exited with {status} without a tally")),
            hung: false,
        },
    }
}

fn flag(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn long(args: &[String]) -> ExitCode {
    let jobs = flag(args, "--jobs", 1_000_000);
    let npy = flag(args, "--npy", 100_000);
    let capi = flag(args, "--capi", 1_000_000);
    let seed = flag(args, "--seed", 1);
    let timeout = Duration::from_secs(flag(args, "--timeout", 600));
    let start = Instant::now();
    let mut report = serde_json::Map::new();
    let mut total_failures = 0;
    for (kind, goal, size) in [
        ("jobs", jobs, JOB_BATCH),
        ("npy", npy, NPY_BATCH),
        ("capi", capi, CAPI_BATCH),
    ] {
        let mut t = Tally::default();
        let (mut crashes, mut hangs, mut notes) = (0u64, 0u64, Vec::new());
        let mut from = 0;
        while t.inputs < goal {
            let count = size.min(goal - t.inputs);
            let c = run_child(kind, seed, from, count, timeout);
            if c.hung {
                hangs += 1;
                notes.push(format!(
                    "{kind} batch seed {seed} from {from} count {count}: hung (over {timeout:?})"
                ));
                t.inputs += count;
            } else if let Some(m) = c.crashed {
                crashes += 1;
                notes.push(m);
                t.inputs += count;
            } else {
                t.add(&c.tally);
            }
            from += count;
            eprintln!(
                "{kind}: {} inputs, {} panics, {} mismatches, {crashes} crashes, {hangs} hangs ({:.0} s)",
                t.inputs, t.panics, t.mismatches, start.elapsed().as_secs_f64()
            );
        }
        total_failures += t.failures() + crashes + hangs;
        let mut j = t.to_json();
        j["crashes"] = crashes.into();
        j["hangs"] = hangs.into();
        j["crash_and_hang_batches"] = notes.into();
        report.insert(kind.to_string(), j);
    }
    report.insert("seed".into(), seed.into());
    report.insert("seconds".into(), start.elapsed().as_secs_f64().into());
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    ExitCode::from(u8::from(total_failures > 0))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("batch") => batch(&args[1..]),
        Some("long") => long(&args[1..]),
        Some("npy-bytes") => {
            // Write the .npy file of SEED INDEX to stdout (to reproduce a failure).
            let n = |i: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(0);
            use std::io::Write;
            std::io::stdout()
                .write_all(&ufm_fuzz::npy::generate(n(1), n(2)))
                .ok();
            ExitCode::SUCCESS
        }
        Some("job-text") => {
            // Print job SEED INDEX (to reproduce a failure).
            let n = |i: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(0);
            let dir = scratch("text");
            let env = Env::create(&dir);
            println!(
                "{}",
                ufm_fuzz::jobs::generate(&ufm_fuzz::jobs::seeds(&env), n(1), n(2))
            );
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "usage: ufm-fuzz batch jobs|npy|capi SEED FROM COUNT\n       ufm-fuzz long [--jobs N] [--npy N] [--capi N] [--seed S] [--timeout SECS]"
            );
            ExitCode::from(2)
        }
    }
}
