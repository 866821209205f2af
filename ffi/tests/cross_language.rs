//! Cross-language tests: C, C++ and Python programs use libufm and must reproduce `ufm run` bit
//! for bit; the C examples also run under AddressSanitizer and UndefinedBehaviorSanitizer.
//!
//! These tests shell out to cargo (to build libufm and the `ufm` binary: `cargo test` does not
//! build a cdylib), cc, c++, and the Python, cmake and pkg-config that [`toolbox`] provides (it
//! installs them into `target/test-tools/venv` where the machine lacks them). A missing tool is a
//! failure with a clear message, never a silent skip.

mod toolbox;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The cargo target directory (not its `release` folder).
fn target_root() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

fn target_dir() -> PathBuf {
    target_root().join("release")
}

fn tools() -> &'static toolbox::Tools {
    toolbox::tools(&target_root())
}

/// A scratch folder for this test binary's outputs.
fn scratch(name: &str) -> PathBuf {
    let d = target_dir().join("ffi-tests").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "{what}: cannot start {:?}: {e} (is it installed? see README: Run every test)",
            cmd.get_program()
        )
    });
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Build libufm (cdylib + staticlib), the `ufm` binary and the example plugin once per test
/// binary.
fn build() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        run(
            Command::new(cargo).current_dir(root()).args([
                "build",
                "--release",
                "-p",
                "ufm-ffi",
                "-p",
                "ufm-plugin-example-rust",
                "-p",
                "ufm-engine",
                "--bin",
                "ufm",
                "--lib",
            ]),
            "cargo build libufm, ufm and the example plugin",
        );
    });
}

/// final.loss of `ufm run JOB`, read from result.json as text and parsed exactly.
fn ufm_run_final_loss(job: &str, out: &Path) -> f64 {
    build();
    run(
        Command::new(target_dir().join("ufm"))
            .current_dir(root())
            .args(["run", job, "--out"])
            .arg(out)
            .arg("-q"),
        "ufm run",
    );
    let text = std::fs::read_to_string(out.join("result.json")).unwrap();
    // serde_json's float parser is not guaranteed exact; take the token and use Rust's.
    let fin = &text[text.find("\"final\"").expect("final in result.json")..];
    let tok = &fin[fin.find("\"loss\":").unwrap() + 7..];
    let tok: String = tok
        .trim_start()
        .chars()
        .take_while(|c| !matches!(c, ',' | '\n' | '}'))
        .collect();
    tok.trim().parse().unwrap()
}

/// The value printed on the `key value` line of a program's stdout.
fn field(stdout: &[u8], key: &str) -> String {
    let s = String::from_utf8_lossy(stdout);
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} ")))
        .unwrap_or_else(|| panic!("no `{key}` line in:\n{s}"))
        .trim()
        .to_string()
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

fn cxx() -> String {
    std::env::var("CXX").unwrap_or_else(|_| "c++".into())
}

const C_FLAGS: [&str; 5] = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"];
const CXX_FLAGS: [&str; 5] = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"];

/// Compile C (or C++) sources against libufm.so into `exe`.
fn compile(compiler: &str, flags: &[&str], sources: &[PathBuf], exe: &Path, extra: &[&str]) {
    build();
    let lib = target_dir();
    let mut cmd = Command::new(compiler);
    cmd.args(flags)
        .args(extra)
        .arg("-I")
        .arg(root().join("include"))
        .args(sources)
        .arg("-o")
        .arg(exe)
        .arg("-L")
        .arg(&lib)
        .arg("-lufm")
        .arg(format!("-Wl,-rpath,{}", lib.display()));
    run(&mut cmd, &format!("compiling {sources:?}"));
}

/// Compile one source file to an object (no linking): a header check. `std` replaces the
/// standard of `flags`.
fn compile_object(compiler: &str, flags: &[&str], std: &str, src: &Path, obj: &Path, what: &str) {
    let mut flags = flags.to_vec();
    flags[0] = std;
    run(
        Command::new(compiler)
            .args(&flags)
            .arg("-I")
            .arg(root().join("include"))
            .arg("-c")
            .arg(src)
            .arg("-o")
            .arg(obj),
        &format!("{what} ({std})"),
    );
}

fn assert_same_bits(what: &str, got: f64, want: f64) {
    assert_eq!(
        got.to_bits(),
        want.to_bits(),
        "{what}: final loss {got:e} differs from ufm run's {want:e}"
    );
}

