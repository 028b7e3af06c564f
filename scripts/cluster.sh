#!/usr/bin/env bash
# An emulated cluster on one machine: N "nodes", each a network namespace with its
# own hostname and /dev/shm (as separate hosts have, so Open MPI's shared-memory
# segments of two nodes never meet), joined by veth pairs to a bridge that lives in
# a namespace of its own. Addresses come from the benchmarking range 198.18.0.0/15
# and exist only inside those namespaces: nothing is added to the host's network.
#
#   scripts/cluster.sh up   [--nodes N] [--ranks-per-node R] [--link RATE] [--dir DIR]
#   scripts/cluster.sh run  [--dir DIR] [-np N] [--hostfile F] -- COMMAND ARGS...   (mpirun across the nodes)
#   scripts/cluster.sh exec [--dir DIR] NODE -- COMMAND ARGS...      (one command on one node)
#   scripts/cluster.sh kill-node [--dir DIR] NODE                    (SIGKILL a node's processes, cut its link)
#   scripts/cluster.sh alive [--dir DIR]                             (the nodes not killed and whose link is up, one a line)
#   scripts/cluster.sh down [--dir DIR]
#
# RATE is a tc rate ("1gbit", "500mbit"): each node's uplink sends at most that
# (token bucket filter), so traffic between two nodes crosses one limited link in
# each direction. `up` writes DIR/hostfile (one address per node, slots=R) and
# DIR/rsh-agent, the plm_rsh_agent Open MPI uses to start its daemon on a node:
# it runs the command inside the namespaces of the node that owns the address.
# `run` starts mpirun on node 0 with --mca btl tcp,self,vader and both the TCP
# transport and Open MPI's own channel restricted to the cluster's subnet.
# Needs root (ip netns, unshare, nsenter); `up` exits 3 with one line when it
# cannot make namespaces, so callers can skip cleanly.
set -euo pipefail

die() { echo "cluster.sh: error: $*" >&2; exit 2; }
cmd=${1:-}; [ $# -gt 0 ] && shift
DIR=${TESSERA_CLUSTER_DIR:-/tmp/tessera-cluster}
NODES=2; PER_NODE=2; LINK=""; NP=""; NODE=""; HOSTFILE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES=$2; shift 2 ;;
    --ranks-per-node) PER_NODE=$2; shift 2 ;;
    --link) LINK=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    -np) NP=$2; shift 2 ;;
    --hostfile) HOSTFILE=$2; shift 2 ;;
    --) shift; break ;;
    -*) die "unknown option $1 (valid: --nodes, --ranks-per-node, --link, --dir, -np, --hostfile, --)" ;;
    *) if [ -z "$NODE" ] && [[ "$cmd" == exec || "$cmd" == kill-node ]]; then NODE=$1; shift; else break; fi ;;
  esac
done

need_state() { [ -f "$DIR/state" ] || die "no cluster at $DIR (run: scripts/cluster.sh up --dir $DIR)"; . "$DIR/state"; }
node_pid() { cat "$DIR/node$1.pid"; }
in_node() { local n=$1; shift; nsenter --target "$(node_pid "$n")" --uts --mount --net -- "$@"; }

up() {
  [[ "$NODES" =~ ^[0-9]+$ ]] && [ "$NODES" -ge 2 ] && [ "$NODES" -le 32 ] || die "--nodes $NODES: valid 2...32"
  [[ "$PER_NODE" =~ ^[0-9]+$ ]] && [ "$PER_NODE" -ge 1 ] || die "--ranks-per-node $PER_NODE: valid 1 or more"
  [ -z "$LINK" ] || [[ "$LINK" =~ ^[0-9]+(\.[0-9]+)?([kmg]?bit|[kmg]?bps)$ ]] || die "--link $LINK: valid a tc rate such as 1gbit, 500mbit"
  [ ! -e "$DIR/state" ] || die "a cluster is already up at $DIR (scripts/cluster.sh down --dir $DIR first)"
  if [ "$(id -u)" != 0 ] || ! command -v nsenter >/dev/null || ! command -v unshare >/dev/null; then
    echo "cluster.sh: cannot make network namespaces here (needs root, ip, unshare, nsenter)" >&2; exit 3
  fi
  # A free /24 in 198.18.0.0/15: the first whose switch namespace name is not taken.
  local id sw=""
  for id in $(seq 1 250); do
    if ip netns add "tsr${id}sw" 2>/dev/null; then sw="tsr${id}sw"; break; fi
  done
  if [ -z "$sw" ]; then echo "cluster.sh: cannot make network namespaces here (ip netns add failed)" >&2; exit 3; fi
  mkdir -p "$DIR"
  { echo "ID=$id"; echo "NODES=$NODES"; echo "PER_NODE=$PER_NODE"; echo "SUBNET=198.18.$id.0/24"; echo "LINK=$LINK"; } >"$DIR/state"
  trap 'down >/dev/null 2>&1 || true' ERR
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  : >"$DIR/hostfile"
  local i ns
  for i in $(seq 0 $((NODES - 1))); do
    ns="tsr${id}n$i"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$sw" link add "p$i" type veth peer name eth0 netns "$ns"
    ip -n "$sw" link set "p$i" master br0 up
    ip -n "$ns" addr add "198.18.$id.$((i + 1))/24" dev eth0
    ip -n "$ns" link set eth0 up
    if [ -n "$LINK" ]; then ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "$LINK" burst 256kb latency 50ms; fi
    # The node's own hostname and /dev/shm live in a mount and UTS namespace held by a sleeping process.
    setsid ip netns exec "$ns" unshare --uts --mount --propagation private \
      sh -c "hostname node$i && mount -t tmpfs -o size=2g tmpfs /dev/shm && echo \$\$ >'$DIR/node$i.pid.tmp' && exec sleep infinity" \
      </dev/null >/dev/null 2>&1 &
    local t=0
    while [ ! -s "$DIR/node$i.pid.tmp" ]; do sleep 0.05; t=$((t + 1)); [ $t -lt 200 ] || die "node $i did not start"; done
    mv "$DIR/node$i.pid.tmp" "$DIR/node$i.pid"
    echo "198.18.$id.$((i + 1)) $ns $(node_pid "$i")" >>"$DIR/nodes"
    echo "198.18.$id.$((i + 1)) slots=$PER_NODE" >>"$DIR/hostfile"
  done
  cat >"$DIR/rsh-agent" <<EOF
#!/bin/sh
# plm_rsh_agent for the emulated cluster: runs the command (joined as ssh would) on the node owning the address.
host=\$1; shift
pid=\$(awk -v h="\$host" '\$1 == h { print \$3 }' '$DIR/nodes')
[ -n "\$pid" ] || { echo "rsh-agent: no emulated node has address \$host" >&2; exit 255; }
exec nsenter --target "\$pid" --uts --mount --net -- sh -c "\$*"
EOF
  chmod +x "$DIR/rsh-agent"
  trap - ERR
  echo "cluster up: $NODES nodes × $PER_NODE ranks on 198.18.$id.0/24${LINK:+, links at $LINK}; hostfile $DIR/hostfile"
}

