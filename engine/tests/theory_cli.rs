//! `ufm theory ...`: the `ufm theory` contract of docs/theory.md (JSON keys, exit statuses, argument names in
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

/// A command line's arguments, split at spaces (none of the arguments here contains one).
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
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
    let (code, _, err) = ufm(&words(
        "theory compare --classes 1 --per-class 5 --layers 2 --lambda 0.1",
    ));
    assert_eq!(code, 2);
    assert!(err.contains("--classes"), "{err}");
    let (code, _, err) = ufm(&words(
        "theory region --theorem 3 --classes 2..4 --layers 1..2",
    ));
    assert_eq!(code, 2);
    assert!(err.contains("--theorem"), "{err}");
    let (code, _, err) = ufm(&words(
        "theory region --theorem 1 --classes 6..4 --layers 1..2",
    ));
    assert_eq!(code, 2);
    assert!(err.contains("--classes"), "{err}");
    let (code, _, err) = ufm(&words("theory hessian --classes 4 --per-class 2 --layers 2 --lambda 0.5 --structure dnc --width 6"));
    assert_eq!(code, 2);
    assert!(err.contains("--lambda"), "{err}");
    let (code, _, err) = ufm(&["theory", "hessian", "--params", "/nonexistent"]);
    assert_eq!(code, 2);
    assert!(err.contains("--job"), "{err}");
}

