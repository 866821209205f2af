#!/usr/bin/env python3
"""Per-outcome initial alignment and commitment step of a sweep (docs/experiments.md,
initial-alignment study): python3 examples/paper/alignment-by-outcome.py SWEEP_FOLDER

Reads SWEEP_FOLDER/runs.jsonl (fields `classification`, `alignment`, `commit_step`) and prints,
for DNC runs and for the others: the run count, the mean and standard deviation of the step-0
alignment, and the median, minimum and maximum commitment step of the runs that settled.
"""
import json
import statistics as s
import sys

if len(sys.argv) != 2:
    sys.exit(__doc__)
with open(f"{sys.argv[1]}/runs.jsonl") as f:
    rs = [json.loads(line) for line in f if line.strip()]
for dnc in (True, False):
    x = [r for r in rs if (r["classification"] == "dnc") == dnc]
    a = [r["alignment"] for r in x if r.get("alignment") is not None]
    c = [r["commit_step"] for r in x if r.get("commit_step") is not None]
    sd = s.stdev(a) if len(a) > 1 else float("nan")
    mean = s.mean(a) if a else float("nan")
    steps = f"{s.median(c)} {min(c)} {max(c)}" if c else "- - -"
    print("dnc" if dnc else "other", len(x), mean, sd, steps)
