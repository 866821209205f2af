//! `.npy` arrays (format 1.0-3.0) of any plain integer or float dtype, and `.npz` archives
//! (stored or deflated members, zip64 sizes), read into [`RawData`] pairs: X of shape (N, d0)
//! (or (N, ...) flattened per sample) and y of shape (N,).

use super::{read_bytes, slice, RawData, Values};
use crate::Error;
use std::io::Read;
use std::path::Path;

/// A parsed `.npy` header and where its data starts.
struct Header {
    kind: char,
    size: usize,
    big_endian: bool,
    fortran: bool,
    shape: Vec<usize>,
    data_offset: usize,
}

fn parse_header(bytes: &[u8], name: &str) -> Result<Header, Error> {
    let magic = slice(bytes, 0, 8, name, "the .npy magic and version")?;
    if &magic[..6] != b"\x93NUMPY" {
        return Err(Error::Input(format!(
            "{name}: not a .npy file: offset 0: expected the magic bytes \\x93NUMPY, found {:?}",
            String::from_utf8_lossy(&magic[..6])
        )));
    }
    let (len, start) = match magic[6] {
        1 => {
            let b = slice(bytes, 8, 2, name, "the header length")?;
            (u16::from_le_bytes([b[0], b[1]]) as usize, 10)
        }
        2 | 3 => {
            let b = slice(bytes, 8, 4, name, "the header length")?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => {
            return Err(Error::Input(format!(
                "{name}: offset 6: expected .npy format version 1, 2 or 3, found {v}"
            )))
        }
    };
    let text = slice(bytes, start, len, name, "the header")?;
    let text = String::from_utf8_lossy(text);
    let field = |key: &str| -> Result<String, Error> {
        let at = text
            .find(&format!("'{key}'"))
            .ok_or_else(|| Error::Input(format!("{name}: header has no '{key}' entry: {text}")))?;
        let rest = &text[at + key.len() + 2..];
        let rest = rest.trim_start().trim_start_matches(':').trim_start();
        Ok(rest.to_string())
    };
    let descr = field("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or_else(|| {
            Error::Input(format!(
                "{name}: header 'descr' is not a plain dtype string: {text}"
            ))
        })?
        .to_string();
    let fortran = field("fortran_order")?.starts_with("True");
    let shape_text = field("shape")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| Error::Input(format!("{name}: header 'shape' is not a tuple: {text}")))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L').parse::<usize>().map_err(|_| {
                Error::Input(format!(
                    "{name}: header 'shape' has a non-integer entry {s:?}"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut chars = descr.chars();
    let (order, kind) = match (chars.next(), chars.next()) {
        (Some(o @ ('<' | '>' | '|' | '=')), Some(k)) => (o, k),
        _ => return Err(Error::Input(format!("{name}: unsupported dtype {descr:?}"))),
    };
    let size: usize = chars
        .as_str()
        .parse()
        .map_err(|_| Error::Input(format!("{name}: unsupported dtype {descr:?}")))?;
    let ok = match kind {
        'u' | 'i' => matches!(size, 1 | 2 | 4 | 8),
        'f' => matches!(size, 4 | 8),
        _ => false,
    };
    if !ok {
        return Err(Error::Input(format!(
            "{name}: dtype {descr:?} is not supported: expected a plain integer (i1..i8, u1..u8) \
             or float (f4, f8) dtype"
        )));
    }
    Ok(Header {
        kind,
        size,
        big_endian: order == '>',
        fortran,
        shape,
        data_offset: start + len,
    })
}

/// Element `i` of the data block as f64 (integers exactly up to 2^53).
fn element(h: &Header, data: &[u8], i: usize) -> f64 {
    let b = &data[i * h.size..(i + 1) * h.size];
    let mut buf = [0u8; 8];
    if h.big_endian {
        for (k, &x) in b.iter().rev().enumerate() {
            buf[k] = x;
        }
    } else {
        buf[..h.size].copy_from_slice(b);
    }
    let u = u64::from_le_bytes(buf);
    match (h.kind, h.size) {
        ('f', 4) => f32::from_bits(u as u32) as f64,
        ('f', _) => f64::from_bits(u),
        ('u', _) => u as f64,
        ('i', s) => {
            let shift = 64 - 8 * s as u32;
            (((u << shift) as i64) >> shift) as f64
        }
        _ => unreachable!("dtype checked in parse_header"),
    }
}

/// The array in `bytes` as row-major (C order) values with its shape.
fn parse_array(bytes: &[u8], name: &str) -> Result<(Vec<usize>, Header, Vec<u8>), Error> {
    let h = parse_header(bytes, name)?;
    let count = h
        .shape
        .iter()
        .try_fold(1usize, |a, &s| a.checked_mul(s))
        .ok_or_else(|| Error::Input(format!("{name}: shape {:?} overflows", h.shape)))?;
    let need = count
        .checked_mul(h.size)
        .ok_or_else(|| Error::Input(format!("{name}: shape {:?} overflows", h.shape)))?;
    let data = slice(bytes, h.data_offset, need, name, "array data")?.to_vec();
    Ok((h.shape.clone(), h, data))
}

/// The inputs X: shape (N, d0), or (N, a, b, ...) flattened to d0 = a b ... per sample.
fn x_from(bytes: &[u8], name: &str) -> Result<(usize, usize, Values), Error> {
    let (shape, h, data) = parse_array(bytes, name)?;
    if shape.len() < 2 {
        return Err(Error::Input(format!(
            "{name}: X must have shape (N, d0) (or (N, ...) per-sample arrays), found shape {shape:?}"
        )));
    }
    let n = shape[0];
    let d0: usize = shape[1..].iter().product();
    let count = n * d0;
    // Position in the data block of sample i, feature j (row-major feature index j).
    let index = |i: usize, j: usize| -> usize {
        if !h.fortran {
            return i * d0 + j;
        }
        // Fortran order: the first axis varies fastest; unravel j over the trailing axes.
        let mut pos = i;
        let mut stride = n;
        let mut rem = j;
        let mut tail = Vec::with_capacity(shape.len() - 1);
        for &s in shape[1..].iter().rev() {
            tail.push(rem % s);
            rem /= s;
        }
        tail.reverse();
        for (k, &t) in tail.iter().enumerate() {
            pos += t * stride;
            stride *= shape[k + 1];
        }
        pos
    };
    let values = if h.kind == 'u' && h.size == 1 {
        let mut v = vec![0u8; count];
        for i in 0..n {
            for j in 0..d0 {
                v[i * d0 + j] = data[index(i, j)];
            }
        }
        Values::U8(v)
    } else {
        let mut v = vec![0.0; count];
        for i in 0..n {
            for j in 0..d0 {
                v[i * d0 + j] = element(&h, &data, index(i, j));
            }
        }
        Values::F64(v)
    };
    Ok((n, d0, values))
}

/// The labels y: shape (N,) (or (N, 1)), integer values (floats must be whole numbers).
fn y_from(bytes: &[u8], name: &str) -> Result<Vec<i64>, Error> {
    let (shape, h, data) = parse_array(bytes, name)?;
    let n = match shape.as_slice() {
        [n] | [n, 1] => *n,
        _ => {
            return Err(Error::Input(format!(
                "{name}: y must have shape (N,), found shape {shape:?}"
            )))
        }
    };
    (0..n)
        .map(|i| {
            let v = element(&h, &data, i);
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(v as i64)
            } else {
                Err(Error::Input(format!(
                    "{name}: label at index {i} is {v}, expected a whole number (a class index)"
                )))
            }
        })
        .collect()
}

