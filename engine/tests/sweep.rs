//! End-to-end tests of `ufm sweep` / `ufm merge` through the built binary: thread-count
//! independence, kill-and-resume, shard-and-merge, refusal of a changed job.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const UFM: &str = env!("CARGO_BIN_EXE_ufm");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ufm-sweep-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A small sweep: 3 widths x 6 seeds, tiny models; `steps` fixed (tol 0) sets the run time.
fn write_job(dir: &Path, steps: u64, widths: &str) -> PathBuf {
    let job = format!(
        r#"{{"schema_version":1,"name":"t","model":{{"classes":4,"per_class":2,"width":6,"layers":2,"lambda":0.01}},
 "init":{{"name":"scaled","scale":2.0,"seed":0}},"optimizer":{{"name":"gd","lr":0.5}},
 "train":{{"max_steps":{steps},"tol":0,"record_every":50}},
 "sweep":{{"model.width":{widths},"init.seed":{{"range":[0,6]}}}}}}"#
    );
    let p = dir.join("job.json");
    std::fs::write(&p, job).unwrap();
    p
}

fn ufm(args: &[&str]) -> Output {
    Command::new(UFM).args(args).output().expect("ufm runs")
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "ufm failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// runs.jsonl as {index: record without `seconds`}.
fn runs(dir: &Path) -> BTreeMap<u64, Value> {
    let text = std::fs::read_to_string(dir.join("runs.jsonl")).unwrap();
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        v.as_object_mut().unwrap().remove("seconds");
        let i = v["index"].as_u64().unwrap();
        assert!(m.insert(i, v).is_none(), "index {i} twice");
    }
    m
}

