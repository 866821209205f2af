//! `ufm_trainer`: a model being trained, built from a job (JSON text).

use crate::versioned::{write_out, Versioned};
use crate::{
    c_str, fail_point, guard, handle, handle_ref, out, register, release, ufm_error, ufm_matrix,
    ufm_matrix_mut, ufm_status, Error, Kind, Res,
};
use engine::job::{count_points, parse_job, validate, Job};
use engine::model::ModelSpec;
use engine::train::{Outcome, Status, Trainer};
use std::ffi::{c_char, c_int, c_void};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// A model being trained: parameters, optimiser state, loss curve. Created by
/// `ufm_trainer_new`, freed by `ufm_trainer_free`. Not thread-safe: use one handle from one
/// thread at a time (different handles may be used from different threads at once).
pub struct ufm_trainer {
    pub(crate) job: Job,
    pub(crate) trainer: Trainer,
    /// How the last `ufm_trainer_run` ended; `None` after `ufm_trainer_step` or before any run.
    pub(crate) outcome: Option<Outcome>,
}

/// How a run ended (the `status` of result.json).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ufm_run_status {
    /// The relative change of the loss over one record window fell below `train.tol`.
    UFM_RUN_CONVERGED = 0,
    /// `train.max_steps` updates were made.
    UFM_RUN_MAX_STEPS = 1,
    /// A step produced a non-finite loss; the last finite state is kept.
    UFM_RUN_DIVERGED = 2,
    /// The cancel callback asked to stop.
    UFM_RUN_CANCELLED = 3,
    /// The optimiser reported an error (see the result's message).
    UFM_RUN_FAILED = 4,
}

impl From<Status> for ufm_run_status {
    fn from(s: Status) -> Self {
        match s {
            Status::Converged => ufm_run_status::UFM_RUN_CONVERGED,
            Status::MaxSteps => ufm_run_status::UFM_RUN_MAX_STEPS,
            Status::Diverged => ufm_run_status::UFM_RUN_DIVERGED,
            Status::Cancelled => ufm_run_status::UFM_RUN_CANCELLED,
            Status::Failed => ufm_run_status::UFM_RUN_FAILED,
        }
    }
}

/// Loss at the current parameters. Versioned: set `struct_size = sizeof(ufm_loss)` before
/// passing it (docs/c-api.md).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ufm_loss {
    /// sizeof(ufm_loss) as compiled into the caller; set by the caller, never written.
    pub struct_size: usize,
    /// fit + reg.
    pub loss: f64,
    /// g(Z): mean cross-entropy or MSE.
    pub fit: f64,
    /// lambda_h/2 ||H1||^2 + lambda_w/2 sum ||W_l||^2.
    pub reg: f64,
    /// Euclidean norm of the full gradient.
    pub grad_norm: f64,
}

// SAFETY: repr(C), `struct_size: usize` first.
unsafe impl Versioned for ufm_loss {
    const C_NAME: &'static str = "ufm_loss";
    const MIN_SIZE: usize = std::mem::size_of::<ufm_loss>();
}

/// Progress callback: called at every recorded step (every `train.record_every` steps) with the
/// step, `train.max_steps` and the loss. It runs on the thread that called `ufm_trainer_run`
/// and must not call back into the same trainer, throw (C++) or longjmp.
pub type ufm_progress_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, step: u64, max_steps: u64, loss: f64)>;

/// Cancel callback: return nonzero to stop the run (status `UFM_RUN_CANCELLED`). Polled once
/// before the first step and then at every recorded step. The same rules as `ufm_progress_fn`.
pub type ufm_cancel_fn = Option<unsafe extern "C" fn(user_data: *mut c_void) -> c_int>;

fn bad(e: engine::job::JobError) -> Error {
    Error::new(ufm_status::UFM_STATUS_INVALID_JOB, e.to_string())
}

/// Parse, validate, and count sweep points (without expanding the grid).
pub(crate) fn parse(text: &str) -> Res<(Job, ModelSpec, u64)> {
    let job = parse_job(text).map_err(bad)?;
    let spec = validate(&job).map_err(bad)?;
    let points = count_points(&job).map_err(bad)?;
    Ok((job, spec, points))
}

