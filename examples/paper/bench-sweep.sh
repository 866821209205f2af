#!/usr/bin/env bash
# Sweep throughput, 1 thread against 2: the same 16 fixed-length runs (d = 70, 20000 GD steps each,
# tol 0 so every run does the same work), each into a fresh folder. Prints runs/s and the ratio.
#   examples/paper/bench-sweep.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p ufm-engine --bin ufm
reps=${1:-1}
for r in $(seq "$reps"); do
  for t in 1 2; do
    rm -rf "out/bench-sweep-$t"
    s=$(date +%s.%N)
    target/release/ufm sweep examples/paper/bench-sweep.json --out "out/bench-sweep-$t" --threads "$t" -q >/dev/null
    e=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
    echo "threads $t: 16 runs in $e s = $(awk -v e="$e" 'BEGIN { printf "%.3f", 16 / e }') runs/s (load $(cut -d' ' -f1 /proc/loadavg))"
    eval "w$t=$e"
  done
  echo "speed-up 2 vs 1 thread: $(awk -v a="$w1" -v b="$w2" 'BEGIN { printf "%.2f", a / b }')x"
done