fn summary(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("summary.json")).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn one_and_two_threads_give_the_same_runs_and_summary() {
    let d = tmp("threads");
    let job = write_job(&d, 400, "[4, 8, 16]");
    let (a, b) = (d.join("a"), d.join("b"));
    ok(&ufm(&["sweep", s(&job), "--out", s(&a), "--threads", "1"]));
    ok(&ufm(&["sweep", s(&job), "--out", s(&b), "--threads", "2"]));
    let (ra, rb) = (runs(&a), runs(&b));
    assert_eq!(ra.len(), 18);
    assert_eq!(ra, rb);
    assert_eq!(summary(&a), summary(&b));
    let sum: Value = serde_json::from_str(&summary(&a)).unwrap();
    assert_eq!(sum["finished_runs"], 18);
    assert_eq!(sum["points"].as_array().unwrap().len(), 3);
    assert_eq!(sum["points"][0]["runs"], 6);
    // Every run is counted under exactly one structure, and each record's label is one of the
    // summary's keys (`p=..,q=..` or `other`).
    for (i, point) in sum["points"].as_array().unwrap().iter().enumerate() {
        let counts = point["structure_counts"].as_object().unwrap();
        let total: u64 = counts.values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(total, 6, "point {i}: {counts:?}");
        for k in counts.keys() {
            assert!(k == "other" || k.starts_with("p="), "{k}");
        }
    }
    for r in ra.values() {
        let label = r["structure"].as_str().unwrap();
        assert!(label == "other" || label.starts_with("p="), "{r}");
    }
    // Running again skips everything and changes nothing.
    let o = ufm(&["sweep", s(&job), "--out", s(&a), "--threads", "2"]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("18 already finished, 0 ran in"));
    assert_eq!(runs(&a), ra);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn killed_sweep_resumes_to_the_uninterrupted_summary() {
    let d = tmp("kill");
    // Runs of a few tens of ms each, so the kill lands part-way.
    let job = write_job(&d, 60_000, "[8, 12, 16]");
    let full = d.join("full");
    ok(&ufm(&[
        "sweep",
        s(&job),
        "--out",
        s(&full),
        "--threads",
        "2",
    ]));
    let total = runs(&full).len();
    assert_eq!(total, 18);

    let part = d.join("part");
    let mut child = Command::new(UFM)
        .args(["sweep", s(&job), "--out", s(&part), "--threads", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let runs_file = part.join("runs.jsonl");
    let start = Instant::now();
    loop {
        let lines = std::fs::read_to_string(&runs_file)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 3 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "sweep ended before the kill"
        );
        assert!(start.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL: no clean-up code runs
    child.wait().unwrap();
    let done = runs(&part).len();
    assert!(
        done >= 3 && done < total,
        "killed after {done} of {total} runs"
    );
    // A torn last line, as left by a kill in the middle of an append.
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&runs_file)
            .unwrap();
        f.write_all(br#"{"index":17,"job_hash":"0123"#).unwrap();
    }
    let o = ufm(&["sweep", s(&job), "--out", s(&part), "--threads", "2"]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("{done} already finished")));
    assert_eq!(runs(&part), runs(&full));
    assert_eq!(summary(&part), summary(&full));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn shards_merged_equal_the_unsharded_sweep() {
    let d = tmp("shard");
    let job = write_job(&d, 300, "[4, 8, 16]");
    let full = d.join("full");
    ok(&ufm(&[
        "sweep",
        s(&job),
        "--out",
        s(&full),
        "--threads",
        "2",
    ]));
    let mut shard_dirs = vec![];
    for i in 1..=3 {
        let sd = d.join(format!("shard{i}"));
        let spec = format!("{i}/3");
        ok(&ufm(&[
            "sweep",
            s(&job),
            "--out",
            s(&sd),
            "--threads",
            "1",
            "--shard",
            &spec,
        ]));
        assert_eq!(runs(&sd).len(), 6);
        shard_dirs.push(sd);
    }
    let merged = d.join("merged");
    let mut args = vec!["merge"];
    args.extend(shard_dirs.iter().map(|p| s(p)));
    args.extend(["--out", s(&merged)]);
    ok(&ufm(&args));
    assert_eq!(runs(&merged), runs(&full));
    assert_eq!(summary(&merged), summary(&full));
    // Two shards only: a partial summary, no error.
    let partial = d.join("partial");
    ok(&ufm(&[
        "merge",
        s(&shard_dirs[0]),
        s(&shard_dirs[1]),
        "--out",
        s(&partial),
    ]));
    let sum: Value = serde_json::from_str(&summary(&partial)).unwrap();
    assert_eq!(sum["finished_runs"], 12);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn changed_job_and_bad_arguments_are_refused() {
    let d = tmp("refuse");
    let job = write_job(&d, 200, "[4, 8]");
    let out = d.join("out");
    ok(&ufm(&[
        "sweep",
        s(&job),
        "--out",
        s(&out),
        "--threads",
        "1",
    ]));
    // Same folder, changed job (other step count): exit 2, a clear message, nothing appended.
    let before = std::fs::read_to_string(out.join("runs.jsonl")).unwrap();
    let job2 = write_job(&d, 300, "[4, 8]");
    let o = ufm(&["sweep", s(&job2), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("another job"));
    assert_eq!(
        std::fs::read_to_string(out.join("runs.jsonl")).unwrap(),
        before
    );
    for bad in [["--shard", "0/2"], ["--shard", "3/2"], ["--threads", "0"]] {
        let o = ufm(&["sweep", s(&job), "--out", s(&out), bad[0], bad[1]]);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(bad[0]),
            "{bad:?}"
        );
    }
    // Merging folders of different sweeps.
    let other = d.join("other");
    let job3 = write_job(&d, 200, "[4, 16]");
    ok(&ufm(&[
        "sweep",
        s(&job3),
        "--out",
        s(&other),
        "--threads",
        "1",
    ]));
    let o = ufm(&["merge", s(&out), s(&other), "--out", s(&d.join("m"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("another sweep"));
    let o = ufm(&["merge", s(&d.join("nothing")), "--out", s(&d.join("m"))]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn plot_writes_svg_and_png_for_runs_and_sweeps() {
    let d = tmp("plot");
    let job = write_job(&d, 300, "[4, 8]");
    let sw = d.join("sweep");
    ok(&ufm(&[
        "sweep",
        s(&job),
        "--out",
        s(&sw),
        "--threads",
        "2",
        "--keep-runs",
    ]));
    ok(&ufm(&["plot", s(&sw)]));
    let run = sw.join("runs").join("000000");
    ok(&ufm(&["plot", s(&run), "--out", s(&d.join("runplots"))]));
    for (dir, names) in [
        (sw.join("plots"), ["p_dnc", "rank", "rank_histogram"]),
        (d.join("runplots"), ["loss", "singular_values", "logits"]),
    ] {
        for n in names {
            let png = std::fs::read(dir.join(format!("{n}.png"))).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{n}.png");
            let svg = std::fs::read_to_string(dir.join(format!("{n}.svg"))).unwrap();
            assert!(svg.contains("<svg") && svg.contains("<text"), "{n}.svg");
        }
    }
    // plot reads the typed result.json and summary.json: a renamed field is an error naming
    // the file and the field, not a plot labelled "?".
    for (folder, file, from, to) in [
        (&run, "result.json", "\"classification\"", "\"class\""),
        (&sw, "summary.json", "\"p_dnc_interval\"", "\"p_interval\""),
    ] {
        let text = std::fs::read_to_string(folder.join(file)).unwrap();
        assert!(text.contains(from), "{file} has {from}");
        std::fs::write(folder.join(file), text.replace(from, to)).unwrap();
        let o = ufm(&["plot", s(folder), "--out", s(&d.join("renamed"))]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{file}: {err}");
        let field = from.trim_matches('"');
        assert!(err.contains(file) && err.contains(field), "{file}: {err}");
        std::fs::write(folder.join(file), text).unwrap();
    }
    let o = ufm(&["plot", s(&d.join("missing"))]);
    assert_eq!(o.status.code(), Some(2));
    let o = ufm(&["plot", s(&d)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("neither a run folder"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn merge_status_counts_done_failed_and_missing_per_shard_without_writing() {
    let d = tmp("status");
    // 2 learning rates x 3 seeds; lr 1e12 diverges (a failed run), grid indices 3, 4, 5.
    let job = d.join("job.json");
    std::fs::write(
        &job,
        r#"{"schema_version":1,"name":"t","model":{"classes":4,"per_class":2,"width":6,"layers":2,"lambda":0.01},
 "init":{"name":"scaled","scale":2.0,"seed":0},"optimizer":{"name":"gd","lr":0.5},
 "train":{"max_steps":300,"tol":0,"record_every":50},
 "sweep":{"optimizer.lr":[0.5, 1e12],"init.seed":{"range":[0,3]}}}"#,
    )
    .unwrap();
    // Shard 1/2 holds indices 0, 2, 4 (4 diverges); shard 2/2 is not started.
    let (s1, s2) = (d.join("shard-1"), d.join("shard-2"));
    ok(&ufm(&["sweep", s(&job), "--out", s(&s1), "--shard", "1/2"]));
    let diverged = runs(&s1)
        .values()
        .filter(|r| r["status"] == "diverged")
        .count();
    assert_eq!(diverged, 1, "lr 1e12 should diverge");
    let before = std::fs::read_dir(&s1).unwrap().count();
    let o = ufm(&["merge", "--status", s(&s1), s(&s2)]);
    ok(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[1][..6],
        ["1/2", "3", "3", "1", "0", "complete"],
        "{text}"
    );
    assert_eq!(rows[2][..6], ["-", "-", "-", "-", "-", "not"], "{text}");
    assert_eq!(rows[3][..5], ["total", "6", "3", "1", "3"], "{text}");
    assert!(text.contains("1 of 2 folders complete"), "{text}");
    // Nothing written, no folder made.
    assert_eq!(std::fs::read_dir(&s1).unwrap().count(), before);
    assert!(!s2.exists());
    // Shard 2 interrupted part-way is `incomplete`; afterwards every count adds up.
    ok(&ufm(&["sweep", s(&job), "--out", s(&s2), "--shard", "2/2"]));
    let lines: Vec<String> = std::fs::read_to_string(s2.join("runs.jsonl"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    // Keep grid index 1 (lr 0.5, not failed): with 2 threads the file's line order varies.
    let kept = lines
        .iter()
        .find(|l| serde_json::from_str::<Value>(l).unwrap()["index"] == 1)
        .unwrap();
    std::fs::write(s2.join("runs.jsonl"), format!("{kept}\n")).unwrap();
    let o = ufm(&["merge", "--status", s(&s1), s(&s2)]);
    ok(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()[..6]
                == ["2/2", "3", "1", "0", "2", "incomplete"]),
        "{text}"
    );
    // --status takes no --out; folders of another sweep are refused.
    let o = ufm(&["merge", "--status", s(&s1), "--out", s(&d.join("m"))]);
    assert_eq!(o.status.code(), Some(2));
    let other = d.join("other");
    let job2 = write_job(&d, 100, "[4]");
    ok(&ufm(&["sweep", s(&job2), "--out", s(&other)]));
    let o = ufm(&["merge", "--status", s(&s1), s(&other)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("another sweep"));
    let o = ufm(&["merge", "--status", s(&d.join("none"))]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&d);
}

/// The table `ufm sweep` prints says how the runs ended, per setting, and warns when any did not
/// converge: a sweep where every run stops at max_steps, one where one setting diverges, and one
/// where every run converges (no warning). `ufm merge` prints the same table.
#[test]
fn sweep_table_counts_statuses_and_warns_when_runs_did_not_converge() {
    let d = tmp("status-table");
    let table = |job: &Path, out: &str| -> String {
        let o = ufm(&["sweep", s(job), "--out", s(&d.join(out)), "--threads", "2"]);
        ok(&o);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // tol 0: no run can converge; 2 widths x 6 seeds stop at max_steps.
    let job = write_job(&d, 40, "[6, 8]");
    let t = table(&job, "max");
    assert_eq!(t.matches("runs   6/6").count(), 2, "{t}");
    assert_eq!(t.matches("  max_steps 6").count(), 2, "{t}");
    assert!(t.lines().take(2).all(|l| !l.contains("converged")), "{t}");
    assert!(
        t.contains("warning: 12 of 12 runs did not converge (max_steps 12)"),
        "{t}"
    );
    // The merged table of the same folder says the same.
    let o = ufm(&[
        "merge",
        s(&d.join("max")),
        "--out",
        s(&d.join("max-merged")),
    ]);
    ok(&o);
    let m = String::from_utf8_lossy(&o.stdout);
    assert!(m.contains("warning: 12 of 12 runs did not converge"), "{m}");
    // `ufm plot` on the sweep folder repeats the warning.
    let o = ufm(&["plot", s(&d.join("max"))]);
    ok(&o);
    let p = String::from_utf8_lossy(&o.stdout);
    assert!(p.contains("warning: 12 of 12 runs did not converge"), "{p}");

    // A learning rate of 1e6 diverges on this model, 0.5 converges (tol 1e-9 is reached well
    // within 20000 steps: the smoke-sized model converges in about 1000).
    let job = d.join("lr.json");
    std::fs::write(
        &job,
        r#"{"schema_version":1,"name":"t","model":{"classes":4,"per_class":2,"width":6,"layers":2,"lambda":0.01},
 "init":{"name":"scaled","scale":1.0,"seed":0},"optimizer":{"name":"gd","lr":0.5},
 "train":{"max_steps":20000,"tol":1e-9,"record_every":50},
 "sweep":{"optimizer.lr":[0.5, 1e6],"init.seed":{"range":[0,2]}}}"#,
    )
    .unwrap();
    let t = table(&job, "lr");
    let lines: Vec<&str> = t.lines().collect();
    assert!(
        lines[0].starts_with("optimizer.lr=0.5") && lines[0].ends_with("converged 2"),
        "{t}"
    );
    assert!(
        lines[1].starts_with("optimizer.lr=1000000") && lines[1].ends_with("diverged 2"),
        "{t}"
    );
    assert!(
        t.contains("warning: 2 of 4 runs did not converge (diverged 2)"),
        "{t}"
    );

    // Only the converging setting: no warning.
    let job2 = d.join("ok.json");
    std::fs::write(
        &job2,
        std::fs::read_to_string(&job)
            .unwrap()
            .replace("[0.5, 1e6]", "[0.5]"),
    )
    .unwrap();
    let t = table(&job2, "ok");
    assert!(t.contains("converged 2") && !t.contains("warning"), "{t}");
    let _ = std::fs::remove_dir_all(&d);
}

/// `ufm validate` on a sweep reports the size of its largest point, not of the base job:
/// figure2-width sweeps d over 10..150 with K = 10, n = 5 (N = 50), L = 2, so the largest run has
/// d N + d d + K d = 7500 + 22500 + 1500 = 31500 parameters (the base job, d = 70: 9100).
#[test]
fn validate_reports_the_largest_sweep_point() {
    let job = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/paper/figure2-width.json"
    );
    let o = ufm(&["validate", job]);
    ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("valid (60 runs, 31500 parameters,") && out.contains("for the largest run"),
        "{out}"
    );
    // A small job's estimate is in KiB, not "0.0 MiB".
    let smoke = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/jobs/smoke.json");
    let o = ufm(&["validate", smoke]);
    ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("KiB per run") && !out.contains("0.0 "),
        "{out}"
    );
}

/// A diverged run writes non-finite metrics as JSON `null` (its gradient norm, overflowed
/// singular values; the sweep's loss standard deviation): `ufm plot` must still read its
/// result.json and the sweep's summary.json (the typed readers take `null` as NaN) and draw.
#[test]
fn plot_reads_diverged_runs_with_null_metrics() {
    let dir = tmp("plot-diverged");
    let mut job = serde_json::json!({
        "schema_version": 1, "name": "diverges",
        "model": {"classes": 4, "per_class": 3, "width": 8, "layers": 2,
                  "activation": "linear", "loss": "cross_entropy", "lambda": 0.01},
        "init": {"name": "scaled", "scale": 1.0, "seed": 1},
        // lr 500 overflows within a few steps (found by trying: the loss passes 1e280).
        "optimizer": {"name": "gd", "lr": 500.0},
        "train": {"max_steps": 2000, "tol": 1e-12, "record_every": 50}
    });
    let run_job = dir.join("run.json");
    std::fs::write(&run_job, job.to_string()).unwrap();
    let run = dir.join("run");
    let o = ufm(&["run", s(&run_job), "--out", s(&run)]);
    assert_eq!(o.status.code(), Some(1), "a diverged run exits 1: {o:?}");
    let result = std::fs::read_to_string(run.join("result.json")).unwrap();
    assert!(
        result.contains("\"diverged\"") && result.contains("null"),
        "the case is lost: {result}"
    );
    ok(&ufm(&["plot", s(&run)]));

    job["sweep"] = serde_json::json!({"optimizer.lr": [0.5, 500.0], "init.seed": [1, 2]});
    let sweep_job = dir.join("sweep.json");
    std::fs::write(&sweep_job, job.to_string()).unwrap();
    let out = dir.join("s");
    let o = ufm(&["sweep", s(&sweep_job), "--out", s(&out)]);
    assert!(o.status.code().is_some(), "{o:?}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(
        summary.contains("null"),
        "the case no longer writes a null: {summary}"
    );
    ok(&ufm(&["plot", s(&out)]));
}

/// The text lines of an SVG (plotters writes each label on its own line between tags).
fn svg_texts(path: &Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).unwrap();
    svg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('<'))
        .map(String::from)
        .collect()
}

/// Sweep plots label what was swept: a sweep over seeds only is "all runs" (it was drawn as a
/// point labelled "null"), and a numeric axis is padded in proportion to its span (lr 0.1 and
/// 0.2 were drawn on an axis from -0.4 to 0.7).
#[test]
fn sweep_plots_label_seed_only_sweeps_and_pad_axes_to_their_span() {
    let dir = tmp("plot-labels");
    let mut job = serde_json::json!({
        "schema_version": 1, "name": "labels",
        "model": {"classes": 4, "per_class": 2, "width": 6, "layers": 2, "lambda": 0.01},
        "init": {"name": "scaled", "scale": 2.0, "seed": 0},
        "optimizer": {"name": "gd", "lr": 0.5},
        "train": {"max_steps": 50, "tol": 0, "record_every": 50},
        "sweep": {"init.seed": {"range": [0, 3]}}
    });
    for (name, sweep) in [
        ("seeds", serde_json::json!({"init.seed": {"range": [0, 3]}})),
        (
            "lr",
            serde_json::json!({"optimizer.lr": [0.1, 0.2], "init.seed": {"range": [0, 2]}}),
        ),
    ] {
        job["sweep"] = sweep;
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, job.to_string()).unwrap();
        let out = dir.join(name);
        ok(&ufm(&["sweep", s(&path), "--out", s(&out)]));
        ok(&ufm(&["plot", s(&out)]));
        for plot in ["p_dnc.svg", "rank.svg", "rank_histogram.svg"] {
            let texts = svg_texts(&out.join("plots").join(plot));
            assert!(
                !texts.iter().any(|t| t.contains("null")),
                "{name} {plot}: {texts:?}"
            );
            if name == "seeds" && plot != "rank_histogram.svg" {
                assert!(
                    texts.iter().any(|t| t == "all runs"),
                    "{name} {plot}: {texts:?}"
                );
            }
            if name == "lr" && plot != "rank_histogram.svg" {
                // No tick below 0: the axis spans about 0.09 .. 0.21.
                let negative = texts
                    .iter()
                    .any(|t| t.starts_with('-') && t.parse::<f64>().is_ok());
                assert!(!negative, "{name} {plot}: {texts:?}");
            }
        }
    }
}
