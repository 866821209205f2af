//! The ufm fuzzing harness (docs/fuzzing.md), on the stable toolchain without sanitizers:
//! deterministic generators (seed -> input) for job files, `.npy` files and C API call
//! sequences. In-process batches count panics with `catch_unwind`; the `ufm-fuzz long` command
//! runs batches in child processes with a timeout, so aborts, crashes and hangs are counted too
//! and reported with the seed that reproduces them.

pub mod capi;
pub mod jobs;
pub mod npy;
pub mod rng;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Mutex;

/// Counts of one batch (any target); `failures()` is what must be zero.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Tally {
    /// Inputs tried (jobs, .npy files) or C API calls made.
    pub inputs: u64,
    pub invalid: u64,
    pub checked: u64,
    pub ran: u64,
    pub run_failed: u64,
    /// Jobs `check` accepted whose run refused their input (validation missed a check).
    pub mismatches: u64,
    /// Jobs with a plugin initialiser whose drawn start was not finite (refused at run start).
    pub plugin_start_refused: u64,
    /// Panics caught in-process (or UFM_STATUS_PANIC / out-of-range statuses from the C API).
    pub panics: u64,
    /// First messages of failures, with the seed and index that reproduce them.
    pub samples: Vec<String>,
}

impl Tally {
    pub fn failures(&self) -> u64 {
        self.panics + self.mismatches
    }

    pub fn add(&mut self, o: &Tally) {
        self.inputs += o.inputs;
        self.invalid += o.invalid;
        self.checked += o.checked;
        self.ran += o.ran;
        self.run_failed += o.run_failed;
        self.mismatches += o.mismatches;
        self.plugin_start_refused += o.plugin_start_refused;
        self.panics += o.panics;
        for s in &o.samples {
            if self.samples.len() < 50 {
                self.samples.push(s.clone());
            }
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "inputs": self.inputs, "invalid": self.invalid, "checked": self.checked,
            "ran": self.ran, "run_failed": self.run_failed, "mismatches": self.mismatches,
            "plugin_start_refused": self.plugin_start_refused, "panics": self.panics, "samples": self.samples,
        })
    }

    pub fn from_json(v: &serde_json::Value) -> Tally {
        let n = |k: &str| v[k].as_u64().unwrap_or(0);
        Tally {
            inputs: n("inputs"),
            invalid: n("invalid"),
            checked: n("checked"),
            ran: n("ran"),
            run_failed: n("run_failed"),
            mismatches: n("mismatches"),
            plugin_start_refused: n("plugin_start_refused"),
            panics: n("panics"),
            samples: v["samples"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// Keep panic messages for the report instead of printing them (each one is counted).
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let msg = format!("{info}");
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = msg;
    }));
}

fn last_panic() -> String {
    LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Jobs `index_from..index_from + count` of the stream `seed`, through validate and run.
pub fn run_jobs(seed: u64, index_from: u64, count: u64, env: &jobs::Env) -> Tally {
    let seeds = jobs::seeds(env);
    let mut t = Tally::default();
    for i in index_from..index_from + count {
        let text = jobs::generate(&seeds, seed, i);
        t.inputs += 1;
        match catch_unwind(AssertUnwindSafe(|| jobs::exercise(&text, env))) {
            Ok(jobs::Outcome::Invalid) => t.invalid += 1,
            Ok(jobs::Outcome::Checked) => t.checked += 1,
            Ok(jobs::Outcome::Ran) => t.ran += 1,
            Ok(jobs::Outcome::RunFailed) => t.run_failed += 1,
            Ok(jobs::Outcome::PluginStartRefused) => t.plugin_start_refused += 1,
            Ok(jobs::Outcome::Mismatch(m)) => {
                t.mismatches += 1;
                if t.samples.len() < 20 {
                    t.samples.push(format!(
                        "job seed {seed} index {i}: valid, but run refused: {m}\n{text}"
                    ));
                }
            }
            Err(_) => {
                t.panics += 1;
                if t.samples.len() < 20 {
                    t.samples.push(format!(
                        "job seed {seed} index {i}: panic: {}\n{text}",
                        last_panic()
                    ));
                }
            }
        }
    }
    t
}

/// `.npy` files `index_from..index_from + count` of the stream `seed`, read in `dir`.
pub fn run_npy(seed: u64, index_from: u64, count: u64, dir: &Path) -> Tally {
    let mut t = Tally::default();
    let path = dir.join("fuzz.npy");
    for i in index_from..index_from + count {
        let bytes = npy::generate(seed, i);
        t.inputs += 1;
        match catch_unwind(AssertUnwindSafe(|| npy::exercise(&bytes, &path))) {
            Ok(true) => t.ran += 1,
            Ok(false) => t.invalid += 1,
            Err(_) => {
                t.panics += 1;
                if t.samples.len() < 20 {
                    t.samples.push(format!(
                        "npy seed {seed} index {i}: panic: {}",
                        last_panic()
                    ));
                }
            }
        }
    }
    t
}

/// At least `calls` C API calls of the stream `seed`.
pub fn run_capi(seed: u64, calls: u64, env: &jobs::Env) -> Tally {
    let seeds = jobs::seeds(env);
    let c = capi::run(seed, calls, &env.dir, &seeds);
    Tally {
        inputs: c.calls,
        ran: c.ok,
        invalid: c.errors,
        panics: c.panics,
        samples: c.samples,
        ..Tally::default()
    }
}
