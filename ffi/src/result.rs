//! `ufm_result`: the analysed state of a trainer (what result.json holds), with copies of its
//! main arrays.

use crate::trainer::{ufm_run_status, ufm_trainer};
use crate::versioned::{write_out, Versioned};
use crate::{
    c_str, fail_point, guard, handle, handle_ref, out, register, release, ufm_error,
    ufm_matrix_mut, ufm_status, Error, Kind, Res,
};
use engine::analysis::Classification;
use engine::run::RunOutput;
use engine::train::{Outcome, Status};
use faer::Mat;
use std::ffi::{c_char, CString};

/// The analysed final state of a run. Created by `ufm_trainer_result`, freed by
/// `ufm_result_free`; independent of the trainer afterwards. Not thread-safe (one thread at a
/// time per result).
pub struct ufm_result {
    output: RunOutput,
    json: CString,
}

/// The solution class of result.json's `classification`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ufm_classification {
    UFM_CLASS_DNC = 0,
    UFM_CLASS_LOW_RANK = 1,
    UFM_CLASS_OTHER = 2,
}

impl From<Classification> for ufm_classification {
    fn from(c: Classification) -> Self {
        match c {
            Classification::Dnc => ufm_classification::UFM_CLASS_DNC,
            Classification::LowRank => ufm_classification::UFM_CLASS_LOW_RANK,
            Classification::Other => ufm_classification::UFM_CLASS_OTHER,
        }
    }
}

/// The scalar summary of a result (the same numbers as result.json). Versioned: set
/// `struct_size = sizeof(ufm_summary)` before passing it (docs/c-api.md).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ufm_summary {
    /// sizeof(ufm_summary) as compiled into the caller; set by the caller, never written.
    pub struct_size: usize,
    pub status: ufm_run_status,
    pub steps: u64,
    /// final.loss, final.fit, final.reg, final.grad_norm, final.train_accuracy.
    pub loss: f64,
    pub fit: f64,
    pub reg: f64,
    pub grad_norm: f64,
    pub train_accuracy: f64,
    /// logits.rank, logits.simplex_cosine.
    pub logit_rank: usize,
    pub simplex_cosine: f64,
    pub classification: ufm_classification,
    /// reference.dnc_loss and reference.low_rank_loss (NaN where result.json has null).
    pub dnc_loss: f64,
    pub low_rank_loss: f64,
}

// SAFETY: repr(C), `struct_size: usize` first.
unsafe impl Versioned for ufm_summary {
    const C_NAME: &'static str = "ufm_summary";
    const MIN_SIZE: usize = std::mem::size_of::<ufm_summary>();
}

/// The arrays a result hands out (shapes from `ufm_result_array_shape`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ufm_array {
    /// rows x 5: one row per curve.csv row, columns step, loss, fit, reg, grad_norm.
    UFM_ARRAY_CURVE = 0,
    /// K x 1: singular values of the logit matrix Z, nonincreasing (logits.singular_values).
    UFM_ARRAY_LOGIT_SINGULAR_VALUES = 1,
    /// K x K: column c is the mean logit vector of class c (`logits.class_means[c]`).
    UFM_ARRAY_CLASS_MEAN_LOGITS = 2,
    /// rows x 11: one row per curve.csv row, the logit structure over time (docs/results.md):
    /// step, time, logit_rank, logit_sv1, logit_sv2, logit_sv3, simplex_cosine, pairs p and
    /// simplex size q of the identified structure (both -1 for `other`), family_distance,
    /// nearest_pairs. NaN where curve.csv leaves a cell empty (a value that does not exist, or
    /// a backbone run, whose rows have no logit columns).
    UFM_ARRAY_DYNAMICS = 3,
}

/// The columns of `UFM_ARRAY_DYNAMICS` for one curve row.
fn dynamics_row(row: &engine::train::CurveRow) -> [f64; 11] {
    let nan = f64::NAN;
    match &row.logits {
        Some(l) => {
            let (p, q) = l
                .structure
                .map_or((-1.0, -1.0), |(p, q)| (p as f64, q as f64));
            [
                row.step as f64,
                row.time,
                l.rank as f64,
                l.sv[0],
                l.sv[1],
                l.sv[2],
                l.simplex_cosine,
                p,
                q,
                l.family_distance,
                l.nearest_pairs as f64,
            ]
        }
        None => [
            row.step as f64,
            row.time,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
        ],
    }
}

