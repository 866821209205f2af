#!/usr/bin/env python3
"""Side-by-side speed/accuracy comparison of ufm against numpy and JAX on the deep UFM.

For each setting: writes initial parameters (seed 0, i.i.d. N(0, 1/d)) as .npy files into a temp dir,
runs numpy, JAX and `ufm bench` (fast and reference paths) for exactly --check-steps GD steps from them
and checks that the losses after those steps agree to 1e-10 relative; then times every peer (best of
--repeats runs of enough steps to take >= --target-seconds each) and prints a table of steps/s.

Run it through run.sh, which makes every peer single-threaded (see README.md)."""

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import jax_ufm  # noqa: E402  (enables float64 in JAX)
import numpy_ufm  # noqa: E402
from settings import SETTINGS, load_init, make_init  # noqa: E402

import jax  # noqa: E402

TOL = 1e-10
PEERS = ["numpy", "jax", "ufm", "ufm-ref"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated, from: " + ",".join(SETTINGS))
    p.add_argument("--check-steps", type=int, default=100, help="steps of the loss agreement check [100]")
    p.add_argument("--time-steps", default="auto",
                   help="steps per timed run, or 'auto' (each peer its own, so a run takes >= --target-seconds)")
    p.add_argument("--target-seconds", type=float, default=1.5, help="wanted length of one timed run [1.5]")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per peer; the best is reported [3]")
    p.add_argument("--ufm", default=str(REPO / "target" / "release" / "ufm"), help="the ufm binary")
    p.add_argument("--skip-ufm", action="store_true", help="compare numpy and JAX only")
    p.add_argument("--json", metavar="OUT", help="also write all results as JSON to OUT")
    a = p.parse_args(argv)
    a.settings = [s.strip() for s in a.settings.split(",") if s.strip()]
    for s in a.settings:
        if s not in SETTINGS:
            p.error(f"--settings: unknown setting {s!r} (known: {', '.join(SETTINGS)})")
    if a.check_steps < 1:
        p.error("--check-steps: must be >= 1")
    if a.time_steps != "auto":
        try:
            a.time_steps = int(a.time_steps)
            assert a.time_steps >= 1
        except (ValueError, AssertionError):
            p.error(f"--time-steps: must be 'auto' or an integer >= 1, got {a.time_steps!r}")
    if a.repeats < 1:
        p.error("--repeats: must be >= 1")
    return a


# ---------------------------------------------------------------- environment report
def environment(args):
    from importlib.metadata import version

    import threadpoolctl

    info = {
        "python": platform.python_version(),
        "versions": {pkg: version(pkg) for pkg in ("numpy", "jax", "jaxlib", "threadpoolctl")},
        "blas": [
            {k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer",
                                   "filepath")}
            for d in threadpoolctl.threadpool_info()
        ],
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                               "XLA_FLAGS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
        "jax_devices": [str(d) for d in jax.devices()],
        "ufm": None if args.skip_ufm else args.ufm,
        "cpu_model": cpu_model(),
        "load_at_start": os.getloadavg(),
        "ufm_simd": None if args.skip_ufm else ufm_simd(args.ufm),
    }
    return info


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ufm_simd(binary):
    """The SIMD level ufm dispatches to (UFM_SIMD may force one) and the best one the CPU has."""
    proc = subprocess.run([binary, "bench", "--exp-after-matmul", "--steps", "1", "--json"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: {binary} bench --exp-after-matmul failed: {proc.stderr.strip()}")
    out = json.loads(proc.stdout)
    return {"dispatched": out["simd"], "detected": out["simd_detected"]}


def print_environment(info):
    print("== environment")
    print(f"python {info['python']}  " + "  ".join(f"{k} {v}" for k, v in info["versions"].items()))
    for b in info["blas"]:
        print(f"numpy BLAS: {b['internal_api']} {b['version']}, kernel (architecture) {b['architecture']}, "
              f"threads {b['num_threads']} ({b['threading_layer']})")
    print("env: " + "  ".join(f"{k}={v!r}" for k, v in info["env"].items()))
    print(f"cpu affinity: {info['cpu_affinity']}   jax devices: {info['jax_devices']}")
    print(f"cpu: {info['cpu_model']}   load average at start (1, 5, 15 min): "
          + ", ".join(f"{x:.2f}" for x in info["load_at_start"]))
    if info["ufm"]:
        print(f"ufm: {info['ufm']}   SIMD level dispatched: {info['ufm_simd']['dispatched']} "
              f"(CPU supports {info['ufm_simd']['detected']}; UFM_SIMD forces a level)")
    if len(info["cpu_affinity"]) > 1:
        print("WARNING: process may use more than one CPU (run through run.sh to pin it to one)")
    sys.stdout.flush()


# ---------------------------------------------------------------- peers
class Timer:
    """Wall and CPU (all threads of this process) time of a block."""

    def __enter__(self):
        self.c0, self.t0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.c0


class NumpyPeer:
    name = "numpy"

    def __init__(self, spec, init_dir):
        self.spec = spec
        self.init = load_init(spec, init_dir)

    def run(self, steps):
        """(seconds of the steps, loss after them, CPU time / wall time of the steps)"""
        params = [X.copy() for X in self.init]
        with Timer() as t:
            numpy_ufm.run(params, self.spec, steps)
        return t.wall, numpy_ufm.loss(params, self.spec), t.cpu / t.wall


class JaxPeer:
    name = "jax"

    def __init__(self, spec, init_dir):
        train, self.loss = jax_ufm.make(spec)
        self.params = jax_ufm.block(jax_ufm.to_device(load_init(spec, init_dir)))
        t0 = time.perf_counter()
        # compile once (the step count is a traced argument), then warm up
        self.train = train.lower(self.params, 1).compile()
        self.loss = self.loss.lower(self.params).compile()
        jax_ufm.block(self.train(self.params, 1))
        self.loss(self.params).block_until_ready()
        self.compile_seconds = time.perf_counter() - t0

    def run(self, steps):
        with Timer() as t:
            out = jax_ufm.block(self.train(self.params, steps))
        return t.wall, float(self.loss(out)), t.cpu / t.wall


class UfmPeer:
    def __init__(self, binary, setting, init_dir, path):
        self.binary, self.setting, self.init_dir, self.path = binary, setting, init_dir, path
        self.name = "ufm" if path == "fast" else "ufm-ref"

    def run(self, steps):
        cmd = [self.binary, "bench", "--setting", self.setting, "--init-dir", str(self.init_dir),
               "--steps", str(steps), "--json"]
        if self.path != "fast":
            cmd += ["--path", self.path]
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.strip()}")
        try:
            out = json.loads(proc.stdout)
        except json.JSONDecodeError as e:
            raise RuntimeError(f"{' '.join(cmd)}: stdout is not one JSON object ({e}):\n{proc.stdout[:2000]}")
        problems = []
        if out.get("setting") != self.setting:
            problems.append(f"setting {out.get('setting')!r}")
        if out.get("steps") != steps:
            problems.append(f"steps {out.get('steps')!r}")
        if out.get("path") != self.path:
            problems.append(f"path {out.get('path')!r}")
        for k in ("seconds", "loss", "steps_per_sec"):
            if not isinstance(out.get(k), (int, float)):
                problems.append(f"{k} {out.get(k)!r}")
        if problems:
            raise RuntimeError(f"{' '.join(cmd)}: unexpected output ({', '.join(problems)}): {proc.stdout.strip()}")
        cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        # cpu/wall of the whole subprocess (includes load and set-up)
        return float(out["seconds"]), float(out["loss"]), cpu / wall


def check_ufm(binary):
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        sys.exit(f"error: ufm binary {binary} not found (build it with `cargo build --release`, "
                 "pass --ufm PATH, or --skip-ufm)")
    proc = subprocess.run([binary, "bench", "--help"], capture_output=True, text=True)
    text = proc.stdout + proc.stderr
    if proc.returncode != 0 or "--init-dir" not in text:
        sys.exit(f"error: `{binary} bench --help` does not describe the bench command (exit {proc.returncode})")


# ---------------------------------------------------------------- main
def rel_spread(losses):
    """max over pairs |a - b| / max(|a|, |b|)"""
    vals = list(losses.values())
    worst = 0.0
    for i in range(len(vals)):
        for j in range(i + 1, len(vals)):
            a, b = vals[i], vals[j]
            worst = max(worst, abs(a - b) / max(abs(a), abs(b), 1e-300))
    return worst


def fmt_rate(x):
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def main(argv):
    args = parse_args(argv)
    if not args.skip_ufm:
        args.ufm = str(Path(args.ufm).resolve())
        check_ufm(args.ufm)
    info = environment(args)
    print_environment(info)
    results = []
    failed = False
    tmp_root = Path(tempfile.mkdtemp(prefix="ufm-compare-"))
    try:
        for setting in args.settings:
            spec = SETTINGS[setting]
            init_dir = tmp_root / setting
            init_dir.mkdir()
            make_init(spec, init_dir, seed=0)
            print(f"\n== {setting}: K={spec['K']} n={spec['n']} d={spec['d']} L={spec['L']} {spec['act']} "
                  f"lambda={spec['lam']!r} lr={spec['lr']}  (init: seed 0, N(0, 1/d), {init_dir})")
            peers = [NumpyPeer(spec, init_dir), JaxPeer(spec, init_dir)]
            print(f"jax compile + warm-up: {peers[1].compile_seconds:.2f} s (not timed)")
            if not args.skip_ufm:
                peers += [UfmPeer(args.ufm, setting, init_dir, "fast"),
                          UfmPeer(args.ufm, setting, init_dir, "reference")]
            # accuracy check
            losses, check_secs = {}, {}
            for peer in peers:
                secs, loss, _ = peer.run(args.check_steps)
                losses[peer.name], check_secs[peer.name] = loss, secs
                vs = "" if peer.name == "numpy" else \
                    f"  rel. diff to numpy {abs(loss - losses['numpy']) / abs(losses['numpy']):.2e}"
                print(f"check {peer.name:8s} loss after {args.check_steps} steps = {loss!r:24s}{vs}")
                sys.stdout.flush()
            spread = rel_spread(losses)
            ok = spread <= TOL and all(math.isfinite(v) for v in losses.values())
            failed |= not ok
            print(f"max relative difference of the losses: {spread:.3e}  -> {'OK' if ok else 'MISMATCH'} "
                  f"(tolerance {TOL:g})")
            # timing
            rates, steps_used, cpu_ratio, run_spread = {}, {}, {}, {}
            for peer in peers:
                if args.time_steps == "auto":
                    per_step = check_secs[peer.name] / args.check_steps
                    steps = max(1, math.ceil(args.target_seconds / max(per_step, 1e-9)))
                else:
                    steps = args.time_steps
                first = None
                if args.time_steps == "auto":
                    # the check run's rate is only an estimate: grow until one run takes ~target
                    first = peer.run(steps)
                    while first[0] < 0.9 * args.target_seconds:
                        steps = math.ceil(steps * 1.1 * args.target_seconds / max(first[0], 1e-6))
                        first = peer.run(steps)
                best, cpu_wall, times = math.inf, None, []
                for rep in range(args.repeats):
                    secs, _, cpu = first if (rep == 0 and first is not None) else peer.run(steps)
                    times.append(secs)
                    if secs < best:
                        best = secs
                        cpu_wall = cpu
                run_spread[peer.name] = max(times) / min(times) - 1.0
                rates[peer.name], steps_used[peer.name], cpu_ratio[peer.name] = steps / best, steps, cpu_wall
                print(f"time  {peer.name:8s} {steps:7d} steps, best of {args.repeats}: {best:.3f} s "
                      f"= {steps / best:.4g} steps/s   cpu/wall {cpu_wall:.2f}"
                      + ("  (whole process)" if peer.name.startswith("ufm") else "")
                      + f"   run-to-run spread {100 * run_spread[peer.name]:.1f}%")
                sys.stdout.flush()
            fastest_peer = max(rates["numpy"], rates["jax"])
            results.append(dict(
                setting=setting, spec=spec, check_steps=args.check_steps, losses=losses,
                max_rel_diff=spread, agree=ok, steps_per_sec=rates, timed_steps=steps_used,
                cpu_over_wall=cpu_ratio, run_to_run_spread=run_spread, load_after=os.getloadavg(),
                ufm_over_fastest_peer=(rates["ufm"] / fastest_peer) if "ufm" in rates else None,
                jax_compile_seconds=peers[1].compile_seconds))
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)

    head = ["setting", "numpy steps/s", "JAX steps/s", "ufm steps/s", "ufm-ref steps/s", "ufm/fastest peer",
            "max rel diff"]
    rows = []
    for r in results:
        s = r["steps_per_sec"]
        rows.append([r["setting"], fmt_rate(s["numpy"]), fmt_rate(s["jax"]), fmt_rate(s.get("ufm")),
                     fmt_rate(s.get("ufm-ref")),
                     "-" if r["ufm_over_fastest_peer"] is None else f"{r['ufm_over_fastest_peer']:.2f}x",
                     f"{r['max_rel_diff']:.1e}" + ("" if r["agree"] else " MISMATCH")])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = lambda cells: "| " + " | ".join(c.rjust(w) if i else c.ljust(w)  # noqa: E731
                                           for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    print("\n== results (single thread; steps/s = best of "
          f"{args.repeats}; losses compared after {args.check_steps} steps)")
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    print("load average at end (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
          + "; largest run-to-run spread (slowest / fastest repeat - 1): "
          + ", ".join(f"{r['setting']} {100 * max(r['run_to_run_spread'].values()):.1f}%" for r in results))
    contended = [f"{r['setting']}/{p} ({c:.2f})" for r in results for p, c in r["cpu_over_wall"].items() if c < 0.9]
    if contended:
        print("WARNING: CPU time / wall time below 0.9 (the pinned CPU was shared with other processes; "
              "those rates are low): " + ", ".join(contended))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(environment=info, results=results, tolerance=TOL), f, indent=1)
    if failed:
        print(f"\nFAILED: losses disagree beyond {TOL:g} relative", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
