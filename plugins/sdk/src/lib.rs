//! Safe Rust side of the ufm plugin ABI: implement [`Optimizer`] or [`Initializer`] and list the
//! types in [`export_plugin!`]. Every entry point the macro exports catches panics (they become
//! `UFM_PLUGIN_ERR_PANIC` with the panic message), so nothing unwinds into the host.
//!
//! ```ignore
//! use ufm_plugin_sdk::{elementwise, export_plugin, parse_params, MatMut, MatRef, Optimizer};
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Heavy { #[serde(default)] momentum: f64 }
//! impl Optimizer for Heavy {
//!     fn create(params: &serde_json::Value) -> Result<Self, String> { parse_params(params) }
//!     fn state_len(&self, rows: usize, cols: usize) -> usize { rows * cols }
//!     fn update(&self, _step: u64, lr: f64, p: MatMut<'_>, g: MatRef<'_>, s: &mut [f64])
//!         -> Result<(), String> {
//!         let mu = self.momentum;
//!         elementwise::<1>(p, g, s, |p, g, [v]| { *v = mu * *v + g; *p -= lr * *v; })
//!     }
//! }
//! export_plugin!(name: "heavy 0.1", optimizers: ["org.example.heavy" => Heavy], initializers: []);
//! ```

pub use ufm_plugin_abi as abi;

use abi::{UfmConstMatrix, UfmInitializerVtable, UfmMatrix, UfmOptimizerVtable, UfmPluginEntry};
use std::ffi::{c_char, c_void, CStr};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A mutable strided f64 matrix view (host memory, valid for the call).
pub struct MatMut<'a> {
    raw: UfmMatrix,
    _life: PhantomData<&'a mut f64>,
}

/// A read-only strided f64 matrix view (host memory, valid for the call).
pub struct MatRef<'a> {
    raw: UfmConstMatrix,
    _life: PhantomData<&'a f64>,
}

impl<'a> MatMut<'a> {
    /// # Safety
    /// `raw` must describe valid, exclusively borrowed memory for 'a (every (i, j) in range).
    pub unsafe fn from_raw(raw: UfmMatrix) -> Self {
        MatMut {
            raw,
            _life: PhantomData,
        }
    }
    /// View a column-major slice (`rows * cols` entries) as a matrix.
    pub fn from_slice(data: &'a mut [f64], rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols, "slice length must be rows * cols");
        // SAFETY: the slice covers exactly the column-major rows x cols layout.
        unsafe {
            Self::from_raw(UfmMatrix {
                ptr: data.as_mut_ptr(),
                rows,
                cols,
                row_stride: 1,
                col_stride: rows as isize,
            })
        }
    }
    pub fn rows(&self) -> usize {
        self.raw.rows
    }
    pub fn cols(&self) -> usize {
        self.raw.cols
    }
    fn offset(&self, i: usize, j: usize) -> isize {
        assert!(i < self.raw.rows && j < self.raw.cols, "index out of range");
        i as isize * self.raw.row_stride + j as isize * self.raw.col_stride
    }
    pub fn get(&self, i: usize, j: usize) -> f64 {
        // SAFETY: in range by `offset`'s check and `from_raw`'s contract.
        unsafe { *self.raw.ptr.offset(self.offset(i, j)) }
    }
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        // SAFETY: as in `get`; the view is exclusive.
        unsafe { *self.raw.ptr.offset(self.offset(i, j)) = v }
    }
    /// Column j as a slice when the rows are contiguous (`row_stride == 1`).
    pub fn col_mut(&mut self, j: usize) -> Option<&mut [f64]> {
        assert!(j < self.raw.cols, "column out of range");
        if self.raw.row_stride != 1 || self.raw.rows == 0 {
            return None;
        }
        // SAFETY: rows contiguous entries starting at column j, exclusively borrowed.
        Some(unsafe {
            std::slice::from_raw_parts_mut(
                self.raw.ptr.offset(j as isize * self.raw.col_stride),
                self.raw.rows,
            )
        })
    }
}

