//! MNIST's IDX format (raw or gzip): a 4-byte magic `0 0 type ndim`, ndim big-endian u32
//! dimensions, then the values big-endian. Images are (N, rows, cols) and flatten to d0 =
//! rows * cols; labels are (N,).

use super::{read_bytes, slice, RawData, Values};
use crate::Error;
use std::path::Path;

/// The element size in bytes of IDX type code `t`, or None for an unknown code.
fn type_size(t: u8) -> Option<usize> {
    match t {
        0x08 | 0x09 => Some(1),
        0x0B => Some(2),
        0x0C | 0x0D => Some(4),
        0x0E => Some(8),
        _ => None,
    }
}

/// Value `i` of a big-endian IDX data block of type `t`.
fn value(t: u8, data: &[u8], i: usize) -> f64 {
    let s = type_size(t).unwrap_or(1);
    let b = &data[i * s..(i + 1) * s];
    match t {
        0x08 => b[0] as f64,
        0x09 => b[0] as i8 as f64,
        0x0B => i16::from_be_bytes([b[0], b[1]]) as f64,
        0x0C => i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64,
        0x0D => f32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64,
        _ => f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
    }
}

/// (type code, dimensions, data block) of an IDX file.
fn parse(bytes: &[u8], name: &str) -> Result<(u8, Vec<usize>, Vec<u8>), Error> {
    let magic = slice(bytes, 0, 4, name, "the IDX magic number")?;
    if magic[0] != 0 || magic[1] != 0 || type_size(magic[2]).is_none() || magic[3] == 0 {
        return Err(Error::Input(format!(
            "{name}: not an IDX file: offset 0: expected the magic 00 00 <type 08|09|0B|0C|0D|0E> \
             <ndim >= 1>, found {:02x} {:02x} {:02x} {:02x}",
            magic[0], magic[1], magic[2], magic[3]
        )));
    }
    let (t, ndim) = (magic[2], magic[3] as usize);
    let dims_bytes = slice(bytes, 4, 4 * ndim, name, "the dimensions")?;
    let dims: Vec<usize> = dims_bytes
        .chunks(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::Input(format!("{name}: dimensions {dims:?} overflow")))?;
    let len = count * type_size(t).unwrap_or(1);
    let start = 4 + 4 * ndim;
    let data = slice(bytes, start, len, name, "values")?;
    if bytes.len() > start + len {
        return Err(Error::Input(format!(
            "{name}: offset {}: expected the end of the file after {count} values of dimensions \
             {dims:?}, found {} more bytes",
            start + len,
            bytes.len() - start - len
        )));
    }
    Ok((t, dims, data.to_vec()))
}

/// An IDX images file (N, ...) and its IDX labels file (N,), e.g. MNIST's
/// `train-images-idx3-ubyte.gz` and `train-labels-idx1-ubyte.gz`.
pub fn read_idx_pair(images: &Path, labels: &Path, max_bytes: u64) -> Result<RawData, Error> {
    let (iname, lname) = (images.display().to_string(), labels.display().to_string());
    let (t, dims, data) = parse(&read_bytes(images, max_bytes)?, &iname)?;
    if dims.len() < 2 {
        return Err(Error::Input(format!(
            "{iname}: expected an images file with >= 2 dimensions (N, rows, cols), found {dims:?}"
        )));
    }
    let n = dims[0];
    let d0: usize = dims[1..].iter().product();
    let values = if t == 0x08 {
        Values::U8(data)
    } else {
        Values::F64((0..n * d0).map(|i| value(t, &data, i)).collect())
    };
    let (lt, ldims, ldata) = parse(&read_bytes(labels, max_bytes)?, &lname)?;
    if ldims.len() != 1 {
        return Err(Error::Input(format!(
            "{lname}: expected a labels file with 1 dimension (N,), found {ldims:?}"
        )));
    }
    if ldims[0] != n {
        return Err(Error::Input(format!(
            "{lname}: expected {n} labels (one per image of {iname}), found {}",
            ldims[0]
        )));
    }
    let labels = (0..n).map(|i| value(lt, &ldata, i) as i64).collect();
    Ok(RawData {
        n,
        d0,
        values,
        labels,
        source: iname,
    })
}
