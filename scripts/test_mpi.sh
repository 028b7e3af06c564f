#!/usr/bin/env bash
# MPI tests: the collective self-check under mpirun with 2, 4 and 8 processes,
# and the three failure paths (a missing rank, disagreeing sizes, a failing
# rank), each of which must stop the whole job with a message naming it; the
# same over TCP only; a rank's error in the middle of a training step.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/tessera
MPIRUN=(mpirun --oversubscribe)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
passed=0; failed=0
ok()  { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; echo "$2" | sed 's/^/     /' | head -20; failed=$((failed + 1)); }

for n in 2 4 8; do
  out=$(timeout 300 "${MPIRUN[@]}" -np "$n" "$BIN" check comm 2>&1)
  if [ $? -eq 0 ] && grep -q "check comm mpi ranks=$n: [0-9]* checks passed, 0 failed" <<<"$out"; then
    ok "collectives under mpirun -np $n: $(grep -o '[0-9]* checks passed' <<<"$out")"
  else bad "collectives under mpirun -np $n" "$out"; fi
done

expect_abort() {  # fault, text the error must contain
  out=$(timeout 120 "${MPIRUN[@]}" -np 2 "$BIN" check comm --timeout 3 --fault "$1" 2>&1)
  status=$?
  if [ $status -ne 0 ] && [ $status -ne 124 ] && grep -q "$2" <<<"$out"; then ok "mpi fault $1 stops the job: $(grep -m1 'tessera: error' <<<"$out" | cut -c1-110)"
  else bad "mpi fault $1 (exit $status)" "$out"; fi
}
expect_abort missing-rank "timeout after 3.0s on rank"
expect_abort size-mismatch "passed [0-9]* elements but rank [01] passed [0-9]*; all ranks must pass the same size"
expect_abort rank-failure "rank 0 failed: injected failure"

# A diverged run exits with the training error's status (3), as on one rank and on threads.
out=$(timeout 120 "${MPIRUN[@]}" -np 2 "$BIN" train --dp 2 --layers 1 --d-model 32 --heads 2 --seq-len 16 --batch 4 \
      --steps 30 --lr 1e6 --grad-clip 0 --warmup 0 --sample 0 2>&1)
status=$?
if [ $status -eq 3 ] && grep -q "failed: .*became" <<<"$out"; then ok "a diverged run under mpirun exits 3: $(grep -m1 -o 'rank [0-9] failed: [a-z ]*became' <<<"$out")"
else bad "diverged run under mpirun (exit $status, want 3)" "$out"; fi