/// Everything `ufm validate` checks: the job, every sweep point, and each run's inputs
/// (plugins, `.npy` headers, structured starts), relative paths against `base_dir`. A plugin
/// that cannot be loaded, lacks the id or refuses its params is `UFM_STATUS_PLUGIN`, as for
/// `ufm_trainer_new` (the engine's Plugin kind, through the one mapping).
pub(crate) fn check(text: &str, base_dir: &std::path::Path) -> Res<()> {
    let job = parse_job(text).map_err(bad)?;
    engine::job::check(&job, base_dir)
        .map(|_| ())
        .map_err(Error::from)
}

fn trainer<'a>(t: *mut ufm_trainer) -> Res<&'a mut ufm_trainer> {
    handle(t, Kind::Trainer, "trainer")
}

fn trainer_ref<'a>(t: *const ufm_trainer) -> Res<&'a ufm_trainer> {
    handle_ref(t, Kind::Trainer, "trainer")
}

fn param_index(t: &ufm_trainer, index: usize) -> Res<(usize, usize)> {
    let shapes = t.trainer.spec().shapes();
    shapes.get(index).copied().ok_or_else(|| {
        Error::arg(format!(
            "index: must be < {} (0 = H1, l = W_l), got {index}",
            shapes.len()
        ))
    })
}

/// Create a trainer from a job (JSON text, the format of `ufm run` job files, without `sweep`):
/// builds the model, draws the initial parameters the job's `init` asks for and evaluates the
/// loss at step 0. Training with `ufm_trainer_run` then gives bit for bit what `ufm run` gives.
///
/// `base_dir` (may be NULL = the current directory) is the folder that relative paths in the job
/// (`init.dir` of the `npy` initialiser, plugin paths) are resolved against: pass the job file's
/// folder.
///
/// Errors: `UFM_STATUS_NULL_POINTER` (job_json, out), `UFM_STATUS_INVALID_UTF8`,
/// `UFM_STATUS_INVALID_JOB` (the message names the field; also for a job with a `sweep` and
/// for unreadable initial-parameter files), `UFM_STATUS_PLUGIN` (a plugin that cannot be loaded,
/// lacks the id or refuses its params).
/// Ownership: strings are borrowed for the call; on success `*out` receives a new trainer that
/// the caller frees with `ufm_trainer_free` (on failure `*out` is left untouched). `err` may be
/// NULL; otherwise on failure `*err` receives a new error (free it with `ufm_error_free`).
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn ufm_trainer_new(
    job_json: *const c_char,
    base_dir: *const c_char,
    out_trainer: *mut *mut ufm_trainer,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_trainer_new", err, || {
        fail_point("ufm_trainer_new");
        let text = c_str(job_json, "job_json")?;
        let dir = if base_dir.is_null() {
            PathBuf::new()
        } else {
            PathBuf::from(c_str(base_dir, "base_dir")?)
        };
        let slot = out(out_trainer, "out")?;
        let (job, spec, points) = parse(text)?;
        if points > 0 {
            return Err(Error::new(
                ufm_status::UFM_STATUS_INVALID_JOB,
                format!("sweep: this job sweeps {points} runs; a trainer trains one run (remove `sweep`, or create one trainer per point)"),
            ));
        }
        let classify = Error::from;
        let params = engine::run::initial_params(&job, &spec, &dir).map_err(classify)?;
        let tr = engine::run::trainer_in(&job, &spec, params, &dir).map_err(classify)?;
        *slot = register(
            ufm_trainer {
                job,
                trainer: tr,
                outcome: None,
            },
            Kind::Trainer,
        );
        Ok(())
    })
}

/// Free a trainer. `ufm_trainer_free(NULL)` is a no-op; a trainer that was already freed is
/// detected and ignored (unless its address has been reused).
///
/// Ownership: takes ownership of `trainer`. Thread safety: not while another thread uses it.
#[no_mangle]
pub extern "C" fn ufm_trainer_free(trainer: *mut ufm_trainer) {
    crate::guard_value((), || release(trainer, Kind::Trainer))
}

/// The number of parameter matrices, L + 1: index 0 is H1 (d x N), index l is W_l (d x d, and
/// W_L is K x d).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_HANDLE`.
/// Ownership: `trainer` is borrowed. `err` as for `ufm_trainer_new`. Thread safety: one thread
/// per trainer at a time.
#[no_mangle]
pub extern "C" fn ufm_trainer_param_count(
    trainer: *const ufm_trainer,
    count: *mut usize,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_trainer_param_count", err, || {
        let t = self::trainer_ref(trainer)?;
        *out(count, "count")? = t.trainer.spec().shapes().len();
        Ok(())
    })
}

