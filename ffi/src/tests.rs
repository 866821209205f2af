//! Refusal paths and the panic boundary, driven through the exported functions.

use super::*;
use std::ffi::{c_void, CStr};
use std::ptr::{null, null_mut};

const SMOKE: &str = r#"{"schema_version": 1, "name": "t",
  "model": {"classes": 4, "per_class": 3, "width": 8, "layers": 2,
            "activation": "linear", "loss": "cross_entropy", "lambda": 0.01},
  "init": {"name": "scaled", "scale": 1.0, "seed": 1},
  "optimizer": {"name": "gd", "lr": 0.5},
  "train": {"max_steps": 200, "tol": 1e-12, "record_every": 50}}"#;

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// Take the error out of `err`, returning its message, and free it.
fn take(err: &mut *mut ufm_error) -> String {
    assert!(!err.is_null(), "an error was expected");
    let m = unsafe { CStr::from_ptr(ufm_error_message(*err)) }
        .to_str()
        .unwrap()
        .to_string();
    ufm_error_free(*err);
    *err = null_mut();
    m
}

fn new_trainer(job: &str) -> *mut ufm_trainer {
    let j = cstr(job);
    let mut t = null_mut();
    let mut err = null_mut();
    assert_eq!(
        ufm_trainer_new(j.as_ptr(), null(), &mut t, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert!(err.is_null());
    t
}

fn view(m: &mut [f64], r: usize, c: usize) -> ufm_matrix_mut {
    ufm_matrix_mut {
        data: m.as_mut_ptr(),
        nrows: r,
        ncols: c,
        row_stride: c as isize,
        col_stride: 1,
    }
}

fn cview(m: &[f64], r: usize, c: usize) -> ufm_matrix {
    ufm_matrix {
        data: m.as_ptr(),
        nrows: r,
        ncols: c,
        row_stride: c as isize,
        col_stride: 1,
    }
}

#[test]
fn versions() {
    let v = unsafe { CStr::from_ptr(ufm_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    assert_eq!(ufm_abi_version(), 2);
    let n = unsafe { CStr::from_ptr(ufm_status_name(1)) };
    assert_eq!(n.to_str().unwrap(), "UFM_STATUS_PANIC");
    let n = unsafe { CStr::from_ptr(ufm_status_name(12)) };
    assert_eq!(n.to_str().unwrap(), "UFM_STATUS_STRUCT_SIZE");
    let n = unsafe { CStr::from_ptr(ufm_status_name(99)) };
    assert_eq!(n.to_str().unwrap(), "UFM_STATUS_UNKNOWN");
}

#[test]
fn panics_become_status_panic() {
    let j = cstr(SMOKE);
    let mut t = null_mut();
    let mut err = null_mut();
    PANIC_IN.with(|p| p.set(Some("ufm_trainer_new")));
    let s = ufm_trainer_new(j.as_ptr(), null(), &mut t, &mut err);
    PANIC_IN.with(|p| p.set(None));
    assert_eq!(s, ufm_status::UFM_STATUS_PANIC);
    assert!(t.is_null());
    assert_eq!(ufm_error_status(err), ufm_status::UFM_STATUS_PANIC);
    let m = take(&mut err);
    assert!(m.contains("injected panic in ufm_trainer_new"), "{m}");

    // A panic in the middle of a run leaves a usable (freeable) handle.
    let t = new_trainer(SMOKE);
    PANIC_IN.with(|p| p.set(Some("ufm_trainer_run")));
    let s = ufm_trainer_run(t, None, None, null_mut(), null_mut(), null_mut());
    PANIC_IN.with(|p| p.set(None));
    assert_eq!(s, ufm_status::UFM_STATUS_PANIC);
    ufm_trainer_free(t);
}

#[test]
fn null_pointers_are_refused() {
    let mut err = null_mut();
    let mut t = null_mut();
    assert_eq!(
        ufm_trainer_new(null(), null(), &mut t, &mut err),
        ufm_status::UFM_STATUS_NULL_POINTER
    );
    assert!(take(&mut err).contains("job_json"));
    let j = cstr(SMOKE);
    assert_eq!(
        ufm_trainer_new(j.as_ptr(), null(), null_mut(), &mut err),
        ufm_status::UFM_STATUS_NULL_POINTER
    );
    take(&mut err);
    // Without an error slot the status still tells.
    assert_eq!(
        ufm_trainer_loss(null_mut(), null_mut(), null_mut()),
        ufm_status::UFM_STATUS_NULL_POINTER
    );
    let t = new_trainer(SMOKE);
    assert_eq!(
        ufm_trainer_loss(t, null_mut(), &mut err),
        ufm_status::UFM_STATUS_NULL_POINTER
    );
    take(&mut err);
    assert_eq!(
        ufm_trainer_param_shape(t, 0, null_mut(), null_mut(), &mut err),
        ufm_status::UFM_STATUS_NULL_POINTER
    );
    take(&mut err);
    let mut r = null_mut();
    assert_eq!(
        ufm_trainer_result(t, null_mut(), &mut err),
        ufm_status::UFM_STATUS_NULL_POINTER
    );
    take(&mut err);
    assert_eq!(
        ufm_trainer_result(t, &mut r, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(
        ufm_result_json(r, null_mut(), null_mut(), &mut err),
        ufm_status::UFM_STATUS_NULL_POINTER
    );
    take(&mut err);
    // A NULL matrix data pointer for a non-empty view.
    let v = ufm_matrix_mut {
        data: null_mut(),
        nrows: 8,
        ncols: 12,
        row_stride: 12,
        col_stride: 1,
    };
    assert_eq!(
        ufm_trainer_get_param(t, 0, v, &mut err),
        ufm_status::UFM_STATUS_NULL_POINTER
    );
    take(&mut err);
    ufm_result_free(r);
    ufm_trainer_free(t);
    // Free functions accept NULL.
    ufm_trainer_free(null_mut());
    ufm_result_free(null_mut());
    ufm_error_free(null_mut());
    assert_eq!(
        unsafe { CStr::from_ptr(ufm_error_message(null())) }.to_bytes(),
        b""
    );
}

#[test]
fn freed_and_foreign_handles_are_refused() {
    let mut err = null_mut();
    let t = new_trainer(SMOKE);
    ufm_trainer_free(t);
    let mut steps = 0u64;
    assert_eq!(
        ufm_trainer_steps(t, &mut steps, &mut err),
        ufm_status::UFM_STATUS_INVALID_HANDLE
    );
    assert!(take(&mut err).contains("not a live"));
    ufm_trainer_free(t); // double free: ignored
                         // A result pointer passed as a trainer.
    let t = new_trainer(SMOKE);
    let mut r = null_mut();
    assert_eq!(
        ufm_trainer_result(t, &mut r, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(
        ufm_trainer_steps(r as *mut ufm_trainer, &mut steps, &mut err),
        ufm_status::UFM_STATUS_INVALID_HANDLE
    );
    take(&mut err);
    ufm_trainer_free(r as *mut ufm_trainer); // wrong type: ignored
    ufm_result_free(r);
    let mut p = null();
    assert_eq!(
        ufm_result_json(r, &mut p, null_mut(), &mut err),
        ufm_status::UFM_STATUS_INVALID_HANDLE
    );
    take(&mut err);
    ufm_trainer_free(t);
    // Errors too.
    let mut e2 = null_mut();
    ufm_job_validate(null(), &mut e2);
    ufm_error_free(e2);
    assert_eq!(ufm_error_status(e2), ufm_status::UFM_STATUS_INVALID_HANDLE);
    ufm_error_free(e2);
}

#[test]
fn invalid_jobs_name_the_field() {
    let mut err = null_mut();
    let bad = SMOKE.replace("\"width\": 8", "\"width\": 0");
    let j = cstr(&bad);
    assert_eq!(
        ufm_job_validate(j.as_ptr(), &mut err),
        ufm_status::UFM_STATUS_INVALID_JOB
    );
    assert!(take(&mut err).contains("model.width"));
    let mut t = null_mut();
    assert_eq!(
        ufm_trainer_new(j.as_ptr(), null(), &mut t, &mut err),
        ufm_status::UFM_STATUS_INVALID_JOB
    );
    assert!(t.is_null());
    take(&mut err);
    let j = cstr("{not json");
    assert_eq!(
        ufm_job_validate(j.as_ptr(), &mut err),
        ufm_status::UFM_STATUS_INVALID_JOB
    );
    take(&mut err);
    // A sweep is a valid job but not one trainer.
    let sweep = SMOKE.replace("\"train\"", "\"sweep\": {\"init.seed\": [1, 2]}, \"train\"");
    let j = cstr(&sweep);
    assert_eq!(
        ufm_job_validate(j.as_ptr(), &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(
        ufm_trainer_new(j.as_ptr(), null(), &mut t, &mut err),
        ufm_status::UFM_STATUS_INVALID_JOB
    );
    assert!(take(&mut err).contains("sweep"));
    // Invalid UTF-8.
    let raw = [b'{', 0xff, b'}', 0];
    assert_eq!(
        ufm_job_validate(raw.as_ptr() as *const c_char, &mut err),
        ufm_status::UFM_STATUS_INVALID_UTF8
    );
    take(&mut err);
    // A plugin library that does not exist.
    let plugin = SMOKE.replace(
        "{\"name\": \"gd\", \"lr\": 0.5}",
        "{\"plugin\": \"libx.so\", \"id\": \"x\", \"lr\": 0.1, \"params\": {}}",
    );
    // It reaches C as UFM_STATUS_PLUGIN (the engine's Plugin error kind), not as an invalid job.
    let j = cstr(&plugin);
    let s = ufm_trainer_new(j.as_ptr(), null(), &mut t, &mut err);
    assert_eq!(s, ufm_status::UFM_STATUS_PLUGIN);
    assert_eq!(
        take(&mut err),
        "ufm_trainer_new: optimizer.plugin: plugin libx.so: no such file"
    );
    // Validation makes the same check and reports it the same way (it said INVALID_JOB).
    assert_eq!(
        ufm_job_validate(j.as_ptr(), &mut err),
        ufm_status::UFM_STATUS_PLUGIN
    );
    assert_eq!(
        take(&mut err),
        "ufm_job_validate: optimizer.plugin: plugin libx.so: no such file"
    );
    // An initialiser plugin that is not there: the same status.
    let init_plugin = SMOKE.replace(
        "{\"name\": \"scaled\", \"scale\": 1.0, \"seed\": 1}",
        "{\"plugin\": \"liby.so\", \"id\": \"y\", \"params\": {}}",
    );
    let j = cstr(&init_plugin);
    let s = ufm_trainer_new(j.as_ptr(), null(), &mut t, &mut err);
    assert_eq!(s, ufm_status::UFM_STATUS_PLUGIN);
    assert_eq!(
        take(&mut err),
        "ufm_trainer_new: init.plugin: plugin liby.so: no such file"
    );
}

#[test]
fn plugin_load_refusals() {
    let mut err = null_mut();
    assert_eq!(
        ufm_plugin_load(null(), &mut err),
        ufm_status::UFM_STATUS_NULL_POINTER
    );
    take(&mut err);
    let p = cstr("/nonexistent/libnothing.so");
    assert_eq!(
        ufm_plugin_load(p.as_ptr(), &mut err),
        ufm_status::UFM_STATUS_PLUGIN
    );
    assert!(take(&mut err).contains("no such file"));
    // A file that is not a library.
    let p = cstr(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    assert_eq!(
        ufm_plugin_load(p.as_ptr(), &mut err),
        ufm_status::UFM_STATUS_PLUGIN
    );
    assert!(take(&mut err).contains("not a loadable library"));
}

#[test]
fn params_round_trip_in_both_layouts() {
    let t = new_trainer(SMOKE);
    let mut err = null_mut();
    let mut n = 0;
    assert_eq!(
        ufm_trainer_param_count(t, &mut n, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(n, 3);
    let (mut r, mut c) = (0, 0);
    ufm_trainer_param_shape(t, 0, &mut r, &mut c, &mut err);
    assert_eq!((r, c), (8, 12));
    let mut rm = vec![0.0; r * c];
    let mut cm = vec![0.0; r * c];
    assert_eq!(
        ufm_trainer_get_param(t, 0, view(&mut rm, r, c), &mut err),
        ufm_status::UFM_STATUS_OK
    );
    let colmajor = ufm_matrix_mut {
        data: cm.as_mut_ptr(),
        nrows: r,
        ncols: c,
        row_stride: 1,
        col_stride: r as isize,
    };
    ufm_trainer_get_param(t, 0, colmajor, &mut err);
    for i in 0..r {
        for j in 0..c {
            assert_eq!(rm[i * c + j], cm[i + j * r]);
        }
    }
    // Set a scaled copy and read the loss change.
    let mut before = sized::<ufm_loss>();
    ufm_trainer_loss(t, &mut before, &mut err);
    let scaled: Vec<f64> = rm.iter().map(|x| 2.0 * x).collect();
    assert_eq!(
        ufm_trainer_set_param(t, 0, cview(&scaled, r, c), &mut err),
        ufm_status::UFM_STATUS_OK
    );
    let mut after = sized::<ufm_loss>();
    ufm_trainer_loss(t, &mut after, &mut err);
    assert_ne!(before.reg, after.reg);
    let mut back = vec![0.0; r * c];
    ufm_trainer_get_param(t, 0, view(&mut back, r, c), &mut err);
    assert_eq!(back, scaled);
    // Gradient has the parameter's shape.
    let mut g = vec![0.0; r * c];
    assert_eq!(
        ufm_trainer_get_gradient(t, 0, view(&mut g, r, c), &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert!(g.iter().any(|&x| x != 0.0));

    // Refusals: wrong index, wrong shape, negative stride, zero stride, NaN, misalignment.
    let s = ufm_trainer_get_param(t, 3, view(&mut rm, r, c), &mut err);
    assert_eq!(s, ufm_status::UFM_STATUS_INVALID_ARGUMENT);
    assert!(take(&mut err).contains("index"));
    let s = ufm_trainer_get_param(t, 0, view(&mut rm, c, r), &mut err);
    assert_eq!(s, ufm_status::UFM_STATUS_SIZE_MISMATCH);
    take(&mut err);
    let s = ufm_trainer_set_param(t, 1, cview(&scaled, r, c), &mut err);
    assert_eq!(s, ufm_status::UFM_STATUS_SIZE_MISMATCH);
    take(&mut err);
    let mut v = view(&mut rm, r, c);
    v.row_stride = -1;
    assert_eq!(
        ufm_trainer_get_param(t, 0, v, &mut err),
        ufm_status::UFM_STATUS_INVALID_ARGUMENT
    );
    take(&mut err);
    let mut v = view(&mut rm, r, c);
    v.col_stride = 0;
    assert_eq!(
        ufm_trainer_get_param(t, 0, v, &mut err),
        ufm_status::UFM_STATUS_INVALID_ARGUMENT
    );
    take(&mut err);
    let mut v = view(&mut rm, r, c);
    v.row_stride = isize::MAX;
    assert_eq!(
        ufm_trainer_get_param(t, 0, v, &mut err),
        ufm_status::UFM_STATUS_INVALID_ARGUMENT
    );
    take(&mut err);
    let mut nan = scaled.clone();
    nan[5] = f64::NAN;
    assert_eq!(
        ufm_trainer_set_param(t, 0, cview(&nan, r, c), &mut err),
        ufm_status::UFM_STATUS_INVALID_ARGUMENT
    );
    assert!(take(&mut err).contains("not finite"));
    let bytes = vec![0u8; 8 * r * c + 8];
    let mis = ufm_matrix {
        data: unsafe { bytes.as_ptr().add(1) } as *const f64,
        nrows: r,
        ncols: c,
        row_stride: c as isize,
        col_stride: 1,
    };
    assert_eq!(
        ufm_trainer_set_param(t, 0, mis, &mut err),
        ufm_status::UFM_STATUS_INVALID_ARGUMENT
    );
    take(&mut err);
    // The refused calls changed nothing.
    ufm_trainer_get_param(t, 0, view(&mut back, r, c), &mut err);
    assert_eq!(back, scaled);
    ufm_trainer_free(t);
}

unsafe extern "C" fn count_progress(user: *mut c_void, _s: u64, _m: u64, _l: f64) {
    *(user as *mut u64) += 1;
}

unsafe extern "C" fn cancel_after_two(user: *mut c_void) -> std::ffi::c_int {
    (*(user as *mut u64) >= 2) as std::ffi::c_int
}

#[test]
fn run_step_cancel_and_result() {
    let mut err = null_mut();
    let t = new_trainer(SMOKE);
    let mut calls = 0u64;
    let mut status = ufm_run_status::UFM_RUN_FAILED;
    assert_eq!(
        ufm_trainer_run(
            t,
            Some(count_progress),
            Some(cancel_after_two),
            &mut calls as *mut u64 as *mut c_void,
            &mut status,
            &mut err
        ),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(status, ufm_run_status::UFM_RUN_CANCELLED);
    assert_eq!(calls, 2);
    let mut steps = 0;
    ufm_trainer_steps(t, &mut steps, &mut err);
    assert_eq!(steps, 100);
    // Manual steps.
    let mut done = 0;
    assert_eq!(
        ufm_trainer_step(t, 7, &mut done, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(done, 7);
    ufm_trainer_steps(t, &mut steps, &mut err);
    assert_eq!(steps, 107);
    let mut r = null_mut();
    ufm_trainer_result(t, &mut r, &mut err);
    let mut s = sized::<ufm_summary>();
    assert_eq!(
        ufm_result_summary(r, &mut s, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(s.steps, 107);
    assert_eq!(s.status, ufm_run_status::UFM_RUN_MAX_STEPS);
    // JSON parses and agrees.
    let mut p = null();
    let mut len = 0;
    ufm_result_json(r, &mut p, &mut len, &mut err);
    let text = unsafe { CStr::from_ptr(p) }.to_str().unwrap();
    assert_eq!(text.len(), len);
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(v["steps"], 107);
    assert!(v["message"].as_str().unwrap().contains("ufm_trainer_step"));
    // Arrays: shapes, size checks, unknown kinds.
    let (mut nr, mut nc) = (0, 0);
    ufm_result_array_shape(r, 0, &mut nr, &mut nc, &mut err);
    assert_eq!(nc, 5);
    let mut curve = vec![0.0; nr * nc];
    assert_eq!(
        ufm_result_array(r, 0, view(&mut curve, nr, nc), &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(curve[0], 0.0);
    assert_eq!(curve[nc], 50.0);
    // The dynamics array: one row per curve row, the same numbers as the curve's logit
    // columns and the result JSON's structure at the final row.
    let (mut dr, mut dc) = (0, 0);
    ufm_result_array_shape(r, 3, &mut dr, &mut dc, &mut err);
    assert_eq!((dr, dc), (nr, 11));
    let mut dynamics = vec![0.0; dr * dc];
    assert_eq!(
        ufm_result_array(r, 3, view(&mut dynamics, dr, dc), &mut err),
        ufm_status::UFM_STATUS_OK
    );
    let row = |i: usize, j: usize| dynamics[i * dc + j];
    for i in 0..dr {
        assert_eq!(row(i, 0), curve[i * nc], "step column");
    }
    // The trainer was moved by ufm_trainer_step after its last curve row (step 100 of 107):
    // check the rows' consistency (K = 4) and the step-0 row against the JSON's initial
    // alignment.
    for i in 0..dr {
        let (p, q) = (row(i, 7), row(i, 8));
        assert!(
            (p == -1.0 && q == -1.0) || (p >= 0.0 && 2.0 * p + q == 4.0),
            "{p} {q}"
        );
        assert!((-1.0..=1.0).contains(&row(i, 6)));
        assert!(row(i, 2) <= 3.0, "centred rank <= K - 1");
        assert!(row(i, 3) >= row(i, 4) && row(i, 4) >= row(i, 5));
    }
    assert_eq!(
        row(0, 6),
        v["dynamics"]["initial"]["simplex_cosine"].as_f64().unwrap()
    );
    ufm_result_array_shape(r, 2, &mut nr, &mut nc, &mut err);
    assert_eq!((nr, nc), (4, 4));
    let mut small = vec![0.0; 9];
    assert_eq!(
        ufm_result_array(r, 2, view(&mut small, 3, 3), &mut err),
        ufm_status::UFM_STATUS_SIZE_MISMATCH
    );
    take(&mut err);
    assert_eq!(
        ufm_result_array_shape(r, 7, &mut nr, &mut nc, &mut err),
        ufm_status::UFM_STATUS_INVALID_ARGUMENT
    );
    take(&mut err);
    ufm_result_free(r);
    // Running on continues to the job's max_steps.
    ufm_trainer_run(t, None, None, null_mut(), &mut status, &mut err);
    assert_eq!(status, ufm_run_status::UFM_RUN_MAX_STEPS);
    ufm_trainer_steps(t, &mut steps, &mut err);
    assert_eq!(steps, 200);
    ufm_trainer_free(t);
}

#[test]
fn analysis_on_caller_matrices() {
    let mut err = null_mut();
    // Features of 2 classes (2 columns each) in R^2: perfect collapse on a simplex.
    let f = [1.0, 1.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0];
    let sizes = [2usize, 2];
    let mut nc1 = -1.0;
    assert_eq!(
        ufm_nc_metric(0, cview(&f, 2, 4), sizes.as_ptr(), 2, &mut nc1, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(nc1, 0.0);
    let mut means = [0.0; 4];
    assert_eq!(
        ufm_class_means(
            cview(&f, 2, 4),
            sizes.as_ptr(),
            2,
            view(&mut means, 2, 2),
            &mut err
        ),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(means, [1.0, -1.0, 0.0, 0.0]);
    // Sizes that do not add up, K < 2, an empty class, unknown metric.
    let bad = [1usize, 2];
    assert_eq!(
        ufm_nc_metric(0, cview(&f, 2, 4), bad.as_ptr(), 2, &mut nc1, &mut err),
        ufm_status::UFM_STATUS_SIZE_MISMATCH
    );
    take(&mut err);
    assert_eq!(
        ufm_nc_metric(0, cview(&f, 2, 4), sizes.as_ptr(), 1, &mut nc1, &mut err),
        ufm_status::UFM_STATUS_INVALID_ARGUMENT
    );
    take(&mut err);
    let zero = [0usize, 4];
    assert_eq!(
        ufm_nc_metric(0, cview(&f, 2, 4), zero.as_ptr(), 2, &mut nc1, &mut err),
        ufm_status::UFM_STATUS_INVALID_ARGUMENT
    );
    take(&mut err);
    assert_eq!(
        ufm_nc_metric(9, cview(&f, 2, 4), sizes.as_ptr(), 2, &mut nc1, &mut err),
        ufm_status::UFM_STATUS_INVALID_ARGUMENT
    );
    take(&mut err);
    assert_eq!(
        ufm_nc_metric(0, cview(&f, 2, 4), null(), 2, &mut nc1, &mut err),
        ufm_status::UFM_STATUS_NULL_POINTER
    );
    take(&mut err);
    // Singular values with a size query.
    let m = [3.0, 0.0, 0.0, 0.0, 4.0, 0.0];
    let mut len = 0;
    assert_eq!(
        ufm_singular_values(cview(&m, 2, 3), null_mut(), 0, &mut len, &mut err),
        ufm_status::UFM_STATUS_BUFFER_TOO_SMALL
    );
    take(&mut err);
    assert_eq!(len, 2);
    let mut sv = [0.0; 2];
    assert_eq!(
        ufm_singular_values(cview(&m, 2, 3), sv.as_mut_ptr(), 2, &mut len, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert!((sv[0] - 4.0).abs() < 1e-14 && (sv[1] - 3.0).abs() < 1e-14);
    let mut rank = 0;
    ufm_relative_rank(sv.as_ptr(), 2, 0.5, &mut rank, &mut err);
    assert_eq!(rank, 2);
    assert_eq!(
        ufm_singular_values(cview(&[], 0, 3), sv.as_mut_ptr(), 2, &mut len, &mut err),
        ufm_status::UFM_STATUS_SIZE_MISMATCH
    );
    take(&mut err);
    // Simplex cosine and classification.
    let s = [0.5, -0.5, -0.5, 0.5];
    let mut cos = 0.0;
    ufm_simplex_cosine(cview(&s, 2, 2), &mut cos, &mut err);
    assert!((cos - 1.0).abs() < 1e-14);
    assert_eq!(
        ufm_simplex_cosine(cview(&m, 2, 3), &mut cos, &mut err),
        ufm_status::UFM_STATUS_SIZE_MISMATCH
    );
    take(&mut err);
    let z = [2.0, 2.0, -2.0, -2.0, -2.0, -2.0, 2.0, 2.0];
    let mut class = ufm_classification::UFM_CLASS_OTHER;
    assert_eq!(
        ufm_classify(
            cview(&z, 2, 4),
            sizes.as_ptr(),
            2,
            1e-6,
            &mut class,
            &mut err
        ),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(class, ufm_classification::UFM_CLASS_DNC);
    assert_eq!(
        ufm_classify(
            cview(&z, 2, 4),
            sizes.as_ptr(),
            2,
            2.0,
            &mut class,
            &mut err
        ),
        ufm_status::UFM_STATUS_INVALID_ARGUMENT
    );
    take(&mut err);
    // NC3 shape check.
    let w = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let mut nc3 = 0.0;
    assert_eq!(
        ufm_nc3(
            cview(&w, 2, 3),
            cview(&f, 2, 4),
            sizes.as_ptr(),
            2,
            &mut nc3,
            &mut err
        ),
        ufm_status::UFM_STATUS_SIZE_MISMATCH
    );
    take(&mut err);
    assert_eq!(
        ufm_nc3(
            cview(&w, 3, 2),
            cview(&f, 2, 4),
            sizes.as_ptr(),
            2,
            &mut nc3,
            &mut err
        ),
        ufm_status::UFM_STATUS_OK
    );
}

#[test]
fn theory_closed_forms() {
    let mut err = null_mut();
    let mut c = sized::<ufm_compare>();
    let lambda = 2f64.powi(-10);
    assert_eq!(
        ufm_theory_compare(10, 5, 2, lambda, &mut c, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    let want = engine::theory::compare(10, 5, 2, lambda).unwrap();
    assert_eq!(c.dnc_loss, want.dnc.loss);
    assert_eq!(c.low_rank_loss, want.low_rank.loss);
    assert_eq!(c.theorem1_holds, 1);
    let mut l = 0.0;
    ufm_theory_loss(0, 10, 5, 2, lambda, c.dnc_scale, &mut l, &mut err);
    assert_eq!(l, c.dnc_loss);
    let mut len = 0;
    assert_eq!(
        ufm_theory_critical_scales(0, 10, 5, 2, lambda, null_mut(), 0, &mut len, &mut err),
        ufm_status::UFM_STATUS_BUFFER_TOO_SMALL
    );
    take(&mut err);
    let mut roots = vec![0.0; len];
    assert_eq!(
        ufm_theory_critical_scales(
            0,
            10,
            5,
            2,
            lambda,
            roots.as_mut_ptr(),
            len,
            &mut len,
            &mut err
        ),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(roots, engine::theory::dnc_roots(10, 5, 2, lambda));
    let mut lm = 0.0;
    ufm_theory_lambda_max(1, 10, 5, 2, &mut lm, &mut err);
    assert_eq!(lm, engine::theory::low_rank_lambda_max(10, 5, 2));
    for (k, n, layers, lam) in [
        (1, 5, 2, lambda),
        (10, 0, 2, lambda),
        (10, 5, 0, lambda),
        (10, 5, 2, -1.0),
        (10, 5, 2, f64::NAN),
    ] {
        assert_eq!(
            ufm_theory_compare(k, n, layers, lam, &mut c, &mut err),
            ufm_status::UFM_STATUS_INVALID_ARGUMENT
        );
        take(&mut err);
    }
    assert_eq!(
        ufm_theory_loss(2, 10, 5, 2, lambda, 1.0, &mut l, &mut err),
        ufm_status::UFM_STATUS_INVALID_ARGUMENT
    );
    take(&mut err);
    assert_eq!(
        ufm_theory_loss(0, 10, 5, 2, lambda, -1.0, &mut l, &mut err),
        ufm_status::UFM_STATUS_INVALID_ARGUMENT
    );
    take(&mut err);
}

#[test]
fn theory_family_and_its_hessian_verdict() {
    // The family through C equals the engine's (closed forms) at the Figure-1 setting, the
    // buffer protocol works, and the Hessian verdict matches `ufm theory compare`'s.
    let mut err = null_mut();
    let lambda = 2f64.powi(-10);
    let mut len = 0;
    assert_eq!(
        ufm_theory_family(10, 5, 2, lambda, null_mut(), 0, &mut len, &mut err),
        ufm_status::UFM_STATUS_BUFFER_TOO_SMALL
    );
    take(&mut err);
    assert_eq!(len, 5); // p = 0, 1, 2, 3, 5 (q = 2 is one more pair)
    let mut m = vec![sized::<ufm_family_member>(); len];
    assert_eq!(
        ufm_theory_family(10, 5, 2, lambda, m.as_mut_ptr(), len, &mut len, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    let want = engine::theory::family_rows(10, 5, 2, lambda, None).unwrap();
    for (a, b) in m.iter().zip(&want) {
        assert_eq!(
            (a.pairs, a.simplex_size, a.rank),
            (b.pairs, b.simplex_size, b.rank)
        );
        assert_eq!(a.loss, b.loss);
    }
    assert!(m[0].pair_scale.is_nan() && m[4].simplex_scale.is_nan());
    // Rank 8 and rank 7 members: the GD losses of issue 12.
    assert!((m[1].loss - 0.0884334205).abs() < 1e-10 && (m[2].loss - 0.0860816013).abs() < 1e-10);
    let (mut verdict, mut negative, mut smallest) =
        (ufm_hessian_verdict::UFM_HESSIAN_OTHER, 0usize, 0.0);
    let rows = engine::theory::compare_with_hessian(6, 2, 3, 1e-2, 6)
        .unwrap()
        .family;
    for r in rows {
        assert_eq!(
            ufm_theory_family_hessian(
                6,
                2,
                3,
                1e-2,
                r.pairs,
                6,
                &mut verdict,
                &mut negative,
                &mut smallest,
                &mut err
            ),
            ufm_status::UFM_STATUS_OK
        );
        let h = r.hessian.unwrap();
        let name = match verdict {
            ufm_hessian_verdict::UFM_HESSIAN_MINIMUM => "minimum",
            ufm_hessian_verdict::UFM_HESSIAN_DEGENERATE => "degenerate",
            ufm_hessian_verdict::UFM_HESSIAN_STRICT_SADDLE => "strict_saddle",
            ufm_hessian_verdict::UFM_HESSIAN_OTHER => "other",
        };
        assert_eq!(name, h.classification);
        assert_eq!(Some(negative), h.negative);
        assert_eq!(Some(smallest), h.smallest_beyond_symmetry);
    }
    // Refusals name the argument: a simplex over 2 classes, too narrow, too many pairs.
    for (pairs, width, what) in [(2, 6, "pairs"), (0, 5, "width"), (4, 6, "pairs")] {
        assert_eq!(
            ufm_theory_family_hessian(
                6,
                2,
                3,
                1e-2,
                pairs,
                width,
                &mut verdict,
                &mut negative,
                &mut smallest,
                &mut err
            ),
            ufm_status::UFM_STATUS_INVALID_ARGUMENT
        );
        assert!(take(&mut err).contains(what));
    }
    // Sizes whose parameter count overflows usize are refused, not wrapped into a small count
    // (the fuzzing harness found the wrapped count reaching an allocation that panicked).
    let huge = [
        (usize::MAX, usize::MAX, 2, 6),
        (1 << 40, 1 << 40, 2, 1 << 30),
        (6, 2, usize::MAX, 8),
    ];
    for (k, n, l, width) in huge {
        assert_eq!(
            ufm_theory_family_hessian(
                k,
                n,
                l,
                1e-2,
                1,
                width,
                &mut verdict,
                &mut negative,
                &mut smallest,
                &mut err
            ),
            ufm_status::UFM_STATUS_INVALID_ARGUMENT,
            "K = {k}, n = {n}, L = {l}, width = {width}"
        );
        assert!(take(&mut err).contains("width"));
    }
}

#[test]
fn separate_handles_on_separate_threads() {
    // Two trainers of the same job trained at once on two threads end bit-identical.
    let losses: Vec<u64> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                let t = new_trainer(SMOKE);
                let mut err = null_mut();
                ufm_trainer_run(t, None, None, null_mut(), null_mut(), &mut err);
                let mut l = sized::<ufm_loss>();
                ufm_trainer_loss(t, &mut l, &mut err);
                ufm_trainer_free(t);
                l.loss.to_bits()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert_eq!(losses[0], losses[1]);
}

/// Issue 10 through the C API: inputs that returned UFM_STATUS_PANIC now give the status the
/// CLI's exit status mirrors (docs/c-api.md, "Exit statuses and C API statuses").
#[test]
fn hostile_inputs_get_the_statuses_the_cli_exit_statuses_mirror() {
    let job = |patch: &str, value: serde_json::Value| {
        let mut j: serde_json::Value = serde_json::from_str(SMOKE).unwrap();
        let (section, field) = patch.split_once('.').unwrap();
        j[section][field] = value;
        j.to_string()
    };
    // Invalid input (CLI exit 2) -> UFM_STATUS_INVALID_JOB, from validate and from trainer_new.
    for text in [
        job("model.width", serde_json::json!(9223372036854775808u64)),
        job("model.classes", serde_json::json!(2147483648u64)),
        job("optimizer.plugin", serde_json::json!("nosuch.so")),
        job("init.name", serde_json::json!("npy")),
    ] {
        let j = cstr(&text);
        let mut err = null_mut();
        assert_eq!(
            ufm_job_validate(j.as_ptr(), &mut err),
            ufm_status::UFM_STATUS_INVALID_JOB,
            "{text}"
        );
        take(&mut err);
        let mut t = null_mut();
        assert_eq!(
            ufm_trainer_new(j.as_ptr(), null(), &mut t, &mut err),
            ufm_status::UFM_STATUS_INVALID_JOB,
            "{text}"
        );
        take(&mut err);
    }
    // lambda = 0 (used to panic in ufm_trainer_result): a finished run, references NaN.
    let t = new_trainer(&job("model.lambda", serde_json::json!(0)));
    let mut status = ufm_run_status::UFM_RUN_CONVERGED;
    let mut err = null_mut();
    assert_eq!(
        ufm_trainer_run(t, None, None, null_mut(), &mut status, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    let mut r = null_mut();
    assert_eq!(
        ufm_trainer_result(t, &mut r, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    let mut s = sized::<ufm_summary>();
    assert_eq!(
        ufm_result_summary(r, &mut s, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert!(s.dnc_loss.is_nan() && s.low_rank_loss.is_nan());
    ufm_result_free(r);
    ufm_trainer_free(t);
    // A diverged run (CLI exit 1) -> UFM_RUN_DIVERGED, and its result (with the Hessian asked
    // for, which used to panic) is still available.
    let mut j: serde_json::Value = serde_json::from_str(SMOKE).unwrap();
    j["optimizer"]["lr"] = 1e6.into();
    j["analysis"] = serde_json::json!({"hessian": true});
    let t = new_trainer(&j.to_string());
    assert_eq!(
        ufm_trainer_run(t, None, None, null_mut(), &mut status, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(status, ufm_run_status::UFM_RUN_DIVERGED);
    assert_eq!(
        ufm_trainer_result(t, &mut r, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    ufm_result_free(r);
    ufm_trainer_free(t);
    // A view that repeats one element 2^20 x 2^20 times (8 TiB as a copy) is refused, not
    // copied; 2^40 x 2^40 elements do not even have a size.
    let one = [1.0];
    for (n, want) in [
        (1usize << 20, "repeats elements"),
        (1 << 40, "do not fit in memory"),
    ] {
        let huge = ufm_matrix {
            data: one.as_ptr(),
            nrows: n,
            ncols: n,
            row_stride: 0,
            col_stride: 0,
        };
        let mut len = 0;
        assert_eq!(
            ufm_singular_values(huge, null_mut(), 0, &mut len, &mut err),
            ufm_status::UFM_STATUS_INVALID_ARGUMENT
        );
        let m = take(&mut err);
        assert!(m.contains(want), "{m}");
    }
}

/// An out-struct as a C caller prepares it: zeroed, `struct_size = sizeof`.
fn sized<T: crate::versioned::Versioned>() -> T {
    // SAFETY: the out-structs are plain-old-data of numbers and C enums whose 0 is a valid
    // value; `struct_size: usize` is their first field.
    unsafe {
        let mut v: T = std::mem::zeroed();
        std::ptr::from_mut(&mut v)
            .cast::<usize>()
            .write(std::mem::size_of::<T>());
        v
    }
}

/// An out-struct as a caller built against a later ufm.h sees it: the struct of today followed
/// by a field appended later (which this library does not know and must not touch).
#[repr(C)]
#[derive(Clone, Copy)]
struct Grown<T> {
    known: T,
    appended: f64,
}

fn grown<T: crate::versioned::Versioned>() -> Grown<T> {
    let mut g = Grown {
        known: sized::<T>(),
        appended: 12345.0,
    };
    // SAFETY: `known` starts with `struct_size`.
    unsafe {
        std::ptr::from_mut(&mut g.known)
            .cast::<usize>()
            .write(std::mem::size_of::<Grown<T>>())
    };
    g
}

#[test]
fn versioned_out_structs_check_struct_size() {
    let mut err = null_mut();
    let lambda = 2f64.powi(-10);
    let t = new_trainer(SMOKE);
    let mut r = null_mut();
    assert_eq!(
        ufm_trainer_result(t, &mut r, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    // struct_size 0 (never set) and one byte short are refused before anything is written.
    for short in [0, std::mem::size_of::<ufm_summary>() - 1] {
        let mut s = sized::<ufm_summary>();
        s.struct_size = short;
        s.loss = -7.0;
        assert_eq!(
            ufm_result_summary(r, &mut s, &mut err),
            ufm_status::UFM_STATUS_STRUCT_SIZE
        );
        let m = take(&mut err);
        assert!(
            m.contains("out.struct_size") && m.contains("sizeof(ufm_summary)"),
            "{m}"
        );
        assert_eq!((s.struct_size, s.loss), (short, -7.0), "nothing written");
    }
    let mut l = sized::<ufm_loss>();
    l.struct_size = 8;
    assert_eq!(
        ufm_trainer_loss(t, &mut l, &mut err),
        ufm_status::UFM_STATUS_STRUCT_SIZE
    );
    assert!(take(&mut err).contains("sizeof(ufm_loss)"));
    let mut c = sized::<ufm_compare>();
    c.struct_size = 0;
    assert_eq!(
        ufm_theory_compare(10, 5, 2, lambda, &mut c, &mut err),
        ufm_status::UFM_STATUS_STRUCT_SIZE
    );
    assert!(take(&mut err).contains("sizeof(ufm_compare)"));
    let mut m = vec![sized::<ufm_family_member>(); 5];
    m[0].struct_size = 3;
    let mut len = 0;
    assert_eq!(
        ufm_theory_family(10, 5, 2, lambda, m.as_mut_ptr(), 5, &mut len, &mut err),
        ufm_status::UFM_STATUS_STRUCT_SIZE
    );
    assert!(take(&mut err).contains("members[0].struct_size"));
    assert_eq!(m[1].loss, 0.0, "nothing written");

    // A caller built against a later header (a field appended): the known fields are written,
    // the appended one and struct_size are left as the caller set them.
    let mut want = sized::<ufm_summary>();
    ufm_result_summary(r, &mut want, &mut err);
    let mut g = grown::<ufm_summary>();
    assert_eq!(
        ufm_result_summary(r, &mut g.known, &mut err),
        ufm_status::UFM_STATUS_OK
    );
    assert_eq!(
        g.known.struct_size,
        std::mem::size_of::<Grown<ufm_summary>>()
    );
    assert_eq!(g.known.loss.to_bits(), want.loss.to_bits());
    assert_eq!(g.known.steps, want.steps);
    assert_eq!(g.appended, 12345.0);
    let mut gl = grown::<ufm_loss>();
    ufm_trainer_loss(t, &mut gl.known, &mut err);
    assert!(gl.known.loss > 0.0 && gl.appended == 12345.0);
    let mut gc = grown::<ufm_compare>();
    ufm_theory_compare(10, 5, 2, lambda, &mut gc.known, &mut err);
    assert!(gc.known.theorem1_holds == 1 && gc.appended == 12345.0);
    // An array of grown members: the element size is the caller's, every element is filled.
    let mut gm = vec![grown::<ufm_family_member>(); 5];
    assert_eq!(
        ufm_theory_family(
            10,
            5,
            2,
            lambda,
            gm.as_mut_ptr().cast(),
            5,
            &mut len,
            &mut err
        ),
        ufm_status::UFM_STATUS_OK
    );
    let rows = engine::theory::family_rows(10, 5, 2, lambda, None).unwrap();
    for (g, want) in gm.iter().zip(&rows) {
        assert_eq!(g.known.pairs, want.pairs);
        assert_eq!(g.known.loss, want.loss);
        assert_eq!(
            g.known.struct_size,
            std::mem::size_of::<Grown<ufm_family_member>>()
        );
        assert_eq!(g.appended, 12345.0);
    }
    // An element size that is not a multiple of the alignment is refused.
    let mut m = vec![sized::<ufm_family_member>(); 6];
    m[0].struct_size = std::mem::size_of::<ufm_family_member>() + 1;
    assert_eq!(
        ufm_theory_family(10, 5, 2, lambda, m.as_mut_ptr(), 5, &mut len, &mut err),
        ufm_status::UFM_STATUS_INVALID_ARGUMENT
    );
    take(&mut err);
    ufm_result_free(r);
    ufm_trainer_free(t);
}

#[test]
fn result_write_writes_the_run_folder() {
    let mut err = null_mut();
    let t = new_trainer(SMOKE);
    let mut status = ufm_run_status::UFM_RUN_FAILED;
    ufm_trainer_run(t, None, None, null_mut(), &mut status, &mut err);
    let mut r = null_mut();
    ufm_trainer_result(t, &mut r, &mut err);
    let dir = std::env::temp_dir().join(format!("ufm-ffi-write-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let nested = dir.join("a/b");
    let d = cstr(nested.to_str().unwrap());
    assert_eq!(
        ufm_result_write(r, d.as_ptr(), &mut err),
        ufm_status::UFM_STATUS_OK
    );
    // result.json is the text ufm_result_json hands out; the parameters are the trainer's.
    let mut p = null();
    let mut n = 0;
    ufm_result_json(r, &mut p, &mut n, &mut err);
    let json = unsafe { CStr::from_ptr(p) }.to_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(nested.join("result.json")).unwrap(),
        json
    );
    let curve = std::fs::read_to_string(nested.join("curve.csv")).unwrap();
    // The first five columns of every ufm (the dynamics columns follow them).
    assert!(curve.starts_with("step,loss,fit,reg,grad_norm,"), "{curve}");
    assert_eq!(curve.lines().count(), 1 + 200 / 50 + 1, "{curve}");
    let h1 = engine::io::npy::read_matrix(&nested.join("params/H1.npy")).unwrap();
    let mut want = vec![0.0; 8 * 12];
    ufm_trainer_get_param(t, 0, view(&mut want, 8, 12), &mut err);
    assert_eq!((h1.nrows(), h1.ncols()), (8, 12));
    for i in 0..8 {
        for j in 0..12 {
            assert_eq!(h1[(i, j)].to_bits(), want[i * 12 + j].to_bits());
        }
    }
    for f in ["W1.npy", "W2.npy"] {
        assert!(nested.join("params").join(f).is_file(), "{f}");
    }
    // Refusals: NULL, a freed handle, a folder that cannot be made (a file in the way).
    assert_eq!(
        ufm_result_write(r, null(), &mut err),
        ufm_status::UFM_STATUS_NULL_POINTER
    );
    assert!(take(&mut err).contains("dir"));
    let blocked = cstr(nested.join("result.json/x").to_str().unwrap());
    assert_eq!(
        ufm_result_write(r, blocked.as_ptr(), &mut err),
        ufm_status::UFM_STATUS_RUNTIME
    );
    assert!(take(&mut err).contains("cannot write into"));
    PANIC_IN.with(|p| p.set(Some("ufm_result_write")));
    let s = ufm_result_write(r, d.as_ptr(), &mut err);
    PANIC_IN.with(|p| p.set(None));
    assert_eq!(s, ufm_status::UFM_STATUS_PANIC);
    take(&mut err);
    ufm_result_free(r);
    assert_eq!(
        ufm_result_write(r, d.as_ptr(), &mut err),
        ufm_status::UFM_STATUS_INVALID_HANDLE
    );
    take(&mut err);
    ufm_trainer_free(t);
    let _ = std::fs::remove_dir_all(&dir);
}

/// With `train.record_spectra`, `ufm_result_write` writes spectra.csv too, byte for byte the
/// file the engine's run path (`ufm run`: `run::execute` then `run::write_folder`) writes; its
/// steps are curve.csv's and each step lists min(rows, cols) values per matrix.
#[test]
fn result_write_writes_spectra_when_recorded() {
    let text = SMOKE.replace(
        "\"record_every\": 50",
        "\"record_every\": 50, \"record_spectra\": true",
    );
    assert_ne!(text, SMOKE);
    let mut err = null_mut();
    let t = new_trainer(&text);
    let mut status = ufm_run_status::UFM_RUN_FAILED;
    ufm_trainer_run(t, None, None, null_mut(), &mut status, &mut err);
    let mut r = null_mut();
    ufm_trainer_result(t, &mut r, &mut err);
    let root = std::env::temp_dir().join(format!("ufm-ffi-spectra-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (c_dir, engine_dir) = (root.join("c"), root.join("engine"));
    let d = cstr(c_dir.to_str().unwrap());
    assert_eq!(
        ufm_result_write(r, d.as_ptr(), &mut err),
        ufm_status::UFM_STATUS_OK
    );
    let job = engine::job::parse_job(&text).unwrap();
    let spec = engine::job::validate(&job).unwrap();
    let out =
        engine::run::execute(&job, &spec, std::path::Path::new(""), None, &mut |_| {}).unwrap();
    engine::run::write_folder(&engine_dir, &out).unwrap();
    let spectra = std::fs::read_to_string(c_dir.join("spectra.csv")).unwrap();
    assert_eq!(
        spectra,
        std::fs::read_to_string(engine_dir.join("spectra.csv")).unwrap()
    );
    // H1 is 8 x 12, W1 8 x 8, W2 4 x 8: 8 + 8 + 4 values per recorded step.
    let curve = std::fs::read_to_string(c_dir.join("curve.csv")).unwrap();
    let steps: Vec<&str> = curve
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let lines: Vec<&str> = spectra.lines().skip(1).collect();
    assert_eq!(lines.len(), steps.len() * (8 + 8 + 4), "{spectra}");
    for step in &steps {
        let at = lines
            .iter()
            .filter(|l| l.split(',').next() == Some(step))
            .count();
        assert_eq!(at, 8 + 8 + 4, "step {step}");
    }
    ufm_result_free(r);
    ufm_trainer_free(t);
    let _ = std::fs::remove_dir_all(&root);
}