/// `ufm run examples/jobs/figure1.json` once per test binary: its final loss and result.json.
fn figure1() -> &'static (f64, PathBuf) {
    static CLI: OnceLock<(f64, PathBuf)> = OnceLock::new();
    CLI.get_or_init(|| {
        let dir = scratch("figure1_cli");
        let loss = ufm_run_final_loss("examples/jobs/figure1.json", &dir);
        (loss, dir.join("result.json"))
    })
}

#[test]
fn c_trains_figure1_bit_for_bit() {
    let dir = scratch("c_figure1");
    let want = figure1().0;
    let exe = dir.join("train");
    compile(
        &cc(),
        &C_FLAGS,
        &[root().join("bindings/c/train.c")],
        &exe,
        &[],
    );
    let out = run(
        Command::new(&exe)
            .current_dir(root())
            .arg("examples/jobs/figure1.json"),
        "bindings/c/train",
    );
    let got: f64 = field(&out.stdout, "final.loss").parse().unwrap();
    assert_same_bits("C", got, want);
    assert_eq!(field(&out.stdout, "status"), "0", "figure 1 converges");
    assert_ne!(field(&out.stdout, "progress_calls"), "0");
}

/// Every file under `dir`, as paths relative to it, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// result.json without its one wall-clock field, the top-level `"seconds"` line (the run's
/// duration); everything else in the folder is deterministic.
fn without_seconds(text: &str) -> String {
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("  \"seconds\": "))
        .collect();
    assert_eq!(kept.len() + 1, text.lines().count(), "one `seconds` line");
    kept.join("\n")
}

/// The folder `got` holds the files `ufm run` wrote into `want`, byte for byte (result.json
/// apart from `seconds`).
fn assert_same_run_folder(what: &str, want: &Path, got: &Path) {
    let names = files_under(want);
    assert_eq!(names, files_under(got), "{what}: the files written");
    for must in ["result.json", "curve.csv", "params/H1.npy", "params/W2.npy"] {
        assert!(
            names.contains(&PathBuf::from(must)),
            "{what}: {must} in {names:?}"
        );
    }
    for n in &names {
        let (a, b) = (
            std::fs::read(want.join(n)).unwrap(),
            std::fs::read(got.join(n)).unwrap(),
        );
        if n == Path::new("result.json") {
            assert_eq!(
                without_seconds(&String::from_utf8(a).unwrap()),
                without_seconds(&String::from_utf8(b).unwrap()),
                "{what}: result.json"
            );
        } else {
            assert!(a == b, "{what}: {} differs from ufm run's", n.display());
        }
    }
}

