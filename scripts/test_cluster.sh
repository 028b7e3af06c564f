#!/usr/bin/env bash
# Tests across an emulated cluster of 2 nodes × 2 ranks (scripts/cluster.sh): the
# collective self-check, and `verify` (the layout trains exactly like one rank) for
# layouts whose groups cross the node boundary: dp2×tp2 (tp inside each node, dp
# across), pp2×tp2 (the pipeline across), cp2×tp2 (ring attention across), dp2×tp2
# ZeRO-3 (reduce-scatter and all-gather across), dp4 ZeRO-3 (the same in two levels: HierarchicalGroup)
# and dp4×ep4 (the all-to-all across; dp×cp sums in two levels); then node 1 is killed mid-run and
# scripts/elastic_train.sh resumes on node 0.
# Ranks on one node talk over shared memory (vader), across nodes over TCP only.
# Prints one skip line where namespaces cannot be made (not root, no ip netns).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${TESSERA_BIN:-.build/release/tessera}
CLUSTER=$(mktemp -d -u /tmp/tessera-cluster-test.XXXXXX)
passed=0; failed=0
ok()  { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; echo "$2" | sed 's/^/     /' | head -20; failed=$((failed + 1)); }

up=$(scripts/cluster.sh up --dir "$CLUSTER" --nodes 2 --ranks-per-node 2 2>&1); status=$?
if [ $status -eq 3 ]; then
  echo "cluster tests: skipped: $up"
  exit 0
elif [ $status -ne 0 ]; then
  echo "FAIL cluster.sh up (exit $status)"; echo "$up" | sed 's/^/     /'
  scripts/cluster.sh down --dir "$CLUSTER" >/dev/null 2>&1
  echo "cluster tests: 0 passed, 1 failed"; exit 1
fi
trap 'scripts/cluster.sh down --dir "$CLUSTER" >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM
echo "$up"
id=$(sed -n 's/^ID=//p' "$CLUSTER/state")
run() { timeout 300 scripts/cluster.sh run --dir "$CLUSTER" -- "$BIN" "$@" 2>&1; }

# mpirun places ranks 0, 1 on node0 and 2, 3 on node1, each node with its own hostname.
out=$(timeout 60 scripts/cluster.sh run --dir "$CLUSTER" -- hostname 2>/dev/null | sort | tr '\n' ' ')
if [ "$out" = "node0 node0 node1 node1 " ]; then ok "mpirun across 2 emulated nodes: $out"
else bad "mpirun across 2 emulated nodes" "$out"; fi

out=$(run check comm)
if [ $? -eq 0 ] && grep -q "check comm mpi ranks=4: [0-9]* checks passed, 0 failed" <<<"$out"; then
  ok "collectives on 2 nodes × 2: $(grep -o '[0-9]* checks passed' <<<"$out")"
else bad "collectives on 2 nodes × 2" "$out"; fi

# Ranks learn their node from MPI (MPI_Comm_split_type shared): the banner draws the nodes, and a tp group
# that crosses them (dp innermost in --order) gets one warning line naming the groups.
TINY=(--layers 1 --d-model 32 --heads 2 --seq-len 16 --batch 4 --steps 2 --sample 0)
out=$(run train --dp 2 --tp 2 "${TINY[@]}")
if [ $? -eq 0 ] && grep -q "^nodes: 2 × 2 rank(s)" <<<"$out" && grep -q "tp groups within nodes: \[0, 1\] \[2, 3\]" <<<"$out" \
   && grep -q "dp groups across nodes (2 of 2, over the network): \[0, 2\] \[1, 3\]" <<<"$out" && ! grep -q "warning: tp" <<<"$out"; then
  ok "train dp2×tp2 on 2 nodes: the banner draws the nodes, tp within them"
else bad "train dp2×tp2 banner on 2 nodes" "$out"; fi
out=$(run train --dp 2 --tp 2 --order pp,cp,tp,dp "${TINY[@]}")
if [ $? -eq 0 ] && [ "$(grep -c "tessera: warning: tp groups \[0, 2\] \[1, 3\] span nodes" <<<"$out")" = 1 ]; then
  ok "a tp group across nodes gets one warning: $(grep -o 'warning: tp groups .* span nodes' <<<"$out")"
else bad "tp across nodes warning" "$out"; fi

for flags in "--dp 2 --tp 2 --sp" "--pp 2 --tp 2 --layers 2 --micro-batches 2" "--cp 2 --tp 2" \
             "--dp 2 --tp 2 --zero 3" "--dp 4 --zero 3" "--dp 4 --ep 4 --experts 4 --top-k 2 --capacity-factor 1"; do
  out=$(run verify $flags --steps 3)
  if [ $? -eq 0 ] && grep -q "EQUIVALENT — worst loss diff" <<<"$out" && ! grep -q "NOT EQUIVALENT" <<<"$out"; then
    ok "verify $flags on 2 nodes × 2: $(grep -o 'worst loss diff.*' <<<"$out")"
  else bad "verify $flags on 2 nodes × 2" "$out"; fi
done

# Losing a node: SIGKILL every process of node 1 once the run has saved step 40. The job ends (no hang), and
# scripts/elastic_train.sh resumes from the last complete checkpoint on node 0 alone with the layout given for 2 ranks.
EL=$(mktemp -d)
ELASTIC=(--layers 1 --d-model 32 --heads 2 --seq-len 16 --batch 4 --steps 600 --sample 0 --timeout 10 --checkpoint-every 20
         --eval-every 0 --log-every 1 --quiet)
