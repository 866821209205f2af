//! Real data sets from files (never from the network): MNIST's IDX files (raw or gzip), the
//! CIFAR-10 binary batches and `.npy` / `.npz` pairs (X: N x d0, y: N). Readers return the file's
//! samples as [`RawData`] (bytes stay bytes, so a 50,000-image CIFAR set costs 150 MB and not
//! 1.2 GB before subsampling); [`prepare`] draws a seeded per-class subsample in class order,
//! standardises it and converts it to the d0 x N column-per-sample matrix the backbone consumes.
//!
//! Every error names the file and, for malformed contents, the byte offset and what was
//! expected against what was found.

mod cifar;
mod idx;
mod npy;
mod prepare;
mod section;

pub use cifar::read_cifar10;
pub use idx::read_idx_pair;
pub use npy::{read_npy_labels, read_npy_pair, read_npy_rows, read_npz_pair};
pub use prepare::{prepare, standardise, subsample, Prepared, Standardize};
pub use section::{DataSection, DataSource};

use crate::Error;
use faer::Mat;
use std::io::Read;
use std::path::Path;

/// Sample values as stored in the file, sample-major (sample i occupies `i*d0 .. (i+1)*d0`).
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Pixel bytes (IDX type 0x08, CIFAR-10, `.npy` `|u1`).
    U8(Vec<u8>),
    /// Everything else, converted to f64 while reading.
    F64(Vec<f64>),
}

/// A data file's samples and labels before selection.
#[derive(Clone, Debug, PartialEq)]
pub struct RawData {
    /// Number of samples N.
    pub n: usize,
    /// Input dimension d0 (values per sample).
    pub d0: usize,
    pub values: Values,
    /// One label per sample, as read (range-checked by [`prepare`] against the model's K).
    pub labels: Vec<i64>,
    /// The file(s) the samples came from, for error messages.
    pub source: String,
}

impl RawData {
    /// Value j of sample i.
    pub fn value(&self, i: usize, j: usize) -> f64 {
        match &self.values {
            Values::U8(v) => v[i * self.d0 + j] as f64,
            Values::F64(v) => v[i * self.d0 + j],
        }
    }
}

/// Samples ready for training: `x` is d0 x N (one column per sample), `labels[j]` in 0..K.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub x: Mat<f64>,
    pub labels: Vec<usize>,
}

impl Dataset {
    pub fn samples(&self) -> usize {
        self.labels.len()
    }
}

/// Read a whole file, inflating it when it starts with the gzip magic bytes (MNIST ships as
/// `.gz`). Refuses files (compressed or not) whose contents would exceed `max_bytes`
/// ([`Error::Limit`]). A file that cannot be opened or read is [`Error::Input`], not
/// [`Error::Io`]: the job named it, so it is the job's input that is wrong (exit status and the
/// job-file prefix of `ufm run` follow the kind).
pub fn read_bytes(path: &Path, max_bytes: u64) -> Result<Vec<u8>, Error> {
    let name = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| Error::Input(format!("cannot open {name}: {e}")))?;
    if meta.len() > max_bytes {
        return Err(Error::Limit(format!(
            "{name}: {} bytes, above the memory limit of {max_bytes} bytes \
             (train.max_memory_gib; raise it to read this file)",
            meta.len()
        )));
    }
    let raw = std::fs::read(path).map_err(|e| Error::Input(format!("cannot read {name}: {e}")))?;
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .take(max_bytes + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::Input(format!("{name}: gzip data is corrupt or truncated: {e}")))?;
        if out.len() as u64 > max_bytes {
            return Err(Error::Limit(format!(
                "{name}: inflates to more than the memory limit of {max_bytes} bytes \
                 (train.max_memory_gib; raise it to read this file)"
            )));
        }
        return Ok(out);
    }
    Ok(raw)
}

/// Bytes `offset .. offset + len` of `bytes`, or an error naming the file, the offset and how
/// many bytes were expected against how many the file has.
pub(crate) fn slice<'a>(
    bytes: &'a [u8],
    offset: usize,
    len: usize,
    name: &str,
    what: &str,
) -> Result<&'a [u8], Error> {
    let end = offset.checked_add(len);
    match end {
        Some(end) if end <= bytes.len() => Ok(&bytes[offset..end]),
        _ => Err(Error::Input(format!(
            "{name}: truncated at offset {offset}: expected {len} bytes of {what}, found {}",
            bytes.len().saturating_sub(offset)
        ))),
    }
}

#[cfg(test)]
mod tests;
