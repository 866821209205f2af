//! Strided f64 matrix views: element (i, j) is `data[i * row_stride + j * col_stride]`.
//! Row-major C / numpy arrays have `row_stride = ncols, col_stride = 1`; column-major Julia /
//! Fortran arrays have `row_stride = 1, col_stride = nrows`. Data is always copied.

use crate::{Error, Res};
use faer::{Mat, MatRef};

/// A read-only view of an f64 matrix owned by the caller.
///
/// Element (i, j) is `data[i * row_stride + j * col_stride]` (strides count elements, not
/// bytes, and must be >= 0). `data` must be 8-byte aligned and may be NULL only when the matrix
/// is empty. The library only reads through the view during the call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ufm_matrix {
    pub data: *const f64,
    pub nrows: usize,
    pub ncols: usize,
    pub row_stride: isize,
    pub col_stride: isize,
}

/// A writable view of an f64 matrix owned by the caller (the same layout rules as `ufm_matrix`;
/// in addition, distinct elements must not share memory: a zero stride is refused unless that
/// dimension is at most 1). The library only writes through the view during the call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ufm_matrix_mut {
    pub data: *mut f64,
    pub nrows: usize,
    pub ncols: usize,
    pub row_stride: isize,
    pub col_stride: isize,
}

fn check_layout(
    what: &str,
    data: usize,
    nrows: usize,
    ncols: usize,
    rs: isize,
    cs: isize,
    writable: bool,
) -> Res<()> {
    if nrows == 0 || ncols == 0 {
        return Ok(());
    }
    if data == 0 {
        return Err(Error::null(&format!("{what}.data")));
    }
    if !data.is_multiple_of(std::mem::align_of::<f64>()) {
        return Err(Error::arg(format!(
            "{what}.data: must be aligned to 8 bytes"
        )));
    }
    if rs < 0 || cs < 0 {
        return Err(Error::arg(format!(
            "{what}: strides must be >= 0, got row_stride {rs}, col_stride {cs}"
        )));
    }
    if writable && ((rs == 0 && nrows > 1) || (cs == 0 && ncols > 1)) {
        return Err(Error::arg(format!(
            "{what}: a zero stride would write several elements to one place"
        )));
    }
    // The largest offset, in bytes, must fit in isize (pointer arithmetic rule).
    let last = (nrows - 1)
        .checked_mul(rs as usize)
        .and_then(|a| {
            (ncols - 1)
                .checked_mul(cs as usize)
                .and_then(|b| a.checked_add(b))
        })
        .and_then(|e| e.checked_mul(8))
        .filter(|&b| b <= isize::MAX as usize && data.checked_add(b).is_some());
    if last.is_none() {
        return Err(Error::arg(format!(
            "{what}: strides overflow the address space"
        )));
    }
    Ok(())
}

/// The most elements copied from a view that repeats elements (a zero or overlapping stride):
/// such a view may declare any shape over a few bytes of caller memory, so its copy is bounded
/// here instead of by the caller's buffer (2^24 elements = 128 MiB).
pub(crate) const MAX_REPEATING_VIEW: usize = 1 << 24;

impl ufm_matrix {
    /// A copy of the view must fit in memory: its element count is checked (no overflow), and
    /// a view whose elements outnumber the memory it spans is limited to
    /// [`MAX_REPEATING_VIEW`] elements. Any other view is no larger than the caller's buffer.
    fn check_copy_size(&self, what: &str) -> Res<()> {
        if self.nrows == 0 || self.ncols == 0 {
            return Ok(());
        }
        let count = self
            .nrows
            .checked_mul(self.ncols)
            .filter(|&c| c <= isize::MAX as usize / 8);
        let Some(count) = count else {
            return Err(Error::arg(format!(
                "{what}: {} x {} elements do not fit in memory",
                self.nrows, self.ncols
            )));
        };
        // Strides were checked by `check`: the span cannot overflow.
        let span = (self.nrows - 1) * self.row_stride as usize
            + (self.ncols - 1) * self.col_stride as usize
            + 1;
        if count > span && count > MAX_REPEATING_VIEW {
            return Err(Error::arg(format!(
                "{what}: a view that repeats elements (zero or overlapping strides) may hold at \
                 most {MAX_REPEATING_VIEW} elements, got {} x {}",
                self.nrows, self.ncols
            )));
        }
        Ok(())
    }