timeout 300 scripts/elastic_train.sh --dir "$CLUSTER" --checkpoint "$EL/ckpt" --layout "4:--dp 4" --layout "2:--dp 2" \
  --keep-restart-points -- "${ELASTIC[@]}" --metrics "$EL/m.jsonl" >"$EL/out" 2>&1 &
el=$!
for _ in $(seq 1 1500); do grep -q "saved checkpoint .* at step 40$" "$EL/out" && break; sleep 0.2; done
killed_at=$(date +%s.%N)
scripts/cluster.sh kill-node --dir "$CLUSTER" 1 >/dev/null &
killer=$!
# The job itself (MPILiveness) names the lost ranks and the collective they stopped in, and ends with status 4
# (its process; mpirun reports the lost daemon as 205, README), well within --timeout 10.
for _ in $(seq 1 300); do grep -q "job failed" "$EL/out" && break; sleep 0.1; done
ended_in=$(awk -v a="$killed_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
wait $killer
lostmsg=$(grep "^tessera: error: lost" "$EL/out")
if [ "$(grep -c "^tessera: error: lost" "$EL/out")" = 1 ] \
   && grep -q "^tessera: error: lost ranks 2-3 of 4 on node 1 (host node1, all 2 of its ranks): " <<<"$lostmsg" \
   && grep -Eq "they stopped in group ([a-z]+\[[0-9, ]+\][^ ]*|world) (allReduce|reduceScatter|allGather|broadcast|allGather\(ints\)|recv (header )?from [23] tag [0-9]+)( \(started\))? #[0-9]+ \(waiting [0-9.]+ s\) on rank [01]" <<<"$lostmsg" \
   && grep -q "ending the job (exit status 4)$" <<<"$lostmsg" && grep -q "job failed (exit 205)" "$EL/out" \
   && awk -v t="$ended_in" 'BEGIN { exit !(t < 10) }' && ! grep -Eiq "core dumped|segmentation fault|signal 11" "$EL/out"; then
  ok "killing node 1 mid-step: the job ends in $ended_in s (mpirun exit 205, a lost daemon) with one line: ${lostmsg#tessera: error: }"
else bad "the job's own message on losing node 1 (ended after ${ended_in} s)" "$(grep -v '^step' "$EL/out" | tail -20)"; fi
wait $el; status=$?
resumed=$(grep -o "resuming .* at step [0-9]*" "$EL/out" | grep -o "[0-9]*$")
if [ $status -eq 0 ] && grep -q "restart 1 of 3 on the nodes still alive" "$EL/out" \
   && grep -q "nodes 0: 2 rank(s), --dp 2, --resume" "$EL/out" && [ -n "$resumed" ] && [ "$resumed" -ge 40 ] \
   && grep -q "saved checkpoint .* at step 600$" "$EL/out" && grep -q "training finished after 1 restart(s)" "$EL/out"; then
  ok "losing node 1 mid-run: elastic_train.sh resumed dp2 on node 0 at step $resumed and finished step 600"
else bad "losing a node (elastic_train.sh exit $status)" "$(grep -v '^step' "$EL/out" | tail -20)"; fi
lostline=$(grep "job failed" "$EL/out" | head -1)
if grep -q "lost: node 1 (ranks 2-3 of 4); last complete checkpoint: step $resumed$" <<<"$lostline"; then
  ok "the supervisor names the lost node and its ranks: ${lostline#elastic_train.sh: }"
else bad "the supervisor's message on losing node 1" "$(grep -v '^step' "$EL/out" | tail -20)"; fi
# The restart equals an uninterrupted dp2 run on node 0 from the checkpoint it resumed (kept by --keep-restart-points).
head -1 "$CLUSTER/hostfile" >"$EL/hostfile.node0"
timeout 300 scripts/cluster.sh run --dir "$CLUSTER" --hostfile "$EL/hostfile.node0" -- "$BIN" train --dp 2 \
  --resume "$EL/ckpt.restart-1" --checkpoint "$EL/ref" "${ELASTIC[@]}" --metrics "$EL/ref.jsonl" >"$EL/ref.out" 2>&1
if [ $? -eq 0 ] && [ -n "$resumed" ] && [ "$(wc -l <"$EL/ref.jsonl")" -eq $((600 - resumed)) ] \
   && cmp -s <(grep -o '"loss":[^,]*' "$EL/m.jsonl") <(grep -o '"loss":[^,]*' "$EL/ref.jsonl"); then
  ok "the restarted run's $((600 - resumed)) losses equal an uninterrupted dp2 run's from step $resumed (bitwise, as printed)"
else bad "restart vs uninterrupted dp2 run from the same checkpoint" "$(tail -5 "$EL/ref.out"; diff <(grep -o '"loss":[^,]*' "$EL/m.jsonl") <(grep -o '"loss":[^,]*' "$EL/ref.jsonl") | head -6)"; fi
rm -rf "$EL"

# down removes every namespace and interface it made (the EXIT trap then finds nothing to do).
scripts/cluster.sh down --dir "$CLUSTER" >/dev/null 2>&1
left=$(ip netns list | grep -E "^tsr${id}(n[0-9]+|sw)\b")
if [ -z "$left" ] && [ ! -e "$CLUSTER" ]; then ok "cluster.sh down leaves no namespace behind"
else bad "cluster.sh down left namespaces or files" "$left"; fi

echo "cluster tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
