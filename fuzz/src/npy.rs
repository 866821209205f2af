//! `.npy` inputs: headers with any version, length, dtype, order and shape (up to 2^64 - 1 per
//! axis), followed by too little, enough or too much data, read by the engine's `.npy` reader
//! (the `npy` initialiser's and `ufm theory hessian --params`'s).

use crate::rng::Rng;
use std::path::Path;

/// A version-1.0 `.npy` file: header dict with `descr`, `fortran_order` and `shape` (as written
/// in Python syntax), then `data_bytes` bytes of data.
pub fn header_bytes(descr: &str, fortran: bool, shape: &str, data_bytes: usize) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    let mut header = dict.into_bytes();
    // Pad with spaces to a multiple of 64 (with the 10-byte preamble and the newline).
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend((0..data_bytes).map(|i| (i * 37 % 251) as u8));
    out
}

fn dim(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => "0".into(),
        1 => "1".into(),
        2 => "1099511627776".into(),
        3 => "9223372036854775808".into(),
        4 => "18446744073709551615".into(),
        5 => "18446744073709551616".into(),
        6 => "-1".into(),
        7 => "4294967296".into(),
        8 => "'x'".into(),
        _ => rng.range(0, 6).to_string(),
    }
}

/// The i-th `.npy` file of the stream seeded with `seed`.
pub fn generate(seed: u64, index: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed.wrapping_mul(0x2000_0003).wrapping_add(index));
    let descr = *rng.pick(&[
        "<f8", "<f8", "<f8", ">f8", "<f4", "<i8", "|O", "|b1", "<c16", "xx", "",
    ]);
    let shape = match rng.below(6) {
        0 => "()".to_string(),
        1 => format!("({},)", dim(&mut rng)),
        2 => format!("({}, {}, {})", dim(&mut rng), dim(&mut rng), dim(&mut rng)),
        _ => format!("({}, {})", dim(&mut rng), dim(&mut rng)),
    };
    let data = rng.range(0, 300) as usize;
    let mut bytes = header_bytes(descr, rng.chance(0.5), &shape, data);
    // Damage: a flipped byte in the preamble or header, a wrong header length, a cut file.
    match rng.below(8) {
        0 => {
            let i = rng.below(bytes.len().min(80) as u64) as usize;
            bytes[i] ^= 1 << rng.below(8);
        }
        1 => {
            let len = rng.next_u64() as u16;
            bytes[8..10].copy_from_slice(&len.to_le_bytes());
        }
        2 => {
            let cut = rng.below(bytes.len() as u64 + 1) as usize;
            bytes.truncate(cut);
        }
        3 => bytes[6] = rng.range(0, 4) as u8,
        _ => {}
    }
    bytes
}

/// Read `bytes` (written to `path`) as the engine does: header, then the whole matrix.
pub fn exercise(bytes: &[u8], path: &Path) -> bool {
    if std::fs::write(path, bytes).is_err() {
        return false;
    }
    let header = engine::io::npy::read_header(path);
    let matrix = engine::io::npy::read_matrix(path);
    // The two must agree on whether the file is usable and on its shape.
    match (header, matrix) {
        (Ok(h), Ok(m)) => {
            assert_eq!((h.rows, h.cols), (m.nrows() as u64, m.ncols() as u64));
            true
        }
        (Err(_), Err(_)) => false,
        (h, m) => panic!(
            "header and reader disagree: {h:?} vs {:?}",
            m.map(|m| m.nrows())
        ),
    }
}
