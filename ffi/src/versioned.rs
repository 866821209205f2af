//! Versioned out-structs: every struct the library writes for the caller (`ufm_summary`,
//! `ufm_loss`, `ufm_compare`, `ufm_family_member`) starts with `size_t struct_size`, which the
//! caller sets to `sizeof` the struct as compiled into the caller (docs/c-api.md, "Versioned
//! out-structs").
//!
//! Why: a field appended in a later version then breaks nobody. The library writes the fields
//! that fit in the caller's `struct_size` (an older caller gets the fields it knows; a newer
//! caller's extra fields are left as it initialised them) and never touches `struct_size`. A
//! `struct_size` below the first versioned layout (0: never set) is refused with
//! `UFM_STATUS_STRUCT_SIZE` before anything is written, like the plugin ABI refuses a vtable
//! whose `struct_size` is too small.

use crate::{ufm_status, Error, Res};
use std::mem::{align_of, size_of};

/// A `#[repr(C)]` out-struct whose first field is `struct_size: usize`.
///
/// # Safety
/// Implementors must be `#[repr(C)]` with `struct_size: usize` as their first field, and
/// `C_NAME` must be the struct's name in ufm.h.
pub(crate) unsafe trait Versioned: Copy {
    /// The name in ufm.h, for messages.
    const C_NAME: &'static str;
    /// The size of the struct's first versioned layout (ABI version 2): the smallest
    /// `struct_size` accepted. Stays fixed when fields are appended later.
    const MIN_SIZE: usize;
}

fn checked_size<T: Versioned>(what: &str, size: usize) -> Res<()> {
    if size < T::MIN_SIZE {
        return Err(Error::new(
            ufm_status::UFM_STATUS_STRUCT_SIZE,
            format!(
                "{what}.struct_size: must be at least {} (set it to sizeof({}) before the call), \
                 got {size}",
                T::MIN_SIZE,
                T::C_NAME
            ),
        ));
    }
    Ok(())
}

/// Check the caller's pointer to a `T` and read its `struct_size`.
fn caller_size<T: Versioned>(p: *const T, what: &str) -> Res<usize> {
    if p.is_null() {
        return Err(Error::null(what));
    }
    if !(p as usize).is_multiple_of(align_of::<T>()) {
        return Err(Error::arg(format!("{what}: misaligned pointer")));
    }
    // SAFETY: non-null and aligned; the caller promises a struct that begins with its
    // `size_t struct_size` (at least that field is readable).
    let size = unsafe { p.cast::<usize>().read() };
    checked_size::<T>(what, size)?;
    Ok(size)
}

/// Write the first `min(size, size_of::<T>())` bytes of `value` (its `struct_size` replaced by
/// `size`) to `dst`.
///
/// # Safety
/// `dst` is valid for writes of `size` bytes.
unsafe fn write_prefix<T: Versioned>(dst: *mut u8, value: T, size: usize) {
    let mut v = value;
    // SAFETY: `T` starts with `struct_size: usize` (the trait's contract).
    unsafe { std::ptr::from_mut(&mut v).cast::<usize>().write(size) };
    let n = size.min(size_of::<T>());
    // SAFETY: `n <= size_of::<T>()` bytes of `v`; the caller promises `size >= n` writable bytes.
    // A byte copy may copy padding (uninitialised) bytes, which `copy_nonoverlapping` allows.
    unsafe { std::ptr::copy_nonoverlapping(std::ptr::from_ref(&v).cast::<u8>(), dst, n) };
}

/// Write `value` into the caller's struct at `dst` (versioned: see the module doc).
pub(crate) fn write_out<T: Versioned>(dst: *mut T, what: &str, value: T) -> Res<()> {
    let size = caller_size(dst, what)?;
    // SAFETY: the caller promises a struct of `struct_size` bytes at `dst`.
    unsafe { write_prefix(dst.cast::<u8>(), value, size) };
    Ok(())
}

/// Write `values` into the caller's array at `dst` of capacity `cap` (checked by the caller to
/// hold `values.len()`). The array's element size is `dst[0].struct_size`, which the caller sets
/// (to `sizeof` the struct); every written element gets that `struct_size`.
pub(crate) fn write_out_array<T: Versioned>(
    dst: *mut T,
    cap: usize,
    what: &str,
    values: &[T],
) -> Res<()> {
    if values.is_empty() {
        return Ok(());
    }
    let stride = caller_size(dst, &format!("{what}[0]"))?;
    if stride % align_of::<T>() != 0 {
        return Err(Error::arg(format!(
            "{what}[0].struct_size: must be a multiple of {} (sizeof({})), got {stride}",
            align_of::<T>(),
            T::C_NAME
        )));
    }
    if cap
        .checked_mul(stride)
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Error::arg(format!(
            "{what}: {cap} elements of {stride} bytes overflow the address space"
        )));
    }
    for (i, v) in values.iter().enumerate() {
        // SAFETY: i < values.len() <= cap elements of `stride` bytes (no overflow, checked), which
        // the caller promises are writable.
        unsafe { write_prefix(dst.cast::<u8>().add(i * stride), *v, stride) };
    }
    Ok(())
}
