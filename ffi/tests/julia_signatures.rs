//! Julia cannot be installed on the CI machines, so this test keeps bindings/julia/UFM.jl from
//! drifting: every function declared in include/ufm.h must be called through `@ccall` in
//! src/UFM.jl with the same number of arguments and the Julia types of the same C types (and
//! return type), no `@ccall` may name a function the header lacks, and the Julia mirrors of the
//! header's structs must have the same fields with the same types.

use std::collections::BTreeMap;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `const` dropped, spaces collapsed, `*` glued: "const ufm_error **" -> "ufm_error**".
fn norm(c: &str) -> String {
    let s = c.replace("const ", " ").replace('*', " * ");
    let words: Vec<&str> = s.split_whitespace().collect();
    words.join(" ").replace(" *", "*")
}

/// The Julia types accepted for a C type.
fn julia_types(c: &str) -> Option<&'static [&'static str]> {
    let handles = ["ufm_trainer", "ufm_result", "ufm_error"];
    let enums = [
        "ufm_status",
        "ufm_run_status",
        "ufm_classification",
        "ufm_hessian_verdict",
    ];
    let c = c.to_string();
    let (base, ptrs) = (
        c.trim_end_matches('*'),
        c.len() - c.trim_end_matches('*').len(),
    );
    Some(match (base, ptrs) {
        ("void", 0) => &["Cvoid"],
        ("void", 1) => &["Ptr{Cvoid}"],
        ("char", 1) => &["Cstring", "Ptr{UInt8}"],
        ("char", 2) => &["Ptr{Ptr{UInt8}}", "Ptr{Cstring}"],
        ("size_t", 0) => &["Csize_t"],
        ("size_t", 1) => &["Ptr{Csize_t}"],
        ("ptrdiff_t", 0) => &["Cptrdiff_t"],
        ("double", 0) => &["Cdouble"],
        ("double", 1) => &["Ptr{Cdouble}"],
        ("int32_t", 0) => &["Int32"],
        ("uint32_t", 0) => &["UInt32"],
        ("uint64_t", 0) => &["UInt64"],
        ("uint64_t", 1) => &["Ptr{UInt64}"],
        ("int", 0) => &["Cint"],
        ("ufm_matrix", 0) => &["UFMMatrix"],
        ("ufm_matrix_mut", 0) => &["UFMMatrixMut"],
        ("ufm_loss", 1) => &["Ptr{UFMLoss}"],
        ("ufm_summary", 1) => &["Ptr{UFMSummary}"],
        ("ufm_compare", 1) => &["Ptr{UFMCompare}"],
        ("ufm_family_member", 1) => &["Ptr{UFMFamilyMember}"],
        ("ufm_progress_fn" | "ufm_cancel_fn", 0) => &["Ptr{Cvoid}"],
        (b, 1) if handles.contains(&b) => &["Ptr{Cvoid}"],
        (b, 2) if handles.contains(&b) => &["Ptr{Ptr{Cvoid}}"],
        (b, 0) if enums.contains(&b) => &["Cint"],
        (b, 1) if enums.contains(&b) => &["Ptr{Cint}"],
        _ => return None,
    })
}