down() {
  [ -f "$DIR/state" ] || return 0
  . "$DIR/state"
  local i ns p
  for i in $(seq 0 $((NODES - 1))); do
    ns="tsr${ID}n$i"
    if ip netns list | grep -qw "$ns"; then
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
  ip netns del "tsr${ID}sw" 2>/dev/null || true
  rm -f "$DIR/state" "$DIR/nodes" "$DIR/hostfile" "$DIR/rsh-agent" "$DIR"/node*.pid "$DIR"/node*.pid.tmp "$DIR"/node*.lost "$DIR/hostfile.alive"
  rmdir "$DIR" 2>/dev/null || true
  echo "cluster down: namespaces tsr${ID}* removed"
}

run() {
  need_state
  [ $# -gt 0 ] || die "run needs a command after --"
  local hosts=${HOSTFILE:-$DIR/hostfile}
  [ -s "$hosts" ] || die "hostfile $hosts is missing or empty"
  local np=${NP:-$(awk '{ sub("slots=", "", $2); n += $2 } END { print n }' "$hosts")}
  # mpirun starts on the node owning the hostfile's first address (node 0 unless it was lost).
  local first; first=$(awk -v h="$(awk 'NR == 1 { print $1 }' "$hosts")" '$1 == h { print NR - 1 }' "$DIR/nodes")
  [ -n "$first" ] || die "the first host of $hosts is not a node of the cluster at $DIR"
  local root=(); [ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
  # Environment the ranks need from the caller (fault injection, threads) travels with -x.
  local envs=() v
  for v in TESSERA_FAULT OMP_NUM_THREADS; do [ -z "${!v:-}" ] || envs+=(-x "$v"); done
  in_node "$first" env -C "$PWD" mpirun "${root[@]}" -np "$np" --hostfile "$hosts" --map-by slot \
    --mca plm_rsh_agent "$DIR/rsh-agent" --mca plm_rsh_no_tree_spawn 1 \
    --mca btl tcp,self,vader --mca btl_tcp_if_include "$SUBNET" --mca oob_tcp_if_include "$SUBNET" \
    "${envs[@]}" "$@"
}

case "$cmd" in
  up) up ;;
  down) down ;;
  run) run "$@" ;;
  exec) need_state; [[ "$NODE" =~ ^[0-9]+$ ]] && [ "$NODE" -lt "$NODES" ] || die "node '$NODE': valid 0...$((NODES - 1))"
        in_node "$NODE" env -C "$PWD" "$@" ;;
  kill-node) need_state; [[ "$NODE" =~ ^[0-9]+$ ]] && [ "$NODE" -lt "$NODES" ] || die "node '$NODE': valid 0...$((NODES - 1))"
        : >"$DIR/node$NODE.lost"  # counted lost from now on, before its processes die
        holder=$(node_pid "$NODE"); killed=0
        for p in $(ip netns pids "tsr${ID}n$NODE"); do
          if [ "$p" != "$holder" ]; then kill -9 "$p" 2>/dev/null && killed=$((killed + 1)) || true; fi
        done
        # The closed sockets tell the other nodes at once; then the link goes down and the node stays lost.
        sleep 2; ip -n "tsr${ID}n$NODE" link set eth0 down
        echo "killed $killed process(es) on node $NODE; its link is down" ;;
  alive) need_state
        for i in $(seq 0 $((NODES - 1))); do
          if [ ! -e "$DIR/node$i.lost" ] && ip -n "tsr${ID}n$i" link show eth0 2>/dev/null | grep -q "state UP"; then echo "$i"; fi
        done ;;
  *) die "unknown command '$cmd' (valid: up, run, exec, kill-node, alive, down)" ;;
esac