fn pair(
    x: (usize, usize, Values),
    y: Vec<i64>,
    xname: &str,
    yname: &str,
) -> Result<RawData, Error> {
    let (n, d0, values) = x;
    if y.len() != n {
        return Err(Error::Input(format!(
            "{yname}: expected {n} labels (one per row of {xname}), found {}",
            y.len()
        )));
    }
    Ok(RawData {
        n,
        d0,
        values,
        labels: y,
        source: xname.to_string(),
    })
}

/// X and y from two `.npy` files.
pub fn read_npy_pair(x: &Path, y: &Path, max_bytes: u64) -> Result<RawData, Error> {
    let (xn, yn) = (x.display().to_string(), y.display().to_string());
    let xa = x_from(&read_bytes(x, max_bytes)?, &xn)?;
    let ya = y_from(&read_bytes(y, max_bytes)?, &yn)?;
    pair(xa, ya, &xn, &yn)
}

/// X and y from members `x_key` and `y_key` (without `.npy`) of an `.npz` archive
/// (`numpy.savez` or `savez_compressed`).
pub fn read_npz_pair(
    file: &Path,
    x_key: &str,
    y_key: &str,
    max_bytes: u64,
) -> Result<RawData, Error> {
    let name = file.display().to_string();
    let bytes = read_bytes(file, max_bytes)?;
    let members = zip_members(&bytes, &name)?;
    let get = |key: &str| -> Result<Vec<u8>, Error> {
        let want = format!("{key}.npy");
        let m = members.iter().find(|m| m.name == want).ok_or_else(|| {
            let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
            Error::Input(format!(
                "{name}: no member {want:?}; the archive holds {names:?}"
            ))
        })?;
        m.read(&bytes, &name, max_bytes)
    };
    let (xn, yn) = (format!("{name}:{x_key}"), format!("{name}:{y_key}"));
    let xa = x_from(&get(x_key)?, &xn)?;
    let ya = y_from(&get(y_key)?, &yn)?;
    pair(xa, ya, &xn, &yn)
}

