//! `libufm`: the C ABI of the ufm engine (docs/c-api.md). The header `include/ufm.h` is
//! generated from this crate by cbindgen (see `tests/header.rs`).
//!
//! Conventions, as in rustls-ffi:
//! - every fallible export returns a [`ufm_status`] and takes an optional `ufm_error **err`
//!   that receives a message on failure;
//! - every export runs inside `guard` (or `guard_value`), so a panic becomes
//!   `UFM_STATUS_PANIC` and never unwinds into the host;
//! - handles are registered in a process-wide table while alive, so a null, freed or wrongly
//!   typed handle is refused instead of dereferenced (as long as its address was not reused).
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]
// The exports are called from C with raw pointers whose validity is the documented contract of
// each function (as in rustls-ffi); marking them `unsafe fn` would change nothing for C callers.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

mod analysis;
mod analyze;
mod matrix;
mod result;
mod theory;
mod trainer;
mod versioned;

pub use analysis::*;
pub use matrix::*;
pub use result::*;
pub use theory::*;
pub use trainer::*;

/// The ABI version: bumped on every incompatible change of `ufm.h`.
const ABI_VERSION: u32 = 2;

/// The result of every fallible call. Values are explicit and never reused.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ufm_status {
    /// Success.
    UFM_STATUS_OK = 0,
    /// A panic inside the library was caught at the boundary (a bug in ufm: please report it).
    /// The handle involved may be in an unspecified (but memory-safe) state; free it.
    UFM_STATUS_PANIC = 1,
    /// A required pointer argument was NULL.
    UFM_STATUS_NULL_POINTER = 2,
    /// An argument is out of range or inconsistent (index, stride, non-finite value, ...).
    UFM_STATUS_INVALID_ARGUMENT = 3,
    /// The job JSON is malformed or invalid; the message names the field.
    UFM_STATUS_INVALID_JOB = 4,
    /// A matrix view has the wrong shape.
    UFM_STATUS_SIZE_MISMATCH = 5,
    /// A caller buffer is too small; the required size was written where the call says.
    UFM_STATUS_BUFFER_TOO_SMALL = 6,
    /// A handle is not a live handle of the expected type (freed, or never created).
    UFM_STATUS_INVALID_HANDLE = 7,
    /// A failure while running (e.g. an optimiser error, a file that cannot be read).
    UFM_STATUS_RUNTIME = 8,
    /// A string argument is not valid UTF-8.
    UFM_STATUS_INVALID_UTF8 = 9,
    /// The request is valid but not supported by this build.
    UFM_STATUS_UNSUPPORTED = 10,
    /// A plugin library cannot be loaded or fails the plugin ABI checks.
    UFM_STATUS_PLUGIN = 11,
    /// An out-struct's `struct_size` (set by the caller to `sizeof` the struct) is smaller than
    /// the smallest version of that struct this library knows: not set, or a foreign struct.
    UFM_STATUS_STRUCT_SIZE = 12,
}

/// An error: a status and a message. Created by the library, freed with `ufm_error_free`.
pub struct ufm_error {
    status: ufm_status,
    message: CString,
}

/// An error on its way out of a call.
#[derive(Debug)]
pub(crate) struct Error {
    pub status: ufm_status,
    pub message: String,
}

impl Error {
    pub fn new(status: ufm_status, message: impl Into<String>) -> Error {
        Error {
            status,
            message: message.into(),
        }
    }
    pub fn arg(message: impl Into<String>) -> Error {
        Error::new(ufm_status::UFM_STATUS_INVALID_ARGUMENT, message)
    }
    pub fn null(what: &str) -> Error {
        Error::new(
            ufm_status::UFM_STATUS_NULL_POINTER,
            format!("{what}: must not be NULL"),
        )
    }
}