fn result<'a>(r: *const ufm_result) -> Res<&'a ufm_result> {
    handle_ref(r, Kind::Result, "result")
}

fn array(r: &ufm_result, which: i32) -> Res<Mat<f64>> {
    let o = &r.output;
    match which {
        0 => Ok(Mat::from_fn(o.curve.len(), 5, |i, j| {
            let row = &o.curve[i];
            [row.step as f64, row.loss, row.fit, row.reg, row.grad_norm][j]
        })),
        1 => {
            let sv = &o.result.analysis.logits.singular_values;
            Ok(Mat::from_fn(sv.len(), 1, |i, _| sv[i]))
        }
        2 => {
            let cm = &o.result.analysis.logits.class_means;
            let k = cm.len();
            Ok(Mat::from_fn(k, k, |i, j| cm[j][i]))
        }
        3 => Ok(Mat::from_fn(o.curve.len(), 11, |i, j| {
            dynamics_row(&o.curve[i])[j]
        })),
        _ => Err(Error::arg(format!(
            "which: not a ufm_array value (0..=3), got {which}"
        ))),
    }
}

/// Analyse the trainer's current state into a result: the content of `ufm run`'s result.json
/// (status, steps, final loss, logit and layer spectra, NC metrics, classification, closed-form
/// references). If the last call that moved the trainer was not `ufm_trainer_run` (e.g.
/// `ufm_trainer_step`, `ufm_trainer_set_param`, or nothing), the status is `max_steps` with a
/// message saying that no stopping rule was checked.
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_HANDLE`.
/// Ownership: `trainer` is borrowed; on success `*out` receives a new result that the caller
/// frees with `ufm_result_free`. Thread safety: one thread per trainer at a time.
#[no_mangle]
pub extern "C" fn ufm_trainer_result(
    trainer: *mut ufm_trainer,
    out_result: *mut *mut ufm_result,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_trainer_result", err, || {
        let t = handle(trainer, Kind::Trainer, "trainer")?;
        let slot = out(out_result, "out")?;
        let outcome = t.outcome.clone().unwrap_or_else(|| Outcome {
            status: Status::MaxSteps,
            steps: t.trainer.steps(),
            seconds: 0.0,
            message: Some(
                "the trainer was moved by ufm_trainer_step or ufm_trainer_set_param (or not at all): no stopping rule was checked".into(),
            ),
        });
        let output = engine::run::finish(&t.job, &mut t.trainer, outcome);
        let json = serde_json::to_string_pretty(&output.result)
            .map_err(|e| Error::new(ufm_status::UFM_STATUS_RUNTIME, format!("result JSON: {e}")))?;
        let json = CString::new(json)
            .map_err(|e| Error::new(ufm_status::UFM_STATUS_RUNTIME, e.to_string()))?;
        *slot = register(ufm_result { output, json }, Kind::Result);
        Ok(())
    })
}

/// Free a result. `ufm_result_free(NULL)` is a no-op; a result that was already freed is
/// detected and ignored (unless its address has been reused).
///
/// Ownership: takes ownership of `result`; strings borrowed from it become invalid.
#[no_mangle]
pub extern "C" fn ufm_result_free(result: *mut ufm_result) {
    crate::guard_value((), || release(result, Kind::Result))
}

/// The result as JSON text, the format of result.json (`docs/results.md`).
/// `*len` (may be NULL) receives its length in bytes, without the terminating NUL.
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_HANDLE`.
/// Ownership: `*json` is borrowed from `result` (NUL-terminated UTF-8) and stays valid until
/// `ufm_result_free(result)`; do not free it. Thread safety: one thread per result at a time.
#[no_mangle]
pub extern "C" fn ufm_result_json(
    result: *const ufm_result,
    json: *mut *const c_char,
    len: *mut usize,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_result_json", err, || {
        let r = self::result(result)?;
        let j = out(json, "json")?;
        *j = r.json.as_ptr();
        if !len.is_null() {
            // SAFETY: non-null; the caller promises it is writable.
            unsafe { *len = r.json.as_bytes().len() };
        }
        Ok(())
    })
}

