//! C API call sequences against the real `libufm` (loaded by path, as a C program would):
//! every exported function, called in random order with live, freed, wrongly typed, NULL and
//! made-up handles, NULL and valid out-pointers, matrix views of every stride pattern (row- and
//! column-major, padded, zero, negative, overflowing), non-finite entries, class sizes whose sum
//! overflows, and job texts from the job generator. A call that returns `UFM_STATUS_PANIC` (a
//! panic caught at the boundary) or a status outside the enum is a failure.
//!
//! Views are always backed by memory covering what they declare (that is the caller's part of
//! the contract); only the arguments the library must check are made hostile.

use crate::rng::Rng;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;

type H = *mut c_void;
type E = *mut *mut c_void;

#[repr(C)]
#[derive(Clone, Copy)]
struct View {
    data: *const f64,
    nrows: usize,
    ncols: usize,
    rs: isize,
    cs: isize,
}

type ProgressFn = Option<unsafe extern "C" fn(*mut c_void, u64, u64, f64)>;
type CancelFn = Option<unsafe extern "C" fn(*mut c_void) -> c_int>;

macro_rules! api {
    ($($name:ident: fn($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        #[allow(non_snake_case)]
        struct Api { $($name: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)* }
        impl Api {
            fn load(lib: &'static libloading::Library) -> Result<Api, String> {
                // SAFETY: the signatures are those of include/ufm.h.
                unsafe {
                    Ok(Api { $($name: *lib.get(concat!(stringify!($name), "\0").as_bytes())
                        .map_err(|e| format!("{}: {e}", stringify!($name)))?,)* })
                }
            }
        }
    };
}

api! {
    ufm_version: fn() -> *const c_char;
    ufm_abi_version: fn() -> u32;
    ufm_status_name: fn(i32) -> *const c_char;
    ufm_error_message: fn(H) -> *const c_char;
    ufm_error_status: fn(H) -> i32;
    ufm_error_free: fn(H);
    ufm_job_validate: fn(*const c_char, E) -> i32;
    ufm_plugin_load: fn(*const c_char, E) -> i32;
    ufm_singular_values: fn(View, *mut f64, usize, *mut usize, E) -> i32;
    ufm_relative_rank: fn(*const f64, usize, f64, *mut usize, E) -> i32;
    ufm_class_means: fn(View, *const usize, usize, View, E) -> i32;
    ufm_nc_metric: fn(i32, View, *const usize, usize, *mut f64, E) -> i32;
    ufm_nc3: fn(View, View, *const usize, usize, *mut f64, E) -> i32;
    ufm_simplex_cosine: fn(View, *mut f64, E) -> i32;
    ufm_classify: fn(View, *const usize, usize, f64, *mut i32, E) -> i32;
    ufm_trainer_result: fn(H, *mut H, E) -> i32;
    ufm_result_free: fn(H);
    ufm_result_json: fn(H, *mut *const c_char, *mut usize, E) -> i32;
    ufm_result_summary: fn(H, *mut u64, E) -> i32;
    ufm_result_array_shape: fn(H, i32, *mut usize, *mut usize, E) -> i32;
    ufm_result_array: fn(H, i32, View, E) -> i32;
    ufm_result_write: fn(H, *const c_char, E) -> i32;
    ufm_theory_compare: fn(usize, usize, usize, f64, *mut u64, E) -> i32;
    ufm_theory_loss: fn(i32, usize, usize, usize, f64, f64, *mut f64, E) -> i32;
    ufm_theory_critical_scales: fn(i32, usize, usize, usize, f64, *mut f64, usize, *mut usize, E) -> i32;
    ufm_theory_lambda_max: fn(i32, usize, usize, usize, *mut f64, E) -> i32;
    ufm_theory_family: fn(usize, usize, usize, f64, *mut u64, usize, *mut usize, E) -> i32;
    ufm_theory_family_hessian: fn(usize, usize, usize, f64, usize, usize, *mut i32, *mut usize, *mut f64, E) -> i32;
    ufm_analyze: fn(*const c_char, *const c_char, *const c_char, E) -> i32;
    ufm_trainer_new: fn(*const c_char, *const c_char, *mut H, E) -> i32;
    ufm_trainer_free: fn(H);
    ufm_trainer_param_count: fn(H, *mut usize, E) -> i32;
    ufm_trainer_param_shape: fn(H, usize, *mut usize, *mut usize, E) -> i32;
    ufm_trainer_get_param: fn(H, usize, View, E) -> i32;
    ufm_trainer_set_param: fn(H, usize, View, E) -> i32;
    ufm_trainer_get_gradient: fn(H, usize, View, E) -> i32;
    ufm_trainer_loss: fn(H, *mut u64, E) -> i32;
    ufm_trainer_steps: fn(H, *mut u64, E) -> i32;
    ufm_trainer_step: fn(H, u64, *mut u64, E) -> i32;
    ufm_trainer_run: fn(H, ProgressFn, CancelFn, *mut c_void, *mut i32, E) -> i32;
}

/// The number of functions `include/ufm.h` declares (all of them are exercised).
pub const FUNCTIONS: usize = 40;

/// sizeof the versioned out-structs of ufm.h (ABI 2): the `struct_size` a correct caller sets.
const SUMMARY_SIZE: u64 = 104;
const LOSS_SIZE: u64 = 40;
const COMPARE_SIZE: u64 = 48;
const FAMILY_MEMBER_SIZE: u64 = 56;

/// Tallies of one batch of calls.
#[derive(Default, Debug, Clone)]
pub struct Tally {
    pub calls: u64,
    pub ok: u64,
    pub errors: u64,
    /// Calls that returned UFM_STATUS_PANIC or a status outside the enum.
    pub panics: u64,
    pub samples: Vec<String>,
}

const PANIC: i32 = 1;

struct Fuzzer<'a> {
    api: &'a Api,
    rng: Rng,
    tally: Tally,
    trainers: Vec<H>,
    results: Vec<H>,
    errors: Vec<H>,
    /// Handles already freed (and made-up addresses): must be refused, never dereferenced.
    dead: Vec<H>,
    seeds: &'a [serde_json::Value],
    base_dir: CString,
    seed: u64,
}

unsafe extern "C" fn on_progress(_: *mut c_void, _: u64, _: u64, _: f64) {}

unsafe extern "C" fn on_cancel(user: *mut c_void) -> c_int {
    // SAFETY: user_data is the fuzzer's [polls, limit] pair.
    let n = unsafe { &mut *(user as *mut [u64; 2]) };
    n[0] += 1;
    c_int::from(n[0] >= n[1])
}

/// A matrix view with its backing memory.
struct Buf {
    /// Owns the memory `view` points into (kept alive for the call).
    _mem: Vec<f64>,
    view: View,
}

impl Fuzzer<'_> {
    fn status(&mut self, name: &str, s: i32, err: &mut H) {
        self.tally.calls += 1;
        if s == 0 {
            self.tally.ok += 1;
        } else {
            self.tally.errors += 1;
        }
        if s == PANIC || !(0..=12).contains(&s) {
            self.tally.panics += 1;
            let msg = if err.is_null() {
                String::new()
            } else {
                // SAFETY: a live error the library just returned.
                unsafe { CStr::from_ptr((self.api.ufm_error_message)(*err)) }
                    .to_string_lossy()
                    .into_owned()
            };
            if self.tally.samples.len() < 20 {
                self.tally
                    .samples
                    .push(format!("{name} -> status {s} (seed {}): {msg}", self.seed));
            }
        }
        if !err.is_null() {
            if s == 0 {
                self.tally.panics += 1;
                self.tally
                    .samples
                    .push(format!("{name}: an error was set on success"));
            }
            // Read it back through the API, then keep it (freed later) or free it now.
            // SAFETY: a live error handle.
            unsafe {
                let st = (self.api.ufm_error_status)(*err);
                let _ = CStr::from_ptr((self.api.ufm_error_message)(*err))
                    .to_bytes()
                    .len();
                self.tally.calls += 2;
                if st != s {
                    self.tally.panics += 1;
                    self.tally
                        .samples
                        .push(format!("{name}: error status {st} != returned {s}"));
                }
            }
            if self.rng.chance(0.2) && self.errors.len() < 8 {
                self.errors.push(*err);
            } else {
                // SAFETY: freeing a live error.
                unsafe { (self.api.ufm_error_free)(*err) };
                self.tally.calls += 1;
                self.dead.push(*err);
            }
            *err = std::ptr::null_mut();
        }
    }

    /// The err argument: usually a slot, sometimes NULL.
    fn err_slot(&mut self, slot: &mut H) -> E {
        if self.rng.chance(0.15) {
            std::ptr::null_mut()
        } else {
            slot as *mut H
        }
    }

    fn handle(&mut self, preferred: u8) -> H {
        let pool = match self.rng.below(10) {
            0 => return std::ptr::null_mut(),
            1 => {
                return self
                    .rng
                    .pick(&[8usize, 4096, 0xdead_bee8, usize::MAX & !7])
                    .to_owned() as H
            }
            2 => &self.dead,
            3 => &self.errors,
            4 => &self.results,
            5 => &self.trainers,
            _ => match preferred {
                0 => &self.trainers,
                1 => &self.results,
                _ => &self.errors,
            },
        };
        if pool.is_empty() {
            std::ptr::null_mut()
        } else {
            pool[self.rng.below(pool.len() as u64) as usize]
        }
    }

    /// The `struct_size` a caller sets in a versioned out-struct of `size` bytes: usually right,
    /// sometimes unset (0), short, or that of a later, larger version (up to `max`, the bytes
    /// behind the pointer).
    fn struct_size(&mut self, size: u64, max: u64) -> u64 {
        match self.rng.below(10) {
            0 => 0,
            1 => 8,
            2 => size - 8,
            3 => size + 8,
            4 => max,
            _ => size,
        }
    }

    fn out<T>(&mut self, p: &mut T) -> *mut T {
        if self.rng.chance(0.1) {
            std::ptr::null_mut()
        } else {
            p as *mut T
        }
    }

    fn value(&mut self) -> f64 {
        match self.rng.below(20) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => 1e308,
            3 => -1e308,
            4 => 0.0,
            5 => 5e-324,
            _ => self.rng.unit() * 4.0 - 2.0,
        }
    }

    fn finite(&mut self) -> f64 {
        self.rng.unit() * 4.0 - 2.0
    }

    /// A view of `nrows x ncols` (random when None) with a random stride pattern, backed by
    /// enough memory, or with strides the library must refuse before touching memory.
    fn view(&mut self, shape: Option<(usize, usize)>, writable: bool) -> Buf {
        let (r, c) =
            shape.unwrap_or_else(|| (self.rng.range(0, 6) as usize, self.rng.range(0, 6) as usize));
        let nan_ok = self.rng.chance(0.1);
        let kind = self.rng.below(10);
        let (rs, cs): (isize, isize) = match kind {
            0 => (c as isize, 1),
            1 => (1, r as isize),
            2 => (c as isize + 2, 1),
            3 => (0, 0),
            4 => (-1, 1),
            5 => (isize::MAX / 4, 1),
            6 => (1, isize::MAX / 3),
            7 => (1, 1),
            _ => (
                self.rng.range(1, 4) as isize * c.max(1) as isize,
                self.rng.range(1, 3) as isize,
            ),
        };
        // Backing memory for everything the view declares, unless the library must refuse the
        // strides before reading (negative, or the last offset overflows the address space).
        let last = if r == 0 || c == 0 || rs < 0 || cs < 0 {
            None
        } else {
            (r - 1)
                .checked_mul(rs as usize)
                .and_then(|a| {
                    (c - 1)
                        .checked_mul(cs as usize)
                        .and_then(|b| a.checked_add(b))
                })
                .filter(|&e| e.checked_mul(8).is_some_and(|b| b <= isize::MAX as usize))
        };
        let span = match last {
            Some(e) if e < 1 << 22 => e + 1,
            Some(_) => return self.view(Some((0, 0)), writable),
            None => 1,
        };
        let mem: Vec<f64> = (0..span.max(1))
            .map(|_| if nan_ok { self.value() } else { self.finite() })
            .collect();
        let data = if self.rng.chance(0.05) {
            std::ptr::null()
        } else if self.rng.chance(0.03) && !mem.is_empty() {
            // Misaligned.
            (mem.as_ptr() as usize + 1) as *const f64
        } else {
            mem.as_ptr()
        };
        let _ = writable;
        Buf {
            view: View {
                data,
                nrows: r,
                ncols: c,
                rs,
                cs,
            },
            _mem: mem,
        }
    }

    /// A huge view over one element: zero strides, so no memory is read beyond it; the library
    /// must refuse to copy it.
    fn huge_view(&mut self) -> Buf {
        let mem = vec![1.0];
        let n = *self.rng.pick(&[1usize << 20, 1 << 32, usize::MAX, 1 << 62]);
        Buf {
            view: View {
                data: mem.as_ptr(),
                nrows: n,
                ncols: n,
                rs: 0,
                cs: 0,
            },
            _mem: mem,
        }
    }

    /// Class sizes: random, summing to `ncols`, or with an entry of usize::MAX (the sum
    /// overflows).
    fn sizes(&mut self, ncols: usize) -> Vec<usize> {
        let k = self.rng.range(0, 5) as usize;
        let mut s: Vec<usize> = (0..k).map(|_| self.rng.range(0, 3) as usize).collect();
        if self.rng.chance(0.5) && k >= 2 {
            let mut left = ncols;
            for (i, x) in s.iter_mut().enumerate() {
                *x = if i + 1 == k { left } else { left.min(1) };
                *x = (*x).min(left);
                left -= *x;
            }
        }
        if self.rng.chance(0.1) && !s.is_empty() {
            s[0] = usize::MAX;
        }
        s
    }

    fn ptr<T>(&mut self, v: &[T]) -> *const T {
        if self.rng.chance(0.05) {
            std::ptr::null()
        } else {
            v.as_ptr()
        }
    }

    fn job_text(&mut self) -> CString {
        let t = crate::jobs::generate(self.seeds, self.seed ^ 0x5555, self.rng.next_u64());
        CString::new(t.replace('\0', " ")).unwrap_or_default()
    }

    fn call(&mut self) {
        let api = self.api;
        let mut e: H = std::ptr::null_mut();
        let which = self.rng.below(40);
        // SAFETY (every call below): arguments follow include/ufm.h; every pointer is NULL,
        // a made-up handle address (which the library only looks up), or valid memory of the
        // declared size.
        unsafe {
            match which {
                0 => {
                    let _ = CStr::from_ptr((api.ufm_version)());
                    let _ = (api.ufm_abi_version)();
                    self.tally.calls += 2;
                    self.tally.ok += 2;
                }
                1 => {
                    let s = self.rng.next_u64() as i32 % 20;
                    let _ = CStr::from_ptr((api.ufm_status_name)(s));
                    self.tally.calls += 1;
                    self.tally.ok += 1;
                }
                2 => {
                    let h = self.handle(2);
                    let _ = CStr::from_ptr((api.ufm_error_message)(h));
                    let _ = (api.ufm_error_status)(h);
                    self.tally.calls += 2;
                }
                3 => {
                    let h = self.handle(2);
                    (api.ufm_error_free)(h);
                    self.errors.retain(|&x| x != h);
                    self.dead.push(h);
                    self.tally.calls += 1;
                }
                4 | 5 => {
                    let text = if self.rng.chance(0.05) {
                        CString::new(vec![0xff, 0xfe, b'{']).unwrap_or_default()
                    } else {
                        self.job_text()
                    };
                    let p = if self.rng.chance(0.05) {
                        std::ptr::null()
                    } else {
                        text.as_ptr()
                    };
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_job_validate)(p, ep);
                    self.status("ufm_job_validate", s, &mut e);
                }
                6 => {
                    let path = CString::new(match self.rng.below(4) {
                        0 => "nosuch.so".to_string(),
                        1 => format!("{}/not_a_library.so", self.base_dir.to_string_lossy()),
                        2 => crate::jobs::library("ufm_plugin_std").display().to_string(),
                        _ => String::new(),
                    })
                    .unwrap_or_default();
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_plugin_load)(path.as_ptr(), ep);
                    self.status("ufm_plugin_load", s, &mut e);
                }
                7 => {
                    let b = if self.rng.chance(0.1) {
                        self.huge_view()
                    } else {
                        self.view(None, false)
                    };
                    let mut out = vec![0.0; 8];
                    let cap = self.rng.range(0, 8) as usize;
                    let mut len = 0usize;
                    let outp = if self.rng.chance(0.1) {
                        std::ptr::null_mut()
                    } else {
                        out.as_mut_ptr()
                    };
                    let lenp = self.out(&mut len);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_singular_values)(
                        b.view,
                        outp,
                        if outp.is_null() { 0 } else { cap },
                        lenp,
                        ep,
                    );
                    self.status("ufm_singular_values", s, &mut e);
                    drop(b);
                }
                8 => {
                    let v: Vec<f64> = (0..self.rng.range(0, 6)).map(|_| self.value()).collect();
                    let mut rank = 0usize;
                    let tol = self.value();
                    let rp = self.out(&mut rank);
                    let ep = self.err_slot(&mut e);
                    let p = if v.is_empty() && self.rng.chance(0.5) {
                        std::ptr::null()
                    } else {
                        v.as_ptr()
                    };
                    let s = (api.ufm_relative_rank)(p, v.len(), tol, rp, ep);
                    self.status("ufm_relative_rank", s, &mut e);
                }
                9 => {
                    let f = if self.rng.chance(0.1) {
                        self.huge_view()
                    } else {
                        self.view(None, false)
                    };
                    let sizes = self.sizes(f.view.ncols);
                    let k = sizes.len();
                    let m = self.view(Some((f.view.nrows.min(6), k)), true);
                    let sp = self.ptr(&sizes);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_class_means)(f.view, sp, k, m.view, ep);
                    self.status("ufm_class_means", s, &mut e);
                    drop((f, m));
                }
                10 => {
                    let f = self.view(None, false);
                    let sizes = self.sizes(f.view.ncols);
                    let mut v = 0.0;
                    let w = self.rng.range(0, 4) as i32 - 1;
                    let vp = self.out(&mut v);
                    let sp = self.ptr(&sizes);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_nc_metric)(w, f.view, sp, sizes.len(), vp, ep);
                    self.status("ufm_nc_metric", s, &mut e);
                }
                11 => {
                    let h = self.view(None, false);
                    let rows = self.rng.range(0, 5) as usize;
                    let w = self.view(Some((rows, h.view.nrows)), false);
                    let sizes = self.sizes(h.view.ncols);
                    let mut v = 0.0;
                    let vp = self.out(&mut v);
                    let sp = self.ptr(&sizes);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_nc3)(w.view, h.view, sp, sizes.len(), vp, ep);
                    self.status("ufm_nc3", s, &mut e);
                }
                12 => {
                    let k = self.rng.range(0, 5) as usize;
                    let cols = if self.rng.chance(0.8) { k } else { k + 1 };
                    let m = self.view(Some((k, cols)), false);
                    let mut v = 0.0;
                    let vp = self.out(&mut v);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_simplex_cosine)(m.view, vp, ep);
                    self.status("ufm_simplex_cosine", s, &mut e);
                }
                13 => {
                    let z = self.view(None, false);
                    let sizes = self.sizes(z.view.ncols);
                    let mut c = 0i32;
                    let tol = if self.rng.chance(0.8) {
                        1e-6
                    } else {
                        self.value()
                    };
                    let cp = self.out(&mut c);
                    let sp = self.ptr(&sizes);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_classify)(z.view, sp, sizes.len(), tol, cp, ep);
                    self.status("ufm_classify", s, &mut e);
                }
                14 => {
                    let t = self.handle(0);
                    let mut r: H = std::ptr::null_mut();
                    let rp = self.out(&mut r);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_trainer_result)(t, rp, ep);
                    if s == 0 && !r.is_null() {
                        self.results.push(r);
                    }
                    self.status("ufm_trainer_result", s, &mut e);
                }
                15 => {
                    let r = self.handle(1);
                    (api.ufm_result_free)(r);
                    self.results.retain(|&x| x != r);
                    self.dead.push(r);
                    self.tally.calls += 1;
                }
                16 => {
                    let r = self.handle(1);
                    let mut j: *const c_char = std::ptr::null();
                    let mut len = 0usize;
                    let jp = self.out(&mut j);
                    let lp = if self.rng.chance(0.3) {
                        std::ptr::null_mut()
                    } else {
                        &mut len as *mut usize
                    };
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_result_json)(r, jp, lp, ep);
                    if s == 0 && !j.is_null() {
                        let text = CStr::from_ptr(j).to_string_lossy();
                        if serde_json::from_str::<serde_json::Value>(&text).is_err() {
                            self.tally.panics += 1;
                            self.tally.samples.push("ufm_result_json: not JSON".into());
                        }
                    }
                    self.status("ufm_result_json", s, &mut e);
                }
                17 => {
                    let r = self.handle(1);
                    let mut buf = [0u64; 32];
                    buf[0] = self.struct_size(SUMMARY_SIZE, 256);
                    let bp = self.out(&mut buf[0]);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_result_summary)(r, bp, ep);
                    self.status("ufm_result_summary", s, &mut e);
                }
                18 | 19 => {
                    let r = self.handle(1);
                    let which = self.rng.range(0, 5) as i32 - 1;
                    let (mut nr, mut nc) = (0usize, 0usize);
                    let nrp = self.out(&mut nr);
                    let ncp = self.out(&mut nc);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_result_array_shape)(r, which, nrp, ncp, ep);
                    self.status("ufm_result_array_shape", s, &mut e);
                    let shape = if s == 0 && self.rng.chance(0.8) {
                        Some((nr, nc))
                    } else {
                        None
                    };
                    let d = self.view(shape, true);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_result_array)(r, which, View { ..d.view }, ep);
                    self.status("ufm_result_array", s, &mut e);
                    drop(d);
                }
                20..=23 => {
                    let big = [0usize, 1, 2, 3, 4, 10, 1 << 20, 1 << 40, usize::MAX];
                    let k = *self.rng.pick(&big);
                    let n = *self.rng.pick(&big);
                    let l = *self.rng.pick(&big);
                    let lambda = if self.rng.chance(0.7) {
                        10f64.powi(-(self.rng.range(1, 6) as i32))
                    } else {
                        self.value()
                    };
                    let st = self.rng.range(0, 3) as i32 - 1;
                    let ep = self.err_slot(&mut e);
                    let (name, s) = match which {
                        20 => {
                            let mut c = [0u64; 8];
                            c[0] = self.struct_size(COMPARE_SIZE, 64);
                            let cp = self.out(&mut c[0]);
                            (
                                "ufm_theory_compare",
                                (api.ufm_theory_compare)(k, n, l, lambda, cp, ep),
                            )
                        }
                        21 => {
                            let mut v = 0.0;
                            let scale = self.value();
                            let vp = self.out(&mut v);
                            (
                                "ufm_theory_loss",
                                (api.ufm_theory_loss)(st, k, n, l, lambda, scale, vp, ep),
                            )
                        }
                        22 => {
                            let mut roots = [0.0; 4];
                            let cap = self.rng.range(0, 4) as usize;
                            let mut len = 0usize;
                            let lp = self.out(&mut len);
                            (
                                "ufm_theory_critical_scales",
                                (api.ufm_theory_critical_scales)(
                                    st,
                                    k,
                                    n,
                                    l,
                                    lambda,
                                    roots.as_mut_ptr(),
                                    cap,
                                    lp,
                                    ep,
                                ),
                            )
                        }
                        _ => {
                            let mut v = 0.0;
                            let vp = self.out(&mut v);
                            (
                                "ufm_theory_lambda_max",
                                (api.ufm_theory_lambda_max)(st, k, n, l, vp, ep),
                            )
                        }
                    };
                    self.status(name, s, &mut e);
                }
                24..=26 => {
                    let text = self.job_text();
                    let mut t: H = std::ptr::null_mut();
                    let tp = self.out(&mut t);
                    let base = if self.rng.chance(0.1) {
                        std::ptr::null()
                    } else {
                        self.base_dir.as_ptr()
                    };
                    let jp = if self.rng.chance(0.03) {
                        std::ptr::null()
                    } else {
                        text.as_ptr()
                    };
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_trainer_new)(jp, base, tp, ep);
                    if s == 0 && !t.is_null() {
                        self.trainers.push(t);
                    }
                    self.status("ufm_trainer_new", s, &mut e);
                    while self.trainers.len() > 6 {
                        let t = self.trainers.remove(0);
                        (api.ufm_trainer_free)(t);
                        self.dead.push(t);
                        self.tally.calls += 1;
                    }
                }
                27 => {
                    let t = self.handle(0);
                    (api.ufm_trainer_free)(t);
                    self.trainers.retain(|&x| x != t);
                    self.dead.push(t);
                    self.tally.calls += 1;
                }
                28 | 29 => {
                    let t = self.handle(0);
                    let mut count = 0usize;
                    let cp = self.out(&mut count);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_trainer_param_count)(t, cp, ep);
                    self.status("ufm_trainer_param_count", s, &mut e);
                    let idx = if s == 0 && count > 0 && self.rng.chance(0.8) {
                        self.rng.below(count as u64) as usize
                    } else {
                        *self.rng.pick(&[0usize, 1, 5, usize::MAX])
                    };
                    let (mut nr, mut nc) = (0usize, 0usize);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_trainer_param_shape)(t, idx, &mut nr, &mut nc, ep);
                    self.status("ufm_trainer_param_shape", s, &mut e);
                    let shape = if s == 0 && self.rng.chance(0.85) {
                        Some((nr, nc))
                    } else {
                        None
                    };
                    match self.rng.below(3) {
                        0 => {
                            let d = self.view(shape, true);
                            let ep = self.err_slot(&mut e);
                            let s = (api.ufm_trainer_get_param)(t, idx, d.view, ep);
                            self.status("ufm_trainer_get_param", s, &mut e);
                        }
                        1 => {
                            let d = self.view(shape, true);
                            let ep = self.err_slot(&mut e);
                            let s = (api.ufm_trainer_get_gradient)(t, idx, d.view, ep);
                            self.status("ufm_trainer_get_gradient", s, &mut e);
                        }
                        _ => {
                            let d = if self.rng.chance(0.05) {
                                self.huge_view()
                            } else {
                                self.view(shape, false)
                            };
                            let ep = self.err_slot(&mut e);
                            let s = (api.ufm_trainer_set_param)(t, idx, d.view, ep);
                            self.status("ufm_trainer_set_param", s, &mut e);
                        }
                    }
                }
                30 => {
                    let t = self.handle(0);
                    let mut buf = [0u64; 8];
                    buf[0] = self.struct_size(LOSS_SIZE, 64);
                    let bp = self.out(&mut buf[0]);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_trainer_loss)(t, bp, ep);
                    self.status("ufm_trainer_loss", s, &mut e);
                }
                31 => {
                    let t = self.handle(0);
                    let mut steps = 0u64;
                    let sp = self.out(&mut steps);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_trainer_steps)(t, sp, ep);
                    self.status("ufm_trainer_steps", s, &mut e);
                }
                32 | 33 => {
                    let t = self.handle(0);
                    let n = *self.rng.pick(&[0u64, 1, 2, 5, 10]);
                    let mut done = 0u64;
                    let dp = if self.rng.chance(0.3) {
                        std::ptr::null_mut()
                    } else {
                        &mut done as *mut u64
                    };
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_trainer_step)(t, n, dp, ep);
                    self.status("ufm_trainer_step", s, &mut e);
                }
                36 => {
                    // The pair + simplex family table (ufm_family_member: struct_size, 3 size_t,
                    // 3 double), as an array of up to 8 elements of the caller's struct_size
                    // (right, unset, short, misaligned or a later version's 64 bytes).
                    let k = *self
                        .rng
                        .pick(&[0usize, 1, 2, 3, 5, 10, 1 << 20, 1 << 40, usize::MAX]);
                    let n = *self.rng.pick(&[0usize, 1, 2, 5, 1 << 40, usize::MAX]);
                    let l = *self.rng.pick(&[0usize, 1, 2, 4, 1 << 40, usize::MAX]);
                    let lambda = if self.rng.chance(0.7) {
                        1e-3
                    } else {
                        self.value()
                    };
                    let mut members = [0u64; 8 * 8];
                    members[0] = match self.rng.below(6) {
                        0 => 0,
                        1 => FAMILY_MEMBER_SIZE - 8,
                        2 => FAMILY_MEMBER_SIZE + 4,
                        3 => 64,
                        _ => FAMILY_MEMBER_SIZE,
                    };
                    let cap = self.rng.range(0, 9) as usize;
                    let mp = if self.rng.chance(0.1) {
                        std::ptr::null_mut()
                    } else {
                        members.as_mut_ptr()
                    };
                    let mut len = 0usize;
                    let lp = self.out(&mut len);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_theory_family)(k, n, l, lambda, mp, cap, lp, ep);
                    self.status("ufm_theory_family", s, &mut e);
                }
                37 => {
                    // Sizes stay small where they are valid (a dense Hessian near the limit
                    // takes minutes); the huge ones exercise the refusals.
                    let k = *self.rng.pick(&[0usize, 1, 2, 4, 6, 1 << 40, usize::MAX]);
                    let n = *self.rng.pick(&[0usize, 1, 2, 1 << 40, usize::MAX]);
                    let l = *self.rng.pick(&[0usize, 1, 2, 3, 1 << 40, usize::MAX]);
                    let pairs = *self.rng.pick(&[0usize, 1, 2, 3, usize::MAX]);
                    let width = *self.rng.pick(&[0usize, 1, 2, 4, 6, 8, 1 << 30, usize::MAX]);
                    let lambda = if self.rng.chance(0.7) {
                        1e-2
                    } else {
                        self.value()
                    };
                    let (mut verdict, mut negative, mut smallest) = (0i32, 0usize, 0.0f64);
                    let vp = self.out(&mut verdict);
                    let np = self.out(&mut negative);
                    let sp = self.out(&mut smallest);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_theory_family_hessian)(
                        k, n, l, lambda, pairs, width, vp, np, sp, ep,
                    );
                    self.status("ufm_theory_family_hessian", s, &mut e);
                }
                38 => {
                    // An export folder that is missing, not a folder, or empty, options that
                    // are NULL, not JSON or out of range, and an output folder in the scratch
                    // area (or NULL).
                    let base = self.base_dir.to_string_lossy().to_string();
                    let dir = CString::new(match self.rng.below(4) {
                        0 => "/nonexistent/export".to_string(),
                        1 => format!("{base}/not_a_library.so"),
                        2 => base.clone(),
                        _ => String::new(),
                    })
                    .unwrap_or_default();
                    let opts = CString::new(*self.rng.pick(&[
                        "{}",
                        "{\"rank_tol\": -1}",
                        "{\"lambda_h\": 1e-3}",
                        "{\"max_memory_gib\": 1e308}",
                        "{\"typo\": 1}",
                        "not json",
                        "[1, 2]",
                    ]))
                    .unwrap_or_default();
                    let out = CString::new(format!("{base}/analyze-out")).unwrap_or_default();
                    let dp = if self.rng.chance(0.1) {
                        std::ptr::null()
                    } else {
                        dir.as_ptr()
                    };
                    let op = if self.rng.chance(0.3) {
                        std::ptr::null()
                    } else {
                        opts.as_ptr()
                    };
                    let outp = if self.rng.chance(0.1) {
                        std::ptr::null()
                    } else {
                        out.as_ptr()
                    };
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_analyze)(dp, op, outp, ep);
                    self.status("ufm_analyze", s, &mut e);
                }
                39 => {
                    // Write a result's run folder: into the scratch area, under a file (cannot
                    // be made), NULL or not UTF-8; on live, freed, foreign and made-up handles.
                    // Only 1 in 4 of these calls writes (each file is synced to disk).
                    let r = self.handle(1);
                    let base = self.base_dir.to_string_lossy().to_string();
                    let dir = match self.rng.below(8) {
                        0 => CString::new(format!("{base}/not_a_library.so/run")),
                        1 => CString::new(vec![b'/', 0xff, b'x']),
                        2 | 3 => CString::new(format!("{base}/write-out/{}", self.rng.below(3))),
                        _ => CString::new(format!("{base}/not_a_library.so")),
                    }
                    .unwrap_or_default();
                    let dp = if self.rng.chance(0.1) {
                        std::ptr::null()
                    } else {
                        dir.as_ptr()
                    };
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_result_write)(r, dp, ep);
                    self.status("ufm_result_write", s, &mut e);
                }
                _ => {
                    let t = self.handle(0);
                    // Stop after 1..6 polls: a job kept at full size (e.g. figure6, 200,000
                    // steps) would otherwise train for minutes and look like a hang.
                    let mut counter = [0u64, self.rng.range(1, 6)];
                    let mut st = 0i32;
                    let sp = self.out(&mut st);
                    let progress: ProgressFn = if self.rng.chance(0.5) {
                        Some(on_progress)
                    } else {
                        None
                    };
                    let cancel: CancelFn = Some(on_cancel);
                    let ep = self.err_slot(&mut e);
                    let s = (api.ufm_trainer_run)(
                        t,
                        progress,
                        cancel,
                        counter.as_mut_ptr() as *mut c_void,
                        sp,
                        ep,
                    );
                    self.status("ufm_trainer_run", s, &mut e);
                }
            }
        }
    }
}

