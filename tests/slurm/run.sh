#!/usr/bin/env bash
# End-to-end test of the Slurm workflow of docs/cluster.md on a one-node Slurm that this script
# starts on this machine (everything on 127.0.0.1, state in a fresh temporary folder):
#   1. installs Debian's slurm-wlm and munge where missing (needs root and apt-get);
#   2. starts munged, slurmctld and slurmd, waits until the node is idle;
#   3. runs a 36-run sweep with `ufm sweep` on this machine (the reference);
#   4. submits it with examples/paper/submit-sweep.sh as 3 shards plus the merge-and-plot job,
#      cancels shard 2 with scancel part-way, requeues shard 3 part-way (scontrol requeue);
#   5. checks shard 2 stopped cleanly (SIGTERM: "interrupted", no torn line), the merge job merged
#      a partial result, and `ufm merge --status` reports it;
#   6. resubmits with the same command, checks shard 2 resumed from its recorded runs, and that
#      the merged summary.json is byte-identical to the reference.
# It stops every daemon it started (by pid) on exit, also on failure, and fails loudly when Slurm
# cannot start. Usage: tests/slurm/run.sh [UFM_BINARY] (default target/release/ufm).
# Run by engine/tests/slurm.rs (`cargo test`): as root or with UFM_TEST_SLURM=1; UFM_TEST_SLURM=0 skips it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
ufm=$(realpath "${1:-$repo/target/release/ufm}")
t_start=$SECONDS

say() { echo "slurm test [$((SECONDS - t_start)) s]: $*" >&2; }
fail() {
  echo "slurm test FAILED: $*" >&2
  exit 1
}
[[ -x $ufm ]] || fail "no ufm binary at $ufm (cargo build --release -p ufm-engine --bin ufm)"

# ---- 1. packages ----------------------------------------------------------------------------
need=(munged slurmctld slurmd sbatch squeue scontrol scancel sinfo)
missing=()
for b in "${need[@]}"; do
  command -v "$b" >/dev/null || [[ -x /usr/sbin/$b ]] || missing+=("$b")
done
advice="install the Debian packages slurm-wlm and munge (as root: apt-get install slurm-wlm munge) \
and run the tests as root (slurmd must run as root), or set UFM_TEST_SLURM=0 to skip this test"
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    fail "Slurm is not installed (missing: ${missing[*]}): $advice"
  fi
  say "installing slurm-wlm and munge (missing: ${missing[*]})"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; } ||
    fail "apt-get could not install slurm-wlm and munge: $advice"
fi
[[ $(id -u) -eq 0 ]] || fail "not root: $advice"
export PATH=$PATH:/usr/sbin:/sbin
# Only this script's Slurm: drop settings of any other (a real cluster's partition, account,
# job environment when run inside a job); SLURM_CONF is set to ours below.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(SLURM|SBATCH|SQUEUE|SALLOC|SRUN|SINFO|SCONTROL)_' || true)

