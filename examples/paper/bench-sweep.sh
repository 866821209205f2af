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
    e=$(echo "$(date +%s.%N) - $s" | bc)
    echo "threads $t: 16 runs in $e s = $(echo "scale=3; 16 / $e" | bc) runs/s (load $(cut -d' ' -f1 /proc/loadavg))"
    eval "w$t=$e"
  done
  echo "speed-up 2 vs 1 thread: $(echo "scale=2; $w1 / $w2" | bc)x"
done
