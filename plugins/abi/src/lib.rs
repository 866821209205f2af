//! The C ABI between the ufm engine (host) and optimiser / initialiser plugins.
//!
//! Only `#[repr(C)]` types and constants live here; cbindgen turns them into the committed
//! `include/ufm_plugin.h` (a test fails when that header is stale). Versioning: `abi_major`
//! changes on any incompatible change (the host refuses other majors); compatible additions
//! append fields at the end of a struct and raise `abi_minor`, and the host reads the new fields
//! only when the library's `struct_size` covers them.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_void};

/// The ABI major version this header describes. The host refuses a library with another one.
pub const UFM_PLUGIN_ABI_MAJOR: u32 = 1;
/// The ABI minor version: compatible additions (fields appended to the end of a struct).
/// 1: the optimiser vtable's `stages`, `stage` and `control` (multi-stage rules such as
/// Runge-Kutta integrators, which need several gradient evaluations per step).
pub const UFM_PLUGIN_ABI_MINOR: u32 = 1;
/// sizeof(ufm_optimizer_vtable) at ABI minor 0 (the fields up to `update`): the smallest optimiser
/// vtable a host accepts; fields after it are read only when `struct_size` covers them.
pub const UFM_PLUGIN_OPTIMIZER_VTABLE_SIZE_V0: usize = 7 * std::mem::size_of::<usize>();
/// Name of the one symbol a plugin library exports (a `ufm_plugin_entry_fn`).
pub const UFM_PLUGIN_ENTRY_SYMBOL: &str = "ufm_plugin_get_entry";

/// Success.
pub const UFM_PLUGIN_OK: i32 = 0;
/// The params JSON was rejected (unknown field, bad value): the message says which.
pub const UFM_PLUGIN_ERR_PARAMS: i32 = 1;
/// A shape or buffer the plugin cannot handle.
pub const UFM_PLUGIN_ERR_SHAPE: i32 = 2;
/// Any other failure during a call.
pub const UFM_PLUGIN_ERR_RUNTIME: i32 = 3;
/// The plugin caught a panic / exception inside the call.
pub const UFM_PLUGIN_ERR_PANIC: i32 = 4;

/// A mutable view of an f64 matrix owned by the host: entry (i, j) is
/// `ptr[i * row_stride + j * col_stride]`. Valid only during the call it is passed to.
/// (Named `ufm_plugin_matrix` in C, so that `ufm_plugin.h` and `ufm.h`, whose `ufm_matrix` is the
/// C API's own view, can be included together.)
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UfmMatrix {
    pub ptr: *mut f64,
    pub rows: usize,
    pub cols: usize,
    pub row_stride: isize,
    pub col_stride: isize,
}

/// A read-only view of an f64 matrix owned by the host (same layout as `ufm_plugin_matrix`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UfmConstMatrix {
    pub ptr: *const f64,
    pub rows: usize,
    pub cols: usize,
    pub row_stride: isize,
    pub col_stride: isize,
}

/// An optimiser: an init/update rule applied to each parameter matrix in place, with a state
/// buffer per matrix that the host allocates, owns and checkpoints.
///
/// Threading: `create` may be called from any thread, concurrently for different cfgs. All
/// calls that take a cfg are made from one thread at a time per cfg (the run that created it);
/// different cfgs are used concurrently from different threads, so the plugin must not keep
/// unsynchronised global mutable state.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UfmOptimizerVtable {
    /// sizeof(ufm_optimizer_vtable) as compiled into the plugin.
    pub struct_size: usize,
    /// The id jobs use (`"id": "..."`): NUL-terminated UTF-8, static storage, unique in the library.
    pub id: *const c_char,
    /// Parse `params_json` (NUL-terminated UTF-8 JSON, owned by the host, valid during the call)
    /// and store a new plugin-owned cfg in `*out_cfg`. On error return a nonzero status and write
    /// the reason to `err` (host buffer of `err_cap` bytes).
    pub create: Option<
        unsafe extern "C" fn(
            params_json: *const c_char,
            out_cfg: *mut *mut c_void,
            err: *mut c_char,
            err_cap: usize,
        ) -> i32,
    >,
    /// Release a cfg made by `create`. Called exactly once per cfg, after its last use.
    pub destroy: Option<unsafe extern "C" fn(cfg: *mut c_void)>,
    /// Number of f64 state entries for a rows x cols parameter matrix (0 for stateless rules);
    /// SIZE_MAX signals a failure (the host then fails the run).
    pub state_len:
        Option<unsafe extern "C" fn(cfg: *const c_void, rows: usize, cols: usize) -> usize>,
    /// Initialise a fresh state buffer (host-owned, `len` entries as returned by `state_len`).
    pub init_state: Option<
        unsafe extern "C" fn(
            cfg: *const c_void,
            rows: usize,
            cols: usize,
            state: *mut f64,
            len: usize,
            err: *mut c_char,
            err_cap: usize,
        ) -> i32,
    >,
    /// One update of `param` in place from `grad` (same shape) for step `step` (1-based) with
    /// learning rate `lr` (the host applies schedules). `state` is this matrix's buffer (host
    /// owned, `state_len` entries). All pointers are host-owned and valid during the call only.
    pub update: Option<
        unsafe extern "C" fn(
            cfg: *const c_void,
            step: u64,
            lr: f64,
            param: UfmMatrix,
            grad: UfmConstMatrix,
            state: *mut f64,
            state_len: usize,
            err: *mut c_char,
            err_cap: usize,
        ) -> i32,
    >,
    /// ABI minor >= 1, optional (NULL, or a value <= 1: the rule uses `update`). The number S of
    /// stages of one step of a multi-stage rule: the host then calls `stage` S times per matrix
    /// and step, with the gradient at the point the previous stage wrote, and `control` once
    /// per step.
    pub stages: Option<unsafe extern "C" fn(cfg: *const c_void) -> u32>,
    /// ABI minor >= 1 (required when `stages` returns S > 1). Stage `stage` (0..S) of step `step`
    /// with step size `lr`. On entry to stage 0 `param` holds the step's start y0 and `grad` the
    /// gradient there; at stage s > 0 `grad` is the gradient at the point `param` holds (what
    /// stage s - 1 wrote). The stage writes into `param` the next point the host must evaluate
    /// at; the last stage (S - 1) writes the proposed new parameters and adds the sum of the
    /// squared scaled local errors of this matrix to `*err_sq`. `state` as for `update` (the
    /// rule keeps y0 and its stage derivatives there).
    #[allow(clippy::type_complexity)]
    pub stage: Option<
        unsafe extern "C" fn(
            cfg: *const c_void,
            step: u64,
            lr: f64,
            stage: u32,
            param: UfmMatrix,
            grad: UfmConstMatrix,
            state: *mut f64,
            state_len: usize,
            err_sq: *mut f64,
            err: *mut c_char,
            err_cap: usize,
        ) -> i32,
    >,
    /// ABI minor >= 1 (required when `stages` returns S > 1). After the last stage of a step:
    /// `err_rms` = sqrt(sum of every matrix's `err_sq` / number of parameters) (+infinity when a
    /// stage point had a non-finite loss). Sets `*accept` (1: keep the proposed parameters, 0:
    /// the host restores the step's start) and `*next_lr`, the step size to try next.
    pub control: Option<
        unsafe extern "C" fn(
            cfg: *const c_void,
            lr: f64,
            err_rms: f64,
            accept: *mut i32,
            next_lr: *mut f64,
            err: *mut c_char,
            err_cap: usize,
        ) -> i32,
    >,
}

