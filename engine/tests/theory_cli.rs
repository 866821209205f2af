//! `ufm theory ...`: the DESIGN.md section 5 contract (JSON keys, exit statuses, argument names in
//! error messages), run against the built binary.

use std::process::Command;

fn ufm(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ufm"))
        .args(args)
        .output()
        .expect("run ufm");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> serde_json::Value {
    let (code, out, err) = ufm(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
}

const MODEL: [&str; 8] = [
    "--classes",
    "10",
    "--per-class",
    "5",
    "--layers",
    "2",
    "--lambda",
    "2^-10",
];

#[test]
fn compare_and_critical_json() {
    let mut a = vec!["theory", "compare", "--json"];
    a.extend(MODEL);
    let c = json(&a);
    assert!(c["dnc"]["loss"].as_f64().unwrap() > c["low_rank"]["loss"].as_f64().unwrap());
    assert!(c["dnc"]["scale"].is_f64() && c["low_rank"]["scale"].is_f64());
    assert_eq!(c["theorem1_holds"], true);
    // 2^-10 and its decimal give the same answer.
    let mut b = vec!["theory", "compare", "--json"];
    b.extend(&MODEL[..6]);
    b.extend(["--lambda", "0.0009765625"]);
    assert_eq!(json(&b), c);
    let mut a = vec!["theory", "critical", "--json"];
    a.extend(MODEL);
    let r = json(&a);
    assert_eq!(r["dnc_roots"].as_array().unwrap().len(), 2);
    assert_eq!(r["low_rank_roots"].as_array().unwrap().len(), 2);
    assert!(r["dnc_lambda_max"].as_f64().unwrap() > 2f64.powi(-10));
    assert!(r["low_rank_lambda_max"].is_f64());
}

#[test]
fn region_json() {
    let r = json(&[
        "theory",
        "region",
        "--theorem",
        "1",
        "--classes",
        "4..6",
        "--layers",
        "2..3",
        "--json",
    ]);
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    let holds = |k: u64, l: u64| {
        rows.iter()
            .find(|x| x["classes"] == k && x["layers"] == l)
            .unwrap()["holds"]
            .as_bool()
            .unwrap()
    };
    assert!(!holds(4, 2) && holds(4, 3) && holds(6, 2));
}

#[test]
fn hessian_json_at_constructed_point() {
    let r = json(&[
        "theory",
        "hessian",
        "--classes",
        "4",
        "--per-class",
        "2",
        "--layers",
        "2",
        "--lambda",
        "2^-10",
        "--structure",
        "dnc",
        "--root",
        "large",
        "--width",
        "6",
        "--json",
    ]);
    for key in [
        "gradient_norm",
        "eigenvalue_min",
        "eigenvalue_max",
        "frobenius",
        "spectral",
        "trace",
    ] {
        assert!(r[key].is_f64(), "{key}: {r}");
    }
    assert_eq!(r["negative"], 0);
    assert_eq!(r["zero"], 24);
    assert_eq!(r["positive"], 84);
    assert_eq!(r["symmetry_dimension"], 24);
    assert_eq!(r["classification"], "minimum");
    assert_eq!(r["theorem5"]["numerical"], 24);
    assert_eq!(r["theorem5"]["paper"], 18);
}

#[test]
fn invalid_input_exits_2_naming_the_argument() {
    for (args, flag) in [
        (vec!["--lambda", "-1"], "--lambda"),
        (vec!["--lambda", "2^x"], "--lambda"),
        (vec!["--lambda", "0"], "--lambda"),
    ] {
        let mut a = vec!["theory", "compare"];
        a.extend(&MODEL[..6]);
        a.extend(args.iter().copied());
        let (code, _, err) = ufm(&a);
        assert_eq!(code, 2, "{a:?}");
        assert!(err.contains(flag), "{a:?}: {err}");
    }
    let (code, _, err) = ufm(&[
        "theory",
        "compare",
        "--classes",
        "1",
        "--per-class",
        "5",
        "--layers",
        "2",
        "--lambda",
        "0.1",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--classes"), "{err}");
    let (code, _, err) = ufm(&[
        "theory",
        "region",
        "--theorem",
        "3",
        "--classes",
        "2..4",
        "--layers",
        "1..2",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--theorem"), "{err}");
    let (code, _, err) = ufm(&[
        "theory",
        "region",
        "--theorem",
        "1",
        "--classes",
        "6..4",
        "--layers",
        "1..2",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--classes"), "{err}");
    let (code, _, err) = ufm(&[
        "theory",
        "hessian",
        "--classes",
        "4",
        "--per-class",
        "2",
        "--layers",
        "2",
        "--lambda",
        "0.5",
        "--structure",
        "dnc",
        "--width",
        "6",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--lambda"), "{err}");
    let (code, _, err) = ufm(&["theory", "hessian", "--params", "/nonexistent"]);
    assert_eq!(code, 2);
    assert!(err.contains("--job"), "{err}");
}
