#!/usr/bin/env bash
# Submit a sweep to Slurm: a job array of N tasks, task I running shard I/N of the sweep
# (examples/paper/slurm-sweep.sh, into OUTDIR/shard-I), and a job that, once the whole array has
# ended (afterany: also after a failed, cancelled or timed-out task, so a partial result is still
# merged), prints the progress of every shard, merges them into OUTDIR/merged and plots that.
# Run the same command again to resume: complete shards end at once, the others continue.
#
# Usage: examples/paper/submit-sweep.sh JOB OUTDIR N [sbatch options for the array tasks...]
#   e.g. examples/paper/submit-sweep.sh examples/paper/figure2-width.json out/figure2-width 8 \
#          --cpus-per-task=4 --time=04:00:00
# The ufm binary: $UFM, default target/release/ufm (build it once:
# cargo build --release -p ufm-engine --bin ufm). Partition or account for both jobs: set
# SBATCH_PARTITION / SBATCH_ACCOUNT. Logs: OUTDIR/logs/.
set -euo pipefail
usage="usage: $0 JOB OUTDIR N [sbatch options for the array tasks...]"
if [[ $# -lt 3 ]]; then
  echo "$usage" >&2
  exit 2
fi
job=$1 out=$2 n=$3
shift 3
if ! [[ $n =~ ^[1-9][0-9]*$ ]]; then
  echo "N: must be a whole number >= 1, got '$n'" >&2
  exit 2
fi
if [[ ! -f $job ]]; then
  echo "JOB: no such file: $job" >&2
  exit 2
fi
ufm=${UFM:-target/release/ufm}
if [[ ! -x $ufm ]]; then
  echo "ufm binary not found at $ufm: build it (cargo build --release -p ufm-engine --bin ufm) or set UFM" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
ufm=$(realpath "$ufm")
job=$(realpath "$job")
mkdir -p "$out/logs"
out=$(realpath "$out")
# A bad job is refused here (exit 2, naming the field) rather than in N queued tasks.
"$ufm" validate "$job" >&2

array=$(UFM=$ufm sbatch --parsable --array="1-$n" --output="$out/logs/%x-%A_%a.log" "$@" \
  "$here/slurm-sweep.sh" "$job" "$out" "$n")
array=${array%%;*}
q() { printf '%q' "$1"; }
shards="$(q "$out")/shard-*"
merge=$(sbatch --parsable --job-name=ufm-merge --dependency="afterany:$array" \
  --output="$out/logs/%x-%j.log" \
  --wrap "$(q "$ufm") merge --status $shards; $(q "$ufm") merge $shards --out $(q "$out/merged") && $(q "$ufm") plot $(q "$out/merged")")
merge=${merge%%;*}
echo "array job $array: shards 1-$n of $job into $out/shard-*"
echo "merge job $merge: after the array, into $out/merged (logs in $out/logs)"
