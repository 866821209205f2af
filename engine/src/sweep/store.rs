//! The sweep folder: `sweep.json` (what the folder holds), `runs.jsonl` (one line per finished
//! run, appended and fsync'd as each run finishes) and `summary.json` (rewritten atomically).
//!
//! Crash safety: a run is finished exactly when its line (ending in `\n`) is in runs.jsonl. A
//! process killed while appending leaves at most one torn last line, which [`SweepStore::open`]
//! drops (and truncates away). Every other file is written to a temporary name and renamed.

use super::record::RunRecord;
use crate::job::Job;
use crate::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const RUNS_FILE: &str = "runs.jsonl";
pub const SUMMARY_FILE: &str = "summary.json";
pub const META_FILE: &str = "sweep.json";

/// One sweep axis as written in the job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub key: String,
    pub values: Vec<Value>,
}

/// `sweep.json`: the sweep a folder belongs to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepMeta {
    pub ufm_version: String,
    /// Hash of the whole job, sweep included: folders with equal hashes can be merged.
    pub sweep_hash: String,
    pub total_runs: usize,
    pub axes: Vec<Axis>,
    /// [`super::record::job_hash`] of every grid point, in grid order.
    pub point_hashes: Vec<String>,
    /// The job as written (with its sweep, every default filled in).
    pub job: Job,
    /// `I/N` when the folder was last run as shard I of N (absent for a whole sweep and a merge);
    /// read by `ufm merge --status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

impl SweepMeta {
    pub fn read(dir: &Path) -> Result<SweepMeta, Error> {
        let path = dir.join(META_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::Input(format!(
                "{}: not a sweep folder (cannot read {META_FILE}: {e})",
                dir.display()
            ))
        })?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Input(format!("{}: invalid: {e}", path.display())))
    }

    pub fn write(&self, dir: &Path) -> Result<(), Error> {
        let json = serde_json::to_string_pretty(self).expect("meta serialises");
        crate::io::write_atomic(&dir.join(META_FILE), json.as_bytes())
            .map_err(|e| Error::Runtime(format!("cannot write into {}: {e}", dir.display())))
    }
}

/// An open sweep folder that finished runs are appended to (safe to share between threads).
pub struct SweepStore {
    dir: PathBuf,
    runs: Mutex<File>,
}

