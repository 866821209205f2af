//! Readers on small files written here (every dtype/order/compression path and the malformed
//! cases), the subsample/standardise steps, and the digits set kept in the repository.

use super::*;
use crate::job::{DataSection, DataSource};
use std::io::Write;
use std::path::PathBuf;

const MAX: u64 = 1 << 30;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ufm-data-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A .npy file (format 1.0) with the given descr, order and shape around raw data bytes.
fn npy_bytes(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let fo = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {fo}, 'shape': {dims}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = tmp(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn f64s(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn npy_pairs_in_every_layout_give_the_same_samples() {
    // X = [[0, 1, 2], [3, 4, 5]] (N = 2, d0 = 3), y = [1, 0].
    let want: Vec<f64> = (0..6).map(f64::from).collect();
    let y_bytes: Vec<u8> = [1i64, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let y = write("y_i8.npy", &npy_bytes("<i8", false, &[2], &y_bytes));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("c_f8.npy", npy_bytes("<f8", false, &[2, 3], &f64s(&want))),
        // Fortran order: column-major [0, 3, 1, 4, 2, 5].
        (
            "f_f8.npy",
            npy_bytes("<f8", true, &[2, 3], &f64s(&[0.0, 3.0, 1.0, 4.0, 2.0, 5.0])),
        ),
        (
            "c_f4.npy",
            npy_bytes(
                "<f4",
                false,
                &[2, 3],
                &want
                    .iter()
                    .flat_map(|&x| (x as f32).to_le_bytes())
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "c_be_i4.npy",
            npy_bytes(
                ">i4",
                false,
                &[2, 3],
                &want
                    .iter()
                    .flat_map(|&x| (x as i32).to_be_bytes())
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "c_u1.npy",
            npy_bytes("|u1", false, &[2, 3], &[0, 1, 2, 3, 4, 5]),
        ),
        // (N, 1, 3) flattens to d0 = 3.
        (
            "c_3d.npy",
            npy_bytes("<f8", false, &[2, 1, 3], &f64s(&want)),
        ),
    ];
    for (name, bytes) in cases {
        let x = write(name, &bytes);
        let raw = read_npy_pair(&x, &y, MAX).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((raw.n, raw.d0), (2, 3), "{name}");
        let got: Vec<f64> = (0..2)
            .flat_map(|i| (0..3).map(move |j| (i, j)))
            .map(|(i, j)| raw.value(i, j))
            .collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(raw.labels, vec![1, 0], "{name}");
    }
    // Negative integers survive the sign extension.
    let yneg = write(
        "y_neg.npy",
        &npy_bytes("<i2", false, &[2], &[0xff, 0xff, 2, 0]),
    );
    let x = write("c_f8b.npy", &npy_bytes("<f8", false, &[2, 3], &f64s(&want)));
    assert_eq!(read_npy_pair(&x, &yneg, MAX).unwrap().labels, vec![-1, 2]);
}

#[test]
fn malformed_npy_files_name_file_offset_expected_and_found() {
    let y = write("y_ok.npy", &npy_bytes("|u1", false, &[2], &[0, 1]));
    // Truncated data: 6 f8 values need 48 bytes, 40 are there.
    let full = npy_bytes("<f8", false, &[2, 3], &f64s(&[0.0; 6]));
    let x = write("trunc.npy", &full[..full.len() - 8]);
    let e = read_npy_pair(&x, &y, MAX).unwrap_err().to_string();
    assert!(
        e.contains("trunc.npy")
            && e.contains("offset 128")
            && e.contains("expected 48 bytes")
            && e.contains("found 40"),
        "{e}"
    );
    // Not a .npy file at all.
    let x = write("junk.npy", b"hello world, not numpy");
    let e = read_npy_pair(&x, &y, MAX).unwrap_err().to_string();
    assert!(
        e.contains("junk.npy") && e.contains("offset 0") && e.contains("NUMPY"),
        "{e}"
    );
    // Label count differs from the row count.
    let x = write(
        "three_rows.npy",
        &npy_bytes("<f8", false, &[3, 1], &f64s(&[0.0; 3])),
    );
    let e = read_npy_pair(&x, &y, MAX).unwrap_err().to_string();
    assert!(
        e.contains("y_ok.npy") && e.contains("expected 3 labels") && e.contains("found 2"),
        "{e}"
    );
    // Fractional labels and unsupported dtypes.
    let yf = write("y_frac.npy", &npy_bytes("<f8", false, &[1], &f64s(&[0.5])));
    let x1 = write(
        "one_row.npy",
        &npy_bytes("<f8", false, &[1, 1], &f64s(&[0.0])),
    );
    assert!(read_npy_pair(&x1, &yf, MAX)
        .unwrap_err()
        .to_string()
        .contains("whole number"));
    let xc = write("complex.npy", &npy_bytes("<c16", false, &[1, 1], &[0; 16]));
    assert!(read_npy_pair(&xc, &yf, MAX)
        .unwrap_err()
        .to_string()
        .contains("not supported"));
    // The memory limit refuses a file before reading it.
    let e = read_npy_pair(&x1, &yf, 10).unwrap_err().to_string();
    assert!(e.contains("memory limit"), "{e}");
    // Kinds: a size limit is Limit, malformed contents and unreadable files are Input.
    use crate::ErrorKind;
    assert_eq!(
        read_npy_pair(&x1, &yf, 10).unwrap_err().kind(),
        ErrorKind::Limit
    );
    assert_eq!(
        read_npy_pair(&x1, &yf, MAX).unwrap_err().kind(),
        ErrorKind::Input
    );
    let missing = std::env::temp_dir().join("ufm-no-such-file.npy");
    assert_eq!(
        read_npy_pair(&missing, &yf, MAX).unwrap_err().kind(),
        ErrorKind::Input
    );
}

/// A zip archive of (name, bytes, deflate?) members with a central directory.
fn zip(members: &[(&str, Vec<u8>, bool)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data, deflate) in members {
        let stored = if *deflate {
            let mut e =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        } else {
            data.clone()
        };
        let method: u16 = if *deflate { 8 } else { 0 };
        let offset = out.len() as u32;
        let mut local = Vec::new();
        local.extend(0x0403_4b50u32.to_le_bytes());
        local.extend([20, 0, 0, 0]);
        local.extend(method.to_le_bytes());
        local.extend([0; 8]); // time, date, crc (not checked by the reader)
        local.extend((stored.len() as u32).to_le_bytes());
        local.extend((data.len() as u32).to_le_bytes());
        local.extend((name.len() as u16).to_le_bytes());
        local.extend(0u16.to_le_bytes());
        local.extend(name.as_bytes());
        out.extend(&local);
        out.extend(&stored);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend([20, 0, 20, 0, 0, 0]);
        central.extend(method.to_le_bytes());
        central.extend([0; 8]);
        central.extend((stored.len() as u32).to_le_bytes());
        central.extend((data.len() as u32).to_le_bytes());
        central.extend((name.len() as u16).to_le_bytes());
        central.extend([0; 12]); // extra, comment, disk, internal and external attributes
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0; 4]);
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend([0; 2]);
    out
}

#[test]
fn npz_archives_stored_and_deflated() {
    let x = npy_bytes("<f8", false, &[2, 2], &f64s(&[1.0, 2.0, 3.0, 4.0]));
    let y = npy_bytes("|u1", false, &[2], &[1, 0]);
    for deflate in [false, true] {
        let f = write(
            &format!("pair_{deflate}.npz"),
            &zip(&[("X.npy", x.clone(), deflate), ("y.npy", y.clone(), deflate)]),
        );
        let raw = read_npz_pair(&f, "X", "y", MAX).unwrap();
        assert_eq!((raw.n, raw.d0, raw.labels.clone()), (2, 2, vec![1, 0]));
        assert_eq!(raw.value(1, 0), 3.0);
        let e = read_npz_pair(&f, "inputs", "y", MAX)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no member \"inputs.npy\"") && e.contains("X.npy"),
            "{e}"
        );
    }
    let e = read_npz_pair(&write("notzip.npz", b"plain text"), "X", "y", MAX)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a zip"), "{e}");
}

fn idx(type_code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, type_code, dims.len() as u8];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend(data);
    out
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn idx_files_raw_and_gzip() {
    // Three 2 x 2 images with pixels 0..11, labels 2, 0, 1.
    let pixels: Vec<u8> = (0..12).collect();
    let images = idx(0x08, &[3, 2, 2], &pixels);
    let labels = idx(0x08, &[3], &[2, 0, 1]);
    for compress in [false, true] {
        let enc = |b: &[u8]| if compress { gz(b) } else { b.to_vec() };
        let i = write(&format!("img_{compress}.idx"), &enc(&images));
        let l = write(&format!("lab_{compress}.idx"), &enc(&labels));
        let raw = read_idx_pair(&i, &l, MAX).unwrap();
        assert_eq!((raw.n, raw.d0), (3, 4));
        assert_eq!(raw.labels, vec![2, 0, 1]);
        assert_eq!(raw.value(2, 3), 11.0);
    }
    // float32 images (type 0x0D), big-endian.
    let f: Vec<u8> = [0.5f32, -1.0]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let i = write("img_f4.idx", &idx(0x0D, &[1, 2], &f));
    let l = write("lab_one.idx", &idx(0x08, &[1], &[0]));
    let raw = read_idx_pair(&i, &l, MAX).unwrap();
    assert_eq!((raw.value(0, 0), raw.value(0, 1)), (0.5, -1.0));
    // Truncated images: 12 pixels expected after the 16-byte header, 10 found.
    let i = write("img_trunc.idx", &images[..images.len() - 2]);
    let l = write("lab3.idx", &labels);
    let e = read_idx_pair(&i, &l, MAX).unwrap_err().to_string();
    assert!(
        e.contains("img_trunc.idx")
            && e.contains("offset 16")
            && e.contains("expected 12 bytes")
            && e.contains("found 10"),
        "{e}"
    );
    // Label count mismatch.
    let i = write("img3.idx", &images);
    let l = write("lab2.idx", &idx(0x08, &[2], &[0, 1]));
    let e = read_idx_pair(&i, &l, MAX).unwrap_err().to_string();
    assert!(
        e.contains("lab2.idx") && e.contains("expected 3 labels") && e.contains("found 2"),
        "{e}"
    );
    // Bad magic; a truncated gzip stream.
    let e = read_idx_pair(&write("bad.idx", &[1, 2, 3, 4, 5]), &l, MAX)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("not an IDX file") && e.contains("offset 0"),
        "{e}"
    );
    let z = gz(&images);
    let e = read_idx_pair(&write("cut.gz", &z[..z.len() / 2]), &l, MAX)
        .unwrap_err()
        .to_string();
    assert!(e.contains("cut.gz") && e.contains("gzip"), "{e}");
}

#[test]
fn cifar_batches() {
    let rec = |label: u8, v: u8| {
        let mut r = vec![label];
        r.extend(std::iter::repeat_n(v, 3072));
        r
    };
    let a = write("batch_a.bin", &[rec(3, 7), rec(9, 1)].concat());
    let b = write("batch_b.bin", &rec(0, 200));
    let raw = read_cifar10(&[&a, &b], MAX).unwrap();
    assert_eq!(
        (raw.n, raw.d0, raw.labels.clone()),
        (3, 3072, vec![3, 9, 0])
    );
    assert_eq!((raw.value(0, 3071), raw.value(2, 0)), (7.0, 200.0));
    let mut bytes = [rec(1, 0), rec(2, 0)].concat();
    bytes.pop();
    let e = read_cifar10(&[&write("short.bin", &bytes)], MAX)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("short.bin") && e.contains("offset 3073") && e.contains("1 whole records"),
        "{e}"
    );
    let e = read_cifar10(&[&write("badlabel.bin", &rec(12, 0))], MAX)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("label byte 0..9") && e.contains("found 12"),
        "{e}"
    );
}

