//! The plugin host: loads optimiser / initialiser libraries (libloading), checks their ABI and
//! adapts their C vtables to the engine's traits. Built-in optimisers and initialisers are the
//! `ufm-plugin-std` library linked in statically and go through the very same vtables and checks.
//!
//! Loaded libraries are kept in a process-wide registry and never unloaded (pointers they hand
//! out must stay valid, and a second load of the same path reuses the first).

use crate::optim::{Optimizer, StepInfo};
use crate::Error;

/// A plugin path from a job: relative paths are resolved against the job file's folder.
pub fn path(base_dir: &Path, plugin: &str) -> std::path::PathBuf {
    base_dir.join(plugin)
}

use faer::{MatMut, MatRef};
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use ufm_plugin_abi::{
    UfmConstMatrix, UfmInitializerVtable, UfmMatrix, UfmOptimizerVtable, UfmPluginEntry,
    UfmPluginEntryFn, UFM_PLUGIN_ABI_MAJOR, UFM_PLUGIN_ENTRY_SYMBOL,
    UFM_PLUGIN_OPTIMIZER_VTABLE_SIZE_V0,
};

/// Bytes of the error buffer handed to plugin calls.
const ERR_CAP: usize = 1024;

/// A checked plugin library: its label (path or "built-in") and its vtables by id.
pub struct Library {
    pub label: String,
    optimizers: Vec<(String, UfmOptimizerVtable)>,
    initializers: Vec<(String, UfmInitializerVtable)>,
}

// SAFETY: the vtables point to static, immutable data of a library that is never unloaded;
// the ABI lets different cfgs be used from different threads.
unsafe impl Send for Library {}
unsafe impl Sync for Library {}

impl Library {
    pub fn optimizer_ids(&self) -> Vec<&str> {
        self.optimizers.iter().map(|(id, _)| id.as_str()).collect()
    }
    pub fn initializer_ids(&self) -> Vec<&str> {
        self.initializers
            .iter()
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// Create optimiser `id` from `params`.
    pub fn optimizer(
        &self,
        id: &str,
        params: &serde_json::Value,
    ) -> Result<PluginOptimizer, Error> {
        let Some((_, vt)) = self.optimizers.iter().find(|(i, _)| i == id) else {
            return Err(self.error(
                Some(id),
                None,
                format!(
                    "plugin {}: no optimizer with id `{id}` (it has: {})",
                    self.label,
                    list(&self.optimizer_ids())
                ),
            ));
        };
        let what = format!("plugin {} optimizer `{id}`", self.label);
        let create = vt.create.expect("checked at load");
        let cfg = create_cfg(&what, create, params).map_err(|(code, detail, message)| {
            let mut e = self.error(Some(id), code, message);
            if let Error::Plugin { detail: d, .. } = &mut e {
                *d = detail;
            }
            e
        })?;
        Ok(PluginOptimizer {
            vt: *vt,
            cfg,
            what,
            library: self.label.clone(),
            id: id.to_string(),
            err: vec![0; ERR_CAP],
            pending: Default::default(),
        })
    }

    /// Create initialiser `id` from `params`.
    pub fn initializer(
        &self,
        id: &str,
        params: &serde_json::Value,
    ) -> Result<PluginInitializer, Error> {
        let Some((_, vt)) = self.initializers.iter().find(|(i, _)| i == id) else {
            return Err(self.error(
                Some(id),
                None,
                format!(
                    "plugin {}: no initializer with id `{id}` (it has: {})",
                    self.label,
                    list(&self.initializer_ids())
                ),
            ));
        };
        let what = format!("plugin {} initializer `{id}`", self.label);
        let cfg = create_cfg(&what, vt.create.expect("checked at load"), params).map_err(
            |(code, detail, message)| {
                let mut e = self.error(Some(id), code, message);
                if let Error::Plugin { detail: d, .. } = &mut e {
                    *d = detail;
                }
                e
            },
        )?;
        Ok(PluginInitializer {
            vt: *vt,
            cfg,
            what,
            library: self.label.clone(),
            id: id.to_string(),
        })
    }
}

impl Library {
    /// A [`Error::Plugin`] about this library (and optimiser or initialiser `id`).
    fn error(&self, id: Option<&str>, code: Option<i32>, message: String) -> Error {
        plugin_error(&self.label, id, code, message)
    }
}

/// A [`Error::Plugin`] whose detail is the whole message.
fn plugin_error(library: &str, id: Option<&str>, code: Option<i32>, message: String) -> Error {
    Error::Plugin {
        library: library.to_string(),
        id: id.map(str::to_string),
        code,
        detail: message.clone(),
        message,
    }
}

fn list(ids: &[&str]) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.join(", ")
    }
}