impl<'a> MatRef<'a> {
    /// # Safety
    /// `raw` must describe valid memory for 'a (every (i, j) in range), not written meanwhile.
    pub unsafe fn from_raw(raw: UfmConstMatrix) -> Self {
        MatRef {
            raw,
            _life: PhantomData,
        }
    }
    pub fn rows(&self) -> usize {
        self.raw.rows
    }
    pub fn cols(&self) -> usize {
        self.raw.cols
    }
    pub fn get(&self, i: usize, j: usize) -> f64 {
        assert!(i < self.raw.rows && j < self.raw.cols, "index out of range");
        // SAFETY: in range, per `from_raw`'s contract.
        unsafe {
            *self
                .raw
                .ptr
                .offset(i as isize * self.raw.row_stride + j as isize * self.raw.col_stride)
        }
    }
    /// Column j as a slice when the rows are contiguous (`row_stride == 1`).
    pub fn col(&self, j: usize) -> Option<&'a [f64]> {
        assert!(j < self.raw.cols, "column out of range");
        if self.raw.row_stride != 1 || self.raw.rows == 0 {
            return None;
        }
        // SAFETY: rows contiguous entries starting at column j.
        Some(unsafe {
            std::slice::from_raw_parts(
                self.raw.ptr.offset(j as isize * self.raw.col_stride),
                self.raw.rows,
            )
        })
    }
}

/// Apply `f(param, grad, state)` to every entry, column-major, with `S` state entries per
/// parameter entry (state layout: entry (i, j) owns `state[(j * rows + i) * S ..][..S]`).
pub fn elementwise<const S: usize>(
    mut param: MatMut<'_>,
    grad: MatRef<'_>,
    state: &mut [f64],
    mut f: impl FnMut(&mut f64, f64, &mut [f64; S]),
) -> Result<(), String> {
    let (rows, cols) = (param.rows(), param.cols());
    if (grad.rows(), grad.cols()) != (rows, cols) {
        return Err(format!(
            "gradient is {} x {}, parameter {rows} x {cols}",
            grad.rows(),
            grad.cols()
        ));
    }
    if state.len() != S * rows * cols {
        return Err(format!(
            "state has {} entries, expected {}",
            state.len(),
            S * rows * cols
        ));
    }
    let mut none = [0.0; S];
    for j in 0..cols {
        let st = &mut state[j * rows * S..(j + 1) * rows * S];
        match (param.col_mut(j), grad.col(j)) {
            (Some(p), Some(g)) if S == 0 => {
                for (p, &g) in p.iter_mut().zip(g) {
                    f(p, g, &mut none);
                }
            }
            (Some(p), Some(g)) => {
                for ((p, &g), s) in p.iter_mut().zip(g).zip(st.chunks_exact_mut(S.max(1))) {
                    f(p, g, s.try_into().expect("chunk of S"));
                }
            }
            _ => {
                for i in 0..rows {
                    let mut p = param.get(i, j);
                    let s: &mut [f64; S] = if S == 0 {
                        &mut none
                    } else {
                        (&mut st[i * S..(i + 1) * S]).try_into().expect("S entries")
                    };
                    f(&mut p, grad.get(i, j), s);
                    param.set(i, j, p);
                }
            }
        }
    }
    Ok(())
}

/// Parse params strictly into `T` (use `#[serde(deny_unknown_fields)]`); errors name the field.
pub fn parse_params<T: serde::de::DeserializeOwned>(
    params: &serde_json::Value,
) -> Result<T, String> {
    let v = if params.is_null() {
        serde_json::Value::Object(Default::default())
    } else {
        params.clone()
    };
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("params: {}", e.inner())
        } else {
            format!("params.{path}: {}", e.inner())
        }
    })
}

