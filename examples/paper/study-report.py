#!/usr/bin/env python3
"""Tables for the 50-seed studies of docs/experiments.md, from a sweep's output folder.

  examples/paper/study-report.py table DIR        one markdown row per sweep point
  examples/paper/study-report.py paired DIR_A DIR_B [--where|--a|--b KEY=VALUE ...]

`table` reads DIR/summary.json (P(DNC), Wilson 95% interval, status, structure and rank counts,
as `ufm sweep` computed them) and DIR/runs.jsonl for what the summary does not say: runs that
stopped at `max_steps` are not converged, so their label is the state at the last step. Of those
not labelled `dnc`, a run whose loss is below the DNC bound (`dnc_loss`, the lowest loss any DNC
point has) is not at DNC and, as GD only lowers the loss, not on its way there (a heuristic for
SGD, whose loss is noisy)
("below bound"); the others are unresolved. The last column is then the Wilson interval of
(DNC + unresolved) / runs, an upper bound on P(DNC) if every unresolved run ended at DNC.

`paired` compares two sweeps of the same seeds (e.g. two momenta from the same starts): per seed,
DNC in both, in A only, in B only, and the exact two-sided McNemar p-value of the discordant
pairs; `--where` restricts the runs of both folders to sweep points with those values, `--a` and
`--b` those of A or B only (to compare two points of one sweep, give the folder twice).

Only the standard library; no ufm code is used, so this is also a check of summary.json.
"""
import json
import math
import sys
from collections import Counter, defaultdict

Z95 = 1.959963984540054


def wilson(k, n, z=Z95):
    """Wilson score interval (the same closed form as ufm's summary)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def runs_of(folder):
    with open(f"{folder}/runs.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def table(folder):
    s = json.load(open(f"{folder}/summary.json"))
    keys = s["group_by"]
    groups = defaultdict(list)
    for r in runs_of(folder):
        groups[json.dumps([r["assignments"].get(k) for k in keys])].append(r)
    head = [k.split(".")[-1] for k in keys]
    print("| " + " | ".join(head + ["DNC / runs", "P(DNC)", "Wilson 95%", "mean rank", "status",
                                    "structures", "not DNC: below bound / unresolved",
                                    "upper bound, Wilson 95%"]) + " |")
    print("|" + "---|" * (len(head) + 8))
    for p in s["points"]:
        vals = [p["assignments"].get(k) for k in keys]
        rs = groups[json.dumps(vals)]
        assert len(rs) == p["runs"], "runs.jsonl and summary.json disagree"
        dnc = sum(r["classification"] == "dnc" for r in rs)
        assert dnc == p["dnc"]
        lo, hi = p["p_dnc_interval"]
        wl, wh = wilson(dnc, len(rs))
        assert abs(wl - lo) < 1e-12 and abs(wh - hi) < 1e-12, "Wilson interval differs"
        below = sum(r["classification"] != "dnc" and r["dnc_loss"] is not None
                    and r["loss"] < r["dnc_loss"] for r in rs)
        unresolved = sum(r["classification"] != "dnc" and r["status"] != "converged"
                         and not (r["dnc_loss"] is not None and r["loss"] < r["dnc_loss"])
                         for r in rs)
        ul, uh = wilson(dnc + unresolved, len(rs))
        status = ", ".join(f"{k} {v}" for k, v in sorted(p["status"].items()))
        sc = ", ".join(f"{k} x{v}" for k, v in
                       sorted(p["structure_counts"].items(), key=lambda kv: (-kv[1], kv[0])))
        rank = "-" if p["rank"] is None else f"{p['rank']['mean']:.2f}"
        pd = "-" if p["p_dnc"] is None else f"{p['p_dnc']:.2f}"
        cells = [str(v) for v in vals] + [
            f"{dnc} / {len(rs)}", pd, f"[{lo:.2f}, {hi:.2f}]", rank, status, sc,
            f"{below} / {unresolved}",
            f"{(dnc + unresolved) / max(1, len(rs)):.2f} [{ul:.2f}, {uh:.2f}]"]
        print("| " + " | ".join(cells) + " |")


def paired(a, b, where):
    def keep(r, side):
        return all(str(r["assignments"].get(k)) == v for w, k, v in where if w in ("where", side))

    ra = {r["seed"]: r for r in runs_of(a) if keep(r, "a")}
    rb = {r["seed"]: r for r in runs_of(b) if keep(r, "b")}
    seeds = sorted(set(ra) & set(rb))
    c = Counter((ra[s]["classification"] == "dnc", rb[s]["classification"] == "dnc") for s in seeds)
    same = sum(ra[s]["structure"] == rb[s]["structure"] for s in seeds)
    n01, n10 = c[(False, True)], c[(True, False)]
    n = n01 + n10
    k = min(n01, n10)
    pval = 1.0 if n == 0 else min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)
    print(f"{len(seeds)} common seeds: DNC in both {c[(True, True)]}, in A only {n10}, "
          f"in B only {n01}, in neither {c[(False, False)]}; same structure {same}; "
          f"exact McNemar p = {pval:.3g}")


def main(argv):
    if len(argv) >= 2 and argv[0] == "table":
        for d in argv[1:]:
            table(d)
    elif len(argv) >= 3 and argv[0] == "paired":
        where = []
        rest = argv[3:]
        while rest:
            if rest[0] not in ("--where", "--a", "--b") or len(rest) < 2 or "=" not in rest[1]:
                sys.exit("usage: paired DIR_A DIR_B [--where|--a|--b KEY=VALUE ...]")
            where.append((rest[0][2:],) + tuple(rest[1].split("=", 1)))
            rest = rest[2:]
        paired(argv[1], argv[2], where)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