fn raw(labels: &[i64]) -> RawData {
    let n = labels.len();
    RawData {
        n,
        d0: 2,
        values: Values::F64((0..2 * n).map(|v| v as f64).collect()),
        labels: labels.to_vec(),
        source: "mem".into(),
    }
}

#[test]
fn subsample_is_per_class_seeded_and_in_class_order() {
    let labels: Vec<i64> = (0..60).map(|i| (i * 7 % 3) as i64).collect();
    let r = raw(&labels);
    let (d, idx) = subsample(&r, &[4, 2, 5], 1).unwrap();
    assert_eq!(d.labels, [vec![0; 4], vec![1; 2], vec![2; 5]].concat());
    for (col, &i) in idx.iter().enumerate() {
        assert_eq!(r.labels[i] as usize, d.labels[col]);
        assert_eq!(d.x[(1, col)], r.value(i, 1));
    }
    // Distinct samples, same draw for the same seed, another for another seed.
    let mut s = idx.clone();
    s.sort();
    s.dedup();
    assert_eq!(s.len(), idx.len());
    assert_eq!(subsample(&r, &[4, 2, 5], 1).unwrap().1, idx);
    assert_ne!(subsample(&r, &[4, 2, 5], 2).unwrap().1, idx);
    // Asking for more than a class has; labels outside 0..K-1.
    let e = subsample(&r, &[21, 1, 1], 0).unwrap_err().to_string();
    assert!(
        e.contains("class 0 has 20 samples") && e.contains("asks for 21"),
        "{e}"
    );
    let e = subsample(&r, &[1, 1], 0).unwrap_err().to_string();
    assert!(e.contains("label 2") && e.contains("outside 0..1"), "{e}");
    // Non-finite values are refused with the sample and feature.
    let mut bad = raw(&[0, 1]);
    bad.values = Values::F64(vec![0.0, 1.0, f64::NAN, 2.0]);
    let e = subsample(&bad, &[1, 1], 0).unwrap_err().to_string();
    assert!(
        e.contains("sample 1") && e.contains("feature 0") && e.contains("NaN"),
        "{e}"
    );
}