type CreateFn = unsafe extern "C" fn(*const c_char, *mut *mut c_void, *mut c_char, usize) -> i32;

fn create_cfg(
    what: &str,
    create: CreateFn,
    params: &serde_json::Value,
) -> Result<*mut c_void, (Option<i32>, String, String)> {
    let text = CString::new(params.to_string()).map_err(|_| {
        let m = format!("{what}: params contain a NUL byte");
        (None, m.clone(), m)
    })?;
    let mut cfg: *mut c_void = std::ptr::null_mut();
    let mut err = vec![0u8; ERR_CAP];
    // SAFETY: arguments as the ABI specifies; buffers owned here and valid during the call.
    let code = unsafe { create(text.as_ptr(), &mut cfg, err.as_mut_ptr().cast(), ERR_CAP) };
    if code != 0 {
        // The plugin's own words are kept apart (`detail`) for a caller that shows them alone;
        // no decision reads them (job validation checks the built-in rules' params through
        // their typed `check`, not through this text).
        let detail = message(&err, code);
        let full = format!("{what} rejected its params: {detail}");
        return Err((Some(code), detail, full));
    }
    // A NULL cfg is allowed (a plugin without configuration may return one).
    Ok(cfg)
}

/// The NUL-terminated message in `err` (or a generic one) for status `code`.
fn message(err: &[u8], code: i32) -> String {
    let end = err.iter().position(|&b| b == 0).unwrap_or(err.len());
    let text = String::from_utf8_lossy(&err[..end]);
    if text.is_empty() {
        format!("error code {code} (no message)")
    } else {
        text.into_owned()
    }
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Arc<Library>>> {
    static REG: OnceLock<Mutex<HashMap<PathBuf, Arc<Library>>>> = OnceLock::new();
    REG.get_or_init(Default::default)
}

/// The built-in library (`ufm-plugin-std` linked in), checked like any other.
pub fn builtin() -> Arc<Library> {
    static LIB: OnceLock<Arc<Library>> = OnceLock::new();
    LIB.get_or_init(|| {
        // SAFETY: the entry of the linked-in crate follows the ABI.
        let lib =
            unsafe { check_entry("built-in (ufm-plugin-std)", ufm_plugin_std::plugin_entry()) }
                .expect("the built-in plugin passes the ABI checks");
        Arc::new(lib)
    })
    .clone()
}

/// Load (once per process) and check the library at `path`.
pub fn load(path: &Path) -> Result<Arc<Library>, Error> {
    let shown = path.display().to_string();
    let fail = |m: String| plugin_error(&shown, None, None, m);
    if !path.exists() {
        return Err(fail(format!("plugin {shown}: no such file")));
    }
    let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut reg = registry().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(lib) = reg.get(&key) {
        return Ok(lib.clone());
    }
    // SAFETY: loading runs the library's initialisers; that is what loading a plugin means.
    let lib = unsafe { libloading::Library::new(&key) }
        .map_err(|e| fail(format!("plugin {shown}: not a loadable library ({e})")))?;
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    // SAFETY: the symbol's type is fixed by the ABI.
    let entry_fn: libloading::Symbol<'static, UfmPluginEntryFn> =
        unsafe { lib.get(UFM_PLUGIN_ENTRY_SYMBOL.as_bytes()) }.map_err(|_| {
            fail(format!(
                "plugin {shown}: does not export the entry symbol `{UFM_PLUGIN_ENTRY_SYMBOL}`"
            ))
        })?;
    // SAFETY: calling the entry as the ABI specifies.
    let entry = unsafe { entry_fn() };
    // SAFETY: the pointer comes from the library's entry function.
    let checked = Arc::new(unsafe { check_entry(&shown, entry) }?);
    reg.insert(key, checked.clone());
    Ok(checked)
}

unsafe fn c_str(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: NUL-terminated per the ABI.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// Check an entry and copy out its vtables.
///
/// # Safety
/// `entry` must be null or point to a readable entry whose pointers follow the ABI.
pub unsafe fn check_entry(label: &str, entry: *const UfmPluginEntry) -> Result<Library, Error> {
    let bad = |m: String| plugin_error(label, None, None, m);
    if entry.is_null() {
        return Err(bad(format!(
            "plugin {label}: the entry function returned NULL"
        )));
    }
    // Read the two leading fields first: they are the same in every ABI version.
    // SAFETY: the entry starts with {u32 abi_major, u32 struct_size}.
    let (major, size) = unsafe { (*entry.cast::<u32>(), *entry.cast::<u32>().add(1)) };
    if major != UFM_PLUGIN_ABI_MAJOR {
        return Err(bad(format!(
            "plugin {label}: ABI major version {major}, this ufm needs {UFM_PLUGIN_ABI_MAJOR}"
        )));
    }
    let need = std::mem::size_of::<UfmPluginEntry>();
    if (size as usize) < need {
        return Err(bad(format!(
            "plugin {label}: entry struct_size {size} is smaller than {need} (built against an older header?)"
        )));
    }
    // SAFETY: large enough, per struct_size.
    let e = unsafe { &*entry };
    // SAFETY: the entry's tables follow the ABI (caller's contract).
    let optimizers = unsafe {
        read_table(
            label,
            "optimizer",
            e.optimizers,
            e.optimizer_count,
            UFM_PLUGIN_OPTIMIZER_VTABLE_SIZE_V0,
            |vt: &UfmOptimizerVtable| {
                (
                    vt.id,
                    vec![
                        ("create", vt.create.is_none()),
                        ("destroy", vt.destroy.is_none()),
                        ("state_len", vt.state_len.is_none()),
                        ("init_state", vt.init_state.is_none()),
                        ("update", vt.update.is_none()),
                    ],
                )
            },
        )
    }?;
    // SAFETY: as above.
    let initializers = unsafe {
        read_table(
            label,
            "initializer",
            e.initializers,
            e.initializer_count,
            std::mem::size_of::<UfmInitializerVtable>(),
            |vt: &UfmInitializerVtable| {
                (
                    vt.id,
                    vec![
                        ("create", vt.create.is_none()),
                        ("destroy", vt.destroy.is_none()),
                        ("fill", vt.fill.is_none()),
                    ],
                )
            },
        )
    }?;
    Ok(Library {
        label: label.to_string(),
        optimizers,
        initializers,
    })
}

/// Copy out one table of vtables (optimisers or initialisers), refusing a null table or vtable,
/// a vtable smaller than `min_size` (the size at ABI minor 0), a null id or function pointer,
/// and duplicate ids. Fields beyond the library's `struct_size` (added by later minors) read as
/// zero (null function pointers). `fields` gives a vtable's id and, per function pointer, its name and whether it is null.
///
/// # Safety
/// `table` must be null or point to `count` vtable pointers that follow the ABI.
unsafe fn read_table<V: Copy>(
    label: &str,
    kind: &str,
    table: *const *const V,
    count: usize,
    min_size: usize,
    fields: impl Fn(&V) -> (*const c_char, Vec<(&'static str, bool)>),
) -> Result<Vec<(String, V)>, Error> {
    let bad = |id: Option<&str>, m: String| plugin_error(label, id, None, m);
    if count > 0 && table.is_null() {
        return Err(bad(
            None,
            format!("plugin {label}: null function pointer or table `{kind}s`"),
        ));
    }
    let mut out: Vec<(String, V)> = Vec::with_capacity(count);
    for i in 0..count {
        // SAFETY: `count` pointers, per the ABI.
        let p = unsafe { *table.add(i) };
        if p.is_null() {
            return Err(bad(
                None,
                format!("plugin {label}: {kind} {i}: null vtable pointer"),
            ));
        }
        // SAFETY: every vtable starts with its struct_size; checked before reading further.
        let size = unsafe { *p.cast::<usize>() };
        let need = min_size.min(std::mem::size_of::<V>());
        if size < need {
            return Err(bad(
                None,
                format!(
                    "plugin {label}: {kind} {i}: vtable struct_size {size} is smaller than {need}"
                ),
            ));
        }
        // SAFETY: non-null, `size` readable bytes (at least `need`); V is a repr(C) struct of
        // pointers and Option<fn>, for which all-zero bytes are null / None.
        let vt = unsafe {
            let mut v = std::mem::MaybeUninit::<V>::zeroed();
            let n = size.min(std::mem::size_of::<V>());
            std::ptr::copy_nonoverlapping(p.cast::<u8>(), v.as_mut_ptr().cast::<u8>(), n);
            v.assume_init()
        };
        let (id_ptr, pointers) = fields(&vt);
        // SAFETY: id is NUL-terminated static storage or null, per the ABI.
        let id = unsafe { c_str(id_ptr) }
            .ok_or_else(|| bad(None, format!("plugin {label}: {kind} {i}: null id")))?;
        let nulls: Vec<&str> = pointers
            .iter()
            .filter(|(_, n)| *n)
            .map(|(name, _)| *name)
            .collect();
        if !nulls.is_empty() {
            return Err(bad(
                Some(&id),
                format!(
                    "plugin {label}: {kind} `{id}`: null function pointer {}",
                    nulls.join(", ")
                ),
            ));
        }
        if out.iter().any(|(j, _)| *j == id) {
            return Err(bad(
                Some(&id),
                format!("plugin {label}: duplicate {kind} id `{id}`"),
            ));
        }
        out.push((id, vt));
    }
    Ok(out)
}

fn view_mut(m: MatMut<'_, f64>) -> UfmMatrix {
    UfmMatrix {
        ptr: m.as_ptr_mut(),
        rows: m.nrows(),
        cols: m.ncols(),
        row_stride: m.row_stride(),
        col_stride: m.col_stride(),
    }
}

fn view(m: MatRef<'_, f64>) -> UfmConstMatrix {
    UfmConstMatrix {
        ptr: m.as_ptr(),
        rows: m.nrows(),
        cols: m.ncols(),
        row_stride: m.row_stride(),
        col_stride: m.col_stride(),
    }
}

/// An optimiser behind a plugin vtable, adapted to the engine's out-of-place [`Optimizer`]:
/// `param_out <- param_in`, then the plugin updates `param_out` in place.
pub struct PluginOptimizer {
    vt: UfmOptimizerVtable,
    cfg: *mut c_void,
    what: String,
    /// The library's label and the optimiser's id, for [`Error::PluginCall`].
    library: String,
    id: String,
    err: Vec<u8>,
    /// An error from `state_len` / `init_state`, reported by the first `update`.
    pending: std::cell::RefCell<Option<Error>>,
}

impl PluginOptimizer {
    /// The optimiser failed in a call (status `code`, when the call returned one).
    fn failed(&self, code: Option<i32>, message: String) -> Error {
        Error::PluginCall {
            library: self.library.clone(),
            id: self.id.clone(),
            code,
            message,
        }
    }

    /// Ok for status 0; otherwise "<what>: <call> failed[ at step S (matrix T)]: <the
    /// plugin's message>". `call` is formatted only on failure (no allocation in the step).
    fn status(
        &self,
        code: i32,
        call: std::fmt::Arguments<'_>,
        at: Option<StepInfo>,
    ) -> Result<(), Error> {
        if code == 0 {
            return Ok(());
        }
        let at = at.map_or(String::new(), |a| {
            format!(" at step {} (matrix {})", a.step, a.tensor)
        });
        Err(self.failed(
            Some(code),
            format!(
                "{}: {call} failed{at}: {}",
                self.what,
                message(&self.err, code)
            ),
        ))
    }
}

// SAFETY: a cfg is used by one thread at a time (the ABI's threading rule); the vtable is static.
unsafe impl Send for PluginOptimizer {}

impl Drop for PluginOptimizer {
    fn drop(&mut self) {
        if let Some(destroy) = self.vt.destroy {
            // SAFETY: cfg came from create and is destroyed once.
            unsafe { destroy(self.cfg) }
        }
    }
}

impl Optimizer for PluginOptimizer {
    fn state_len(&self, rows: usize, cols: usize) -> usize {
        // SAFETY: checked non-null at load; cfg from create.
        let n = unsafe { (self.vt.state_len.expect("checked"))(self.cfg, rows, cols) };
        // SIZE_MAX means failure; anything beyond 1024 values per entry is taken as one too
        // (rather than attempting the allocation).
        if n == usize::MAX || n / 1024 > rows.saturating_mul(cols).max(1) {
            let mut pending = self.pending.borrow_mut();
            if pending.is_none() {
                *pending = Some(self.failed(
                    None,
                    format!(
                        "{}: state_len failed for a {rows} x {cols} matrix (returned {n})",
                        self.what
                    ),
                ));
            }
            return 0;
        }
        n
    }

    fn init_state(&mut self, rows: usize, cols: usize, state: &mut [f64]) {
        // SAFETY: as the ABI specifies; the buffers live across the call.
        let code = unsafe {
            (self.vt.init_state.expect("checked"))(
                self.cfg,
                rows,
                cols,
                state.as_mut_ptr(),
                state.len(),
                self.err.as_mut_ptr().cast(),
                ERR_CAP,
            )
        };
        if let Err(e) = self.status(code, format_args!("init_state"), None) {
            self.pending.get_mut().get_or_insert(e);
        }
    }

    fn update(
        &mut self,
        at: StepInfo,
        param_in: MatRef<'_, f64>,
        mut param_out: MatMut<'_, f64>,
        grad: MatRef<'_, f64>,
        state: &mut [f64],
    ) -> Result<(), Error> {
        if let Some(e) = self.pending.get_mut().take() {
            return Err(e);
        }
        param_out.copy_from(param_in);
        // SAFETY: views of host buffers valid for the call; the state buffer has the length
        // state_len returned (allocated by the trainer).
        let code = unsafe {
            (self.vt.update.expect("checked"))(
                self.cfg,
                at.step,
                at.lr,
                view_mut(param_out),
                view(grad),
                state.as_mut_ptr(),
                state.len(),
                self.err.as_mut_ptr().cast(),
                ERR_CAP,
            )
        };
        self.status(code, format_args!("update"), Some(at))
    }
    fn stages(&self) -> u32 {
        match (self.vt.stages, self.vt.stage, self.vt.control) {
            // SAFETY: cfg from create; the function follows the ABI.
            (Some(f), Some(_), Some(_)) => unsafe { f(self.cfg) }.max(1),
            _ => 1,
        }
    }

    fn stage(
        &mut self,
        at: StepInfo,
        stage: u32,
        param: MatMut<'_, f64>,
        grad: MatRef<'_, f64>,
        state: &mut [f64],
        err_sq: &mut f64,
    ) -> Result<(), Error> {
        if let Some(e) = self.pending.get_mut().take() {
            return Err(e);
        }
        let Some(f) = self.vt.stage else {
            return Err(self.failed(None, format!("{}: no stage function", self.what)));
        };
        // SAFETY: as in `update`; err_sq is a valid f64 for the call.
        let code = unsafe {
            f(
                self.cfg,
                at.step,
                at.lr,
                stage,
                view_mut(param),
                view(grad),
                state.as_mut_ptr(),
                state.len(),
                err_sq,
                self.err.as_mut_ptr().cast(),
                ERR_CAP,
            )
        };
        self.status(code, format_args!("stage {stage}"), Some(at))
    }

    fn control(&mut self, lr: f64, err_rms: f64) -> Result<(bool, f64), Error> {
        let Some(f) = self.vt.control else {
            return Err(self.failed(None, format!("{}: no control function", self.what)));
        };
        let (mut accept, mut next) = (0i32, f64::NAN);
        // SAFETY: cfg from create; out-pointers valid for the call.
        let code = unsafe {
            f(
                self.cfg,
                lr,
                err_rms,
                &mut accept,
                &mut next,
                self.err.as_mut_ptr().cast(),
                ERR_CAP,
            )
        };
        self.status(code, format_args!("control"), None)?;
        if !(next.is_finite() && next > 0.0) {
            return Err(self.failed(
                None,
                format!(
                    "{}: control returned the step size {next} (must be finite and > 0)",
                    self.what
                ),
            ));
        }
        Ok((accept != 0, next))
    }
}

/// An initialiser behind a plugin vtable.
pub struct PluginInitializer {
    vt: UfmInitializerVtable,
    cfg: *mut c_void,
    what: String,
    /// The library's label and the initialiser's id, for [`Error::PluginCall`].
    library: String,
    id: String,
}

impl Drop for PluginInitializer {
    fn drop(&mut self) {
        if let Some(destroy) = self.vt.destroy {
            // SAFETY: cfg came from create and is destroyed once.
            unsafe { destroy(self.cfg) }
        }
    }
}

impl PluginInitializer {
    /// Fill matrix `tensor` for run seed `seed`.
    /// A nonzero status is an [`Error::PluginCall`] (a run-time failure).
    pub fn fill(&self, seed: u64, tensor: usize, m: MatMut<'_, f64>) -> Result<(), Error> {
        let mut err = vec![0u8; ERR_CAP];
        // SAFETY: as the ABI specifies.
        let code = unsafe {
            (self.vt.fill.expect("checked"))(
                self.cfg,
                seed,
                tensor,
                view_mut(m),
                err.as_mut_ptr().cast(),
                ERR_CAP,
            )
        };
        if code != 0 {
            return Err(Error::PluginCall {
                library: self.library.clone(),
                id: self.id.clone(),
                code: Some(code),
                message: format!(
                    "{}: fill of matrix {tensor} failed: {}",
                    self.what,
                    message(&err, code)
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