/// The engine's errors as C statuses: one match on the kind (the CLI's exit statuses are the
/// same match in engine/src/bin/cli/exit.rs). Input to a run (a job field, an `.npy` start, a
/// limit) is `UFM_STATUS_INVALID_JOB`; a plugin that cannot be loaded, lacks the id or refuses
/// its params is `UFM_STATUS_PLUGIN`; an argument out of range (a theory function's `classes`,
/// `lambda`, ...) is `UFM_STATUS_INVALID_ARGUMENT`; everything else `UFM_STATUS_RUNTIME`.
impl From<engine::Error> for Error {
    fn from(e: engine::Error) -> Error {
        use engine::ErrorKind as K;
        let status = match e.kind() {
            K::Job | K::Input | K::Limit => ufm_status::UFM_STATUS_INVALID_JOB,
            K::Plugin => ufm_status::UFM_STATUS_PLUGIN,
            K::Argument => ufm_status::UFM_STATUS_INVALID_ARGUMENT,
            K::Io | K::Numerical | K::Runtime | K::RunEnded | K::Cancelled => {
                ufm_status::UFM_STATUS_RUNTIME
            }
        };
        Error::new(status, e.to_string())
    }
}

pub(crate) type Res<T> = Result<T, Error>;

// ---------------------------------------------------------------------------------------------
// Handle registry.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Trainer,
    Result,
    Error,
}

static LIVE: Mutex<BTreeMap<usize, Kind>> = Mutex::new(BTreeMap::new());

fn live() -> std::sync::MutexGuard<'static, BTreeMap<usize, Kind>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Box `value`, register it as a live handle of `kind` and return the raw pointer.
pub(crate) fn register<T>(value: T, kind: Kind) -> *mut T {
    let p = Box::into_raw(Box::new(value));
    live().insert(p as usize, kind);
    p
}

/// Is `p` a live handle of `kind`?
pub(crate) fn is_live<T>(p: *const T, kind: Kind) -> bool {
    live().get(&(p as usize)) == Some(&kind)
}

/// Unregister and drop a handle; a no-op for NULL and for pointers that are not live handles of
/// `kind` (double frees are ignored instead of corrupting memory).
pub(crate) fn release<T>(p: *mut T, kind: Kind) {
    if p.is_null() {
        return;
    }
    let removed = {
        let mut l = live();
        if l.get(&(p as usize)) == Some(&kind) {
            l.remove(&(p as usize));
            true
        } else {
            false
        }
    };
    if removed {
        // SAFETY: `p` came from `register` with the same `T` (kinds map one-to-one to types)
        // and was live until just now.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// Borrow a live handle.
pub(crate) fn handle<'a, T>(p: *mut T, kind: Kind, what: &str) -> Res<&'a mut T> {
    if p.is_null() {
        return Err(Error::null(what));
    }
    if !is_live(p, kind) {
        return Err(Error::new(
            ufm_status::UFM_STATUS_INVALID_HANDLE,
            format!("{what}: not a live {kind:?} handle (freed, or never created by ufm)"),
        ));
    }
    // SAFETY: live handles point to a boxed `T`; the caller promises not to use the handle from
    // two threads at once (documented on every function).
    Ok(unsafe { &mut *p })
}

/// Borrow a live handle through a read-only pointer (the getters that take `const T *`).
pub(crate) fn handle_ref<'a, T>(p: *const T, kind: Kind, what: &str) -> Res<&'a T> {
    handle(p.cast_mut(), kind, what).map(|r| &*r)
}

// ---------------------------------------------------------------------------------------------
// The panic boundary.

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Store `e` in `*err` when `err` is not NULL and return its status.
fn report(e: Error, err: *mut *mut ufm_error) -> ufm_status {
    let status = e.status;
    if !err.is_null() {
        let message = CString::new(e.message.replace('\0', "\\0")).unwrap_or_default();
        let boxed = register(ufm_error { status, message }, Kind::Error);
        // SAFETY: `err` is non-null and the caller promises it points to writable storage.
        unsafe { *err = boxed };
    }
    status
}

/// Run `f` at the C boundary: `Ok` becomes `UFM_STATUS_OK`, an error or a panic becomes its
/// status (and a `ufm_error` in `*err`).
pub(crate) fn guard<F: FnOnce() -> Res<()>>(
    name: &str,
    err: *mut *mut ufm_error,
    f: F,
) -> ufm_status {
    let e = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => return ufm_status::UFM_STATUS_OK,
        Ok(Err(e)) => Error {
            status: e.status,
            message: format!("{name}: {}", e.message),
        },
        Err(payload) => Error::new(
            ufm_status::UFM_STATUS_PANIC,
            format!(
                "{name}: internal panic (a bug in ufm): {}",
                panic_message(&*payload)
            ),
        ),
    };
    // Building the error cannot panic in practice; if it did, there is nothing left to report.
    catch_unwind(AssertUnwindSafe(|| report(e, err))).unwrap_or(ufm_status::UFM_STATUS_PANIC)
}

/// Run an infallible export at the boundary: a panic returns `fallback`.
pub(crate) fn guard_value<T, F: FnOnce() -> T>(fallback: T, f: F) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

#[cfg(test)]
thread_local! {
    /// Test hook: the name of an export that should panic (drives the panic path in tests).
    pub(crate) static PANIC_IN: std::cell::Cell<Option<&'static str>> =
        const { std::cell::Cell::new(None) };
}

/// In tests, panic when [`PANIC_IN`] names `name`; compiled out otherwise.
#[inline]
pub(crate) fn fail_point(_name: &'static str) {
    #[cfg(test)]
    if PANIC_IN.with(|p| p.get()) == Some(_name) {
        panic!("injected panic in {_name}");
    }
}

/// A required out-pointer.
pub(crate) fn out<'a, T>(p: *mut T, what: &str) -> Res<&'a mut T> {
    if p.is_null() {
        Err(Error::null(what))
    } else {
        // SAFETY: non-null; the caller promises it is valid for writes of a `T`.
        Ok(unsafe { &mut *p })
    }
}

/// A required NUL-terminated UTF-8 string.
pub(crate) fn c_str<'a>(p: *const c_char, what: &str) -> Res<&'a str> {
    if p.is_null() {
        return Err(Error::null(what));
    }
    // SAFETY: non-null; the caller promises a NUL-terminated string.
    unsafe { CStr::from_ptr(p) }.to_str().map_err(|e| {
        Error::new(
            ufm_status::UFM_STATUS_INVALID_UTF8,
            format!("{what}: not valid UTF-8: {e}"),
        )
    })
}

/// A required array of `len` elements (NULL allowed when `len` is 0).
pub(crate) fn slice<'a, T>(p: *const T, len: usize, what: &str) -> Res<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::null(what));
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Error::arg(format!("{what}: misaligned pointer")));
    }
    // SAFETY: non-null, aligned; the caller promises `len` readable elements.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

