//! Every shell command in README.md and docs/*.md is either run here or listed with the reason it
//! is not, so a documented command that breaks fails the tests, and a new one must be classified.
//!
//! A command is a line (with its `\` continuations) of a fenced block tagged `sh`, `bash`, `shell`
//! or `console`, or a line of an untagged/`text` block that starts with `$ ` or with a command
//! name (`ufm`, `cargo`, `pip`, `./x`, `x.sh`, ...; see [`looks_like_command`]). Trailing `# ...`
//! comments and repeated blanks are dropped before the command is looked up in [`TABLE`].
//!
//! Commands marked [`How::Run`] run with `bash -c` in a fresh temporary folder that holds links to
//! the repository's `examples/`, `data/`, `bindings/`, ... (so relative paths work and outputs
//! stay out of the checkout), with this build's `ufm` first on PATH and HOME pointing into the
//! folder. Where the docs run something long, the table runs a small stand-in instead, and says
//! so. A `$ cmd` line followed by output in the same block must print exactly that output.
//! The whole file takes about 10 s (2 cores, loaded).

use std::path::{Path, PathBuf};
use std::process::Command;

const UFM: &str = env!("CARGO_BIN_EXE_ufm");

/// How a documented command is exercised.
enum How {
    /// Run by this test: `setup` first (may be empty), then `run` (`None`: the documented command
    /// itself), both with `bash -c` under `set -euo pipefail`.
    Run {
        setup: &'static str,
        run: Option<&'static str>,
        why: &'static str,
    },
    /// Run, in this form or one equivalent to it, by another test, which is named.
    Covered(&'static str),
    /// A cargo command: not run here (each would rebuild crates with another feature set, minutes
    /// on 2 cores), but every `-p PACKAGE`, `--path DIR` and `--bin NAME` in it is checked against
    /// `cargo metadata`, so a renamed package or binary fails.
    Cargo,
    /// Not run by any test, for the stated reason.
    NotRun(&'static str),
}
use How::*;

/// A tiny sweep (2 widths x 3 seeds, 300 steps of a 4-class model) standing in for the paper's
/// 60-run Figure 2 sweep; its shards land where docs/cluster.md's commands look for them.
macro_rules! tiny_job {
    () => {
        r#"cat > tiny.json <<'EOF'
{"schema_version":1,"name":"figure2-width","model":{"classes":4,"per_class":2,"width":6,"layers":2,"lambda":0.01},
 "init":{"name":"scaled","scale":2.0,"seed":0},"optimizer":{"name":"gd","lr":0.5},
 "train":{"max_steps":300,"tol":0,"record_every":50},
 "sweep":{"model.width":[6,8],"init.seed":{"range":[0,3]}}}
EOF"#
    };
}
const TINY_JOB: &str = tiny_job!();

/// [`TINY_JOB`] run as 3 shards into out/figure2-width/shard-{1,2,3}.
const TINY_SHARDS: &str = concat!(
    tiny_job!(),
    "\nfor i in 1 2 3; do ufm sweep tiny.json --shard $i/3 --out out/figure2-width/shard-$i -q >/dev/null 2>&1; done"
);

/// Documented command (normalised: no trailing comment, single spaces) -> how it is exercised.
/// Reviewed by hand: a `Run` with a stand-in must say why; a `NotRun` must say why.
const TABLE: &[(&str, How)] = &[
    // ---- README.md
    (
        "cargo install --locked --path engine && ufm run examples/jobs/figure1.json --out out/figure1",
        Run {
            setup: "",
            run: Some("ufm run examples/jobs/figure1.json --out out/figure1"),
            why: "the `ufm` this test runs is the binary `cargo install` builds (same package, \
                  release profile); re-installing would rebuild the engine (minutes). The \
                  package path is checked like a Cargo entry.",
        },
    ),
    (
        "cargo test --workspace --release",
        NotRun("it is the command that runs this test (.ci/run runs it)"),
    ),
    (
        "python3 examples/paper/alignment-by-outcome.py out/paper/study-alignment-auc",
        NotRun("reads the runs.jsonl of the 100-run initial-alignment study (about 35 minutes on 2 cores); the script only reads the fields `alignment`, `commit_step` and `classification`, which engine/tests/dynamics.rs and the sweep tests check"),
    ),
    (
        "valgrind --tool=callgrind ufm run cg100.json --out o -q",
        NotRun("a measurement (minutes under valgrind) with a job given in the comment beside it; valgrind is not a test dependency"),
    ),
    (
        "ufm theory compare --classes 10 --per-class 5 --layers 2 --lambda 2^-10",
        Run { setup: "", run: None, why: "" },
    ),
    // ---- docs/analyze.md
    (
        "ufm analyze DIR [--out OUT] [--rank-tol 1e-6] [--lambda-h LH --lambda-w LW] [--json] [--no-plots]",
        Run {
            setup: "",
            run: Some("ufm analyze export --out analysis --rank-tol 1e-6 --lambda-h 1e-6 --lambda-w 5e-3 --json --no-plots"),
            why: "a synopsis: every option, on the small export folder this test writes",
        },
    ),
    (
        "ufm analyze export/ --lambda-h 1e-6 --lambda-w 5e-3",
        Run { setup: "", run: None, why: "on the small export folder this test writes" },
    ),
    // ---- docs/c-api.md
    ("cargo build --release -p ufm-ffi", Cargo),
    (
        "sh ffi/dist/install.sh \"$HOME/.local\"",
        Covered("ffi/tests/cross_language.rs installed_package_works_with_pkg_config_and_cmake (into a scratch prefix)"),
    ),
    (
        "export PKG_CONFIG_PATH=\"$HOME/.local/lib/pkgconfig\"",
        Covered("ffi/tests/cross_language.rs installed_package_works_with_pkg_config_and_cmake (the scratch prefix's lib/pkgconfig)"),
    ),
    (
        "cc -std=c11 my.c $(pkg-config --cflags --libs ufm) -o my",
        Covered("ffi/tests/cross_language.rs installed_package_works_with_pkg_config_and_cmake (reads this line from docs/c-api.md and runs it)"),
    ),
    (
        "./my",
        Covered("ffi/tests/cross_language.rs installed_package_works_with_pkg_config_and_cmake (runs the program it linked, no LD_LIBRARY_PATH)"),
    ),
    (
        "python3 -m venv .venv && . .venv/bin/activate",
        Covered("ffi/tests/toolbox (cross_language.rs) makes target/test-tools/venv with `python -m venv` and installs numpy, pytest into it with its pip"),
    ),
    (
        "pip install ./bindings/python",
        Covered("ffi/tests/cross_language.rs python_package_installs_and_passes_pytest (pip install of a copy, into a scratch --target)"),
    ),
    (
        "export UFM_LIBRARY=$PWD/target/release/libufm.so",
        Covered("ffi/tests/cross_language.rs python_package_installs_and_passes_pytest (sets UFM_LIBRARY to target/release/libufm.so)"),
    ),
    // ---- docs/cluster.md
    ("cargo build --release -p ufm-engine --bin ufm", Cargo),
    (
        "examples/paper/submit-sweep.sh examples/paper/figure2-width.json out/figure2-width 3 --cpus-per-task=1 --time=10",
        Covered("engine/tests/slurm.rs (tests/slurm/run.sh submits a 36-run sweep with this script on a one-node Slurm; needs root, see README: Running the tests)"),
    ),
    (
        "squeue --me",
        NotRun("a Slurm client command, shown for watching; tests/slurm/run.sh polls squeue itself"),
    ),
    (
        "ufm merge --status out/figure2-width/shard-*",
        Run { setup: TINY_SHARDS, run: None, why: "on 3 shards of a 6-run stand-in sweep" },
    ),
    (
        "ufm merge out/figure2-width/shard-* --out out/figure2-width/merged",
        Run { setup: TINY_SHARDS, run: None, why: "on 3 shards of a 6-run stand-in sweep" },
    ),
    (
        "ufm plot out/figure2-width/merged",
        Run {
            setup: concat!(
                tiny_job!(),
                "\nufm sweep tiny.json --out out/figure2-width/merged -q >/dev/null 2>&1"
            ),
            run: None,
            why: "on a 6-run stand-in sweep",
        },
    ),
    (
        "sbatch --array=2 --output=out/figure2-width/logs/%x-%A_%a.log examples/paper/slurm-sweep.sh examples/paper/figure2-width.json out/figure2-width 3",
        NotRun("resubmits one shard by hand on a real cluster; tests/slurm/run.sh (engine/tests/slurm.rs) resubmits through submit-sweep.sh, which runs slurm-sweep.sh the same way"),
    ),
    // ---- docs/experiments.md
    (
        "examples/paper/run.sh NAME",
        Run {
            setup: "",
            run: Some("UFM=$(command -v ufm) examples/paper/run.sh figure1-dnc"),
            why: "NAME = figure1-dnc, a single run of about a second; UFM= skips run.sh's cargo build",
        },
    ),
    // ---- docs/fuzzing.md
    (
        "cargo build --release -p ufm-fuzz -p ufm-ffi -p ufm-plugin-std-so -p ufm-plugin-example-rust",
        Cargo,
    ),
    (
        "nice target/release/ufm-fuzz long --jobs 1000000 --npy 100000 --capi 1000000 --seed 3 --timeout 300",
        Covered("fuzz/tests/short.rs child_process_batches_report_no_crash_or_hang (ufm-fuzz long with 2000 jobs, 500 npy, 10000 C API calls); the million-case run takes hours"),
    ),
    // ---- docs/sweep.md (synopses)
    (
        "ufm sweep JOB --out DIR [--threads N] [--shard I/N] [--keep-runs] [-q]",
        Run {
            setup: TINY_JOB,
            run: Some("ufm sweep tiny.json --out DIR --threads 2 --shard 1/2 --keep-runs -q"),
            why: "a synopsis: every option, on a 6-run stand-in sweep",
        },
    ),
    (
        "ufm merge DIR... --out OUT",
        Run {
            setup: TINY_SHARDS,
            run: Some("ufm merge out/figure2-width/shard-* --out OUT"),
            why: "a synopsis: on 3 shards of a 6-run stand-in sweep",
        },
    ),
    (
        "ufm merge --status DIR...",
        Run {
            setup: TINY_SHARDS,
            run: Some("ufm merge --status out/figure2-width/shard-*"),
            why: "a synopsis: on 3 shards of a 6-run stand-in sweep",
        },
    ),
    (
        "ufm plot DIR [--out PLOTDIR]",
        Run {
            setup: "ufm run examples/jobs/smoke.json --out DIR -q",
            run: Some("ufm plot DIR --out PLOTDIR && ls PLOTDIR/*.png >/dev/null"),
            why: "a synopsis: on the smoke job's run",
        },
    ),
    // ---- docs/theory.md
    (
        "ufm theory hessian --classes K --per-class n --layers L --lambda X --structure dnc|low_rank|pair_simplex [--pairs p] [--root large|small] --width d",
        Run {
            setup: "",
            run: Some(
                "for s in dnc low_rank; do for r in large small; do \
                 ufm theory hessian --classes 4 --per-class 2 --layers 2 --lambda 1e-3 --structure $s --root $r --width 4; done; done; \
                 ufm theory hessian --classes 6 --per-class 1 --layers 2 --lambda 1e-3 --structure pair_simplex --pairs 1 --width 6",
            ),
            why: "a synopsis: each structure and root on a 4- or 6-class model",
        },
    ),
    (
        "ufm theory hessian --job JOB.json --params OUT/params",
        Run {
            setup: "ufm run examples/jobs/smoke.json --out OUT -q",
            run: Some("ufm theory hessian --job examples/jobs/smoke.json --params OUT/params"),
            why: "JOB = the smoke job, OUT = its run",
        },
    ),
    (
        "ufm theory region --theorem 4 --classes 2..10 --layers 1..5 --per-class 1,2,5 --lambda 1e-5,1e-4,1e-3,1e-2,3e-2,2^-6 --root large",
        Run {
            setup: "",
            run: Some("ufm theory region --theorem 4 --classes 2..4 --layers 1..2 --per-class 1,2 --lambda 1e-3,2^-6 --root large"),
            why: "the documented grid takes about a minute; a 24-point corner of it",
        },
    ),
    (
        "for K in 4 6 8 10; do for L in 1 2 3 4; do for n in 1 2 5; do for x in 1e-5 1e-4 1e-3 1e-2 3e-2; do echo \"L>=2:$((L >= 2)) $(ufm theory hessian --classes $K --per-class $n --layers $L --lambda $x --structure low_rank --width $K | grep classification)\"; done; done; done; done | sort | uniq -c",
        Run {
            setup: "",
            run: Some("for K in 4; do for L in 1 2; do for n in 1; do for x in 1e-3; do echo \"L>=2:$((L >= 2)) $(ufm theory hessian --classes $K --per-class $n --layers $L --lambda $x --structure low_rank --width $K | grep classification)\"; done; done; done; done | sort | uniq -c"),
            why: "the documented loop makes 240 Hessian reports; the same loop over 2 of them",
        },
    ),
];

/// Fence tags whose every line is a command.
const SHELL_TAGS: &[&str] = &["sh", "bash", "shell", "console", "zsh"];

/// Whether a line of an untagged block is a command rather than output or a formula.
fn looks_like_command(line: &str) -> bool {
    const WORDS: &[&str] = &[
        "ufm",
        "cargo",
        "sh",
        "bash",
        "pip",
        "pip3",
        "python",
        "python3",
        "cc",
        "c++",
        "gcc",
        "clang",
        "cmake",
        "make",
        "export",
        "cd",
        "git",
        "julia",
        "sbatch",
        "squeue",
        "scancel",
        "scontrol",
        "srun",
        "nice",
        "for",
        "while",
        "env",
        "pkg-config",
        "rustup",
        "apt-get",
        "sudo",
        "valgrind",
        "perf",
    ];
    let first = line.split_whitespace().next().unwrap_or("");
    // `for`/`while` only as shell loops (`for l = L-1..1:` is a formula).
    if (first == "for" || first == "while") && !line.contains("; do") {
        return false;
    }
    WORDS.contains(&first)
        || first.starts_with("./")
        || first.starts_with("target/")
        || first.ends_with(".sh")
}

/// One documented command: where it is, its normalised text and the output shown after it.
struct DocCommand {
    file: String,
    line: usize,
    text: String,
    shown_output: Vec<String>,
}

fn normalise(cmd: &str) -> String {
    // Drop a trailing comment (` #` outside quotes is enough for these docs) and blank runs.
    let mut in_quote = None;
    let mut cut = cmd.len();
    let b: Vec<char> = cmd.chars().collect();
    let mut byte = 0;
    for (i, &c) in b.iter().enumerate() {
        match (in_quote, c) {
            (None, '"' | '\'') => in_quote = Some(c),
            (Some(q), c) if c == q => in_quote = None,
            (None, '#') if i > 0 && b[i - 1].is_whitespace() => {
                cut = byte;
                break;
            }
            _ => {}
        }
        byte += c.len_utf8();
    }
    cmd[..cut].split_whitespace().collect::<Vec<_>>().join(" ")
}

fn extract(file: &str, text: &str) -> Vec<DocCommand> {
    let mut out: Vec<DocCommand> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        let Some(tag) = t.strip_prefix("```") else {
            i += 1;
            continue;
        };
        let tag = tag.trim();
        let shell = SHELL_TAGS.contains(&tag);
        let plain = tag.is_empty() || tag == "text";
        i += 1;
        let mut last_dollar: Option<usize> = None; // index in `out` of the last `$ ` command
        while i < lines.len() && !lines[i].trim_start().starts_with("```") {
            let start = i;
            let mut logical = lines[i].to_string();
            // Continuations: a trailing `\`, or a line that cannot end a command (`; do`,
            // `then`, a pipe or `&&` at its end, as in a multi-line `for` loop).
            while i + 1 < lines.len() && !lines[i + 1].trim_start().starts_with("```") {
                let l = logical.trim_end();
                if let Some(head) = l.strip_suffix('\\') {
                    logical = format!("{head} {}", lines[i + 1].trim());
                } else if ["do", "then", "|", "&&", "||"]
                    .iter()
                    .any(|e| l.ends_with(&format!(" {e}")) || l.ends_with(&format!(";{e}")))
                {
                    logical = format!("{l} {}", lines[i + 1].trim());
                } else {
                    break;
                }
                i += 1;
            }
            i += 1;
            let trimmed = logical.trim();
            let dollar = trimmed.strip_prefix("$ ");
            let is_cmd = (shell || plain)
                && !trimmed.is_empty()
                && !trimmed.starts_with('#')
                && (dollar.is_some()
                    || (shell && tag != "console")
                    || (plain && looks_like_command(trimmed)));
            if is_cmd {
                out.push(DocCommand {
                    file: file.to_string(),
                    line: start + 1,
                    text: normalise(dollar.unwrap_or(trimmed)),
                    shown_output: Vec::new(),
                });
                last_dollar = dollar.map(|_| out.len() - 1);
            } else if let Some(k) = last_dollar {
                out[k].shown_output.push(logical.trim_end().to_string());
            }
        }
        i += 1;
    }
    out
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// README.md and docs/*.md, in that order.
fn doc_files() -> Vec<PathBuf> {
    let root = root();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn doc_commands() -> Vec<DocCommand> {
    let root = root();
    let mut all = Vec::new();
    for f in doc_files() {
        let rel = f.strip_prefix(&root).unwrap().display().to_string();
        all.extend(extract(&rel, &std::fs::read_to_string(&f).unwrap()));
    }
    all
}

fn how(text: &str) -> Option<&'static How> {
    TABLE.iter().find(|(k, _)| *k == text).map(|(_, h)| h)
}

#[test]
fn every_documented_command_is_classified() {
    let cmds = doc_commands();
    assert!(
        cmds.len() >= 20,
        "found only {} commands: is the extraction broken?",
        cmds.len()
    );
    let unclassified: Vec<String> = cmds
        .iter()
        .filter(|c| how(&c.text).is_none())
        .map(|c| format!("  {}:{}: {}", c.file, c.line, c.text))
        .collect();
    for c in &cmds {
        let h = match how(&c.text) {
            Some(Run { run: None, .. }) => "run as written".to_string(),
            Some(Run {
                run: Some(r), why, ..
            }) => format!("runs `{r}` instead: {why}"),
            Some(Covered(t)) => format!("covered by {t}"),
            Some(Cargo) => "cargo: names checked against cargo metadata".to_string(),
            Some(NotRun(r)) => format!("NOT RUN: {r}"),
            None => "UNCLASSIFIED".to_string(),
        };
        println!("{}:{}: {}\n    {h}", c.file, c.line, c.text);
    }
    let stale: Vec<&str> = TABLE
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !cmds.iter().any(|c| c.text == *k))
        .collect();
    let mut msg = String::new();
    if !unclassified.is_empty() {
        msg += &format!(
            "{} documented command(s) are not classified:\n{}\n\
             Classify each in TABLE of engine/tests/doc_commands.rs, keyed by the command exactly \
             as shown above (trailing `# comment` and extra spaces removed): \
             `Run {{ setup, run, why }}` to run it here (run: None runs it as written; give a \
             small stand-in for a long job and say why), `Covered(\"test that runs it\")`, \
             `Cargo` for a cargo command (names checked, not built), or `NotRun(\"reason\")`. \
             A line that is output, not a command, belongs in a ```text block.\n",
            unclassified.len(),
            unclassified.join("\n")
        );
    }
    if !stale.is_empty() {
        msg += &format!(
            "TABLE entries of engine/tests/doc_commands.rs no longer in README.md or docs/*.md \
             (remove or update them):\n  {}\n",
            stale.join("\n  ")
        );
    }
    assert!(msg.is_empty(), "{msg}");
}

/// Write a small export folder for `ufm analyze`: 3 classes x 4 samples, one 5-wide layer, a
/// 3x5 weight and the logits it gives (npy v1, little-endian f8 / i8).
fn write_export(dir: &Path) {
    fn npy(path: &Path, descr: &str, shape: &[usize], data: &[u8]) {
        let shape = match shape {
            [n] => format!("({n},)"),
            _ => format!(
                "({})",
                shape
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(data);
        std::fs::write(path, b).unwrap();
    }
    let (k, n, d) = (3usize, 4usize, 5usize);
    let labels: Vec<i64> = (0..k * n).map(|i| (i % k) as i64).collect();
    // Features: class mean e_c scaled plus a small deterministic spread.
    let h: Vec<f64> = (0..k * n)
        .flat_map(|i| {
            (0..d).map(move |j| {
                let c = i % k;
                (if j == c { 3.0 } else { 0.0 }) + 0.01 * ((i * 7 + j * 3) % 5) as f64
            })
        })
        .collect();
    let w: Vec<f64> = (0..k)
        .flat_map(|c| (0..d).map(move |j| if j == c { 1.0 } else { -0.1 }))
        .collect();
    let logits: Vec<f64> = (0..k * n)
        .flat_map(|i| {
            let h = &h;
            let w = &w;
            (0..k).map(move |c| (0..d).map(|j| w[c * d + j] * h[i * d + j]).sum::<f64>())
        })
        .collect();
    let bytes = |v: &[f64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    std::fs::create_dir_all(dir.join("layers")).unwrap();
    std::fs::create_dir_all(dir.join("weights")).unwrap();
    let lb: Vec<u8> = labels.iter().flat_map(|x| x.to_le_bytes()).collect();
    npy(&dir.join("labels.npy"), "<i8", &[k * n], &lb);
    npy(&dir.join("layers/h1.npy"), "<f8", &[k * n, d], &bytes(&h));
    npy(&dir.join("weights/W1.npy"), "<f8", &[k, d], &bytes(&w));
    npy(&dir.join("logits.npy"), "<f8", &[k * n, k], &bytes(&logits));
}

/// A fresh folder that looks like the checkout for relative paths (links to its folders) but
/// keeps every output (out/, OUT/, analysis/) to itself.
fn workspace(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ufm-doc-commands-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("home")).unwrap();
    for name in [
        "examples", "data", "bindings", "include", "ffi", "tests", "docs", "bench",
    ] {
        std::os::unix::fs::symlink(root().join(name), d.join(name)).unwrap();
    }
    write_export(&d.join("export"));
    d
}

/// Every `-p`, `--path` and `--bin` of a cargo command names something in this workspace.
fn check_cargo_names(cmd: &str, meta: &serde_json::Value) -> Result<(), String> {
    let packages = meta["packages"].as_array().unwrap();
    let words: Vec<&str> = cmd.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let Some(arg) = words.get(i + 1) else { break };
        let is_bin = |t: &serde_json::Value| {
            t["name"] == *arg && t["kind"].as_array().unwrap().contains(&"bin".into())
        };
        match *w {
            "-p" | "--package" if !packages.iter().any(|p| p["name"] == *arg) => {
                return Err(format!("no workspace package `{arg}`"));
            }
            "--path" if !root().join(arg).join("Cargo.toml").is_file() => {
                return Err(format!("no package at `{arg}`"));
            }
            "--test"
                if !packages.iter().any(|p| {
                    p["targets"].as_array().unwrap().iter().any(|t| {
                        t["name"] == *arg && t["kind"].as_array().unwrap().contains(&"test".into())
                    })
                }) =>
            {
                return Err(format!("no test target `{arg}`"));
            }
            "--bin"
                if !packages
                    .iter()
                    .any(|p| p["targets"].as_array().unwrap().iter().any(is_bin)) =>
            {
                return Err(format!("no binary target `{arg}`"));
            }
            _ => {}
        }
    }
    Ok(())
}

#[test]
fn documented_commands_run() {
    let cmds = doc_commands();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let meta = Command::new(cargo)
        .current_dir(root())
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .output()
        .expect("cargo metadata runs");
    assert!(meta.status.success(), "cargo metadata failed");
    let meta: serde_json::Value = serde_json::from_slice(&meta.stdout).unwrap();
    let bin_dir = Path::new(UFM).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin_dir.to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let mut failures = Vec::new();
    for (n, c) in cmds.iter().enumerate() {
        let at = format!("{}:{}: `{}`", c.file, c.line, c.text);
        match how(&c.text) {
            // Unclassified commands are reported by every_documented_command_is_classified.
            None | Some(Covered(_)) | Some(NotRun(_)) => {}
            Some(Cargo) => {
                if let Err(e) = check_cargo_names(&c.text, &meta) {
                    failures.push(format!("{at}: {e}"));
                }
            }
            Some(Run { setup, run, why }) => {
                if c.text.starts_with("cargo ") {
                    if let Err(e) = check_cargo_names(&c.text, &meta) {
                        failures.push(format!("{at}: {e}"));
                    }
                }
                let dir = workspace(&n.to_string());
                let cmd = run.unwrap_or(&c.text);
                let script = format!("set -euo pipefail\n{setup}\n{cmd}\n");
                let o = Command::new("bash")
                    .current_dir(&dir)
                    .env("PATH", &path)
                    .env("HOME", dir.join("home"))
                    .args(["-c", &script])
                    .output()
                    .expect("bash runs");
                let stdout = String::from_utf8_lossy(&o.stdout);
                if !o.status.success() {
                    failures.push(format!(
                        "{at}: ran `{cmd}` ({why}): {}\n--- stdout\n{stdout}\n--- stderr\n{}",
                        o.status,
                        String::from_utf8_lossy(&o.stderr)
                    ));
                    continue;
                }
                if !c.shown_output.is_empty() && run.is_none() {
                    let got: Vec<&str> = stdout.lines().map(str::trim_end).collect();
                    if got != c.shown_output {
                        failures.push(format!(
                            "{at}: prints something else than the docs show.\n--- docs\n{}\n--- \
                             printed\n{}",
                            c.shown_output.join("\n"),
                            got.join("\n")
                        ));
                        continue;
                    }
                }
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
    // Inline `cargo ...` spans (the README's table of test commands, docs' build hints): names
    // checked like the fenced cargo commands.
    for f in doc_files() {
        let rel = f.strip_prefix(root()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            for (k, span) in line.split('`').enumerate() {
                if k % 2 == 1 && span.starts_with("cargo ") {
                    if let Err(e) = check_cargo_names(span, &meta) {
                        failures.push(format!("{rel}:{}: `{span}`: {e}", n + 1));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "documented commands failed:\n{}",
        failures.join("\n\n")
    );
}