# ---- 2. daemons -----------------------------------------------------------------------------
work=$(mktemp -d /tmp/ufm-slurm-test.XXXXXX)
chmod 711 "$work" # munged wants no group/other write access on its socket's folder
pids=()
cleanup() {
  local rc=$?
  set +e
  if [[ -n ${SLURM_CONF:-} ]] && ((${#pids[@]} > 1)); then
    # Cancel what is left so that no job process outlives the daemons.
    ids=$(squeue -h -o %i 2>/dev/null)
    if [[ -n $ids ]]; then
      scancel $ids 2>/dev/null
      for _ in $(seq 50); do
        [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break
        sleep 0.2
      done
    fi
  fi
  for ((k = ${#pids[@]} - 1; k >= 0; k--)); do
    kill "${pids[k]}" 2>/dev/null
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.2
    done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  if ((rc != 0)); then
    echo "---- logs (kept in $work) ----" >&2
    for f in "$work"/log/* "$work"/out/slurm/logs/*; do
      [[ -f $f ]] && { echo "== $f" >&2; tail -n 25 "$f" >&2; }
    done
  else
    rm -rf "$work"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$work"/{munge,state,spool,log,out}
chmod 700 "$work"/{munge,state,spool}
chmod 711 "$work/munge"
head -c 1024 /dev/urandom >"$work/munge/munge.key"
chmod 400 "$work/munge/munge.key"
sock=$work/munge/munge.sock
munged -F -f --key-file="$work/munge/munge.key" --socket="$sock" \
  --pid-file="$work/munge/munged.pid" --seed-file="$work/munge/seed" \
  --log-file="$work/log/munged.log" >"$work/log/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -S $sock ]] && break; sleep 0.1; done
[[ -S $sock ]] || fail "munged did not start (log: $work/log/munged.out)"

# Two free loopback ports for slurmctld and slurmd.
port_free() { ! (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ctld_port=
for _ in $(seq 100); do
  p=$((20000 + RANDOM % 30000))
  if port_free "$p" && port_free $((p + 1)); then
    ctld_port=$p
    break
  fi
done
[[ -n $ctld_port ]] || fail "no two free ports on 127.0.0.1"
host=$(hostname -s)
cpus=$(nproc)
export SLURM_CONF=$work/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=ufmtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$((ctld_port + 1))
# Bind to the addresses above (loopback), not to every interface.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
CredType=cred/munge
# cred_expire: how long a requeued job waits before it starts again (default 120 s).
AuthInfo=socket=$sock,cred_expire=10
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
# No cgroups in containers and sandboxes: track processes by parentage, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=10
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -f "$SLURM_CONF" >"$work/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$host" >"$work/log/slurmd.out" 2>&1 &
pids+=($!)
state=
for _ in $(seq 150); do
  state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
  [[ $state == idle ]] && break
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || fail "a Slurm daemon (pid $p) died"; done
  sleep 0.2
done
[[ $state == idle ]] || fail "the node did not become idle within 30 s (state '$state')"
say "Slurm up: node $host ($cpus CPUs), slurmctld on 127.0.0.1:$ctld_port"

# ---- helpers ----------------------------------------------------------------------------------
wait_jobs_gone() { # wait until the queue is empty (timeout $1 s)
  local end=$((SECONDS + $1))
  while [[ -n $(squeue -h -o %i) ]]; do
    ((SECONDS < end)) || fail "jobs still queued after $1 s: $(squeue -h -o '%i %T %r' | tr '\n' ';')"
    sleep 0.3
  done
}
lines() { if [[ -f $1 ]]; then grep -c '' "$1"; else echo 0; fi; }
wait_lines() { # file, minimum number of lines, timeout in s
  local end=$((SECONDS + $3))
  while (($(lines "$1") < $2)); do
    ((SECONDS < end)) || fail "$1 has fewer than $2 lines after $3 s"
    sleep 0.1
  done
}
task_state() { scontrol show job "$1" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n1; }
check_no_torn_line() { [[ ! -s $1 || $(tail -c 1 "$1" | od -An -c | tr -d ' ') == '\n' ]] || fail "$1 ends in a torn line"; }

# ---- 3. the reference: the same sweep on this machine -------------------------------------------
# 3 widths x 12 seeds, fixed step count (tol 0): about 0.5 s per run on one core.
job=$work/sweep.json
cat >"$job" <<'EOF'
{"schema_version": 1, "name": "slurm-test",
 "model": {"classes": 4, "per_class": 2, "width": 6, "layers": 2, "lambda": 0.01},
 "init": {"name": "scaled", "scale": 2.0, "seed": 0},
 "optimizer": {"name": "gd", "lr": 0.5},
 "train": {"max_steps": 200000, "tol": 0, "record_every": 100},
 "sweep": {"model.width": [8, 12, 16], "init.seed": {"range": [0, 12]}}}
EOF
"$ufm" sweep "$job" --out "$work/out/local" -q >/dev/null
say "reference sweep done ($(lines "$work/out/local/runs.jsonl") runs)"

# ---- 4. submit exactly as docs/cluster.md does -------------------------------------------------
out=$work/out/slurm
cd "$repo"
# A bad job is refused before anything is queued (exit 2, naming the field).
sed 's/"classes": 4/"classes": 0/' "$job" >"$work/bad.json"
rc=0
UFM=$ufm examples/paper/submit-sweep.sh "$work/bad.json" "$work/out/bad" 3 2>"$work/bad.err" || rc=$?
((rc == 2)) && grep -q "model.classes" "$work/bad.err" ||
  fail "submit-sweep.sh with a bad job: exit $rc, $(cat "$work/bad.err")"
[[ -z $(squeue -h -o %i) ]] || fail "a bad job was queued"
submitted=$(UFM=$ufm examples/paper/submit-sweep.sh "$job" "$out" 3 --cpus-per-task=1 --time=10)
echo "$submitted" >&2
array=$(sed -n 's/^array job \([0-9]*\):.*/\1/p' <<<"$submitted")
merge=$(sed -n 's/^merge job \([0-9]*\):.*/\1/p' <<<"$submitted")
[[ -n $array && -n $merge ]] || fail "submit-sweep.sh printed no job ids"
squeue --me >&2

# Shard 2: scancel part-way (SIGTERM, then SIGKILL after KillWait).
wait_lines "$out/shard-2/runs.jsonl" 2 120
[[ $(task_state "${array}_2") == RUNNING ]] || fail "shard 2 is not running when it is cancelled"
scancel "${array}_2"
# Shard 3: requeue part-way (SIGTERM; Slurm starts the task again, cred_expire after, and it
# resumes).
wait_lines "$out/shard-3/runs.jsonl" 2 120
[[ $(task_state "${array}_3") == RUNNING ]] || fail "shard 3 is not running when it is requeued"
requeued_at=$(lines "$out/shard-3/runs.jsonl")
scontrol requeue "${array}_3"
"$ufm" merge --status "$out"/shard-* >&2 || true # watching, as docs/cluster.md does
wait_jobs_gone 240
say "first submission ended"

# ---- 5. what the cancellation left -------------------------------------------------------------
[[ $(task_state "${array}_2") == CANCELLED ]] || fail "shard 2 ended $(task_state "${array}_2"), not CANCELLED"
log2=$out/logs/ufm-sweep-${array}_2.log
grep -q "sweep interrupted with" "$log2" || fail "shard 2 did not stop cleanly on SIGTERM: $(cat "$log2")"
check_no_torn_line "$out/shard-2/runs.jsonl"
done2=$(lines "$out/shard-2/runs.jsonl")
((done2 >= 2 && done2 < 12)) || fail "shard 2 has $done2 of 12 runs after the cancel"
[[ $(task_state "${array}_3") == COMPLETED ]] || fail "requeued shard 3 ended $(task_state "${array}_3")"
# The requeued run's log: it found at least the runs recorded before the requeue.
log3=$out/logs/ufm-sweep-${array}_3.log
resumed3=$(sed -n 's/.*12 runs), \([0-9]*\) already finished.*/\1/p' "$log3" | tail -n1)
[[ -n $resumed3 ]] && ((resumed3 >= requeued_at)) ||
  fail "requeued shard 3 did not resume from its $requeued_at runs: $(cat "$log3")"
[[ $(task_state "$merge") == COMPLETED ]] || fail "merge job ended $(task_state "$merge")"
grep -q "^merged *$((36 - 12 + done2)) of 36 runs" "$out/logs/ufm-merge-$merge.log" ||
  fail "the merge job did not merge the partial result: $(cat "$out/logs/ufm-merge-$merge.log")"
status=$("$ufm" merge --status "$out"/shard-*)
echo "$status" >&2
grep -Eq "^2/3 +12 +$done2 +0 +$((12 - done2)) +incomplete" <<<"$status" || fail "--status does not report shard 2 incomplete"
grep -Eq "^total +36 +$((24 + done2)) +0 +$((12 - done2)) +2 of 3 folders complete" <<<"$status" ||
  fail "--status totals are wrong"
say "shard 2 cancelled after $done2 runs; shard 3 requeued after $requeued_at runs and completed"

# ---- 6. resume: the same command again ---------------------------------------------------------
submitted=$(UFM=$ufm examples/paper/submit-sweep.sh "$job" "$out" 3 --cpus-per-task=1 --time=10)
echo "$submitted" >&2
array2=$(sed -n 's/^array job \([0-9]*\):.*/\1/p' <<<"$submitted")
merge2=$(sed -n 's/^merge job \([0-9]*\):.*/\1/p' <<<"$submitted")
wait_jobs_gone 240
for i in 1 2 3; do
  [[ $(task_state "${array2}_$i") == COMPLETED ]] || fail "resubmitted shard $i ended $(task_state "${array2}_$i")"
done
grep -q "$done2 already finished, $((12 - done2)) ran in" "$out/logs/ufm-sweep-${array2}_2.log" ||
  fail "shard 2 did not resume from its $done2 runs: $(cat "$out/logs/ufm-sweep-${array2}_2.log")"
[[ $(task_state "$merge2") == COMPLETED ]] || fail "second merge job ended $(task_state "$merge2")"
status=$("$ufm" merge --status "$out"/shard-*)
echo "$status" >&2
grep -Eq "^total +36 +36 +0 +0 +3 of 3 folders complete" <<<"$status" || fail "--status: not complete"
cmp "$out/merged/summary.json" "$work/out/local/summary.json" ||
  fail "merged summary.json differs from the single-machine sweep's"
[[ -s $out/merged/plots/p_dnc.png ]] || fail "the merge job drew no plot"

# ---- 7. by hand: resubmit one task, merge and plot --------------------------------------------
one=$(UFM=$ufm sbatch --parsable --array=2 --output="$out/logs/%x-%A_%a.log" \
  examples/paper/slurm-sweep.sh "$job" "$out" 3)
one=${one%%;*}
wait_jobs_gone 120
grep -q "12 already finished, 0 ran in" "$out/logs/ufm-sweep-${one}_2.log" ||
  fail "a resubmitted complete shard did work: $(cat "$out/logs/ufm-sweep-${one}_2.log")"
"$ufm" merge "$out"/shard-* --out "$out/merged-by-hand" >/dev/null
"$ufm" plot "$out/merged-by-hand" >/dev/null
cmp "$out/merged-by-hand/summary.json" "$work/out/local/summary.json" ||
  fail "summary.json merged by hand differs from the single-machine sweep's"
[[ -s $out/merged-by-hand/plots/rank.png ]] || fail "ufm plot drew no plot"
say "PASS: merged summary.json of the cancelled, requeued and resumed Slurm sweep is byte-identical to ufm sweep's"
