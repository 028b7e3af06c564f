#!/usr/bin/env bash
# tessera plan against Tessera's own runs on this machine: measures a hardware
# profile (tessera bench profile, and its MPI figures under mpirun), then for
# each layout prints the planner's peak memory per rank and step time beside
# what `tessera train` reports (its step-1 per-rank memory report: the bytes
# of the weights, gradients, Adam moments and saved activations each rank
# actually holds; step time from every step's tokens/s). The planner's
# prediction leaves out its communication buffers there, except ZeRO's full
# buckets (gathered weights, unreduced gradients), which the runtime's report
# counts. The measured step time is the fastest and
# the median of the steps after the first: on a machine shared with other work
# the fastest is the one least slowed by it. One profile serves every layout,
# as a user would profile a machine once and then plan; on a machine shared
# with other work, REPROFILE=1 measures the thread figures again right before
# each layout's run, so that the prediction and the run see about the same
# outside load.
#
#   scripts/plan_vs_measured.sh [STEPS]      (default 3 steps per run)
#   REPROFILE=1 scripts/plan_vs_measured.sh  (profile again before each layout)
#   LAYOUTS='cp2 ring,dp2xep2 experts' scripts/plan_vs_measured.sh  (only the layouts named, comma-separated)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/tessera}
STEPS=${1:-3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
PROFILE=$OUT/profile.json
MPIRUN=(mpirun --oversubscribe)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
SHAPE=(--layers 6 --d-model 512 --heads 8 --seq-len 256 --vocab 256)
BATCH=8
TOKENS=$((BATCH * 256))

"$BIN" bench profile --out "$PROFILE" | sed 's/^/profile: /' || exit 1
"${MPIRUN[@]}" -np 2 "$BIN" bench profile --out "$PROFILE" 2>/dev/null | sed 's/^/profile: /'
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

printf '%-26s %11s %11s %7s %10s %10s %10s %7s\n' layout "pred MiB" "meas MiB" "diff" "pred s" "best s" "median s" "diff"
# name | plan --layout | train flags | model flags for both (the experts)
while IFS='|' read -r name layout flags model; do
  if [ -n "${LAYOUTS:-}" ] && [[ ",$LAYOUTS," != *",$name,"* ]]; then continue; fi
  if [ "${REPROFILE:-0}" = 1 ]; then
    "$BIN" bench profile --out "$PROFILE" </dev/null >"$OUT/profile.txt" 2>&1 || { cat "$OUT/profile.txt"; exit 1; }
  fi
  # shellcheck disable=SC2086  # $model and $flags are lists of flags
  "$BIN" plan --model tessera-bench --hardware "$PROFILE" --global-batch $BATCH --precision fp32 \
         --grad-dtype fp32 --layout "$layout" $model --json </dev/null >"$OUT/plan.json" || { echo "$name: plan failed"; continue; }
  # shellcheck disable=SC2086
  "$BIN" train "${SHAPE[@]}" --batch $BATCH --steps "$STEPS" --log-every 1 --eval-every 0 --eval-batches 1 \
      --sample 0 --warmup 0 $model $flags </dev/null >"$OUT/train.txt" 2>&1 || { echo "$name: train failed"; tail -3 "$OUT/train.txt"; continue; }
  python3 - "$name" "$TOKENS" "$OUT/plan.json" "$OUT/train.txt" <<'EOF'
import json, re, statistics, sys
name, tokens = sys.argv[1], int(sys.argv[2])
plan = json.load(open(sys.argv[3]))["layouts"][0]
train = open(sys.argv[4]).read()
mem = plan["memory_bytes"]
predicted = (mem["total"] - mem["buffers"] + mem["zero_buckets"]) / 2**20
measured = max(float(x) for x in re.findall(r"^rank \d+ .*total ([0-9.]+) MiB", train, re.M))
steps = [tokens / float(x) for x in re.findall(r"^step \d+/\d+ .*?\| ([0-9.]+) tok/s", train, re.M)][1:]
best, median = min(steps), statistics.median(steps)
print(f"{name:<26} {predicted:11.2f} {measured:11.2f} {100 * (predicted / measured - 1):+6.1f}% "
      f"{plan['step_seconds']:10.2f} {best:10.2f} {median:10.2f} {100 * (plan['step_seconds'] / best - 1):+6.1f}%")
EOF
done <<'LAYOUTS'
dp2|dp=2,micro-batches=1|--dp 2
tp2+sp|tp=2,sp=true,micro-batches=1|--tp 2 --sp
pp2(1f1b) m4|pp=2,micro-batches=4,schedule=1f1b|--pp 2 --micro-batches 4 --schedule 1f1b
pp2(zb-h1) m4|pp=2,micro-batches=4,schedule=zb-h1|--pp 2 --micro-batches 4 --schedule zb-h1
dp2xpp2xtp2+sp m2|dp=2,pp=2,tp=2,sp=true,micro-batches=2|--dp 2 --pp 2 --tp 2 --sp --micro-batches 2
dp2 zero1|dp=2,zero=1,micro-batches=1|--dp 2 --zero 1
dp2 zero2|dp=2,zero=2,micro-batches=1|--dp 2 --zero 2
dp2 zero3|dp=2,zero=3,micro-batches=1|--dp 2 --zero 3
cp2 ring|cp=2,micro-batches=1|--cp 2 --cp-mode ring
cp2 ulysses|cp=2,cp-mode=ulysses,micro-batches=1|--cp 2 --cp-mode ulysses
dp2xep2 experts|dp=2,ep=2,micro-batches=1|--dp 2 --ep 2|--experts 4 --top-k 2
LAYOUTS
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
