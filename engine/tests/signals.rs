//! SIGTERM (scancel, a Slurm time limit, `kill`) and SIGINT (Ctrl-C) end `ufm sweep` and
//! `ufm run` cleanly: finished work is kept, files are written, the exit status is 128 + the
//! signal (143, 130), and the interrupted sweep resumes to the uninterrupted result.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const UFM: &str = env!("CARGO_BIN_EXE_ufm");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ufm-signal-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn send(child: &Child, sig: libc::c_int) {
    // SAFETY: signalling a child process we spawned and have not yet waited for.
    let r = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    assert_eq!(r, 0, "kill failed");
}

/// Wait until `ready()` holds, failing if the child ends first or nothing happens for 60 s.
fn wait_for(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ufm ended before {what}"
        );
        assert!(start.elapsed() < Duration::from_secs(60), "no {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p).map_or(0, |t| t.lines().count())
}

#[test]
fn sigterm_stops_a_sweep_cleanly_with_143_and_it_resumes_to_the_same_summary() {
    let d = tmp("sweep");
    // 3 widths x 6 seeds, runs of some tens of ms (fixed step count: tol 0).
    let job = d.join("job.json");
    std::fs::write(
        &job,
        r#"{"schema_version":1,"name":"t","model":{"classes":4,"per_class":2,"width":6,"layers":2,"lambda":0.01},
 "init":{"name":"scaled","scale":2.0,"seed":0},"optimizer":{"name":"gd","lr":0.5},
 "train":{"max_steps":60000,"tol":0,"record_every":50},
 "sweep":{"model.width":[8,12,16],"init.seed":{"range":[0,6]}}}"#,
    )
    .unwrap();
    let full = d.join("full");
    let o = Command::new(UFM)
        .args(["sweep", s(&job), "--out", s(&full), "--threads", "2"])
        .output()
        .unwrap();
    assert!(o.status.success());

    let part = d.join("part");
    let runs = part.join("runs.jsonl");
    let mut child = Command::new(UFM)
        .args(["sweep", s(&job), "--out", s(&part), "--threads", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&mut child, "3 finished runs", || lines(&runs) >= 3);
    send(&child, libc::SIGTERM);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(err.contains("sweep interrupted with"), "{err}");
    // Every line complete (no torn write), fewer than all runs, and a summary of them written.
    let text = std::fs::read_to_string(&runs).unwrap();
    assert!(text.ends_with('\n'));
    let done = text.lines().count();
    assert!((3..18).contains(&done), "{done} runs after SIGTERM");
    let partial: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(part.join("summary.json")).unwrap()).unwrap();
    assert_eq!(partial["finished_runs"], done);

    let o = Command::new(UFM)
        .args(["sweep", s(&job), "--out", s(&part), "--threads", "2"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{done} already finished")), "{err}");
    assert_eq!(
        std::fs::read(part.join("summary.json")).unwrap(),
        std::fs::read(full.join("summary.json")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn sigint_and_sigterm_end_a_run_with_its_files_written_and_130_or_143() {
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let d = tmp(&format!("run{sig}"));
        // Hours of steps: only the signal ends it.
        let job = d.join("job.json");
        std::fs::write(
            &job,
            r#"{"schema_version":1,"name":"t","model":{"classes":4,"per_class":2,"width":6,"layers":2,"lambda":0.01},
 "init":{"name":"scaled","scale":2.0,"seed":0},"optimizer":{"name":"gd","lr":0.5},
 "train":{"max_steps":1000000000,"tol":0,"record_every":50}}"#,
        )
        .unwrap();
        let out = d.join("out");
        let mut child = Command::new(UFM)
            .args(["run", s(&job), "--out", s(&out), "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The handler is installed before the output folder is made.
        wait_for(&mut child, "the output folder", || out.exists());
        std::thread::sleep(Duration::from_millis(200));
        send(&child, sig);
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "signal {sig}: {err}");
        assert!(err.contains("status `cancelled`"), "{err}");
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap())
                .unwrap();
        assert_eq!(r["status"], "cancelled");
        assert!(out.join("curve.csv").exists());
        let _ = std::fs::remove_dir_all(&d);
    }
}

#[test]
fn a_checkpointed_run_ended_by_sigterm_resumes_bit_identical() {
    let d = tmp("resume");
    let job = d.join("job.json");
    std::fs::write(
        &job,
        r#"{"schema_version":1,"name":"t","model":{"classes":4,"per_class":2,"width":6,"layers":2,"lambda":0.01},
 "init":{"name":"scaled","scale":2.0,"seed":0},"optimizer":{"name":"gd","lr":0.5},
 "train":{"max_steps":600000,"tol":0,"record_every":50}}"#,
    )
    .unwrap();
    let (full, part) = (d.join("full"), d.join("part"));
    let o = Command::new(UFM)
        .args(["run", s(&job), "--out", s(&full), "-q"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let mut child = Command::new(UFM)
        .args(["run", s(&job), "--out", s(&part), "-q"])
        .args(["--checkpoint-every", "1000"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ck = part.join("checkpoint");
    wait_for(&mut child, "a checkpoint", || ck.exists());
    send(&child, libc::SIGTERM);
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let read = |dir: &Path| -> serde_json::Value {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap())
                .unwrap();
        v.as_object_mut().unwrap().remove("seconds");
        v
    };
    let stopped = read(&part);
    assert_eq!(stopped["status"], "cancelled");
    assert!(stopped["steps"].as_u64().unwrap() < 600_000);
    let o = Command::new(UFM)
        .args(["run", s(&job), "--out", s(&part), "-q", "--resume"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read(&part), read(&full));
    for f in [
        "curve.csv",
        "params/H1.npy",
        "params/W1.npy",
        "params/W2.npy",
    ] {
        assert_eq!(
            std::fs::read(part.join(f)).unwrap(),
            std::fs::read(full.join(f)).unwrap(),
            "{f}"
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}