/// Split at top-level commas (outside (), {}, []).
fn split_top(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0i32);
    for ch in s.chars() {
        match ch {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out.into_iter().map(|a| a.trim().to_string()).collect()
}

/// name -> (return C type, argument C types), from the header's prototypes.
fn header_functions(h: &str) -> BTreeMap<String, (String, Vec<String>)> {
    // Drop comments, then read every `ret name(args);` at top level of the extern block.
    let code: String = h
        .lines()
        .filter(|l| !l.trim_start().starts_with("//") && !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let body = &code[code.find("extern \"C\" {").map(|i| i + 12).unwrap_or(0)..];
    let mut out = BTreeMap::new();
    for decl in body.split(';') {
        let decl = decl.trim();
        let Some(open) = decl.find('(') else { continue };
        if !decl.ends_with(')') || decl.starts_with("typedef") {
            continue;
        }
        let head = decl[..open].trim();
        let name = head
            .rsplit(|c: char| c.is_whitespace() || c == '*')
            .next()
            .unwrap();
        if !name.starts_with("ufm_") {
            continue;
        }
        let ret = norm(&head[..head.len() - name.len()]);
        let args = &decl[open + 1..decl.len() - 1];
        let args: Vec<String> = if args.trim() == "void" {
            Vec::new()
        } else {
            split_top(args)
                .iter()
                .map(|a| {
                    let n = a
                        .rsplit(|c: char| c.is_whitespace() || c == '*')
                        .next()
                        .unwrap();
                    norm(&a[..a.len() - n.len()])
                })
                .collect()
        };
        out.insert(name.to_string(), (ret, args));
    }
    out
}

/// Every `@ccall libufm.name(args)::Ret` in the Julia source: (name, return type, arg types).
fn julia_ccalls(src: &str) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("@ccall libufm.") {
        rest = &rest[i + 14..];
        let open = rest.find('(').unwrap();
        let name = rest[..open].to_string();
        let mut depth = 0;
        let mut close = 0;
        for (j, ch) in rest[open..].char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + j;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args: Vec<String> = split_top(&rest[open + 1..close])
            .iter()
            .map(|a| {
                a.rsplit_once("::")
                    .unwrap_or_else(|| panic!("{name}: argument `{a}` has no ::Type"))
                    .1
                    .trim()
                    .to_string()
            })
            .collect();
        let after = &rest[close + 1..];
        let ret: String = after
            .strip_prefix("::")
            .unwrap_or_else(|| panic!("{name}: @ccall without a return type"))
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        out.push((name, ret, args));
    }
    out
}

#[test]
fn every_header_function_is_wrapped_with_the_same_signature() {
    let h = std::fs::read_to_string(root().join("include/ufm.h")).unwrap();
    let jl = std::fs::read_to_string(root().join("bindings/julia/UFM.jl/src/UFM.jl")).unwrap();
    let funcs = header_functions(&h);
    assert!(
        funcs.len() >= 30,
        "parsed only {} prototypes from ufm.h",
        funcs.len()
    );
    let calls = julia_ccalls(&jl);
    let mut problems = Vec::new();
    for (name, ret, args) in &calls {
        let Some((cret, cargs)) = funcs.get(name) else {
            problems.push(format!("{name}: called from Julia but not in ufm.h"));
            continue;
        };
        let ok_type = |c: &str, j: &str| julia_types(c).is_some_and(|t| t.contains(&j));
        if julia_types(cret).is_none() {
            problems.push(format!(
                "{name}: no Julia mapping for C type `{cret}` (add one)"
            ));
        } else if !ok_type(cret, ret) {
            problems.push(format!(
                "{name}: returns `{cret}` in C but ::{ret} in Julia"
            ));
        }
        if args.len() != cargs.len() {
            problems.push(format!(
                "{name}: {} arguments in C, {} in Julia",
                cargs.len(),
                args.len()
            ));
            continue;
        }
        for (i, (c, j)) in cargs.iter().zip(args).enumerate() {
            if julia_types(c).is_none() {
                problems.push(format!(
                    "{name}: no Julia mapping for C type `{c}` (add one)"
                ));
            } else if !ok_type(c, j) {
                problems.push(format!(
                    "{name}: argument {i} is `{c}` in C but ::{j} in Julia (want one of {:?})",
                    julia_types(c).unwrap()
                ));
            }
        }
    }
    for name in funcs.keys() {
        if !calls.iter().any(|(n, _, _)| n == name) {
            problems.push(format!("{name}: in ufm.h but not wrapped in UFM.jl"));
        }
    }
    assert!(
        problems.is_empty(),
        "UFM.jl does not match ufm.h:\n  {}",
        problems.join("\n  ")
    );
}

/// C struct name -> (field C types) from `typedef struct { ... } name;`.
fn header_structs(h: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut rest = h;
    while let Some(i) = rest.find("typedef struct {") {
        rest = &rest[i + 16..];
        let end = rest.find('}').unwrap();
        let fields: Vec<String> = rest[..end]
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .map(|l| {
                let l = l.trim_end_matches(';');
                let n = l
                    .rsplit(|c: char| c.is_whitespace() || c == '*')
                    .next()
                    .unwrap();
                norm(&l[..l.len() - n.len()])
            })
            .collect();
        let name: String = rest[end + 1..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        out.insert(name, fields);
        rest = &rest[end..];
    }
    out
}

#[test]
fn julia_structs_mirror_the_header() {
    let h = std::fs::read_to_string(root().join("include/ufm.h")).unwrap();
    let jl = std::fs::read_to_string(root().join("bindings/julia/UFM.jl/src/UFM.jl")).unwrap();
    let structs = header_structs(&h);
    let pairs = [
        ("ufm_matrix", "UFMMatrix"),
        ("ufm_matrix_mut", "UFMMatrixMut"),
        ("ufm_loss", "UFMLoss"),
        ("ufm_summary", "UFMSummary"),
        ("ufm_compare", "UFMCompare"),
        ("ufm_family_member", "UFMFamilyMember"),
    ];
    assert_eq!(
        structs.len(),
        pairs.len(),
        "ufm.h structs {:?}: map each to a Julia struct here",
        structs.keys().collect::<Vec<_>>()
    );
    for (c, j) in pairs {
        let cf = &structs[c];
        let start = jl
            .find(&format!("struct {j}\n"))
            .unwrap_or_else(|| panic!("UFM.jl lacks `struct {j}`"));
        let body = &jl[start..];
        let body = &body[..body.find("\nend").unwrap()];
        let jf: Vec<&str> = body
            .lines()
            .skip(1)
            .map(|l| l.trim().split_once("::").unwrap().1)
            .collect();
        assert_eq!(cf.len(), jf.len(), "{c} vs {j}: field count");
        for (a, b) in cf.iter().zip(&jf) {
            assert!(
                julia_types(a).is_some_and(|t| t.contains(b)),
                "{c} vs {j}: C field `{a}` mirrored as ::{b}"
            );
        }
    }
}