#[test]
fn compare_lists_the_pair_simplex_family_with_hessian_verdicts() {
    let mut a = vec!["theory", "compare", "--json"];
    a.extend(MODEL);
    let c = json(&a);
    let fam = c["family"].as_array().unwrap();
    let p: Vec<u64> = fam.iter().map(|f| f["pairs"].as_u64().unwrap()).collect();
    assert_eq!(p, [0, 1, 2, 3, 5]);
    // The end members are the dnc and low_rank rows (same closed forms).
    assert_eq!(fam[0]["loss"], c["dnc"]["loss"]);
    assert!(
        (fam[4]["loss"].as_f64().unwrap() - c["low_rank"]["loss"].as_f64().unwrap()).abs() < 1e-15
    );
    // Ranks 9, 8, 7, 6, 5; every member's verdict at d = K computed.
    let ranks: Vec<u64> = fam.iter().map(|f| f["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, [9, 8, 7, 6, 5]);
    for f in fam {
        assert_eq!(f["hessian"]["width"], 10, "{f}");
        assert!(f["hessian"]["classification"].is_string(), "{f}");
    }
    assert_eq!(fam[0]["hessian"]["classification"], "minimum");
    // --no-hessian leaves the verdicts out; --width below K is refused.
    let mut a = vec!["theory", "compare", "--json", "--no-hessian"];
    a.extend(MODEL);
    assert!(json(&a)["family"][0]["hessian"].is_null());
    let mut a = vec!["theory", "compare", "--width", "9"];
    a.extend(MODEL);
    let (code, _, err) = ufm(&a);
    assert_eq!(code, 2);
    assert!(err.contains("--width"), "{err}");
}

#[test]
fn hessian_reports_theorem4_side_by_side() {
    // Issue 12's counterexample: B.6's condition holds (2.28 >= 1), the law and the spectrum
    // both say strict saddle, with K(K-3)/2 = 35 negative eigenvalues.
    let r = json(&[
        "theory",
        "hessian",
        "--classes",
        "10",
        "--per-class",
        "5",
        "--layers",
        "5",
        "--lambda",
        "2^-6",
        "--structure",
        "dnc",
        "--width",
        "10",
        "--json",
    ]);
    let t = &r["theorem4"];
    assert_eq!(t["paper_b6_holds"], true, "{t}");
    assert!(
        (t["paper_b6"].as_f64().unwrap() - 2.2848).abs() < 1e-4,
        "{t}"
    );
    assert_eq!(t["law_verdict"], "strict_saddle");
    assert_eq!(t["spectrum_verdict"], "strict_saddle");
    assert_eq!(r["negative"], 35);
    let lambda = 2f64.powi(-6);
    assert!((r["smallest_beyond_symmetry"].as_f64().unwrap() / lambda + 1.0710).abs() < 1e-4);
    // A family member by --pairs; --pairs needs pair_simplex and vice versa.
    let base = [
        "theory",
        "hessian",
        "--classes",
        "6",
        "--per-class",
        "2",
        "--layers",
        "2",
        "--lambda",
        "1e-3",
        "--width",
        "6",
    ];
    let mut a = base.to_vec();
    a.extend(["--structure", "pair_simplex", "--pairs", "1", "--json"]);
    let r = json(&a);
    assert!(r["gradient_norm"].as_f64().unwrap() < 1e-12, "{r}");
    assert!(r.get("theorem4").is_none());
    for (extra, flag) in [
        (vec!["--structure", "dnc", "--pairs", "1"], "--pairs"),
        (vec!["--structure", "pair_simplex"], "--pairs"),
        (
            vec!["--structure", "pair_simplex", "--pairs", "2"],
            "--pairs",
        ),
    ] {
        let mut a = base.to_vec();
        a.extend(extra);
        let (code, _, err) = ufm(&a);
        assert_eq!(code, 2, "{a:?}");
        assert!(err.contains(flag), "{a:?}: {err}");
    }
}

#[test]
fn region_theorem4_grid() {
    let r = json(&[
        "theory",
        "region",
        "--theorem",
        "4",
        "--classes",
        "8..10",
        "--layers",
        "3..5",
        "--per-class",
        "5",
        "--lambda",
        "2^-6,1e-2",
        "--json",
    ]);
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len() + r["skipped"].as_u64().unwrap() as usize, 18);
    assert_eq!(r["law_disagreements"], 0, "{r}");
    // K = 10, n = 5, L = 5, lambda = 2^-6 (issue 12) is among the saddles where B.6 holds.
    let hit = rows
        .iter()
        .find(|x| x["classes"] == 10 && x["layers"] == 5 && x["lambda"] == 2f64.powi(-6))
        .unwrap();
    assert_eq!(hit["check"]["spectrum_verdict"], "strict_saddle");
    assert_eq!(hit["check"]["paper_b6_holds"], true);
    assert!(r["saddles_where_paper_b6_holds"].as_u64().unwrap() >= 1);
    let (code, _, err) = ufm(&words(
        "theory region --theorem 1 --classes 4 --layers 2 --lambda 1e-3",
    ));
    assert_eq!(code, 2);
    assert!(err.contains("--lambda"), "{err}");
    let (code, _, err) = ufm(&words(
        "theory region --theorem 4 --classes 4 --layers 2 --lambda 1e-3",
    ));
    assert_eq!(code, 2);
    assert!(err.contains("--per-class"), "{err}");
}

/// Text reports name structures and roots as the user types them (`dnc`, `low_rank`, `large`,
/// `small`), never as Rust variants (`Dnc`, `LowRank`, `Large`).
#[test]
fn text_reports_use_the_option_names_not_rust_variants() {
    let small = [
        "--classes",
        "4",
        "--per-class",
        "1",
        "--layers",
        "2",
        "--lambda",
        "1e-3",
    ];
    for (structure, root) in [("dnc", "large"), ("low_rank", "small")] {
        let mut args = vec!["theory", "hessian"];
        args.extend(small);
        args.extend(["--structure", structure, "--root", root, "--width", "4"]);
        let (code, out, err) = ufm(&args);
        assert_eq!(code, 0, "{err}");
        let want = format!("constructed {structure} critical point, {root} root, scale");
        assert!(out.starts_with(&want), "{out}");
    }
    let (code, out, err) = ufm(&words("theory hessian --classes 6 --per-class 1 --layers 2 --lambda 1e-3 --structure pair_simplex --pairs 1 --width 6"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(", large roots, beta"), "{out}");
    let (code, out, err) = ufm(&words(
        "theory region --theorem 4 --classes 4 --layers 2 --per-class 1 --lambda 1e-3 --root small",
    ));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Theorem 4: DNC small root"), "{out}");
    for v in ["Dnc", "LowRank", "Large", "Small", "PairSimplex"] {
        assert!(!out.contains(v), "{v} in {out}");
    }
}