/// The shape of parameter matrix `index` (0 = H1, l = W_l).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_HANDLE`, `UFM_STATUS_INVALID_ARGUMENT`
/// (index out of range). Ownership and threads as for `ufm_trainer_param_count`.
#[no_mangle]
pub extern "C" fn ufm_trainer_param_shape(
    trainer: *const ufm_trainer,
    index: usize,
    nrows: *mut usize,
    ncols: *mut usize,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_trainer_param_shape", err, || {
        let t = self::trainer_ref(trainer)?;
        let (r, c) = param_index(t, index)?;
        let nr = out(nrows, "nrows")?;
        let nc = out(ncols, "ncols")?;
        *nr = r;
        *nc = c;
        Ok(())
    })
}

/// Copy parameter matrix `index` (0 = H1, l = W_l) at the current step into `dst`, which must
/// have exactly its shape (any strides: row-major and column-major both work).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_HANDLE`, `UFM_STATUS_INVALID_ARGUMENT`
/// (index, strides, alignment), `UFM_STATUS_SIZE_MISMATCH`.
/// Ownership: `dst` stays the caller's; it is written during the call only.
/// Thread safety: one thread per trainer at a time.
#[no_mangle]
pub extern "C" fn ufm_trainer_get_param(
    trainer: *const ufm_trainer,
    index: usize,
    dst: ufm_matrix_mut,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_trainer_get_param", err, || {
        let t = self::trainer_ref(trainer)?;
        param_index(t, index)?;
        dst.fill("dst", t.trainer.params().mats[index].as_ref())
    })
}

/// Replace parameter matrix `index` by a copy of `src` (its exact shape, finite entries) and
/// re-evaluate loss and gradient. The step count and optimiser state are unchanged.
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_HANDLE`, `UFM_STATUS_INVALID_ARGUMENT`
/// (index, strides, alignment, non-finite entry), `UFM_STATUS_SIZE_MISMATCH`. On error the
/// trainer is unchanged.
/// Ownership: `src` stays the caller's and is only read during the call.
/// Thread safety: one thread per trainer at a time.
#[no_mangle]
pub extern "C" fn ufm_trainer_set_param(
    trainer: *mut ufm_trainer,
    index: usize,
    src: ufm_matrix,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_trainer_set_param", err, || {
        let t = self::trainer(trainer)?;
        let (r, c) = param_index(t, index)?;
        if (src.nrows, src.ncols) != (r, c) {
            return Err(Error::new(
                ufm_status::UFM_STATUS_SIZE_MISMATCH,
                format!(
                    "src: parameter {index} is {r} x {c}, got {} x {}",
                    src.nrows, src.ncols
                ),
            ));
        }
        let m = src.to_finite_mat("src")?;
        let mut params = t.trainer.params().clone();
        params.mats[index] = m;
        t.trainer.set_params(params);
        t.outcome = None;
        Ok(())
    })
}

/// Copy the gradient of the loss with respect to parameter matrix `index` at the current
/// parameters into `dst` (its exact shape). Errors, ownership and threads as for
/// `ufm_trainer_get_param`.
#[no_mangle]
pub extern "C" fn ufm_trainer_get_gradient(
    trainer: *const ufm_trainer,
    index: usize,
    dst: ufm_matrix_mut,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_trainer_get_gradient", err, || {
        let t = self::trainer_ref(trainer)?;
        param_index(t, index)?;
        dst.fill("dst", t.trainer.gradient_of(index).as_ref().as_ref())
    })
}

/// Loss (fit, reg) and gradient norm at the current parameters. The caller sets
/// `out->struct_size = sizeof(ufm_loss)` first (versioned out-struct, docs/c-api.md).
///
/// The trainer is not changed (the gradient norm is computed once per step and cached inside,
/// which is why this call, like every call on a trainer, needs the trainer to itself).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_HANDLE`, `UFM_STATUS_STRUCT_SIZE`
/// (`out->struct_size` too small; nothing is written), `UFM_STATUS_INVALID_ARGUMENT` (`out`
/// misaligned).
/// Ownership: `*out` is written (all fields but `struct_size`). Thread safety: one thread per
/// trainer at a time.
#[no_mangle]
pub extern "C" fn ufm_trainer_loss(
    trainer: *const ufm_trainer,
    out_loss: *mut ufm_loss,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_trainer_loss", err, || {
        // The handle came from `Box::into_raw` (mutable); `const` in C only promises that the
        // trainer's observable state is unchanged, which holds: only the norm's cache is filled.
        let t = self::trainer(trainer.cast_mut())?;
        let l = t.trainer.loss();
        let loss = ufm_loss {
            struct_size: 0,
            loss: l.loss,
            fit: l.fit,
            reg: l.reg,
            grad_norm: t.trainer.grad_norm(),
        };
        write_out(out_loss, "out", loss)
    })
}

