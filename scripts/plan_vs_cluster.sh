#!/usr/bin/env bash
# tessera plan against measured steps on an emulated cluster of 2 nodes × 2 ranks whose node
# links are limited to 1 Gbit/s (scripts/cluster.sh; root): profiles the machine (bench profile,
# then its MPI all-reduce α–β across the nodes), then for dp, tp within nodes, tp across nodes,
# pp and ZeRO-3 prints the planner's step time beside the measured steps (after the first) of
# `tessera train` under mpirun across the nodes: | layout | predicted s | best s | median s | error vs best | steps |
#   scripts/plan_vs_cluster.sh     (PLANNER.md, "On the emulated cluster")
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/tessera}
D=$(mktemp -d)
C=$(mktemp -d -u /tmp/tessera-cluster-plan.XXXXXX)
scripts/cluster.sh up --dir "$C" --nodes 2 --ranks-per-node 2 --link 1gbit || exit 1
trap 'scripts/cluster.sh down --dir $C; rm -rf "$D"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
$BIN bench profile --out $D/profile.json 2>&1 | sed 's/^/profile: /'
scripts/cluster.sh run --dir $C -- $BIN bench profile </dev/null --out $D/profile.json 2>&1 | grep -v setpgid | sed 's/^/profile: /'
SHAPE=(--layers 6 --d-model 512 --heads 8 --seq-len 256 --vocab 256)
while IFS='|' read -r name layout flags; do
  $BIN plan --model tessera-bench --hardware $D/profile.json --backend mpi --gpus 4 --gpus-per-node 2 --global-batch 8 \
     --precision fp32 --grad-dtype fp32 --layout "$layout" --json </dev/null > "$D/$name.plan.json" 2>"$D/$name.plan.err" || { echo "$name: plan failed: $(cat "$D/$name.plan.err")"; continue; }
  scripts/cluster.sh run --dir $C -- $BIN train </dev/null "${SHAPE[@]}" --batch 8 --steps 4 --log-every 1 --eval-every 0 --eval-batches 1 \
     --sample 0 --warmup 0 $flags > "$D/$name.train.txt" 2>&1 || { echo "$name: train failed"; tail -3 "$D/$name.train.txt"; continue; }
  python3 - "$name" "$D/$name.plan.json" "$D/$name.train.txt" <<'PY'
import json, re, statistics, sys
name = sys.argv[1]
plan = json.load(open(sys.argv[2]))["layouts"][0]
t = open(sys.argv[3]).read()
steps = [2048 / float(x) for x in re.findall(r"^step \d+/\d+ .*?\| ([0-9.]+) tok/s", t, re.M)][1:]
pred = plan["step_seconds"]
best, med = min(steps), statistics.median(steps)
print("| %s | %.2f | %.2f | %.2f | %+.0f%% | %s |" % (name, pred, best, med, 100 * (pred / best - 1), " ".join("%.2f" % s for s in steps)))
PY
done <<'L'
dp4|dp=4,micro-batches=1|--dp 4
dp2xtp2 (tp within nodes)|dp=2,tp=2,micro-batches=1|--dp 2 --tp 2
dp2xtp2 (tp across nodes)|dp=2,tp=2,micro-batches=1|--dp 2 --tp 2 --order pp,cp,tp,dp
pp2xdp2 1f1b m2|pp=2,dp=2,micro-batches=2,schedule=1f1b|--pp 2 --dp 2 --micro-batches 2 --schedule 1f1b
dp4 zero3|dp=4,zero=3,micro-batches=1|--dp 4 --zero 3
L
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