impl SweepStore {
    /// Open (creating) `dir` for `meta`'s sweep. Returns the store and the runs already finished
    /// there. Refuses a folder whose runs belong to another job (a grid index whose job hash
    /// differs from the one recorded), so a changed job file never mixes with old results.
    pub fn open(dir: &Path, meta: &SweepMeta) -> Result<(SweepStore, Vec<RunRecord>), Error> {
        let rt =
            |e: std::io::Error| Error::Runtime(format!("cannot write into {}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(rt)?;
        let path = dir.join(RUNS_FILE);
        let records = if path.exists() {
            let (records, good_len) = read_runs(&path)?;
            let f = OpenOptions::new().write(true).open(&path).map_err(rt)?;
            if f.metadata().map_err(rt)?.len() != good_len {
                f.set_len(good_len).map_err(rt)?;
                f.sync_all().map_err(rt)?;
            }
            check_records(dir, &records, meta)?;
            records
        } else {
            vec![]
        };
        meta.write(dir)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(rt)?;
        Ok((
            SweepStore {
                dir: dir.to_path_buf(),
                runs: Mutex::new(file),
            },
            records,
        ))
    }

    /// Append one finished run: one line, written with a single write and fsync'd.
    pub fn append(&self, record: &RunRecord) -> Result<(), Error> {
        let mut line = serde_json::to_string(record).expect("record serialises");
        line.push('\n');
        let mut f = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(line.as_bytes())
            .and_then(|_| f.sync_data())
            .map_err(|e| {
                Error::Runtime(format!(
                    "cannot append to {}: {e}",
                    self.dir.join(RUNS_FILE).display()
                ))
            })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Read runs.jsonl: the complete records and the byte length they occupy. A last line without
/// its newline, or a last line that does not parse, is a torn write and is dropped; a bad line
/// before the last is an error. Duplicate grid indices keep the first record.
pub fn read_runs(path: &Path) -> Result<(Vec<RunRecord>, u64), Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Runtime(format!("cannot read {}: {e}", path.display())))?;
    let mut records = Vec::new();
    let mut seen = BTreeMap::new();
    let mut pos = 0usize;
    let mut good = 0usize;
    let mut line_no = 0;
    while pos < bytes.len() {
        line_no += 1;
        let Some(nl) = bytes[pos..].iter().position(|&b| b == b'\n') else {
            break; // torn last line
        };
        let line = &bytes[pos..pos + nl];
        let end = pos + nl + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            pos = end;
            good = end;
            continue;
        }
        match serde_json::from_slice::<RunRecord>(line) {
            Ok(r) => {
                if seen.insert(r.index, ()).is_none() {
                    records.push(r);
                }
                good = end;
            }
            Err(e) if end == bytes.len() => {
                let _ = e; // torn last line (e.g. zero-filled after a crash)
                break;
            }
            Err(e) => {
                return Err(Error::Runtime(format!(
                    "{} line {line_no} is corrupt ({e}); remove that line to resume",
                    path.display()
                )))
            }
        }
        pos = end;
    }
    Ok((records, good as u64))
}

fn check_records(dir: &Path, records: &[RunRecord], meta: &SweepMeta) -> Result<(), Error> {
    for r in records {
        let expected = meta.point_hashes.get(r.index);
        if expected != Some(&r.job_hash) {
            let what = match expected {
                None => format!(
                    "grid index {} is outside this sweep's {} runs",
                    r.index, meta.total_runs
                ),
                Some(_) => format!(
                    "run {} ({}) was made with a different job",
                    r.index,
                    serde_json::to_string(&r.assignments).unwrap_or_default()
                ),
            };
            return Err(Error::Input(format!(
                "--out {}: this folder holds results of another job: {what}; \
                 use a new --out folder (or delete this one) to run the changed job",
                dir.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(index: usize) -> String {
        format!(
            r#"{{"index":{index},"job_hash":"00","assignments":{{}},"seed":0,"status":"converged","steps":1,"loss":0.5,"fit":0.1,"reg":0.4,"grad_norm":0.0,"train_accuracy":1.0,"classification":"dnc","rank":3,"centred_rank":3,"simplex_cosine":1.0,"dnc_loss":null,"low_rank_loss":null,"seconds":0.1}}"#
        )
    }

    #[test]
    fn torn_last_line_is_dropped_and_a_corrupt_middle_line_is_an_error() {
        let dir = std::env::temp_dir().join(format!("ufm-store-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("runs.jsonl");
        let good = format!("{}\n{}\n", line(0), line(1));
        // Torn (no newline) and unparsable-but-terminated last lines are both dropped.
        for tail in ["{\"index\":2,\"job", "{\"index\":2,\"jo\n", ""] {
            std::fs::write(&p, format!("{good}{tail}")).unwrap();
            let (records, len) = read_runs(&p).unwrap();
            assert_eq!(records.len(), 2, "{tail:?}");
            assert_eq!(len as usize, good.len(), "{tail:?}");
        }
        // Non-finite metrics are written as null and read back as NaN.
        std::fs::write(
            &p,
            format!(
                "{}\n",
                line(0).replace("\"grad_norm\":0.0", "\"grad_norm\":null")
            ),
        )
        .unwrap();
        assert!(read_runs(&p).unwrap().0[0].grad_norm.is_nan());
        // A duplicate index keeps the first record.
        std::fs::write(&p, format!("{good}{}\n", line(1))).unwrap();
        assert_eq!(read_runs(&p).unwrap().0.len(), 2);
        // A bad line before the last is corruption, not a torn write.
        std::fs::write(&p, format!("{}\nnot json\n{}\n", line(0), line(1))).unwrap();
        let e = read_runs(&p).unwrap_err().to_string();
        assert!(e.contains("line 2 is corrupt"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