# Layouts over MPI processes train exactly like one rank (tessera verify exits 1 otherwise); ZeRO-3 uses the
# started all-gather and reduce-scatter, ZeRO-1 under a pipeline their in-place forms (MPI_IN_PLACE); experts
# over dp4×ep2 use the variable all-to-all and the expert-data-parallel all-reduce (at ZeRO-3 its reduce-scatter
# and all-gathers), over dp2×cp2×ep2 the router's all-gather of logits over cp. ZeRO over dp × cp (the
# reduce-scatter and gathers on the dp·cp group), ZeRO-3 under 1F1B, zero-bubble and interleaved pipelines
# (whole chunks gathered around the schedule's actions), experts split over tp (--expert-tp 2, with ep and sp);
# Llama with grouped-query attention: kv heads replicated over tp 4 (their gradient summed over the replicas),
# dp × tp + sp at ZeRO-3, and rotary positions on context-parallel chunks inside a pipeline.
for layout in "4:--dp 2 --tp 2 --sp" "4:--pp 2 --tp 2 --layers 4 --micro-batches 4" "4:--dp 2 --cp 2" \
              "4:--cp 2 --tp 2 --sp --cp-mode ulysses" "2:--dp 2 --zero 3" \
              "4:--dp 2 --pp 2 --layers 4 --micro-batches 4 --zero 1" \
              "4:--dp 4 --ep 2 --experts 4 --top-k 2 --capacity-factor 1" \
              "4:--dp 4 --ep 2 --experts 4 --top-k 2 --capacity-factor 1 --zero 3" \
              "4:--dp 2 --cp 2 --ep 2 --experts 4 --top-k 2 --capacity-factor 1" \
              "4:--dp 2 --cp 2 --zero 3" "4:--dp 2 --cp 2 --cp-mode ulysses --zero 1" "2:--cp 2 --zero 2" \
              "4:--dp 2 --pp 2 --layers 4 --micro-batches 4 --zero 3" \
              "4:--dp 2 --pp 2 --layers 4 --micro-batches 4 --zero 3 --schedule zb-h1" \
              "4:--dp 2 --pp 2 --layers 4 --micro-batches 4 --zero 3 --schedule interleaved --pp-chunks 2" \
              "2:--tp 2 --experts 4 --top-k 2 --expert-tp 2" \
              "4:--dp 2 --ep 2 --tp 2 --sp --experts 4 --top-k 2 --capacity-factor 1 --expert-tp 2" \
              "4:--arch llama --kv-heads 2 --tp 4" "4:--arch llama --kv-heads 2 --dp 2 --tp 2 --sp --zero 3" \
              "4:--arch llama --kv-heads 2 --pp 2 --cp 2 --layers 4 --micro-batches 4" \
              "4:--arch llama --kv-heads 2 --dp 4 --ep 2 --experts 4 --top-k 2 --capacity-factor 1"; do
  n=${layout%%:*}; flags=${layout#*:}
  out=$(timeout 300 "${MPIRUN[@]}" -np "$n" "$BIN" verify $flags 2>&1)
  if [ $? -eq 0 ] && grep -q "EQUIVALENT — worst loss diff" <<<"$out" && ! grep -q "NOT EQUIVALENT" <<<"$out"; then
    ok "verify $flags under mpirun -np $n: $(grep -o 'worst loss diff.*' <<<"$out")"
  else bad "verify $flags under mpirun -np $n" "$out"; fi
done
# A traced run under MPI: each rank ships its part, rank 0 merges one file with every rank (clocks aligned at a
# barrier) whose summary holds the Megatron SP counts (1 block: 6·1+2 all-gathers per step on each tp group).
tracedir=$(mktemp -d)
out=$(timeout 300 "${MPIRUN[@]}" -np 4 "$BIN" train --dp 2 --tp 2 --sp --layers 1 --d-model 32 --heads 2 --seq-len 16 \
      --batch 4 --steps 2 --sample 0 --trace "$tracedir/t.json" 2>&1)
summary=$("$BIN" trace summary "$tracedir/t.json" 2>&1)
if grep -q "wrote trace $tracedir/t.json: 4 rank(s)" <<<"$out" && grep -q "4 rank(s), .*clocks: barrier" <<<"$summary" \
   && grep -q "^tp\[0, 1\] | allGather | 2 | 8.0 " <<<"$summary" && grep -q "^tp\[2, 3\] | reduceScatter | 2 | 6.0 " <<<"$summary"; then
  ok "trace under mpirun -np 4: one merged file, $(grep -o 'steady state (.*' <<<"$summary")"
else bad "trace under mpirun -np 4" "$out
$summary"; fi
rm -rf "$tracedir"
# MPI over TCP only, as on a cluster without shared memory between ranks.
TCP=("${MPIRUN[@]}" --mca btl tcp,self --mca btl_tcp_if_include lo)
out=$(timeout 300 "${TCP[@]}" -np 4 "$BIN" check comm 2>&1)
if [ $? -eq 0 ] && grep -q "check comm mpi ranks=4: [0-9]* checks passed, 0 failed" <<<"$out"; then
  ok "collectives over TCP only (btl tcp,self): $(grep -o '[0-9]* checks passed' <<<"$out")"
else bad "collectives over TCP only" "$out"; fi
out=$(timeout 300 "${TCP[@]}" -np 4 "$BIN" verify --dp 2 --tp 2 --sp 2>&1)
if [ $? -eq 0 ] && grep -q "EQUIVALENT — worst loss diff" <<<"$out" && ! grep -q "NOT EQUIVALENT" <<<"$out"; then
  ok "verify --dp 2 --tp 2 --sp over TCP only: $(grep -o 'worst loss diff.*' <<<"$out")"
else bad "verify --dp 2 --tp 2 --sp over TCP only" "$out"; fi

# A rank that raises an error mid-step (not a crash) ends every rank, well within the timeout, with its message.
start=$SECONDS
out=$(TESSERA_FAULT=rank-error:2:3 timeout 120 "${MPIRUN[@]}" -x TESSERA_FAULT -np 4 "$BIN" train --dp 2 --tp 2 \
      --layers 1 --d-model 32 --heads 2 --seq-len 16 --batch 4 --steps 20 --sample 0 --timeout 30 2>&1)
status=$?
if [ $status -ne 0 ] && [ $status -ne 124 ] && [ $((SECONDS - start)) -lt 30 ] \
   && grep -q "rank 2 failed: injected error on rank 2 in step 3" <<<"$out"; then
  ok "a rank's error mid-step stops the MPI job in $((SECONDS - start)) s with its message"
else bad "a rank's error mid-step under mpirun (exit $status, $((SECONDS - start)) s)" "$out"; fi

out=$(timeout 120 "${MPIRUN[@]}" -np 3 "$BIN" verify --dp 2 --tp 2 2>&1)
if [ $? -ne 0 ] && grep -q "needs dp 2 × pp 1 × cp 1 × tp 2 = 4 ranks, but mpirun started 3" <<<"$out"; then ok "a layout that does not fit mpirun's -np is refused before training"
else bad "layout/world-size mismatch under mpirun" "$out"; fi

# A bad layout is the same error on every process: it is printed once (by rank 0), and the job exits 2.
out=$(timeout 120 "${MPIRUN[@]}" -np 2 "$BIN" train --tp 3 2>&1); status=$?
if [ $status -eq 2 ] && [ "$(grep -c 'tessera: error: tp 3 does not divide heads 4; valid tp for heads 4: 1, 2, 4' <<<"$out")" = 1 ]; then
  ok "a layout error under mpirun -np 2 is printed once"
else bad "layout error under mpirun printed $(grep -c 'tessera: error' <<<"$out") times (exit $status)" "$out"; fi

# MFU under mpirun is at most 100%: the peak is what the processes reach together on the cores they have
# (each measures at once, mpirun binds each to its core), not rank 0's one-thread rate times the ranks.
MFU=$(mktemp -d)
for flags in "--tp 2 --sp" "--dp 2"; do
  out=$(timeout 300 "${MPIRUN[@]}" -np 2 "$BIN" train $flags --layers 2 --d-model 128 --heads 4 --seq-len 64 \
        --batch 8 --steps 4 --log-every 1 --eval-every 0 --sample 0 --metrics "$MFU/m.jsonl" 2>&1)
  status=$?
  worst=$(python3 -c 'import json,sys; print(max(json.loads(l)["mfu"] for l in open(sys.argv[1])))' "$MFU/m.jsonl" 2>/dev/null)
  if [ $status -eq 0 ] && [ -n "$worst" ] && python3 -c "import sys; sys.exit(0 if 0 < $worst <= 1 else 1)"; then
    ok "MFU under mpirun -np 2 train $flags stays within 100%: at most $(python3 -c "print(f'{100*$worst:.1f}%')")"
  else bad "MFU under mpirun -np 2 train $flags (exit $status, largest mfu ${worst:-none})" "$out"; fi
done
rm -rf "$MFU"

# An error only one process meets (rank 1 here; rank 0 trains) is not lost: the process that left the printing
# to rank 0 prints it itself, naming its rank, once rank 0 has not ended the job (it used to exit silently).
out=$(timeout 120 "${MPIRUN[@]}" -np 2 bash -c 'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then exec "$0" train --tp 3; else
      exec "$0" train --tp 2 --steps 200 --timeout 100 --sample 0; fi' "$BIN" 2>&1); status=$?
if [ $status -ne 0 ] && grep -q "tessera: error: rank 1: tp 3 does not divide heads 4" <<<"$out"; then
  ok "an error met by rank 1 alone under mpirun is printed (exit $status)"
else bad "an error met by rank 1 alone under mpirun (exit $status)" "$out"; fi

# Greedy generation under mpirun (tp 2; tp 2 × pp 2) prints exactly what one rank prints, from a checkpoint trained under dp 2.
GEN=$(mktemp -d)
"$BIN" train --dp 2 --layers 2 --d-model 32 --heads 4 --seq-len 32 --batch 4 --steps 3 --threads 1 --eval-every 0 \
  --sample 0 --checkpoint "$GEN/ckpt" >/dev/null 2>&1
PROMPTS=(--prompt "The " --prompt "Once upon" --prompt "xy" --tokens 16 --temperature 0 --batch 2)
ref=$("$BIN" generate --checkpoint "$GEN/ckpt" "${PROMPTS[@]}" 2>/dev/null)
for layout in "2:--tp 2" "4:--tp 2 --pp 2"; do
  n=${layout%%:*}; flags=${layout#*:}
  out=$(timeout 120 "${MPIRUN[@]}" -np "$n" "$BIN" generate --checkpoint "$GEN/ckpt" "${PROMPTS[@]}" $flags 2>&1 >"$GEN/out")
  if [ $? -eq 0 ] && [ -n "$ref" ] && [ "$(cat "$GEN/out")" = "$ref" ]; then ok "generate $flags under mpirun -np $n equals one rank (3 prompts, greedy)"
  else bad "generate $flags under mpirun -np $n" "$out$(printf '\n--- got:\n'; cat "$GEN/out"; printf '\n--- one rank:\n%s' "$ref")"; fi
done
# The same for a Llama with 2 kv heads: split over tp 2, replicated over tp 4, and inside a pipeline.
"$BIN" train --arch llama --kv-heads 2 --dp 2 --layers 2 --d-model 32 --heads 4 --seq-len 32 --batch 4 --steps 3 \
  --threads 1 --eval-every 0 --sample 0 --checkpoint "$GEN/llama" >/dev/null 2>&1
ref=$("$BIN" generate --checkpoint "$GEN/llama" "${PROMPTS[@]}" 2>/dev/null)
for layout in "2:--tp 2" "4:--tp 4" "4:--tp 2 --pp 2"; do
  n=${layout%%:*}; flags=${layout#*:}
  out=$(timeout 120 "${MPIRUN[@]}" -np "$n" "$BIN" generate --checkpoint "$GEN/llama" "${PROMPTS[@]}" $flags 2>&1 >"$GEN/out")
  if [ $? -eq 0 ] && [ -n "$ref" ] && [ "$(cat "$GEN/out")" = "$ref" ]; then ok "llama generate $flags under mpirun -np $n equals one rank (3 prompts, greedy)"
  else bad "llama generate $flags under mpirun -np $n" "$out$(printf '\n--- got:\n'; cat "$GEN/out"; printf '\n--- one rank:\n%s' "$ref")"; fi
done
rm -rf "$GEN"

echo "mpi tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