// ---------------------------------------------------------------------------------------------
// Versions and errors.

static VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(s) => s,
        Err(_) => panic!("version string"),
    };

/// The library version, e.g. "0.1.0" (equal to `UFM_VERSION_STRING` of the header the library
/// was built with).
///
/// Ownership: the string is static; do not free it. Thread safety: may be called from any
/// thread at any time.
#[no_mangle]
pub extern "C" fn ufm_version() -> *const c_char {
    VERSION.as_ptr()
}

/// The ABI version of the library. Compare it with `UFM_ABI_VERSION` from the header at start-up:
/// a program must not use a library with another ABI version.
///
/// Thread safety: may be called from any thread at any time.
#[no_mangle]
pub extern "C" fn ufm_abi_version() -> u32 {
    ABI_VERSION
}

/// A static, human-readable name of a status, e.g. "UFM_STATUS_PANIC" ("UFM_STATUS_UNKNOWN" for
/// values this library does not know).
///
/// Ownership: the string is static; do not free it. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn ufm_status_name(status: i32) -> *const c_char {
    let s: &'static CStr = match status {
        0 => c"UFM_STATUS_OK",
        1 => c"UFM_STATUS_PANIC",
        2 => c"UFM_STATUS_NULL_POINTER",
        3 => c"UFM_STATUS_INVALID_ARGUMENT",
        4 => c"UFM_STATUS_INVALID_JOB",
        5 => c"UFM_STATUS_SIZE_MISMATCH",
        6 => c"UFM_STATUS_BUFFER_TOO_SMALL",
        7 => c"UFM_STATUS_INVALID_HANDLE",
        8 => c"UFM_STATUS_RUNTIME",
        9 => c"UFM_STATUS_INVALID_UTF8",
        10 => c"UFM_STATUS_UNSUPPORTED",
        11 => c"UFM_STATUS_PLUGIN",
        12 => c"UFM_STATUS_STRUCT_SIZE",
        _ => c"UFM_STATUS_UNKNOWN",
    };
    s.as_ptr()
}

