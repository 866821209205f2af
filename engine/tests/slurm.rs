//! The Slurm workflow of docs/cluster.md, end to end on a real one-node Slurm: runs
//! `tests/slurm/run.sh`, which installs slurm-wlm and munge where missing (as root, with
//! apt-get), starts munged, slurmctld and slurmd on 127.0.0.1, submits a 36-run sweep with
//! `examples/paper/submit-sweep.sh` as 3 shards, cancels one shard and requeues another part-way,
//! resubmits, and checks the merged summary.json is byte-identical to `ufm sweep` on one machine.
//!
//! It needs root (slurmd). Without root and Slurm it fails with a message saying what to
//! install; `UFM_TEST_SLURM=0` skips it explicitly (README: environment variables of the tests).

use std::process::Command;

#[test]
fn sweep_on_a_one_node_slurm_survives_scancel_and_requeue_and_merges_identically() {
    if std::env::var("UFM_TEST_SLURM").as_deref() == Ok("0") {
        eprintln!("skipped: UFM_TEST_SLURM=0");
        return;
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
