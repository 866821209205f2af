#!/usr/bin/env bash
# Run one of the paper's deep-UFM experiments and plot it:
#   examples/paper/run.sh NAME [extra ufm sweep options, e.g. --threads 2]
# NAME is a job file of this folder without .json (figure1-dnc, figure2-width, study-init-scale, ...).
# Output: out/paper/NAME/ (result or runs.jsonl + summary.json) and out/paper/NAME/plots/*.svg|png.
# UFM=/path/to/ufm uses that binary instead of building target/release/ufm (the docs' command test
# runs it so).
set -euo pipefail
cd "$(dirname "$0")/../.."
name=${1:?usage: examples/paper/run.sh NAME [ufm sweep options]}
shift
job=examples/paper/$name.json
out=out/paper/$name
if [[ -n ${UFM:-} ]]; then
  ufm=$UFM
else
  cargo build --release -q -p ufm-engine --bin ufm
  ufm=target/release/ufm
fi
start=$(date +%s%N)
if grep -q '"sweep"' "$job"; then
  "$ufm" sweep "$job" --out "$out" "$@"
else
  "$ufm" run "$job" --out "$out"
fi
end=$(date +%s%N)
echo "$name: $(( (end - start) / 1000000 )) ms wall" >&2
"$ufm" plot "$out"