/// An update rule (see the ABI header for the contract of each call).
pub trait Optimizer: Send + Sized + 'static {
    /// Parse the job's `params` (JSON); reject unknown fields and bad values with a message.
    fn create(params: &serde_json::Value) -> Result<Self, String>;
    /// f64 state entries for a rows x cols matrix.
    fn state_len(&self, rows: usize, cols: usize) -> usize;
    /// Fill a fresh state buffer (zeros by default).
    fn init_state(&self, _rows: usize, _cols: usize, state: &mut [f64]) -> Result<(), String> {
        state.fill(0.0);
        Ok(())
    }
    /// Update `param` in place for step `step` (1-based) with learning rate `lr`.
    fn update(
        &self,
        step: u64,
        lr: f64,
        param: MatMut<'_>,
        grad: MatRef<'_>,
        state: &mut [f64],
    ) -> Result<(), String>;
    /// Stages per step of a multi-stage rule (ABI minor 1; see the header's `stages`). 1 (the
    /// default) means the rule is applied through [`Optimizer::update`].
    fn stages(&self) -> u32 {
        1
    }
    /// Stage `stage` of a multi-stage step (see the header's `stage`): `grad` is the gradient
    /// at `param`; write the next evaluation point (at the last stage: the proposal) into
    /// `param` and, at the last stage, add this matrix's squared scaled error to `err_sq`.
    #[allow(clippy::too_many_arguments)]
    fn stage(
        &self,
        _step: u64,
        _lr: f64,
        _stage: u32,
        _param: MatMut<'_>,
        _grad: MatRef<'_>,
        _state: &mut [f64],
        _err_sq: &mut f64,
    ) -> Result<(), String> {
        Err("this rule has no stages".into())
    }
    /// Accept or reject a multi-stage step of size `lr` with error `err_rms`; the next size.
    fn control(&self, _lr: f64, _err_rms: f64) -> Result<(bool, f64), String> {
        Err("this rule has no step-size control".into())
    }
}

/// A parameter initialiser.
pub trait Initializer: Send + Sized + 'static {
    fn create(params: &serde_json::Value) -> Result<Self, String>;
    /// Fill matrix `tensor` (0 = H1, l = W_l) for the run seed `seed`.
    fn fill(&self, seed: u64, tensor: usize, matrix: MatMut<'_>) -> Result<(), String>;
}

/// Write `msg` NUL-terminated into the host buffer, truncated at a UTF-8 boundary.
///
/// # Safety
/// `err` must be null or point to `cap` writable bytes.
pub unsafe fn write_error(err: *mut c_char, cap: usize, msg: &str) {
    if err.is_null() || cap == 0 {
        return;
    }
    let mut n = msg.len().min(cap - 1);
    while !msg.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: n + 1 <= cap bytes, per the caller's contract.
    unsafe {
        std::ptr::copy_nonoverlapping(msg.as_ptr(), err.cast::<u8>(), n);
        *err.add(n) = 0;
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".into());
    format!("plugin panicked: {text}")
}

/// Run `f`, turning errors and panics into a status code and a message in `err`.
fn guard(err: *mut c_char, cap: usize, f: impl FnOnce() -> Result<(), (i32, String)>) -> i32 {
    let (code, msg) = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => return abi::UFM_PLUGIN_OK,
        Ok(Err(e)) => e,
        Err(payload) => (abi::UFM_PLUGIN_ERR_PANIC, panic_message(payload)),
    };
    // SAFETY: the host passes a buffer of `cap` bytes (ABI contract).
    unsafe { write_error(err, cap, &msg) };
    code
}

unsafe fn parse_json(params: *const c_char) -> Result<serde_json::Value, (i32, String)> {
    if params.is_null() {
        return Ok(serde_json::Value::Null);
    }
    // SAFETY: NUL-terminated per the ABI contract.
    let text = unsafe { CStr::from_ptr(params) }.to_str().map_err(|e| {
        (
            abi::UFM_PLUGIN_ERR_PARAMS,
            format!("params: not UTF-8: {e}"),
        )
    })?;
    serde_json::from_str(text)
        .map_err(|e| (abi::UFM_PLUGIN_ERR_PARAMS, format!("params: not JSON: {e}")))
}

macro_rules! create_fn {
    ($name:ident, $trait:ident) => {
        unsafe extern "C" fn $name<T: $trait>(
            params: *const c_char,
            out: *mut *mut c_void,
            err: *mut c_char,
            cap: usize,
        ) -> i32 {
            guard(err, cap, || {
                // SAFETY: per the ABI contract.
                let v = unsafe { parse_json(params) }?;
                let cfg = T::create(&v).map_err(|m| (abi::UFM_PLUGIN_ERR_PARAMS, m))?;
                if out.is_null() {
                    return Err((abi::UFM_PLUGIN_ERR_RUNTIME, "out_cfg is NULL".into()));
                }
                // SAFETY: out is a valid pointer per the ABI contract.
                unsafe { *out = Box::into_raw(Box::new(cfg)).cast() };
                Ok(())
            })
        }
    };
}
create_fn!(opt_create, Optimizer);
create_fn!(init_create, Initializer);

