#!/usr/bin/env bash
# Usage: sbatch --array=1-8 --cpus-per-task=4 examples/paper/slurm-sweep.sh JOB OUTDIR
#   then, after the array: ufm merge OUTDIR/shard-* --out OUTDIR/merged && ufm plot OUTDIR/merged
# or let submit-sweep.sh below chain the merge.
#SBATCH --job-name=ufm-sweep
#SBATCH --time=02:00:00
#SBATCH --output=%x-%A_%a.log
set -euo pipefail
job=${1:?job file}
out=${2:?output folder}
n=${SLURM_ARRAY_TASK_COUNT:?run as a job array (sbatch --array=1-N)}
i=${SLURM_ARRAY_TASK_ID:?}
ufm=${UFM:-target/release/ufm}
"$ufm" sweep "$job" --out "$out/shard-$i" --shard "$i/$n" --threads "${SLURM_CPUS_PER_TASK:-1}" -q
```
```sh