/// The message of an error (NUL-terminated UTF-8). Returns "" when `error` is NULL or not a live
/// error.
///
/// Ownership: borrowed from `error`; valid until `ufm_error_free(error)`.
/// Thread safety: an error may be read from any thread, but not while it is being freed.
#[no_mangle]
pub extern "C" fn ufm_error_message(error: *const ufm_error) -> *const c_char {
    guard_value(c"".as_ptr(), || {
        if error.is_null() || !is_live(error, Kind::Error) {
            return c"".as_ptr();
        }
        // SAFETY: a live error handle.
        unsafe { (*error).message.as_ptr() }
    })
}

/// The status of an error (`UFM_STATUS_INVALID_HANDLE` when `error` is NULL or not live).
///
/// Thread safety: as `ufm_error_message`.
#[no_mangle]
pub extern "C" fn ufm_error_status(error: *const ufm_error) -> ufm_status {
    guard_value(ufm_status::UFM_STATUS_PANIC, || {
        if error.is_null() || !is_live(error, Kind::Error) {
            return ufm_status::UFM_STATUS_INVALID_HANDLE;
        }
        // SAFETY: a live error handle.
        unsafe { (*error).status }
    })
}

/// Free an error. `ufm_error_free(NULL)` is a no-op; freeing an already freed error is detected
/// and ignored (unless its address has been reused).
///
/// Ownership: takes ownership of `error`; do not use it afterwards.
#[no_mangle]
pub extern "C" fn ufm_error_free(error: *mut ufm_error) {
    guard_value((), || release(error, Kind::Error))
}

/// Parse and validate a job (JSON text, schema_version 1) without running it, making every
/// check `ufm validate` makes: each point of a `sweep` (which is valid here; `ufm_trainer_new`
/// refuses it, as it trains one run), and each run's inputs: plugins are opened and asked for
/// the id and params, `.npy` starts are checked by their headers, `dnc` / `low_rank` starts by
/// width and scale. Relative paths are resolved against the current directory.
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_UTF8`, `UFM_STATUS_INVALID_JOB` (the
/// message names the field, e.g. `model.width: must be >= 1, got 0`), `UFM_STATUS_PLUGIN` (a
/// plugin that cannot be loaded, lacks the id or refuses its params; the message starts with
/// the field, e.g. `optimizer.plugin: `).
/// Ownership: `job_json` is borrowed for the call. `err` may be NULL; otherwise on failure
/// `*err` receives a new error that the caller frees with `ufm_error_free`, and on success it is
/// left untouched. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn ufm_job_validate(
    job_json: *const c_char,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_job_validate", err, || {
        fail_point("ufm_job_validate");
        let text = c_str(job_json, "job_json")?;
        trainer::check(text, std::path::Path::new(""))
    })
}

/// Load and check a plugin library (optimisers, initialisers; see docs/plugins.md) by path.
/// Libraries stay loaded for the life of the process; loading the same path again reuses it.
/// Jobs name plugins by path themselves (`{"plugin": "path/lib.so", "id": ...}`), so this call
/// is only needed to check a library early; a job naming the same path reuses the loaded one.
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_UTF8`, `UFM_STATUS_PLUGIN` (no such
/// file, not a loadable library, no entry symbol, another ABI major version, a null function
/// pointer, a duplicate id; the message says which).
/// Ownership: `path` is borrowed for the call. `err` as for `ufm_job_validate`.
/// Thread safety: any thread (loading is serialised inside the library).
#[no_mangle]
pub extern "C" fn ufm_plugin_load(path: *const c_char, err: *mut *mut ufm_error) -> ufm_status {
    guard("ufm_plugin_load", err, || {
        let p = c_str(path, "path")?;
        engine::plugin::load(std::path::Path::new(p))
            .map(|_| ())
            .map_err(Error::from)
    })
}

#[cfg(test)]
mod tests;