/// The scalar summary of a result. The caller sets `out->struct_size = sizeof(ufm_summary)`
/// first (versioned out-struct, docs/c-api.md).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_HANDLE`, `UFM_STATUS_STRUCT_SIZE`
/// (`out->struct_size` too small; nothing is written), `UFM_STATUS_INVALID_ARGUMENT` (`out`
/// misaligned).
/// Ownership: `*out` is written (all fields but `struct_size`). Thread safety: one thread per
/// result at a time.
#[no_mangle]
pub extern "C" fn ufm_result_summary(
    result: *const ufm_result,
    out_summary: *mut ufm_summary,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_result_summary", err, || {
        let r = self::result(result)?;
        let res = &r.output.result;
        let summary = ufm_summary {
            struct_size: 0,
            status: res.status.into(),
            steps: res.steps,
            loss: res.final_.loss,
            fit: res.final_.fit,
            reg: res.final_.reg,
            grad_norm: res.final_.grad_norm,
            train_accuracy: res.final_.train_accuracy,
            logit_rank: res.analysis.logits.rank,
            simplex_cosine: res.analysis.logits.simplex_cosine,
            classification: res.analysis.classification.into(),
            dnc_loss: res.reference.dnc_loss.unwrap_or(f64::NAN),
            low_rank_loss: res.reference.low_rank_loss.unwrap_or(f64::NAN),
        };
        write_out(out_summary, "out", summary)
    })
}

/// The shape of one of the result's arrays (a size query before `ufm_result_array`).
/// `which` is a `ufm_array` value (passed as int32_t so that unknown values can be refused).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_HANDLE`, `UFM_STATUS_INVALID_ARGUMENT`
/// (unknown `which`). Thread safety: one thread per result at a time.
#[no_mangle]
pub extern "C" fn ufm_result_array_shape(
    result: *const ufm_result,
    which: i32,
    nrows: *mut usize,
    ncols: *mut usize,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_result_array_shape", err, || {
        let r = self::result(result)?;
        let m = array(r, which)?;
        let nr = out(nrows, "nrows")?;
        let nc = out(ncols, "ncols")?;
        *nr = m.nrows();
        *nc = m.ncols();
        Ok(())
    })
}

/// Copy one of the result's arrays into `dst`, which must have exactly the shape
/// `ufm_result_array_shape` reports (any strides).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_HANDLE`, `UFM_STATUS_INVALID_ARGUMENT`
/// (unknown `which`, strides, alignment), `UFM_STATUS_SIZE_MISMATCH`.
/// Ownership: `dst` stays the caller's and is written during the call only.
/// Thread safety: one thread per result at a time.
#[no_mangle]
pub extern "C" fn ufm_result_array(
    result: *const ufm_result,
    which: i32,
    dst: ufm_matrix_mut,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_result_array", err, || {
        let r = self::result(result)?;
        let m = array(r, which)?;
        dst.fill("dst", m.as_ref())
    })
}

/// Write the result's run folder into `dir` exactly as `ufm run JOB --out DIR` writes it:
/// `result.json` (the text of `ufm_result_json`), `curve.csv` and `params/*.npy` (the final
/// parameters: `H1.npy`, `W1.npy`, ...), and `spectra.csv` when the job sets
/// `train.record_spectra`, each file written to a temporary name and renamed into place,
/// result.json last (the engine's own writer, so the files are those of `ufm run` byte for
/// byte apart from result.json's wall-clock `seconds`). `dir` and its parents are created when
/// missing; existing files of those names are replaced.
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_UTF8`, `UFM_STATUS_INVALID_HANDLE`,
/// `UFM_STATUS_RUNTIME` (a folder or file cannot be written; the message names it).
/// Ownership: `result` and `dir` are borrowed for the call. `err` as for `ufm_job_validate`.
/// Thread safety: one thread per result at a time; two calls must not write the same `dir` at
/// once.
#[no_mangle]
pub extern "C" fn ufm_result_write(
    result: *const ufm_result,
    dir: *const c_char,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_result_write", err, || {
        fail_point("ufm_result_write");
        let r = self::result(result)?;
        let dir = std::path::Path::new(c_str(dir, "dir")?);
        let o = &r.output;
        // An unwritable folder is an Io error: UFM_STATUS_RUNTIME through the one mapping.
        engine::run::write_folder(dir, o).map_err(Error::from)
    })
}
