//! The CIFAR-10 binary batches (`data_batch_1.bin` ... `test_batch.bin`): records of one label
//! byte (0..9) followed by 3,072 pixel bytes (1,024 red, 1,024 green, 1,024 blue, row-major
//! 32 x 32), 10,000 records per file. d0 = 3072 in the file's channel-major order.

use super::{read_bytes, RawData, Values};
use crate::Error;
use std::path::Path;

/// Bytes per record: the label and the 32 x 32 x 3 image.
pub const RECORD: usize = 1 + 3072;

/// Read and concatenate CIFAR-10 binary batch files in the given order.
pub fn read_cifar10(files: &[&Path], max_bytes: u64) -> Result<RawData, Error> {
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let left = max_bytes.saturating_sub(values.len() as u64);
        let bytes = read_bytes(f, left)?;
        if bytes.is_empty() || bytes.len() % RECORD != 0 {
            let whole = bytes.len() / RECORD;
            return Err(Error::Input(format!(
                "{name}: truncated at offset {}: expected records of {RECORD} bytes (label + \
                 3072 pixels), found {} bytes ({whole} whole records and {} bytes over)",
                whole * RECORD,
                bytes.len(),
                bytes.len() % RECORD
            )));
        }
        for (r, rec) in bytes.chunks(RECORD).enumerate() {
            if rec[0] > 9 {
                return Err(Error::Input(format!(
                    "{name}: offset {}: expected a label byte 0..9 at the start of record {r}, \
                     found {}",
                    r * RECORD,
                    rec[0]
                )));
            }
            labels.push(rec[0] as i64);
            values.extend_from_slice(&rec[1..]);
        }
    }
    Ok(RawData {
        n: labels.len(),
        d0: 3072,
        values: Values::U8(values),
        labels,
        source: files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}
