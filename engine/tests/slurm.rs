//! The Slurm workflow of docs/cluster.md, end to end on a real one-node Slurm: runs
//! `tests/slurm/run.sh`, which installs slurm-wlm and munge where missing (as root, with
//! apt-get), starts munged, slurmctld and slurmd on 127.0.0.1, submits a 36-run sweep with
//! `examples/paper/submit-sweep.sh` as 3 shards, cancels one shard and requeues another part-way,
//! resubmits, and checks the merged summary.json is byte-identical to `ufm sweep` on one machine.
//!
//! slurmd must run as root, so whether the test runs depends on who runs it (README: Running the
//! tests):
//! - `UFM_TEST_SLURM=1`: it runs, and fails (saying what to install) when Slurm cannot start.
//!   Set by nothing; use it to insist.
//! - unset, as root (CI: `.ci/run`): it runs, as with `=1`.
//! - unset, not root: it cannot run. It passes so that the README's test command passes on a
//!   fresh machine without root, but says so on the terminal, outside cargo's output capture,
//!   in a banner naming what to do: it is never skipped silently.
//! - `UFM_TEST_SLURM=0`: skipped on request (one line, also uncaptured).

use std::io::Write;
use std::process::Command;

/// Write straight to the process's stderr: cargo's test harness captures `eprintln!` of passing
/// tests, and a test that did not run must not pass unnoticed.
fn tell(msg: &str) {
    let _ = std::io::stderr().write_all(msg.as_bytes());
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn sweep_on_a_one_node_slurm_survives_scancel_and_requeue_and_merges_identically() {
    match std::env::var("UFM_TEST_SLURM").as_deref() {
        Ok("0") => {
            tell("\nengine/tests/slurm.rs: NOT RUN (UFM_TEST_SLURM=0)\n");
            return;
        }
        Ok("1") => {}
        Ok(other) => panic!("UFM_TEST_SLURM: must be 0 or 1, got {other:?}"),
        Err(_) if !is_root() => {
            tell(
                "\n\
                 ==================================================================================\n\
                 NOT RUN: engine/tests/slurm.rs (the Slurm workflow of docs/cluster.md) needs root:\n\
                 slurmd runs as root, and slurm-wlm and munge are Debian packages. Run the tests as\n\
                 root (they install slurm-wlm and munge with apt-get where missing), or set\n\
                 UFM_TEST_SLURM=1 to make this a failure, UFM_TEST_SLURM=0 to shorten this notice.\n\
                 ==================================================================================\n",
            );
            return;
        }
        Err(_) => {}
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/slurm/run.sh");
    let o = Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_ufm"))
        .output()
        .expect("bash runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "tests/slurm/run.sh failed:\n{err}");
    assert!(err.contains("PASS:"), "{err}");
}
