//! The fuzzing harness's short, deterministic run (part of `cargo test`; seconds): fixed seeds,
//! in-process with panics caught and counted, plus one `ufm-fuzz long` run of small batches in
//! child processes (crash and hang detection). Every count of failures must be zero. The long
//! run and its recorded counts: docs/fuzzing.md.

use ufm_fuzz::jobs::Env;

fn env(tag: &str) -> (Env, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("ufm-fuzz-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    (Env::create(&dir), dir)
}

#[test]
fn job_inputs_never_panic_and_validation_matches_the_run() {
    let (env, dir) = env("jobs");
    ufm_fuzz::quiet_panics();
    let t = ufm_fuzz::run_jobs(7, 0, 4000, &env);
    assert_eq!(t.inputs, 4000);
    assert_eq!(t.failures(), 0, "{:#?}", t.samples);
    // The generator reaches every stage: refusals, runs and sweeps/large models.
    assert!(t.invalid > 500 && t.ran > 300 && t.checked > 10, "{t:?}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn npy_files_never_panic() {
    let (_, dir) = env("npy");
    ufm_fuzz::quiet_panics();
    let t = ufm_fuzz::run_npy(7, 0, 1000, &dir);
    assert_eq!(t.failures(), 0, "{:#?}", t.samples);
    assert!(t.ran > 0 && t.invalid > 0, "{t:?}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn c_api_call_sequences_never_panic() {
    let (env, dir) = env("capi");
    let t = ufm_fuzz::run_capi(7, 30_000, &env);
    assert!(t.inputs >= 30_000);
    assert_eq!(t.failures(), 0, "{:#?}", t.samples);
    assert!(t.ran > 1000 && t.invalid > 1000, "{t:?}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn child_process_batches_report_no_crash_or_hang() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ufm-fuzz"))
        .args(["long", "--jobs", "2000", "--npy", "500", "--capi", "10000"])
        .args(["--seed", "11", "--timeout", "120"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "no report; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    for kind in ["jobs", "npy", "capi"] {
        let k = &report[kind];
        assert!(k["inputs"].as_u64().unwrap() > 0, "{kind}");
        for field in ["panics", "mismatches", "crashes", "hangs"] {
            assert_eq!(k[field], 0, "{kind}.{field}: {report}");
        }
    }
    assert!(out.status.success(), "{report}");
}
