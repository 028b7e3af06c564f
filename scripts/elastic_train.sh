#!/usr/bin/env bash
# Supervises `tessera train` on an emulated cluster (scripts/cluster.sh up): runs
# it across the nodes whose link is up; when the job fails (a node lost), finds
# the nodes still alive, takes the layout given for that many ranks and resumes
# from the last complete checkpoint; stops when training finishes, when no layout
# fits the ranks left, or after --max-restarts restarts.
#
#   scripts/elastic_train.sh --dir DIR --checkpoint CKPT --layout "4:--dp 4" --layout "2:--dp 2" \
#       [--max-restarts 3] [--keep-restart-points] -- TRAIN FLAGS...
#
# After a failure it names the nodes lost and their ranks in the job that failed
# (mpirun places ranks node by node, in hostfile order) and the checkpoint step it
# resumes from. --keep-restart-points copies the checkpoint each restart resumes
# from to CKPT.restart-N first (the resumed run saves over CKPT), so the restart
# can be checked against an uninterrupted run from the same state.
#
# On a real cluster the same loop works with a hostfile of the hosts that answer
# (`ssh HOST true`) in place of `cluster.sh alive`.
set -uo pipefail
cd "$(dirname "$0")/.."
die() { echo "elastic_train.sh: error: $*" >&2; exit 2; }
DIR=${TESSERA_CLUSTER_DIR:-/tmp/tessera-cluster}; CKPT=""; MAX_RESTARTS=3; LAYOUTS=(); KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR=$2; shift 2 ;;
    --checkpoint) CKPT=$2; shift 2 ;;
    --layout) [[ "$2" =~ ^[0-9]+:.+ ]] || die "--layout $2: valid RANKS:FLAGS, e.g. \"4:--dp 4\""; LAYOUTS+=("$2"); shift 2 ;;
    --max-restarts) [[ "$2" =~ ^[0-9]+$ ]] || die "--max-restarts $2: valid 0 or more"; MAX_RESTARTS=$2; shift 2 ;;
    --keep-restart-points) KEEP=1; shift ;;
    --) shift; break ;;
    *) die "unknown option $1 (valid: --dir, --checkpoint, --layout, --max-restarts, --keep-restart-points, --)" ;;
  esac
done
[ -f "$DIR/state" ] || die "no cluster at $DIR (scripts/cluster.sh up --dir $DIR first)"
[ -n "$CKPT" ] || die "--checkpoint DIR is required (restarts resume from it)"
[ ${#LAYOUTS[@]} -gt 0 ] || die "give at least one --layout RANKS:FLAGS"
. "$DIR/state"
BIN=${TESSERA_BIN:-.build/release/tessera}

restarts=0
while :; do
  alive=$(scripts/cluster.sh alive --dir "$DIR")
  : >"$DIR/hostfile.alive"
  for i in $alive; do sed -n "$((i + 1))p" "$DIR/hostfile" >>"$DIR/hostfile.alive"; done
  ranks=$(( $(wc -l <"$DIR/hostfile.alive") * PER_NODE ))
  flags=""
  for l in "${LAYOUTS[@]}"; do [ "${l%%:*}" = "$ranks" ] && flags=${l#*:}; done
  [ -n "$flags" ] || { echo "elastic_train.sh: no --layout for $ranks rank(s) on node(s) $(echo $alive); stopping" >&2; exit 1; }
  if [ -f "$CKPT/tessera-checkpoint.json" ]; then start=(--resume "$CKPT"); else start=(--checkpoint "$CKPT"); fi
  if [ "$KEEP" = 1 ] && [ "$restarts" -gt 0 ] && [ -f "$CKPT/tessera-checkpoint.json" ]; then
    [ -e "$CKPT.restart-$restarts" ] && die "$CKPT.restart-$restarts exists; not overwriting it"
    cp -r "$CKPT" "$CKPT.restart-$restarts"
  fi
  echo "elastic_train.sh: nodes $(echo $alive | tr ' ' ','): $ranks rank(s), $flags, ${start[*]}"
  # shellcheck disable=SC2086  # the layout's flags are words
  scripts/cluster.sh run --dir "$DIR" --hostfile "$DIR/hostfile.alive" -- "$BIN" train $flags "${start[@]}" "$@"
  status=$?
  [ $status -eq 0 ] && { echo "elastic_train.sh: training finished after $restarts restart(s)"; exit 0; }
  [ $status -eq 2 ] && { echo "elastic_train.sh: train refused its settings (exit 2); not restarting" >&2; exit 2; }
  # Name what was lost: nodes alive before the job but not now, and their ranks in that job.
  now=$(scripts/cluster.sh alive --dir "$DIR")
  lost="" k=0
  for i in $alive; do
    if ! grep -qx "$i" <<<"$now"; then
      lost+="node $i (ranks $((k * PER_NODE))-$((k * PER_NODE + PER_NODE - 1)) of $ranks), "
    fi
    k=$((k + 1))
  done
  lost=${lost%, }
  saved=$(sed -n 's/.*"step" *: *\([0-9]*\).*/\1/p' "$CKPT/tessera-checkpoint.json" 2>/dev/null | head -1)
  echo "elastic_train.sh: job failed (exit $status); lost: ${lost:-no node (all still alive)}; last complete checkpoint: ${saved:+step }${saved:-none}"
  restarts=$((restarts + 1))
  [ $restarts -le "$MAX_RESTARTS" ] || { echo "elastic_train.sh: job failed (exit $status), $MAX_RESTARTS restart(s) used; stopping" >&2; exit 1; }
  echo "elastic_train.sh: job failed (exit $status); restart $restarts of $MAX_RESTARTS on the nodes still alive"
done