/// `ufm_result_write` from C and from C++ writes the folder `ufm run` writes for the same job.
#[test]
fn c_and_cpp_write_the_run_folder_ufm_run_writes() {
    let dir = scratch("write_folder");
    let want = figure1().1.parent().unwrap().to_path_buf();
    for (lang, src, compiler, flags) in [
        ("c", "bindings/c/train.c", cc(), &C_FLAGS),
        ("cpp", "bindings/cpp/train.cpp", cxx(), &CXX_FLAGS),
    ] {
        let exe = dir.join(format!("train_{lang}"));
        compile(&compiler, flags, &[root().join(src)], &exe, &[]);
        let got = dir.join(format!("{lang}_out/nested"));
        run(
            Command::new(&exe)
                .current_dir(root())
                .arg("examples/jobs/figure1.json")
                .arg(&got),
            src,
        );
        assert_same_run_folder(src, &want, &got);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name == "__pycache__" || name == ".pytest_cache" || name == "build" {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

/// Install bindings/python with pip (from a copy, so the source tree stays clean) and run its
/// pytest suite against libufm, including the Figure-1 bit-for-bit test.
#[test]
fn python_package_installs_and_passes_pytest() {
    let dir = scratch("python");
    let result = &figure1().1;
    let python = &tools().python;
    let src = dir.join("src");
    copy_dir(&root().join("bindings/python"), &src);
    let site = dir.join("site");
    run(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-build-isolation",
                "--no-deps",
                "--target",
            ])
            .arg(&site)
            .arg(&src),
        "pip install bindings/python",
    );
    run(
        Command::new(python)
            .current_dir(root())
            .env("PYTHONPATH", &site)
            .env("UFM_LIBRARY", target_dir().join("libufm.so"))
            .env("UFM_FIGURE1_RESULT", result)
            .env(
                "UFM_EXAMPLE_PLUGIN",
                target_dir().join("libufm_plugin_example_rust.so"),
            )
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(root().join("bindings/python/tests")),
        "pytest bindings/python/tests",
    );
}

#[test]
fn cpp_trains_figure1_bit_for_bit() {
    let dir = scratch("cpp_figure1");
    let want = figure1().0;
    let exe = dir.join("train_cpp");
    compile(
        &cxx(),
        &CXX_FLAGS,
        &[root().join("bindings/cpp/train.cpp")],
        &exe,
        &[],
    );
    let out = run(
        Command::new(&exe)
            .current_dir(root())
            .arg("examples/jobs/figure1.json"),
        "bindings/cpp/train",
    );
    let got: f64 = field(&out.stdout, "final.loss").parse().unwrap();
    assert_same_bits("C++", got, want);
    assert_eq!(field(&out.stdout, "refused"), "UFM_STATUS_INVALID_ARGUMENT");
}

/// Each header compiles on its own: ufm.h as C99/C11/C17 and as C++17, ufm.hpp as C++17.
#[test]
fn headers_compile_on_their_own() {
    build();
    let dir = scratch("headers");
    for std in ["-std=c99", "-std=c11", "-std=c17"] {
        let src = root().join("tests/c/header_alone.c");
        compile_object(
            &cc(),
            &C_FLAGS,
            std,
            &src,
            &dir.join("h.o"),
            "ufm.h alone as C",
        );
    }
    for (src, what) in [
        ("tests/cpp/c_header_alone.cpp", "ufm.h alone as C++"),
        ("tests/cpp/hpp_alone.cpp", "ufm.hpp alone"),
    ] {
        let src = root().join(src);
        compile_object(
            &cxx(),
            &CXX_FLAGS,
            "-std=c++17",
            &src,
            &dir.join("h.o"),
            what,
        );
    }
}

/// ufm.h and ufm_plugin.h in one file (they used to define two different `ufm_matrix`): as C
/// (C99, C11, C17) and, with ufm.hpp, as C++17, each file also in the other order of inclusion.
#[test]
fn both_headers_compile_together() {
    let dir = scratch("both_headers");
    let c_src = root().join("tests/c/both_headers.c");
    let text = std::fs::read_to_string(&c_src).unwrap();
    // The same file with the two includes swapped.
    let swapped = dir.join("both_headers_swapped.c");
    std::fs::write(
        &swapped,
        text.replacen(
            "#include \"ufm.h\"\n#include \"ufm_plugin.h\"",
            "#include \"ufm_plugin.h\"\n#include \"ufm.h\"",
            1,
        ),
    )
    .unwrap();
    assert_ne!(
        std::fs::read_to_string(&swapped).unwrap(),
        text,
        "include order swapped"
    );
    for src in [&c_src, &swapped] {
        for std in ["-std=c99", "-std=c11", "-std=c17"] {
            let what = format!("{} as C", src.display());
            compile_object(&cc(), &C_FLAGS, std, src, &dir.join("c.o"), &what);
        }
    }
    let cpp = root().join("tests/cpp/both_headers.cpp");
    compile_object(
        &cxx(),
        &CXX_FLAGS,
        "-std=c++17",
        &cpp,
        &dir.join("cpp.o"),
        "both headers as C++",
    );
}

#[test]
fn hpp_links_from_two_translation_units() {
    let dir = scratch("two_tu");
    let exe = dir.join("two_tu");
    compile(
        &cxx(),
        &CXX_FLAGS,
        &[
            root().join("tests/cpp/two_tu_a.cpp"),
            root().join("tests/cpp/two_tu_b.cpp"),
        ],
        &exe,
        &[],
    );
    run(&mut Command::new(&exe), "two_tu");
}

#[test]
fn c_refusal_paths() {
    let dir = scratch("refusals");
    let exe = dir.join("refusals");
    compile(
        &cc(),
        &C_FLAGS,
        &[root().join("tests/c/refusals.c")],
        &exe,
        &[],
    );
    let out = run(&mut Command::new(&exe), "tests/c/refusals");
    assert!(String::from_utf8_lossy(&out.stdout).contains("refusals ok"));
}

const SANITIZE: [&str; 5] = [
    "-g",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-O1",
];

/// The C and C++ examples and the C refusal paths under AddressSanitizer (with leak checking)
/// and UndefinedBehaviorSanitizer, on the small smoke job. Any report fails the run.
#[test]
fn sanitizers_are_clean() {
    let dir = scratch("sanitizers");
    let env = [
        (
            "ASAN_OPTIONS",
            "detect_leaks=1:abort_on_error=0:exitcode=23",
        ),
        (
            "UBSAN_OPTIONS",
            "print_stacktrace=1:halt_on_error=1:exitcode=24",
        ),
    ];
    let cases: [(&str, &[&str], &str, &[&str]); 3] = [
        (
            "bindings/c/train.c",
            &C_FLAGS,
            "c",
            &["examples/jobs/smoke.json"],
        ),
        ("tests/c/refusals.c", &C_FLAGS, "c", &[]),
        (
            "bindings/cpp/train.cpp",
            &CXX_FLAGS,
            "cpp",
            &["examples/jobs/smoke.json"],
        ),
    ];
    for (i, (src, flags, lang, args)) in cases.iter().enumerate() {
        let exe = dir.join(format!("san{i}"));
        let compiler = if *lang == "c" { cc() } else { cxx() };
        compile(&compiler, flags, &[root().join(src)], &exe, &SANITIZE);
        let out = run(
            Command::new(&exe).current_dir(root()).args(*args).envs(env),
            &format!("{src} under ASan+UBSan"),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("Sanitizer") && !err.contains("runtime error"),
            "{src}: sanitizer report:\n{err}"
        );
    }
}

/// `ffi/dist/install.sh` into a scratch prefix; then a C program built with the flags of
/// `pkg-config ufm`, and the CMake package (`find_package(ufm)`: shared, static and C++ targets)
/// all train the smoke job to the same final loss.
#[test]
fn installed_package_works_with_pkg_config_and_cmake() {
    build();
    let dir = scratch("install");
    let prefix = dir.join("prefix");
    run(
        Command::new("sh")
            .arg(root().join("ffi/dist/install.sh"))
            .arg(&prefix)
            .arg(target_dir()),
        "ffi/dist/install.sh",
    );
    // The documented command, exactly as docs/c-api.md prints it (read from the file, so the
    // docs cannot drift from what is tested), run by `sh` in a folder holding `my.c`, with no
    // extra rpath and no LD_LIBRARY_PATH: ufm.pc's rpath must make the program start.
    let docs = std::fs::read_to_string(root().join("docs/c-api.md")).unwrap();
    let line = docs
        .lines()
        .find(|l| l.starts_with("cc ") && l.contains("pkg-config"))
        .expect("docs/c-api.md: no `cc ... pkg-config` line");
    let line = line.split(" #").next().unwrap().trim();
    let work = dir.join("pc");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::copy(root().join("bindings/c/train.c"), work.join("my.c")).unwrap();
    let pc_dir = tools().pkg_config.parent().unwrap().to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(pc_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    run(
        Command::new("sh")
            .current_dir(&work)
            .env("PATH", path)
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
            .env("CC", cc())
            .env_remove("LD_LIBRARY_PATH")
            .args(["-c", line]),
        &format!("docs/c-api.md's link line `{line}`"),
    );
    let exe = work.join("my");
    let smoke = |exe: &Path, what: &str| -> String {
        let out = run(
            Command::new(exe)
                .current_dir(root())
                .arg("examples/jobs/smoke.json"),
            what,
        );
        field(&out.stdout, "final.loss")
    };
    let want = smoke(&exe, "pkg-config build");

    let build_dir = dir.join("cmake-build");
    run(
        Command::new(&tools().cmake)
            .arg("-S")
            .arg(root().join("tests/cmake"))
            .arg("-B")
            .arg(&build_dir)
            .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()))
            .arg("-DCMAKE_BUILD_TYPE=Release")
            .arg("-DCMAKE_C_FLAGS=-Wall -Wextra -Werror -pedantic")
            .arg("-DCMAKE_CXX_FLAGS=-Wall -Wextra -Werror -pedantic"),
        "cmake configure",
    );
    run(
        Command::new(&tools().cmake).arg("--build").arg(&build_dir),
        "cmake --build",
    );
    for t in ["train_shared", "train_static", "train_cpp"] {
        assert_eq!(smoke(&build_dir.join(t), t), want, "{t}");
    }
}
