//! The tools the cross-language tests need beyond a Rust toolchain and a C/C++ compiler: a Python
//! with numpy, pytest, setuptools and wheel, `cmake` and `pkg-config`.
//!
//! Why a project-local virtualenv: a newcomer's machine has Python 3 but usually not numpy or
//! pytest, Debian/Ubuntu's system Python refuses `pip install` (PEP 668), and cmake is often
//! missing. So the test command brings them in itself, once, into `target/test-tools/venv` (from
//! PyPI, pinned in `ffi/tests/requirements.txt`), never system-wide and never silently skipped.
//! When that cannot be done (no `venv` module, no network), the tests fail with one message that
//! says what to install or which variable to set.
//!
//! Honoured environment variables (all optional):
//! - `UFM_TEST_PYTHON`: a Python that already has numpy, pytest, setuptools and wheel; no venv is
//!   made for Python then (cmake and pkg-config must then be on PATH or named below).
//! - `PYTHON`: the base interpreter the venv is made from (default `python3`).
//! - `CMAKE`, `PKG_CONFIG`: the cmake / pkg-config to use. Otherwise the ones on PATH are used
//!   (they are what a user types), and the venv's copies where PATH has none.

// Shared by test crates that use different tools (engine/tests/analyze_numpy.rs needs only the
// Python), so an unused field is not a mistake here.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Resolved tool paths.
pub struct Tools {
    pub python: PathBuf,
    pub cmake: PathBuf,
    pub pkg_config: PathBuf,
}

const REQUIREMENTS: &str = include_str!("../requirements.txt");

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn fail(what: &str, detail: &str) -> ! {
    panic!(
        "\n{what}\n{detail}\nThe cross-language tests need a Python 3 with the venv module and \
         access to PyPI (they install numpy, pytest, setuptools, wheel, cmake and pkgconf into \
         target/test-tools/venv), or set UFM_TEST_PYTHON to a Python that has numpy, pytest, \
         setuptools and wheel and put cmake and pkg-config on PATH. See README.md, \
         'Running the tests'.\n"
    )
}

fn run_ok(cmd: &mut Command) -> Result<(), String> {
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "{:?} exited with {}:\n{}{}",
            cmd,
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Err(format!("cannot start {:?}: {e}", cmd.get_program())),
    }
}

/// Make (or reuse) the venv. A stamp holding the requirements text marks a finished install, so
/// an interrupted install is redone and a changed requirements file reinstalls.
fn venv(target_root: &Path) -> PathBuf {
    let dir = target_root.join("test-tools").join("venv");
    let stamp = dir.join("ufm-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(REQUIREMENTS) {
        return dir;
    }
    let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = run_ok(Command::new(&base).args(["-m", "venv"]).arg(&dir)) {
        fail(
            &format!("could not create a virtualenv with `{base} -m venv`"),
            &format!("{e}\n(On Debian/Ubuntu: apt-get install python3-venv.)"),
        );
    }
    let req = dir.join("requirements.txt");
    std::fs::write(&req, REQUIREMENTS).unwrap();
    eprintln!(
        "toolbox: installing test tools into {} (once)",
        dir.display()
    );
    if let Err(e) = run_ok(
        Command::new(dir.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&req),
    ) {
        fail("could not install the test tools from PyPI", &e);
    }
    std::fs::write(&stamp, REQUIREMENTS).unwrap();
    dir
}

/// The tools, resolved once per test binary. `target_root` is the cargo target directory.
pub fn tools(target_root: &Path) -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let explicit = |var: &str| std::env::var_os(var).map(PathBuf::from);
        let python_given = explicit("UFM_TEST_PYTHON");
        let cmake_given = explicit("CMAKE").or_else(|| on_path("cmake"));
        let pkg_given = explicit("PKG_CONFIG").or_else(|| on_path("pkg-config"));
        let need_venv = python_given.is_none() || cmake_given.is_none() || pkg_given.is_none();
        let venv = need_venv.then(|| venv(target_root));
        let from_venv = |name: &str| venv.as_ref().unwrap().join("bin").join(name);
        let tools = Tools {
            python: python_given.unwrap_or_else(|| from_venv("python")),
            cmake: cmake_given.unwrap_or_else(|| from_venv("cmake")),
            pkg_config: pkg_given.unwrap_or_else(|| from_venv("pkg-config")),
        };
        if let Err(e) = run_ok(
            Command::new(&tools.python).args(["-c", "import numpy, pytest, setuptools, wheel"]),
        ) {
            fail(
                &format!(
                    "{} lacks numpy, pytest, setuptools or wheel",
                    tools.python.display()
                ),
                &e,
            );
        }
        tools
    })
}