#[test]
fn standardisation_uses_the_training_statistics() {
    let x = Mat::from_fn(3, 4, |i, j| {
        if i == 2 {
            5.0
        } else {
            (i + 1) as f64 * j as f64
        }
    });
    let mut train = Dataset {
        x: x.clone(),
        labels: vec![0; 4],
    };
    let mut test = Dataset {
        x: Mat::from_fn(3, 1, |_, _| 1.5),
        labels: vec![0],
    };
    standardise(Standardize::Feature, &mut train, &mut [&mut test]);
    for i in 0..2 {
        let m: f64 = train.x.row(i).iter().sum::<f64>() / 4.0;
        let v: f64 = train.x.row(i).iter().map(|a| (a - m).powi(2)).sum::<f64>() / 4.0;
        assert!(
            m.abs() < 1e-15 && (v - 1.0).abs() < 1e-14,
            "row {i}: mean {m}, var {v}"
        );
    }
    // Constant feature: only centred.
    assert!(train.x.row(2).iter().all(|&a| a == 0.0));
    // Test column 1.5 with feature-0 stats (mean 1.5, std sqrt(1.25)): 0.
    assert!(test.x[(0, 0)].abs() < 1e-15);
    assert_eq!(test.x[(2, 0)], 1.5 - 5.0);
    let mut g = Dataset {
        x: x.clone(),
        labels: vec![0; 4],
    };
    standardise(Standardize::Global, &mut g, &mut []);
    let all: Vec<f64> = (0..4)
        .flat_map(|j| g.x.col(j).iter().copied().collect::<Vec<_>>())
        .collect();
    let m = all.iter().sum::<f64>() / 12.0;
    let v = all.iter().map(|a| (a - m).powi(2)).sum::<f64>() / 12.0;
    assert!(m.abs() < 1e-15 && (v - 1.0).abs() < 1e-14);
}