/// The number of optimiser updates made so far.
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_HANDLE`. Threads: one per trainer.
#[no_mangle]
pub extern "C" fn ufm_trainer_steps(
    trainer: *const ufm_trainer,
    steps: *mut u64,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_trainer_steps", err, || {
        let t = self::trainer_ref(trainer)?;
        *out(steps, "steps")? = t.trainer.steps();
        Ok(())
    })
}

/// Make up to `n` optimiser updates, ignoring the job's stopping rules and recording no curve
/// rows. Stops early, keeping the last finite state, when a step gives a non-finite loss:
/// `*done` (may be NULL) receives the number of updates made, so `*done < n` means divergence.
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_HANDLE`, `UFM_STATUS_RUNTIME` (the
/// optimiser failed; `*done` holds the updates made before).
/// Thread safety: one thread per trainer at a time.
#[no_mangle]
pub extern "C" fn ufm_trainer_step(
    trainer: *mut ufm_trainer,
    n: u64,
    done: *mut u64,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_trainer_step", err, || {
        let t = self::trainer(trainer)?;
        t.outcome = None;
        let mut made = 0u64;
        let mut result = Ok(());
        while made < n {
            match t.trainer.advance() {
                Ok(true) => made += 1,
                Ok(false) => break,
                Err(e) => {
                    // A plugin's failed update: Error::PluginCall, of kind Runtime.
                    result = Err(Error::from(e));
                    break;
                }
            }
        }
        if !done.is_null() {
            // SAFETY: non-null; the caller promises it is writable.
            unsafe { *done = made };
        }
        result
    })
}

/// Train until a stopping rule of the job fires (`train.max_steps` counted from step 0,
/// `train.tol`, divergence) or the cancel callback asks to stop, recording a curve row every
/// `train.record_every` steps. A trainer fresh from `ufm_trainer_new` trained with this call
/// reaches bit for bit the state `ufm run` reaches for the same job.
///
/// `progress` and `cancel` may be NULL; both receive `user_data`. `*status` (may be NULL)
/// receives how the run ended; a cancelled, diverged or failed run still returns
/// `UFM_STATUS_OK` (the state is kept and `ufm_trainer_result` reports it).
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_HANDLE`.
/// Ownership: `user_data` is passed through untouched. Thread safety: one thread per trainer at
/// a time; the callbacks run on the calling thread.
#[no_mangle]
pub extern "C" fn ufm_trainer_run(
    trainer: *mut ufm_trainer,
    progress: ufm_progress_fn,
    cancel: ufm_cancel_fn,
    user_data: *mut c_void,
    status: *mut ufm_run_status,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_trainer_run", err, || {
        fail_point("ufm_trainer_run");
        let t = self::trainer(trainer)?;
        let flag = AtomicBool::new(false);
        // SAFETY (both calls): the caller promises the callbacks are valid for `user_data`.
        let ask = || cancel.is_some_and(|f| unsafe { f(user_data) } != 0);
        if ask() {
            flag.store(true, Ordering::Relaxed);
        }
        let mut on_progress = |p: engine::train::Progress| {
            if let Some(f) = progress {
                unsafe { f(user_data, p.step, p.max_steps, p.loss) };
            }
            if ask() {
                flag.store(true, Ordering::Relaxed);
            }
        };
        let outcome = t.trainer.run(Some(&flag), &mut on_progress);
        if !status.is_null() {
            // SAFETY: non-null; the caller promises it is writable.
            unsafe { *status = outcome.status.into() };
        }
        t.outcome = Some(outcome);
        Ok(())
    })
}