/// An initialiser: fills each parameter matrix (0 = H1, l = W_l) from a seed.
///
/// Threading: as for optimisers (one thread at a time per cfg; cfgs used concurrently).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UfmInitializerVtable {
    /// sizeof(ufm_initializer_vtable) as compiled into the plugin.
    pub struct_size: usize,
    /// The id jobs use: NUL-terminated UTF-8, static storage, unique in the library.
    pub id: *const c_char,
    /// As `ufm_optimizer_vtable.create`.
    pub create: Option<
        unsafe extern "C" fn(
            params_json: *const c_char,
            out_cfg: *mut *mut c_void,
            err: *mut c_char,
            err_cap: usize,
        ) -> i32,
    >,
    /// Release a cfg made by `create`. Called exactly once per cfg.
    pub destroy: Option<unsafe extern "C" fn(cfg: *mut c_void)>,
    /// Fill the host-owned `matrix` (tensor `tensor`: 0 = H1 (d x N), l = W_l) for run seed `seed`.
    /// The result must depend only on (cfg, seed, tensor, shape).
    pub fill: Option<
        unsafe extern "C" fn(
            cfg: *const c_void,
            seed: u64,
            tensor: usize,
            matrix: UfmMatrix,
            err: *mut c_char,
            err_cap: usize,
        ) -> i32,
    >,
}

/// What a plugin library hands the host. Starts with `abi_major` and `struct_size` so that any
/// host can check compatibility before reading further. Static storage (never freed).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UfmPluginEntry {
    /// Must equal UFM_PLUGIN_ABI_MAJOR.
    pub abi_major: u32,
    /// sizeof(ufm_plugin_entry) as compiled into the plugin; the host needs at least its own.
    pub struct_size: u32,
    /// UFM_PLUGIN_ABI_MINOR the plugin was built against.
    pub abi_minor: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Human-readable library name and version (NUL-terminated UTF-8, static), for messages.
    pub name: *const c_char,
    /// `optimizer_count` pointers to optimiser vtables (static storage).
    pub optimizers: *const *const UfmOptimizerVtable,
    pub optimizer_count: usize,
    /// `initializer_count` pointers to initialiser vtables (static storage).
    pub initializers: *const *const UfmInitializerVtable,
    pub initializer_count: usize,
}

/// The type of the exported `ufm_plugin_get_entry` symbol. Called by the host once per load, from
/// any thread; returns a pointer to static storage (or NULL on failure). Must not unwind.
pub type UfmPluginEntryFn = unsafe extern "C" fn() -> *const UfmPluginEntry;

#[cfg(test)]
mod tests {
    #[test]
    fn the_minor_0_optimizer_vtable_ends_at_update() {
        assert_eq!(
            std::mem::offset_of!(super::UfmOptimizerVtable, stages),
            super::UFM_PLUGIN_OPTIMIZER_VTABLE_SIZE_V0
        );
    }

    #[test]
    fn the_header_names_the_same_entry_symbol() {
        let toml = include_str!("../cbindgen.toml");
        let define = format!(
            "#define UFM_PLUGIN_ENTRY_SYMBOL \"{}\"",
            super::UFM_PLUGIN_ENTRY_SYMBOL
        );
        assert!(toml.contains(&define));
        assert!(toml.contains(&format!("*{}(void);", super::UFM_PLUGIN_ENTRY_SYMBOL)));
    }
}