    pub(crate) fn check(&self, what: &str) -> Res<()> {
        check_layout(
            what,
            self.data as usize,
            self.nrows,
            self.ncols,
            self.row_stride,
            self.col_stride,
            false,
        )
    }

    /// Copy into an owned column-major matrix (after [`check`](Self::check)).
    pub(crate) fn to_mat(self, what: &str) -> Res<Mat<f64>> {
        self.check(what)?;
        self.check_copy_size(what)?;
        Ok(Mat::from_fn(self.nrows, self.ncols, |i, j| {
            // SAFETY: layout checked; the caller promises the view is readable.
            unsafe {
                *self
                    .data
                    .offset(i as isize * self.row_stride + j as isize * self.col_stride)
            }
        }))
    }

    /// Copy, refusing non-finite entries.
    pub(crate) fn to_finite_mat(self, what: &str) -> Res<Mat<f64>> {
        let m = self.to_mat(what)?;
        for j in 0..m.ncols() {
            for i in 0..m.nrows() {
                if !m[(i, j)].is_finite() {
                    return Err(Error::arg(format!(
                        "{what}: entry ({i}, {j}) is not finite ({})",
                        m[(i, j)]
                    )));
                }
            }
        }
        Ok(m)
    }
}

impl ufm_matrix_mut {
    /// Check the layout and that the shape is `nrows x ncols`.
    pub(crate) fn check_shape(&self, what: &str, nrows: usize, ncols: usize) -> Res<()> {
        if (self.nrows, self.ncols) != (nrows, ncols) {
            return Err(Error::new(
                crate::ufm_status::UFM_STATUS_SIZE_MISMATCH,
                format!(
                    "{what}: must be {nrows} x {ncols}, got {} x {}",
                    self.nrows, self.ncols
                ),
            ));
        }
        check_layout(
            what,
            self.data as usize,
            self.nrows,
            self.ncols,
            self.row_stride,
            self.col_stride,
            true,
        )
    }

    /// Copy `src` into the view (shape checked).
    pub(crate) fn fill(self, what: &str, src: MatRef<'_, f64>) -> Res<()> {
        self.check_shape(what, src.nrows(), src.ncols())?;
        for j in 0..src.ncols() {
            for i in 0..src.nrows() {
                // SAFETY: layout and shape checked; the caller promises the view is writable.
                unsafe {
                    *self
                        .data
                        .offset(i as isize * self.row_stride + j as isize * self.col_stride) =
                        src[(i, j)];
                }
            }
        }
        Ok(())
    }
}

/// Copy `src` into a caller array of capacity `cap`, always writing the required length to
/// `len`; `data` may be NULL when `cap` is 0 (a size query).
pub(crate) fn copy_out(
    what: &str,
    src: &[f64],
    data: *mut f64,
    cap: usize,
    len: *mut usize,
) -> Res<()> {
    let len = crate::out(len, "len")?;
    *len = src.len();
    if cap < src.len() {
        return Err(Error::new(
            crate::ufm_status::UFM_STATUS_BUFFER_TOO_SMALL,
            format!(
                "{what}: buffer holds {cap} values, {} needed (written to *len)",
                src.len()
            ),
        ));
    }
    if src.is_empty() {
        return Ok(());
    }
    if data.is_null() {
        return Err(Error::null(what));
    }
    if !(data as usize).is_multiple_of(8) {
        return Err(Error::arg(format!("{what}: must be aligned to 8 bytes")));
    }
    // SAFETY: non-null, aligned, the caller promises `cap >= src.len()` writable elements.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), data, src.len()) };
    Ok(())
}