unsafe extern "C" fn destroy<T>(cfg: *mut c_void) {
    if !cfg.is_null() {
        // SAFETY: made by Box::into_raw in create, destroyed once (ABI contract).
        let _ = catch_unwind(AssertUnwindSafe(|| {
            drop(unsafe { Box::from_raw(cfg.cast::<T>()) })
        }));
    }
}

unsafe extern "C" fn opt_state_len<T: Optimizer>(
    cfg: *const c_void,
    rows: usize,
    cols: usize,
) -> usize {
    // SAFETY: cfg came from opt_create::<T>.
    catch_unwind(AssertUnwindSafe(|| {
        unsafe { &*cfg.cast::<T>() }.state_len(rows, cols)
    }))
    .unwrap_or(usize::MAX)
}

unsafe extern "C" fn opt_init_state<T: Optimizer>(
    cfg: *const c_void,
    rows: usize,
    cols: usize,
    state: *mut f64,
    len: usize,
    err: *mut c_char,
    cap: usize,
) -> i32 {
    guard(err, cap, || {
        // SAFETY: cfg from opt_create::<T>; state has len entries (host contract).
        let (cfg, state) = unsafe { (&*cfg.cast::<T>(), slice_mut(state, len)) };
        cfg.init_state(rows, cols, state)
            .map_err(|m| (abi::UFM_PLUGIN_ERR_RUNTIME, m))
    })
}

