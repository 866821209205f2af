#!/usr/bin/env python3
"""Width scaling of the numpy and JAX peers, the counterpart of `ufm bench --scaling`.

Same setting as ufm's table: linear, L = 3, K = 10, n = 5, lambda = 2^-10, GD lr 0.5 from i.i.d.
N(0, 1/d) weights. Per peer and width, in its own child process (so that the peak resident
memory, ru_maxrss, is that width's alone): the time per GD step, the end-of-run spectrum (every
singular value of each d x d weight by LAPACK's values-only SVD, numpy.linalg.svd(compute_uv=False),
the peers' equivalent of `analysis.spectrum: full`), the peak memory and the parameter bytes; wall and process CPU times (on a shared machine the CPU
times are the steadier figures, as in ufm's table).
One CPU thread (threadpoolctl / XLA flags), f64. A width that fails (memory) is reported as such.

Usage: bench/compare/.venv/bin/python bench/compare/scaling.py [--widths 128,256,...] [--peers numpy,jax]
       [--steps N] [--no-analysis]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def spec_for(d):
    return dict(K=10, n=5, d=d, L=3, act="linear", lam=2.0**-10, lr=0.5)


def child(peer, d, steps, analyse):
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    import numpy as np
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    from settings import shapes

    spec = spec_for(d)
    rng = np.random.default_rng(0)
    params = [rng.normal(0.0, 1.0 / np.sqrt(d), size=s) for s in shapes(spec)]
    param_bytes = sum(p.nbytes for p in params)
    if peer == "numpy":
        import numpy_ufm

        numpy_ufm.run(params, spec, 1)  # warm-up
        t, c = time.perf_counter(), time.process_time()
        numpy_ufm.run(params, spec, steps)
        step = (time.perf_counter() - t) / steps
        step_cpu = (time.process_time() - c) / steps
        final = params
    else:
        import jax_ufm

        train, _ = jax_ufm.make(spec)
        p = jax_ufm.to_device(params)
        p = jax_ufm.block(train(p, 1))  # compile + warm-up
        t, c = time.perf_counter(), time.process_time()
        p = jax_ufm.block(train(p, steps))
        step = (time.perf_counter() - t) / steps
        step_cpu = (time.process_time() - c) / steps
        final = [np.asarray(x) for x in p]
    seconds = cpu = 0.0
    if analyse:
        t, c = time.perf_counter(), time.process_time()
        for W in final[1:-1]:
            np.linalg.svd(W, compute_uv=False)
        seconds = time.perf_counter() - t
        cpu = time.process_time() - c
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(dict(peer=peer, width=d, steps=steps, step_seconds=step,
                          step_cpu_seconds=step_cpu, analysis_seconds=seconds, analysis_cpu_seconds=cpu, peak_bytes=peak, param_bytes=param_bytes)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", default="128,256,512,1024,2048,4096,8192")
    ap.add_argument("--peers", default="numpy,jax")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--no-analysis", action="store_true")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child[0], int(a.child[1]), a.steps, not a.no_analysis)
        return
    load = os.getloadavg()[0]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
    print(f"cpu {cpu}, load {load:.2f}")
    print(f"{'peer':>6} {'width':>6} {'steps':>6} {'step (ms)':>11} {'cpu (ms)':>10} {'analysis s':>11} {'cpu s':>8} "
          f"{'peak MB':>9} {'params':>8} {'peak/par':>9}")
    for d in [int(w) for w in a.widths.split(",")]:
        steps = a.steps or (3 if d >= 4096 else 10 if d >= 1024 else 100)
        for peer in a.peers.split(","):
            cmd = [sys.executable, __file__, "--child", peer, str(d), "--steps", str(steps)]
            if a.no_analysis:
                cmd.append("--no-analysis")
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{peer:>6} {d:>6} failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
                continue
            p = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"{peer:>6} {d:>6} {steps:>6} {p['step_seconds'] * 1e3:>11.2f} {p['step_cpu_seconds'] * 1e3:>10.2f} "
                  f"{p['analysis_seconds']:>11.2f} {p['analysis_cpu_seconds']:>8.2f} "
                  f"{p['peak_bytes'] / 1e6:>9.1f} {p['param_bytes'] / 1e6:>8.1f} {p['peak_bytes'] / p['param_bytes']:>9.2f}",
                  flush=True)
    print(f"load at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
