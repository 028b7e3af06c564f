#!/usr/bin/env bash
# Flat vs two-level (hierarchical) collectives on an emulated cluster whose
# node links are rate-limited (scripts/cluster.sh, tc tbf): nccl-tests style
# rows of time, algbw and busbw per size, each size flat then 2-level.
#   [OPS=all_reduce,...] scripts/bench_cluster_comm.sh [--nodes 2] [--ranks-per-node 2] [--link 1gbit] [--max-mib 64] [--min-mib 1]
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=2; PER_NODE=2; LINK=1gbit; MAX=64; MIN=1
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES=$2; shift 2 ;; --ranks-per-node) PER_NODE=$2; shift 2 ;; --link) LINK=$2; shift 2 ;;
    --max-mib) MAX=$2; shift 2 ;; --min-mib) MIN=$2; shift 2 ;;
    *) echo "bench_cluster_comm.sh: error: unknown option $1 (valid: --nodes, --ranks-per-node, --link, --max-mib, --min-mib)" >&2; exit 2 ;;
  esac
done
DIR=$(mktemp -d -u /tmp/tessera-cluster-bench.XXXXXX)
scripts/cluster.sh up --dir "$DIR" --nodes "$NODES" --ranks-per-node "$PER_NODE" --link "$LINK"
trap 'scripts/cluster.sh down --dir "$DIR" >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); links: $LINK per node (tc tbf)"
scripts/cluster.sh run --dir "$DIR" -- .build/release/tessera bench comm --hierarchical \
  --ops "${OPS:-all_reduce,reduce_scatter,all_gather}" --min-mib "$MIN" --max-mib "$MAX" 2> >(grep -v 'setpgid' >&2)
