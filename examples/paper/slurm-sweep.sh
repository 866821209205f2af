#!/usr/bin/env bash
# One shard of a sweep as one task of a Slurm job array. examples/paper/submit-sweep.sh submits it
# (with a merge-and-plot job after it); by hand:
#   sbatch --array=1-N [--cpus-per-task=C] examples/paper/slurm-sweep.sh JOB OUTDIR N
# Task I runs `ufm sweep JOB --out OUTDIR/shard-I --shard I/N` on the task's CPUs. N may be left
# out when the array is the whole 1-N; give it when resubmitting some tasks (`--array=2`).
# ufm replaces this shell (exec), so the SIGTERM of scancel, of the time limit or of a requeue
# reaches it: it abandons the runs in flight, writes the shard's summary and exits with 143.
# Submitting the same task again resumes the shard; only the runs in flight are lost.
# The ufm binary: $UFM, default target/release/ufm (relative to the submission folder).
#SBATCH --job-name=ufm-sweep
#SBATCH --time=02:00:00
#SBATCH --output=%x-%A_%a.log
set -euo pipefail
job=${1:?job file}
out=${2:?output folder}
n=${3:-${SLURM_ARRAY_TASK_COUNT:?give N, or run as the whole job array (sbatch --array=1-N)}}
i=${SLURM_ARRAY_TASK_ID:?run as a job array (sbatch --array=1-N)}
ufm=${UFM:-target/release/ufm}
echo "shard $i/$n of $job into $out/shard-$i on $(hostname) (job ${SLURM_JOB_ID:-?})" >&2
exec "$ufm" sweep "$job" --out "$out/shard-$i" --shard "$i/$n" --threads "${SLURM_CPUS_PER_TASK:-1}" -q