fn digits_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/digits")
}

#[test]
fn the_digits_set_in_the_repository() {
    let d = digits_dir();
    let raw = read_npy_pair(&d.join("X.npy"), &d.join("y.npy"), MAX).unwrap();
    assert_eq!((raw.n, raw.d0), (1797, 64));
    let mut counts = [0; 10];
    for &y in &raw.labels {
        counts[y as usize] += 1;
    }
    assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    // The first row of scikit-learn's digits.csv.gz (a 0).
    let first = [
        0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0,
        0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0,
        0, 6, 13, 10, 0, 0, 0,
    ];
    let got: Vec<f64> = (0..64).map(|j| raw.value(0, j)).collect();
    assert_eq!(got, first.iter().map(|&v| v as f64).collect::<Vec<_>>());
    assert_eq!(raw.labels[0], 0);
    assert!(matches!(raw.values, Values::U8(_)));
}

#[test]
fn prepare_with_holdout_splits_the_file() {
    let d = digits_dir();
    let sec = DataSection {
        train: DataSource::Npy {
            x: "X.npy".into(),
            y: "y.npy".into(),
        },
        test: None,
        holdout: true,
        seed: 4,
        standardize: Standardize::Feature,
    };
    let p = prepare(&sec, &d, &[100; 10], MAX).unwrap();
    assert_eq!(p.train.samples(), 1000);
    assert_eq!(p.test.as_ref().unwrap().samples(), 797);
    let k = 64;
    // Standardised with training statistics: train features have mean 0.
    for i in 0..k {
        let m: f64 = p.train.x.row(i).iter().sum::<f64>() / 1000.0;
        assert!(m.abs() < 1e-12);
    }
    let mut sec2 = sec.clone();
    sec2.holdout = false;
    assert!(prepare(&sec2, &d, &[100; 10], MAX).unwrap().test.is_none());
    let e = prepare(&sec, &d, &[175; 10], MAX).unwrap_err().to_string();
    assert!(e.contains("class 8 has 174 samples"), "{e}");
}