fn api() -> &'static Api {
    static API: std::sync::OnceLock<Api> = std::sync::OnceLock::new();
    API.get_or_init(|| {
        let path = crate::jobs::library("ufm");
        // SAFETY: loading the library under test.
        let lib = unsafe { libloading::Library::new(&path) }
            .unwrap_or_else(|e| panic!("cannot load {}: {e}", path.display()));
        let lib: &'static libloading::Library = Box::leak(Box::new(lib));
        Api::load(lib).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

/// Make at least `calls` C API calls from the stream seeded with `seed`; jobs' relative paths
/// resolve against `base_dir`, and job texts come from `seeds`.
pub fn run(seed: u64, calls: u64, base_dir: &Path, seeds: &[serde_json::Value]) -> Tally {
    let api = api();
    let mut f = Fuzzer {
        api,
        rng: Rng::new(seed ^ 0xc0ff_ee00),
        tally: Tally::default(),
        trainers: vec![],
        results: vec![],
        errors: vec![],
        dead: vec![],
        seeds,
        base_dir: CString::new(base_dir.display().to_string()).unwrap_or_default(),
        seed,
    };
    while f.tally.calls < calls {
        f.call();
        if f.dead.len() > 64 {
            f.dead.drain(..32);
        }
    }
    // SAFETY: freeing what is still live (and some dead handles again: must be ignored).
    unsafe {
        for t in std::mem::take(&mut f.trainers) {
            (api.ufm_trainer_free)(t);
            (api.ufm_trainer_free)(t);
        }
        for r in std::mem::take(&mut f.results) {
            (api.ufm_result_free)(r);
        }
        for e in std::mem::take(&mut f.errors) {
            (api.ufm_error_free)(e);
        }
    }
    f.tally
}
