//! `.npy` matrices: the format final parameters are written in and the `npy` initialiser reads,
//! so that states move between ufm, numpy, PyTorch and JAX without conversion code.

use crate::Error;
use faer::{Mat, MatRef};
use npyz::WriterBuilder;
use std::fs::File;
use std::io::{BufReader, BufWriter, Seek};
use std::path::Path;

/// What a `.npy` header says about a 2-D float64 array, checked against the file's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    pub rows: u64,
    pub cols: u64,
    /// C (row-major) or Fortran (column-major) order.
    pub fortran: bool,
}

/// Open `path` and read its header: a 2-D float64 array whose file holds rows x cols values
/// (checked arithmetic: a header may declare any shape). Returns the header and the reader,
/// positioned at the first value.
fn open_checked(path: &Path) -> Result<(NpyHeader, npyz::NpyFile<BufReader<File>>), Error> {
    let file =
        File::open(path).map_err(|e| input(format!("cannot open {}: {e}", path.display())))?;
    let file_len = file
        .metadata()
        .map_err(|e| input(format!("cannot read {}: {e}", path.display())))?
        .len();
    let mut reader = BufReader::new(file);
    let header = npyz::NpyHeader::from_reader(&mut reader)
        .map_err(|e| input(format!("{}: not a .npy file: {e}", path.display())))?;
    let shape = header.shape().to_vec();
    if shape.len() != 2 {
        return Err(input(format!(
            "{}: must be a 2-D array, got shape {shape:?}",
            path.display()
        )));
    }
    let dtype = header.dtype();
    let is_f64 = matches!(&dtype, npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float && t.size_field() == 8);
    if !is_f64 {
        return Err(input(format!(
            "{}: must hold float64, got {}",
            path.display(),
            dtype.descr()
        )));
    }
    let (rows, cols) = (shape[0], shape[1]);
    if rows == 0 || cols == 0 {
        // Every matrix ufm reads has at least one row and column; an empty array with a huge
        // other axis would otherwise pass the length check below with 0 bytes of data.
        return Err(input(format!(
            "{}: must have at least one row and one column, got shape ({rows}, {cols})",
            path.display()
        )));
    }
    let offset = reader
        .stream_position()
        .map_err(|e| input(format!("cannot read {}: {e}", path.display())))?;
    let have = file_len.saturating_sub(offset);
    let need = rows.checked_mul(cols).and_then(|n| n.checked_mul(8));
    if need.is_none_or(|need| need > have) {
        return Err(input(format!(
            "{}: the header declares shape ({rows}, {cols}), but the file holds only {have} \
             bytes of data ({} values)",
            path.display(),
            have / 8
        )));
    }
    let h = NpyHeader {
        rows,
        cols,
        fortran: header.order() == npyz::Order::Fortran,
    };
    Ok((h, npyz::NpyFile::with_header(header, reader)))
}

/// A malformed or unreadable `.npy` file: it is an input of the job (a start, a data file),
/// so the job is what is wrong.
fn input(message: String) -> Error {
    Error::Input(message)
}

/// Read and check the header of a 2-D float64 `.npy` file without reading its data.
pub fn read_header(path: &Path) -> Result<NpyHeader, Error> {
    open_checked(path).map(|(h, _)| h)
}

/// Read a 2-D float64 array (C or Fortran order) into a column-major matrix. The header is
/// checked against the file's length first, so no allocation exceeds the file's size.
pub fn read_matrix(path: &Path) -> Result<Mat<f64>, Error> {
    let (h, npy) = open_checked(path)?;
    let (rows, cols) = (h.rows as usize, h.cols as usize);
    let data: Vec<f64> = npy
        .into_vec()
        .map_err(|e| input(format!("{}: {e}", path.display())))?;
    if data.len() != rows * cols {
        return Err(input(format!(
            "{}: expected {} values, read {}",
            path.display(),
            rows * cols,
            data.len()
        )));
    }
    Ok(if h.fortran {
        Mat::from_fn(rows, cols, |i, j| data[j * rows + i])
    } else {
        Mat::from_fn(rows, cols, |i, j| data[i * cols + j])
    })
}

/// Write a matrix as a 2-D float64 `.npy` in Fortran (column-major) order, numpy-readable.
pub fn write_matrix(path: &Path, m: MatRef<'_, f64>) -> Result<(), Error> {
    let fail = |e: &dyn std::fmt::Display| Error::io(path, format!("{}: {e}", path.display()));
    let file = File::create(path)
        .map_err(|e| Error::io(path, format!("cannot create {}: {e}", path.display())))?;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[m.nrows() as u64, m.ncols() as u64])
        .order(npyz::Order::Fortran)
        .writer(BufWriter::new(file))
        .begin_nd()
        .map_err(|e| fail(&e))?;
    for j in 0..m.ncols() {
        for &x in m.col(j).iter() {
            w.push(&x).map_err(|e| fail(&e))?;
        }
    }
    w.finish().map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_preserves_every_bit() {
        let dir = std::env::temp_dir().join(format!("ufm-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let m = Mat::from_fn(3, 5, |i, j| (i as f64 + 0.1) * (j as f64 - 2.3) / 7.0);
        let p = dir.join("m.npy");
        write_matrix(&p, m.as_ref()).unwrap();
        let back = read_matrix(&p).unwrap();
        assert_eq!((back.nrows(), back.ncols()), (3, 5));
        for i in 0..3 {
            for j in 0..5 {
                assert_eq!(back[(i, j)].to_bits(), m[(i, j)].to_bits());
            }
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn reads_c_order_written_by_numpy_layout() {
        // A C-order file built by hand: header via npyz with C order, rows pushed row by row.
        let dir = std::env::temp_dir().join(format!("ufm-npyc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.npy");
        let f = File::create(&p).unwrap();
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[2, 3])
            .writer(BufWriter::new(f))
            .begin_nd()
            .unwrap();
        for x in [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0] {
            w.push(&x).unwrap();
        }
        w.finish().unwrap();
        let m = read_matrix(&p).unwrap();
        assert_eq!(m[(0, 2)], 3.0);
        assert_eq!(m[(1, 0)], 4.0);
        std::fs::remove_dir_all(&dir).ok();
    }
}