unsafe fn slice_mut<'a>(ptr: *mut f64, len: usize) -> &'a mut [f64] {
    if len == 0 || ptr.is_null() {
        &mut []
    } else {
        // SAFETY: caller guarantees len valid entries.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn opt_update<T: Optimizer>(
    cfg: *const c_void,
    step: u64,
    lr: f64,
    param: UfmMatrix,
    grad: UfmConstMatrix,
    state: *mut f64,
    len: usize,
    err: *mut c_char,
    cap: usize,
) -> i32 {
    guard(err, cap, || {
        // SAFETY: per the ABI contract (host-owned views valid during the call).
        let (cfg, p, g, s) = unsafe {
            (
                &*cfg.cast::<T>(),
                MatMut::from_raw(param),
                MatRef::from_raw(grad),
                slice_mut(state, len),
            )
        };
        cfg.update(step, lr, p, g, s)
            .map_err(|m| (abi::UFM_PLUGIN_ERR_RUNTIME, m))
    })
}

unsafe extern "C" fn opt_stages<T: Optimizer>(cfg: *const c_void) -> u32 {
    // SAFETY: cfg came from opt_create::<T>. A panic reads as "no stages" (the classic update).
    catch_unwind(AssertUnwindSafe(|| unsafe { &*cfg.cast::<T>() }.stages())).unwrap_or(1)
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn opt_stage<T: Optimizer>(
    cfg: *const c_void,
    step: u64,
    lr: f64,
    stage: u32,
    param: UfmMatrix,
    grad: UfmConstMatrix,
    state: *mut f64,
    len: usize,
    err_sq: *mut f64,
    err: *mut c_char,
    cap: usize,
) -> i32 {
    guard(err, cap, || {
        if err_sq.is_null() {
            return Err((abi::UFM_PLUGIN_ERR_RUNTIME, "err_sq is NULL".into()));
        }
        // SAFETY: per the ABI contract (host-owned views and err_sq valid during the call).
        let (cfg, p, g, s, e) = unsafe {
            (
                &*cfg.cast::<T>(),
                MatMut::from_raw(param),
                MatRef::from_raw(grad),
                slice_mut(state, len),
                &mut *err_sq,
            )
        };
        cfg.stage(step, lr, stage, p, g, s, e)
            .map_err(|m| (abi::UFM_PLUGIN_ERR_RUNTIME, m))
    })
}

unsafe extern "C" fn opt_control<T: Optimizer>(
    cfg: *const c_void,
    lr: f64,
    err_rms: f64,
    accept: *mut i32,
    next_lr: *mut f64,
    err: *mut c_char,
    cap: usize,
) -> i32 {
    guard(err, cap, || {
        if accept.is_null() || next_lr.is_null() {
            return Err((
                abi::UFM_PLUGIN_ERR_RUNTIME,
                "accept or next_lr is NULL".into(),
            ));
        }
        // SAFETY: cfg from opt_create::<T>.
        let cfg = unsafe { &*cfg.cast::<T>() };
        let (ok, next) = cfg
            .control(lr, err_rms)
            .map_err(|m| (abi::UFM_PLUGIN_ERR_RUNTIME, m))?;
        // SAFETY: non-null host pointers, per the ABI contract.
        unsafe {
            *accept = i32::from(ok);
            *next_lr = next;
        }
        Ok(())
    })
}

unsafe extern "C" fn init_fill<T: Initializer>(
    cfg: *const c_void,
    seed: u64,
    tensor: usize,
    matrix: UfmMatrix,
    err: *mut c_char,
    cap: usize,
) -> i32 {
    guard(err, cap, || {
        // SAFETY: per the ABI contract.
        let (cfg, m) = unsafe { (&*cfg.cast::<T>(), MatMut::from_raw(matrix)) };
        cfg.fill(seed, tensor, m)
            .map_err(|m| (abi::UFM_PLUGIN_ERR_RUNTIME, m))
    })
}

/// The vtable of optimiser `T` under `id` (which must end with a NUL byte).
pub fn optimizer_vtable<T: Optimizer>(id: &'static str) -> UfmOptimizerVtable {
    assert!(id.ends_with('\0'), "id must be NUL-terminated");
    UfmOptimizerVtable {
        struct_size: std::mem::size_of::<UfmOptimizerVtable>(),
        id: id.as_ptr().cast(),
        create: Some(opt_create::<T>),
        destroy: Some(destroy::<T>),
        state_len: Some(opt_state_len::<T>),
        init_state: Some(opt_init_state::<T>),
        update: Some(opt_update::<T>),
        stages: Some(opt_stages::<T>),
        stage: Some(opt_stage::<T>),
        control: Some(opt_control::<T>),
    }
}

/// The vtable of initialiser `T` under `id` (which must end with a NUL byte).
pub fn initializer_vtable<T: Initializer>(id: &'static str) -> UfmInitializerVtable {
    assert!(id.ends_with('\0'), "id must be NUL-terminated");
    UfmInitializerVtable {
        struct_size: std::mem::size_of::<UfmInitializerVtable>(),
        id: id.as_ptr().cast(),
        create: Some(init_create::<T>),
        destroy: Some(destroy::<T>),
        fill: Some(init_fill::<T>),
    }
}

/// A leaked, process-lifetime plugin entry (what [`export_plugin!`] hands out).
pub struct EntryBox(&'static UfmPluginEntry);

// SAFETY: everything the entry points to is immutable and leaked ('static).
unsafe impl Send for EntryBox {}
unsafe impl Sync for EntryBox {}

impl EntryBox {
    pub fn new(
        name: &'static str,
        optimizers: Vec<UfmOptimizerVtable>,
        initializers: Vec<UfmInitializerVtable>,
    ) -> Self {
        assert!(name.ends_with('\0'), "name must be NUL-terminated");
        let opts: Vec<*const UfmOptimizerVtable> = optimizers
            .into_iter()
            .map(|v| Box::leak(Box::new(v)) as *const _)
            .collect();
        let inits: Vec<*const UfmInitializerVtable> = initializers
            .into_iter()
            .map(|v| Box::leak(Box::new(v)) as *const _)
            .collect();
        let (optimizer_count, initializer_count) = (opts.len(), inits.len());
        let entry = UfmPluginEntry {
            abi_major: abi::UFM_PLUGIN_ABI_MAJOR,
            struct_size: std::mem::size_of::<UfmPluginEntry>() as u32,
            abi_minor: abi::UFM_PLUGIN_ABI_MINOR,
            reserved: 0,
            name: name.as_ptr().cast(),
            optimizers: opts.leak().as_ptr(),
            optimizer_count,
            initializers: inits.leak().as_ptr(),
            initializer_count,
        };
        EntryBox(Box::leak(Box::new(entry)))
    }
    pub fn as_ptr(&self) -> *const UfmPluginEntry {
        self.0
    }
}

/// Define a plugin's entry without exporting it: `pub fn plugin_entry()`, for linking the
/// plugin into a Rust host statically. A library that is also linked into another C library
/// (as `ufm-plugin-std` is into libufm) uses this, so that the C library does not re-export the
/// plugin entry symbol; a separate cdylib then exports it (see `plugins/std-so`).
#[macro_export]
macro_rules! plugin_entry {
    (
        name: $name:literal,
        optimizers: [$($oid:literal => $oty:ty),* $(,)?],
        initializers: [$($iid:literal => $ity:ty),* $(,)?] $(,)?
    ) => {
        /// This library's plugin entry (static storage).
        pub fn plugin_entry() -> *const $crate::abi::UfmPluginEntry {
            static ENTRY: ::std::sync::OnceLock<$crate::EntryBox> = ::std::sync::OnceLock::new();
            ENTRY
                .get_or_init(|| {
                    $crate::EntryBox::new(
                        concat!($name, "\0"),
                        vec![$($crate::optimizer_vtable::<$oty>(concat!($oid, "\0"))),*],
                        vec![$($crate::initializer_vtable::<$ity>(concat!($iid, "\0"))),*],
                    )
                })
                .as_ptr()
        }
    };
}

/// Export a plugin: defines `pub fn plugin_entry()` (for linking the plugin into a Rust host
/// statically) and the C symbol `ufm_plugin_get_entry` (for loading it as a library).
#[macro_export]
macro_rules! export_plugin {
    ($($body:tt)*) => {
        $crate::plugin_entry!($($body)*);

        /// The exported entry symbol (see include/ufm_plugin.h).
        #[no_mangle]
        pub extern "C" fn ufm_plugin_get_entry() -> *const $crate::abi::UfmPluginEntry {
            ::std::panic::catch_unwind(plugin_entry).unwrap_or(::std::ptr::null())
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elementwise_handles_strided_views_and_checks_sizes() {
        // A 2 x 3 matrix stored row-major (row_stride 3, col_stride 1).
        let mut p = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let g = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0];
        let mut state = [0.0; 6];
        // SAFETY: both views cover exactly the arrays above.
        let (pm, gm) = unsafe {
            (
                MatMut::from_raw(UfmMatrix {
                    ptr: p.as_mut_ptr(),
                    rows: 2,
                    cols: 3,
                    row_stride: 3,
                    col_stride: 1,
                }),
                MatRef::from_raw(UfmConstMatrix {
                    ptr: g.as_ptr(),
                    rows: 2,
                    cols: 3,
                    row_stride: 3,
                    col_stride: 1,
                }),
            )
        };
        let mut order = Vec::new();
        elementwise::<1>(pm, gm, &mut state, |p, g, [v]| {
            order.push(*p);
            *v = g;
            *p -= 0.1 * g;
        })
        .unwrap();
        assert_eq!(order, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0], "column-major walk");
        assert_eq!(p, [0.0; 6]);
        assert_eq!(state, [10.0, 40.0, 20.0, 50.0, 30.0, 60.0]);

        let mut q = [0.0; 4];
        let err = elementwise::<2>(
            MatMut::from_slice(&mut q, 2, 2),
            // SAFETY: covers g's first 4 entries.
            unsafe {
                MatRef::from_raw(UfmConstMatrix {
                    ptr: g.as_ptr(),
                    rows: 2,
                    cols: 2,
                    row_stride: 1,
                    col_stride: 2,
                })
            },
            &mut [0.0; 3],
            |_, _, _| {},
        )
        .unwrap_err();
        assert_eq!(err, "state has 3 entries, expected 8");
    }

    #[test]
    fn error_messages_are_truncated_at_a_char_boundary() {
        let mut buf = [0x7f_u8 as c_char; 5];
        // SAFETY: 5 writable bytes.
        unsafe { write_error(buf.as_mut_ptr(), 5, "abcé!") };
        // "abc" + 'é' (2 bytes) would need 6 bytes with the NUL: truncated before 'é'.
        assert_eq!(
            &buf[..4],
            &[b'a' as c_char, b'b' as c_char, b'c' as c_char, 0]
        );
    }
}