/// One member of a zip archive, from its central-directory entry.
struct Member {
    name: String,
    method: u16,
    compressed: u64,
    size: u64,
    local_offset: u64,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn le64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// The members listed in the archive's central directory (zip64 sizes and offsets honoured).
fn zip_members(bytes: &[u8], name: &str) -> Result<Vec<Member>, Error> {
    // The end-of-central-directory record is the last 22 bytes plus a comment of <= 65535.
    let lo = bytes.len().saturating_sub(22 + 65535);
    let eocd = (lo..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| le32(bytes, i) == 0x0605_4b50)
        .ok_or_else(|| {
            Error::Input(format!(
                "{name}: not a zip (.npz) archive: no end-of-central-directory record"
            ))
        })?;
    let count = le16(bytes, eocd + 10) as usize;
    let mut at = le32(bytes, eocd + 16) as usize;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let head = slice(bytes, at, 46, name, "a central-directory entry")?;
        if le32(head, 0) != 0x0201_4b50 {
            return Err(Error::Input(format!(
                "{name}: offset {at}: expected a central-directory entry (PK\\1\\2), found {:?}",
                &head[..4]
            )));
        }
        let method = le16(head, 10);
        let mut compressed = le32(head, 20) as u64;
        let mut size = le32(head, 24) as u64;
        let (nlen, xlen, clen) = (
            le16(head, 28) as usize,
            le16(head, 30) as usize,
            le16(head, 32) as usize,
        );
        let mut local_offset = le32(head, 42) as u64;
        let fname = slice(bytes, at + 46, nlen, name, "a member name")?;
        let extra = slice(bytes, at + 46 + nlen, xlen, name, "a member's extra field")?;
        // Zip64 extended information: the 0xFFFFFFFF fields, in order, as 8-byte values.
        let mut e = 0;
        while e + 4 <= extra.len() {
            let (id, len) = (le16(extra, e), le16(extra, e + 2) as usize);
            if id == 1 && e + 4 + len <= extra.len() {
                let mut p = e + 4;
                for field in [&mut size, &mut compressed, &mut local_offset] {
                    if *field == 0xFFFF_FFFF && p + 8 <= e + 4 + len {
                        *field = le64(extra, p);
                        p += 8;
                    }
                }
            }
            e += 4 + len;
        }
        out.push(Member {
            name: String::from_utf8_lossy(fname).into_owned(),
            method,
            compressed,
            size,
            local_offset,
        });
        at += 46 + nlen + xlen + clen;
    }
    Ok(out)
}

impl Member {
    fn read(&self, bytes: &[u8], name: &str, max_bytes: u64) -> Result<Vec<u8>, Error> {
        let off = self.local_offset as usize;
        let local = slice(bytes, off, 30, name, "a local file header")?;
        if le32(local, 0) != 0x0403_4b50 {
            return Err(Error::Input(format!(
                "{name}: offset {off}: expected a local file header (PK\\3\\4), found {:?}",
                &local[..4]
            )));
        }
        let start = off + 30 + le16(local, 26) as usize + le16(local, 28) as usize;
        let data = slice(
            bytes,
            start,
            self.compressed as usize,
            name,
            &format!("member {}", self.name),
        )?;
        if self.size > max_bytes {
            return Err(Error::Limit(format!(
                "{name}: member {} is {} bytes, above the memory limit of {max_bytes} bytes",
                self.name, self.size
            )));
        }
        match self.method {
            0 => Ok(data.to_vec()),
            8 => {
                let mut out = Vec::with_capacity(self.size as usize);
                flate2::read::DeflateDecoder::new(data)
                    .take(self.size)
                    .read_to_end(&mut out)
                    .map_err(|e| {
                        Error::Input(format!("{name}: member {} is corrupt: {e}", self.name))
                    })?;
                if out.len() as u64 != self.size {
                    return Err(Error::Input(format!(
                        "{name}: member {} inflates to {} bytes, expected {}",
                        self.name,
                        out.len(),
                        self.size
                    )));
                }
                Ok(out)
            }
            m => Err(Error::Input(format!(
                "{name}: member {} uses compression method {m}; expected 0 (stored) or 8 (deflate)",
                self.name
            ))),
        }
    }
}

/// A `.npy` array of shape (N, ...) as an N x d matrix (d = product of the trailing axes), any
/// plain dtype; used by `ufm analyze` for exported activations and weights.
pub fn read_npy_rows(path: &Path, max_bytes: u64) -> Result<faer::Mat<f64>, Error> {
    let name = path.display().to_string();
    let (n, d, values) = x_from(&read_bytes(path, max_bytes)?, &name)?;
    Ok(match values {
        Values::U8(v) => faer::Mat::from_fn(n, d, |i, j| v[i * d + j] as f64),
        Values::F64(v) => faer::Mat::from_fn(n, d, |i, j| v[i * d + j]),
    })
}

/// A `.npy` vector of whole numbers (shape (N,) or (N, 1)).
pub fn read_npy_labels(path: &Path, max_bytes: u64) -> Result<Vec<i64>, Error> {
    y_from(&read_bytes(path, max_bytes)?, &path.display().to_string())
}
