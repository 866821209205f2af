#!/usr/bin/env bash
# Runs the ufm vs numpy vs JAX comparison on ONE CPU thread: bash bench/compare/run.sh [compare.py args]
# Creates bench/compare/.venv on first use and installs the pinned requirements.txt into it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    echo "creating $venv" >&2
    python3 -m venv "$venv"
fi
# (re)install only when requirements.txt changed since the last successful install
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$py" -m pip install --quiet --upgrade pip >&2
    "$py" -m pip install --quiet -r "$here/requirements.txt" >&2
    echo "$want" > "$stamp"
fi

# Single thread for every peer.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# XLA accepts --xla_cpu_multi_thread_eigen=false but it no longer bounds the CPU client's thread pool
# (and 'intra_op_parallelism_threads=1' is a TensorFlow option that XLA ignores); what does bound
# JAX, and everything else, is the CPU affinity below: XLA sizes its pool from the affinity mask.
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
export JAX_PLATFORMS=cpu
# Pin the whole run (python, and the ufm subprocesses it starts) to one CPU:
# UFM_BENCH_CPU if set, else the first CPU this shell may use.
cpu="${UFM_BENCH_CPU:-$("$py" -c 'import os; print(min(os.sched_getaffinity(0)))')}"
pin=()
if command -v taskset >/dev/null 2>&1; then
    pin=(taskset -c "$cpu")
else
    echo "WARNING: taskset not found: JAX may use more than one thread" >&2
fi
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (set on some machines) make OpenBLAS pick a slower kernel:
# unset both, for this command only.
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${pin[@]}" "$py" "$here/compare.py" "$@"
