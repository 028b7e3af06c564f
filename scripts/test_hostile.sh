#!/usr/bin/env bash
# The hostile-input catalogue (issue 30): several hundred bad inputs and
# faults across every command and every file Tessera reads or writes. Each
# case either
#   - is refused: exit status non-zero (2 unless stated), within its time
#     limit, no signal, and exactly one line on stderr, "tessera: error: ...";
#     files that existed before are unchanged (SHA-256 before and after); or
#   - is accepted: exit 0, and again nothing that existed is lost.
# Prints one line per failing case, then the count of cases per kind and
# "hostile: N passed, N failed". TESSERA_BIN picks another build (e.g. to
# record what an older binary did); HOSTILE_ONLY=KIND runs one kind.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${TESSERA_BIN:-.build/release/tessera}")
[ -x "$BIN" ] || { echo "hostile: no binary at $BIN (make build first)"; exit 1; }
work=$(mktemp -d)
fifo_pid=""
cleanup() { chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$work"

passed=0; failed=0
declare -A kinds=() kind_failed=()
LIMIT=${HOSTILE_LIMIT:-60}   # seconds a case may take (the machine may be shared and slow)

want_kind() { [ -z "${HOSTILE_ONLY:-}" ] || [ "$HOSTILE_ONLY" = "$1" ]; }
count() {  # kind ok?
  kinds[$1]=$(( ${kinds[$1]:-0} + 1 ))
  if [ "$2" = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); kind_failed[$1]=$(( ${kind_failed[$1]:-0} + 1 )); fi
}
snapshot() {  # checksums of every file under the scratch directory (what must survive)
  find . -path ./out -prune -o -path ./err -prune -o \( -type f -o -type l \) -print0 2>/dev/null | sort -z \
    | xargs -0 -r sha256sum 2>/dev/null
}

# refuse KIND LABEL ARGS... — must exit non-zero (STATUS, default 2) with one line "tessera: error: ..." on
# stderr and leave every existing file as it was. EXPECT (optional) is a substring the line must hold.
refuse() {
  local kind=$1 label=$2; shift 2
  want_kind "$kind" || return 0
  local before; before=$(snapshot)
  timeout "$LIMIT" "$BIN" "$@" >out 2>err </dev/null
  local status=$? lines; lines=$(wc -l <err)
  local after; after=$(snapshot)
  local why=""
  if [ $status -eq 124 ]; then why="timed out after ${LIMIT}s"
  elif [ $status -eq 0 ]; then why="exit 0, expected a refusal"
  elif [ $status -ge 128 ]; then why="killed by signal $((status - 128))"
  elif [ $status -ne "${STATUS:-2}" ]; then why="exit $status, expected ${STATUS:-2}"
  elif [ "$lines" -ne 1 ]; then why="$lines lines on stderr, expected 1"
  elif ! head -1 err | grep -q '^tessera: error: '; then why="stderr is not 'tessera: error: ...'"
  elif [ -n "${EXPECT:-}" ] && ! grep -qF -- "$EXPECT" err; then why="message lacks '$EXPECT'"
  elif [ "$before" != "$after" ] && [ -z "${CHANGES_OK:-}" ]; then why="files changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -2 | tr '\n' ' ')"
  fi
  if [ -z "$why" ]; then count "$kind" 1; [ -n "${VERBOSE:-}" ] && echo "ok   [$kind] $label: $(head -c 200 err)"
  else count "$kind" 0; echo "FAIL [$kind] $label ($*): $why"; head -c 400 err | sed 's/^/     /'; echo; fi
  return 0
}

# accept KIND LABEL ARGS... — must exit 0 without losing an existing file (files may be added or replaced
# when CHANGES_OK is set). CHECK (optional) is a shell test run afterwards.
accept() {
  local kind=$1 label=$2; shift 2
  want_kind "$kind" || return 0
  local before; before=$(snapshot)
  timeout "$LIMIT" "$BIN" "$@" >out 2>err </dev/null
  local status=$?
  local after; after=$(snapshot)
  local why=""
  if [ $status -ne 0 ]; then why="exit $status"
  elif [ -n "${CHECK:-}" ] && ! eval "$CHECK"; then why="check failed: $CHECK"
  elif [ -z "${CHANGES_OK:-}" ] && [ -n "$(comm -23 <(echo "$before" | sort) <(echo "$after" | sort))" ]; then why="an existing file changed or vanished"
  fi
  if [ -z "$why" ]; then count "$kind" 1; else count "$kind" 0; echo "FAIL [$kind] $label ($*): $why"; head -c 400 err | sed 's/^/     /'; echo; fi
  return 0
}

TINY=(--layers 1 --d-model 32 --heads 2 --seq-len 16 --batch 4 --threads 1 --eval-every 0 --sample 0 --quiet)
MOE=(--experts 2 --top-k 1)

# ---- fixtures (made by Tessera itself) ----
printf 'the quick brown fox jumps over the lazy dog. %.0s' $(seq 1 400) >corpus.txt
"$BIN" train --steps 2 "${TINY[@]}" --checkpoint ck --metrics metrics.jsonl --trace trace.json >/dev/null 2>&1 \
  || { echo "hostile: cannot train the fixture model"; exit 1; }
"$BIN" tokenizer train --vocab 300 --data corpus.txt --out tok.json >/dev/null 2>&1 || echo "note: no tokenizer fixture"
mkdir -p adir ro_parent
echo "not tessera's" >foreign.txt
mkfifo fifo
# A device of our own (a copy of /dev/null's), so that a regression that writes over a device harms only the
# scratch directory, never the machine's /dev/null; skipped where this user may not create devices.
DEV=""; mknod devnull c 1 3 2>/dev/null && DEV=$work/devnull
touch afile
printf '\x00\x01\x02garbage\xff' >garbage.bin
echo '{"traceEvents": [' >truncated.json
echo '{}' >empty-object.json
echo '[]' >empty-list.json
: >empty.txt
ln -s ck ck-link
ln -s nowhere dangling
RO_DIR=""  # a read-only file system to write to, where this machine has one (/sys in most containers)
if touch /sys/.tessera-probe 2>&1 | grep -q "Read-only"; then RO_DIR=/sys; else rm -f /sys/.tessera-probe 2>/dev/null; fi

# ---- parser: argument-parser's own errors, in Tessera's one-line format ----
for sub in train verify generate export mesh schedule plan "check comm" info "trace summary" plot explain serve \
           "tokenizer train" "tokenizer encode" "tokenizer decode" "data prepare" "bench train" "bench parallel" \
           "bench pipeline" "bench activations" "bench comm" "bench profile" "bench generate" "bench trace" \
           "bench memory" "bench zero" "bench experts"; do
  # shellcheck disable=SC2086
  refuse parser "$sub: unknown flag" $sub --no-such-flag
done
refuse parser "unknown subcommand" frobnicate
refuse parser "unknown bench subcommand" bench frobnicate
refuse parser "plan --top without value" plan --model gpt2-124m --gpus 8 --top
refuse parser "plan --top -3" plan --model gpt2-124m --gpus 8 --top -3
refuse parser "plan --top x" plan --model gpt2-124m --gpus 8 --top x
refuse parser "plan --precision fp8" plan --model gpt2-124m --gpus 8 --precision fp8
refuse parser "plan --recompute most" plan --model gpt2-124m --gpus 8 --recompute most
refuse parser "generate --tokens x" generate --checkpoint ck --tokens x
refuse parser "generate --temperature x" generate --checkpoint ck --temperature x
refuse parser "info --threads x" info --threads x
refuse parser "explain --ranks x" explain tp --ranks x
refuse parser "explain without strategy" explain
refuse parser "serve --port x" serve --checkpoint ck --port x
refuse parser "check comm --ranks x" check comm --ranks x
refuse parser "check comm --backend carrier-pigeon" check comm --backend carrier-pigeon
refuse parser "check comm --fault x" check comm --fault x
refuse parser "schedule --cost-f x" schedule --pp 2 --cost-f x
refuse parser "bench profile without --out" bench profile
refuse parser "export without --hf" export --checkpoint ck
refuse parser "tokenizer train without --out" tokenizer train --vocab 300 --data corpus.txt
refuse parser "data prepare without --out" data prepare --tokenizer tok.json --data corpus.txt
refuse parser "mesh --ranks-per-node x" mesh --dp 2 --ranks-per-node x
refuse parser "plot without files" plot --svg p.svg
refuse parser "trace summary two files" trace summary trace.json trace.json

# ---- setting values: every numeric or choice key of train's table, bad values ----
mapfile -t rows < <("$BIN" train --help 2>/dev/null | grep -E '^\s+--[a-z0-9-]+ (VALUE|\| --no-)' )
for row in "${rows[@]}"; do
  key=$(sed -E 's/^ *--([a-z0-9-]+).*/\1/' <<<"$row")
  if grep -q -- "--no-$key" <<<"$row"; then
    refuse setting "--$key=maybe" train "--$key=maybe" --steps 1 "${TINY[@]}"
  elif grep -q 'an integer' <<<"$row"; then
    refuse setting "--$key abc" train "--$key" abc --steps 1 "${TINY[@]}"
    refuse setting "--$key -7" train "--$key=-7" --steps 1 "${TINY[@]}"
    refuse setting "--$key 2^70" train "--$key" 1180591620717411303424 --steps 1 "${TINY[@]}"
    refuse setting "--$key 1.5" train "--$key" 1.5 --steps 1 "${TINY[@]}"
  elif grep -qE 'number|seconds|GiB' <<<"$row"; then
    refuse setting "--$key abc" train "--$key" abc --steps 1 "${TINY[@]}"
    refuse setting "--$key nan" train "--$key" nan --steps 1 "${TINY[@]}"
    refuse setting "--$key inf" train "--$key" inf --steps 1 "${TINY[@]}"
    refuse setting "--$key -1" train "--$key=-1" --steps 1 "${TINY[@]}"
  elif grep -qE ' or ' <<<"$row" && ! grep -q 'path' <<<"$row"; then
    refuse setting "--$key bogus" train "--$key" bogus --steps 1 "${TINY[@]}"
  fi
done
refuse setting "a key given twice" train --steps 1 --steps 2 "${TINY[@]}"
refuse setting "a key without value" train "${TINY[@]}" --steps
refuse setting "a positional word" train stray "${TINY[@]}"
EXPECT="rounds to 1.0" refuse setting "--dropout 0.99999999 names float32 rounding" train --dropout 0.99999999 "${TINY[@]}"
for key in dp pp cp tp ep expert-tp micro-batches pp-chunks; do
  refuse setting "mesh --$key 0" mesh "--$key" 0
  refuse setting "mesh --$key x" mesh "--$key" x
done
refuse setting "mesh --order x" mesh --dp 2 --order x
refuse setting "mesh --order repeated" mesh --dp 2 --order dp,dp,cp,tp
refuse setting "verify --checkpoint" verify --checkpoint d "${TINY[@]}"
refuse setting "plan --activations x" plan --model gpt2-124m --gpus 8 --activations x
refuse setting "plan --backend x" plan --model gpt2-124m --gpus 8 --backend x
refuse setting "plan --gpu x" plan --model gpt2-124m --gpus 8 --gpu x
refuse setting "plan --model x" plan --model x --gpus 8
refuse setting "plan --layout x" plan --model gpt2-124m --layout x
refuse setting "plan --layout bad key" plan --model gpt2-124m --layout "dp=2,xx=3"
refuse setting "plan --gpu-memory -1" plan --model gpt2-124m --gpus 8 --gpu-memory -1 --gpu-tflops 10
refuse setting "plan --gpu-tflops nan" plan --model gpt2-124m --gpus 8 --gpu-memory 80 --gpu-tflops nan
EXPECT="gpu-memory must be a number in" refuse size "plan --gpu-memory 1e300" plan --model llama2-70b --gpus 64 --gpu a100-80 --gpu-memory 1e300
EXPECT="gpu-tflops must be a number in" refuse size "plan --gpu-tflops 1e-300" plan --model llama2-70b --gpus 8 --gpu a100-80 --gpu-tflops 1e-300
EXPECT="inter-node-gbps must be a number in" refuse size "plan --inter-node-gbps 1e30" plan --model llama2-70b --gpus 8 --gpu a100-80 --inter-node-gbps 1e30
EXPECT="d-model must be in 1...1048576" refuse size "plan a preset at --d-model 2^62 (its ffn scaled first)" plan --model llama2-70b --gpus 8 --gpu a100-80 --d-model 4611686018427387904
EXPECT="d-model must be in 1...1048576" refuse size "plan a shape at --d-model 2^62" plan --gpu a100-80 --gpus 8 --layers 2 --d-model 4611686018427387904 --heads 1 --vocab 5 --seq-len 5
EXPECT="heads must be in" refuse size "plan --heads 0" plan --model llama2-70b --gpus 8 --gpu a100-80 --heads 0
refuse setting "generate --temperature -1" generate --checkpoint ck --temperature -1
refuse setting "generate --top-p 2" generate --checkpoint ck --top-p 2
refuse setting "generate --tokens 0" generate --checkpoint ck --tokens 0
refuse setting "generate --batch 0" generate --checkpoint ck --batch 0
refuse setting "generate --tp 3" generate --checkpoint ck --tp 3
refuse setting "explain unknown strategy" explain nonsense
refuse setting "explain --ranks 3" explain tp --ranks 3
refuse setting "info --threads 0" info --threads 0
refuse setting "serve --port 70000" serve --checkpoint ck --port 70000
refuse setting "serve --max-seqs 0" serve --checkpoint ck --max-seqs 0
refuse setting "tokenizer train --vocab 10" tokenizer train --vocab 10 --data corpus.txt --out t2.json
refuse setting "tokenizer train --pattern x" tokenizer train --vocab 300 --data corpus.txt --out t2.json --pattern x
refuse setting "data prepare --validation 2" data prepare --tokenizer tok.json --data corpus.txt --out prep2 --validation 2
refuse setting "data prepare --documents x" data prepare --tokenizer tok.json --data corpus.txt --out prep2 --documents x
refuse setting "bench parallel --layouts ''" bench parallel --layouts ""
refuse setting "bench parallel --layouts ','" bench parallel --layouts ","
refuse setting "bench parallel --layouts bogus" bench parallel --layouts bogus
refuse setting "bench pipeline --schedules ''" bench pipeline --pp 2 --schedules ""
refuse setting "bench comm --ops x" bench comm --ops x

# ---- meaningless: a setting that the rest of the configuration makes meaningless is refused ----
EXPECT="--checkpoint" refuse meaningless "--checkpoint-every without --checkpoint" train --checkpoint-every 5 --steps 1 "${TINY[@]}"
EXPECT="--checkpoint" refuse meaningless "--overwrite without --checkpoint" train --overwrite --steps 1 "${TINY[@]}"
for key in top-k aux-loss-coeff z-loss-coeff; do
  EXPECT="--experts" refuse meaningless "--$key without experts" train "--$key" 1 --steps 1 "${TINY[@]}"
done
EXPECT="--experts" refuse meaningless "--moe-stats without experts" train --moe-stats s.csv --steps 1 "${TINY[@]}"
for key in capacity-factor moe-every expert-hidden; do
  refuse meaningless "--$key without experts" train "--$key" 2 --steps 1 "${TINY[@]}"
done
EXPECT="--cp" refuse meaningless "--cp-mode without cp" train --cp-mode ulysses --steps 1 "${TINY[@]}"
refuse meaningless "--sp without tp" train --sp --steps 1 "${TINY[@]}"
refuse meaningless "--schedule without pp" train --schedule zb-h1 --steps 1 "${TINY[@]}"
EXPECT="--experts" refuse meaningless "--ep without experts" train --ep 2 --dp 2 --steps 1 "${TINY[@]}"
printf 'checkpoint-every = 3\n' >meaningless.toml
EXPECT="line 1" refuse meaningless "checkpoint-every in a config file" train --config meaningless.toml --steps 1 "${TINY[@]}"
printf '{"train": {"checkpoint-every": 3}}\n' >meaningless.json
refuse meaningless "checkpoint-every in a JSON config" train --config meaningless.json --steps 1 "${TINY[@]}"
EXPECT="same file" refuse meaningless "--trace and --metrics one file" train --trace same.json --metrics same.json --steps 1 "${TINY[@]}"
EXPECT="same file" refuse meaningless "--trace and --moe-stats one file" train "${MOE[@]}" --trace same.csv --moe-stats same.csv --steps 1 "${TINY[@]}"
refuse meaningless "--metrics inside the checkpoint" train --checkpoint fresh-ck --metrics fresh-ck/m.jsonl --steps 1 "${TINY[@]}"
refuse meaningless "--from-trace with layout flags" schedule --from-trace trace.json --pp 4
refuse meaningless "--init-from and --resume" train --init-from ck --resume ck --steps 3 "${TINY[@]}"

# ---- sizes: bounded before any work, in 64-bit arithmetic ----
refuse size "--experts 4096 --top-k 4096 on a tiny model" train --experts 4096 --top-k 4096 --steps 1 "${TINY[@]}"
refuse size "--experts 5000" train --experts 5000 --steps 1 "${TINY[@]}"
refuse size "--layers 10000000" train --layers 10000000 --steps 1
refuse size "--d-model 2^21" train --d-model 2097152 --steps 1
refuse size "--vocab 2^32" train --vocab 4294967296 --steps 1
refuse size "--seq-len 2^40" train --seq-len 1099511627776 --steps 1
refuse size "--batch 2^40" train --batch 1099511627776 --steps 1
refuse size "--micro-batches 2^30" train --micro-batches 1073741824 --steps 1 "${TINY[@]}"
refuse size "a model beyond memory" train --layers 4096 --d-model 8192 --heads 64 --steps 1
refuse size "plan --layers 10000000" plan --model gpt2-124m --gpus 8 --layers 10000000
refuse size "plan --layers 2^32+1" plan --layers 4294967297 --d-model 64 --heads 2 --vocab 256 --seq-len 16 --gpus 1
refuse size "plan --vocab 2^32+256" plan --layers 1 --d-model 64 --heads 2 --vocab 4294967552 --seq-len 16 --gpus 1
refuse size "plan --seq-len 2^32" plan --layers 1 --d-model 64 --heads 2 --vocab 256 --seq-len 4294967296 --gpus 1
refuse size "plan --d-model 2^40" plan --layers 1 --d-model 1099511627776 --heads 2 --vocab 256 --seq-len 16 --gpus 1
refuse size "plan --experts 2^20" plan --model gpt2-124m --gpus 8 --experts 1048576 --top-k 2
refuse size "plan --gpus 0" plan --model gpt2-124m --gpus 0
refuse size "plan --gpus 2^20" plan --model gpt2-124m --gpus 1048576
refuse size "plan --global-batch 0" plan --model gpt2-124m --gpus 8 --global-batch 0
refuse size "plan --global-batch 2^62" plan --model gpt2-124m --gpus 8 --global-batch 4611686018427387904
refuse size "plan --micro-batch 0" plan --model gpt2-124m --gpus 8 --micro-batch 0
refuse size "plan --gpus-per-node 0" plan --model gpt2-124m --gpus 8 --gpus-per-node 0
refuse size "mesh --dp 65536" mesh --dp 65536
refuse size "mesh --dp 65537" mesh --dp 65537
refuse size "mesh --dp 2^32 --tp 2^32" mesh --dp 4294967296 --tp 4294967296
refuse size "check comm --ranks 0" check comm --ranks 0
refuse size "check comm --ranks 65537" check comm --ranks 65537
refuse size "train --dp 100000" train --dp 100000 --steps 1 "${TINY[@]}"
for cost in 1e308 1e-30 1e20 1e7 0 -1 nan inf -inf 1e-300; do
  refuse size "schedule --cost-f $cost" schedule --pp 4 --cost-f "$cost"
  refuse size "schedule --cost-w $cost" schedule --pp 4 --schedule zb-h1 --cost-w "$cost"
done
accept size "schedule --cost-f 1e6 draws a bounded timeline" schedule --pp 4 --cost-f 1e6
CHECK='[ $(wc -c <out) -lt 20000 ]' accept size "schedule --cost-f 1e6 prints under 20 kB" schedule --pp 4 --cost-f 1e6
refuse size "schedule --pp 65536 --micro-batches 65536" schedule --pp 65536 --micro-batches 65536
refuse size "schedule --pp-chunks 2000" schedule --pp 2 --pp-chunks 2000 --schedule interleaved
refuse size "generate --tokens 2^40" generate --checkpoint ck --tokens 1099511627776
refuse size "generate --batch 2^30" generate --checkpoint ck --batch 1073741824
refuse size "serve --kv-blocks 2^40" serve --checkpoint ck --kv-blocks 1099511627776
refuse size "tokenizer train --vocab 2^40" tokenizer train --vocab 1099511627776 --data corpus.txt --out t3.json
refuse size "bench train --steps 0" bench train --steps 0

# ---- output paths: checked before any work, one line naming the path and the cause ----
out_flags=(
  "train --steps 1 ${TINY[*]} --trace"
  "train --steps 1 ${TINY[*]} --metrics"
  "train --steps 1 ${TINY[*]} ${MOE[*]} --moe-stats"
  "plot metrics.jsonl --svg"
  "schedule --pp 2 --svg"
  "generate --checkpoint ck --tokens 2 --logits"
  "bench profile --out"
  "tokenizer train --vocab 300 --data corpus.txt --out"
)
for cmd in "${out_flags[@]}"; do
  name=$(awk '{print $1}' <<<"$cmd")
  # shellcheck disable=SC2086
  {
    refuse output "$name: a directory" $cmd adir
    refuse output "$name: a FIFO" $cmd fifo
    [ -n "$DEV" ] && refuse output "$name: a device" $cmd "$DEV"
    refuse output "$name: missing directory" $cmd missing/x.out
    refuse output "$name: a file as directory" $cmd afile/x.out
    refuse output "$name: empty path" $cmd ""
    refuse output "$name: a trailing slash" $cmd newdir/
    refuse output "$name: someone else's file" $cmd foreign.txt
    refuse output "$name: a dangling link" $cmd dangling
    EXPECT="takes no new files" refuse output "$name: under /proc" $cmd /proc/tessera-x.svg  # .svg: plot takes no other name
    [ -n "$RO_DIR" ] && refuse output "$name: a read-only file system" $cmd "$RO_DIR/tessera-x"
  }
done
for bad in afile/ afile fifo ${DEV:+"$DEV"} missing/deeper/ck "" /proc/tessera-ck; do
  refuse output "train --checkpoint '$bad'" train --steps 1 "${TINY[@]}" --checkpoint "$bad"
done
mkdir -p adir-foreign && touch adir-foreign/x
refuse output "train --checkpoint a foreign directory" train --steps 1 "${TINY[@]}" --checkpoint adir-foreign
for bad in afile fifo ${DEV:+"$DEV"} adir-foreign afile/x /proc/tessera-hf; do
  refuse output "export --hf '$bad'" export --checkpoint ck --hf "$bad"
done
EXPECT="takes no new files" refuse output "export --hf under /proc names why" export --checkpoint ck --hf /proc/tessera-hf
mkdir -p prep-foreign && touch prep-foreign/keep.txt
for bad in afile fifo ${DEV:+"$DEV"} prep-foreign afile/x /proc/tessera-prep; do
  refuse output "data prepare --out '$bad'" data prepare --tokenizer tok.json --data corpus.txt --out "$bad"
done
[ -n "$RO_DIR" ] && refuse output "export --hf on a read-only file system" export --checkpoint ck --hf "$RO_DIR/tessera-hf"

# ---- input files: validated, one line naming the file ----
printf 'layers = \n' >bad-syntax.toml
printf '[nonsense]\nlayers = 1\n' >bad-section.toml
printf 'layers = "many"\n' >bad-type.toml
printf 'layers = 1\nlayers = 2\n' >dup.toml
printf 'model = { layers = "x" }\n' >inline.toml
printf '{"layers": 1, "layers": 2}\n' >dup.json
printf '{"layers": [1, "x"]}\n' >mixed.json
printf '{"a": {"b": {"c": 1}}}\n' >deep.json
for cfg in missing.toml adir fifo garbage.bin empty-list.json truncated.json bad-syntax.toml bad-section.toml \
           bad-type.toml dup.toml dup.json mixed.json deep.json; do
  refuse input "train --config $cfg" train --config "$cfg" --steps 1 "${TINY[@]}"
done
EXPECT="model.layers" refuse input "a TOML error without a line names the key" train --config inline.toml --steps 1
for f in missing.json adir fifo garbage.bin empty.txt empty-list.json truncated.json empty-object.json metrics.jsonl; do
  refuse input "trace summary $f" trace summary "$f"
  refuse input "schedule --from-trace $f" schedule --from-trace "$f"
done
python3 - <<'EOF' 2>/dev/null || cp trace.json absurd-trace.json
import json
t = json.load(open("trace.json"))
for e in t["traceEvents"]:
    if "ts" in e: e["ts"] = e["ts"] * 1e15
    if "dur" in e: e["dur"] = 1e300
json.dump(t, open("absurd-trace.json", "w"))
t = json.load(open("trace.json"))
for e in t["traceEvents"]:
    if "dur" in e: e["dur"] = -5
json.dump(t, open("negative-trace.json", "w"))
EOF
for f in absurd-trace.json negative-trace.json; do
  refuse input "trace summary $f" trace summary "$f"
  refuse input "schedule --from-trace $f" schedule --from-trace "$f"
done
accept input "trace summary of a real trace" trace summary trace.json
head -c 100 metrics.jsonl >truncated.jsonl
sed 's/"loss":[0-9.e+-]*/"loss":"high"/' metrics.jsonl >wrongtype.jsonl
sed 's/"step":[0-9]*/"step":-4/' metrics.jsonl >negstep.jsonl
for f in missing.jsonl adir fifo garbage.bin empty.txt truncated.jsonl wrongtype.jsonl negstep.jsonl trace.json; do
  refuse input "plot $f" plot "$f" --svg p.svg
done
accept input "plot a real metrics log" plot metrics.jsonl --svg p.svg
CHANGES_OK=1 accept input "plot replaces its own picture" plot metrics.jsonl --svg p.svg
echo '{"machine": "x", "cores": -2}' >bad-profile.json
echo '{"machine":"x","cores":2,"memoryBytes":1e9,"matmul":{},"memoryBandwidth":-1,"collectives":{}}' >neg-profile.json
for f in missing.json adir fifo garbage.bin empty-object.json bad-profile.json neg-profile.json trace.json; do
  refuse input "plan --hardware $f" plan --model tessera-bench --hardware "$f" --global-batch 16 --layout dp=2
done
for f in missing-ck adir afile garbage.bin fifo; do
  refuse input "generate --checkpoint $f" generate --checkpoint "$f" --tokens 2
  refuse input "export --checkpoint $f" export --checkpoint "$f" --hf hf-$RANDOM
  refuse input "train --resume $f" train --resume "$f" --steps 5
  refuse input "train --init-from $f" train --init-from "$f" --steps 1 --checkpoint new-$RANDOM
done
for f in missing.json adir garbage.bin empty-object.json trace.json fifo; do
  refuse input "tokenizer encode --tokenizer $f" tokenizer encode --tokenizer "$f" corpus.txt
  refuse input "train --tokenizer $f" train --tokenizer "$f" --data corpus.txt --steps 1 "${TINY[@]}"
  refuse input "data prepare --tokenizer $f" data prepare --tokenizer "$f" --data corpus.txt --out prep-$RANDOM
done
for f in missing.txt adir-empty fifo; do
  mkdir -p adir-empty
  refuse input "train --data $f" train --data "$f" --steps 1 "${TINY[@]}"
  refuse input "tokenizer train --data $f" tokenizer train --vocab 300 --data "$f" --out t4.json
done
if "$BIN" data prepare --tokenizer tok.json --data corpus.txt --out prep >/dev/null 2>&1; then
  accept input "train on a prepared directory" train --data prep --steps 1 "${TINY[@]}"
  for edit in index-garbage index-empty index-truncated shard-flip shard-missing; do
    rm -rf "p-$edit"; cp -r prep "p-$edit"
    index=$(ls "p-$edit"/*.json | grep -v tokenizer | head -1)
    shard=$(ls "p-$edit" | grep -v '\.json$' | head -1)
    case $edit in
      index-garbage) printf 'garbage' >"$index" ;;
      index-empty) : >"$index" ;;
      index-truncated) head -c 50 "$index" >"$index.t" && mv "$index.t" "$index" ;;
      shard-flip) printf '\xff' | dd of="p-$edit/$shard" bs=1 seek=40 conv=notrunc 2>/dev/null ;;
      shard-missing) rm -f "p-$edit/$shard" ;;
    esac
    refuse input "train --data with $edit" train --data "p-$edit" --steps 1 "${TINY[@]}"
  done
fi
printf '1 2 x 4\n' >bad-ids.txt
printf '1 2 99999999 4\n' >big-ids.txt
refuse input "tokenizer decode non-numbers" tokenizer decode --tokenizer tok.json bad-ids.txt
refuse input "tokenizer decode ids beyond the vocabulary" tokenizer decode --tokenizer tok.json big-ids.txt
refuse input "tokenizer encode a missing file" tokenizer encode --tokenizer tok.json missing.txt
refuse input "tokenizer encode a directory" tokenizer encode --tokenizer tok.json adir

# ---- accepted: escapes decoded, symbolic links followed, Tessera's own outputs replaced ----
printf '{"\\u0064p": 2, "t\\u0070": 1}\n' >escaped.json
CHECK='grep -q "dp=2" out' accept accepted "a \\u escape in a JSON key is decoded" mesh --config escaped.json
printf '"\\u0064p" = 2\n' >escaped.toml
CHECK='grep -q "dp=2" out' accept accepted "a \\u escape in a TOML key is decoded" mesh --config escaped.toml
CHANGES_OK=1 accept accepted "train replaces its own trace and metrics" train --steps 1 "${TINY[@]}" --trace trace.json --metrics metrics.jsonl
CHANGES_OK=1 accept accepted "schedule replaces its own SVG" schedule --pp 2 --svg s.svg
CHANGES_OK=1 accept accepted "schedule replaces its own SVG again" schedule --pp 2 --svg s.svg
CHANGES_OK=1 accept accepted "export to a new directory" export --checkpoint ck --hf hf
CHANGES_OK=1 accept accepted "export over its own export" export --checkpoint ck --hf hf
CHECK='[ ! -e hf/.config.json.tessera-tmp-* ]' CHANGES_OK=1 accept accepted "no temporary left by an export" export --checkpoint ck --hf hf

# ---- checkpoints and exports: never replaced without being asked, never half-written ----
EXPECT="--overwrite" refuse checkpoint "a fresh run into an existing checkpoint" train --steps 1 "${TINY[@]}" --checkpoint ck
EXPECT="--overwrite" refuse checkpoint "a fresh run of another model into an existing checkpoint" train --steps 1 --layers 2 --d-model 16 --heads 2 --seq-len 8 --batch 2 --sample 0 --checkpoint ck
refuse checkpoint "--init-from X --checkpoint X" train --init-from ck --checkpoint ck --steps 1 "${TINY[@]}"
refuse checkpoint "--init-from X --checkpoint X/ (trailing slash)" train --init-from ck --checkpoint ck/ --steps 1 "${TINY[@]}"
refuse checkpoint "--init-from link --checkpoint its target" train --init-from ck-link --checkpoint ck --steps 1 "${TINY[@]}"
refuse checkpoint "a fresh run into a link to a checkpoint" train --steps 1 "${TINY[@]}" --checkpoint ck-link
cp -r ck ck2
CHANGES_OK=1 CHECK='[ -d ck2 ]' accept checkpoint "--overwrite replaces the checkpoint" train --steps 1 "${TINY[@]}" --checkpoint ck2 --overwrite
ln -s ck2 ck2-link
CHANGES_OK=1 CHECK='[ -L ck2-link ] && [ -d ck2 ] && grep -q "\"step\" *: *3" ck2/tessera-checkpoint.json' \
  accept checkpoint "a resumed run through a link saves into the target, the link kept" train --resume ck2-link --steps 3 --quiet
sums=$(cd hf && sha256sum ./*)
TESSERA_FAULT=full-disk:model.safetensors STATUS=2 refuse checkpoint "export over an export on a full disk keeps the old one" \
  export --checkpoint ck2 --hf hf
if [ "$sums" = "$(cd hf && sha256sum ./*)" ]; then count checkpoint 1; else count checkpoint 0; echo "FAIL [checkpoint] the earlier export changed on a full disk"; fi
TESSERA_FAULT=full-disk:trace.json STATUS=2 refuse checkpoint "a trace on a full disk keeps the earlier trace" \
  train --steps 1 "${TINY[@]}" --trace trace.json

msum=$(sha256sum metrics.jsonl)
CHECK='grep -q "metrics stop here" err && [ -z "$(ls -A . | grep tessera-tmp)" ]' \
  TESSERA_FAULT=full-disk:metrics.jsonl accept checkpoint "metrics on a full disk: training goes on, the earlier log kept" \
  train --steps 2 "${TINY[@]}" --metrics metrics.jsonl
if [ "$msum" = "$(sha256sum metrics.jsonl)" ]; then count checkpoint 1; else count checkpoint 0; echo "FAIL [checkpoint] the earlier metrics log changed on a full disk"; fi
# ---- exit codes of a failed rank: 4 on threads, as the README says ----
TESSERA_FAULT=rank-error:1:1 STATUS=4 EXPECT="rank 1 failed" refuse exit-code "a failed thread rank exits 4" \
  train --dp 2 --steps 3 "${TINY[@]}" --timeout 30

# ---- logs: progress lines carry no carriage returns or escape codes when not on a terminal ----
CHECK='! grep -q $'"'"'\r\|\x1b'"'"' out' accept logs "train into a pipe writes plain lines" train --steps 3 --log-every 1 \
  --layers 1 --d-model 32 --heads 2 --seq-len 16 --batch 4 --threads 1 --eval-every 0 --sample 0
CHECK='! grep -q $'"'"'\r\|\x1b'"'"' err' accept logs "tokenizer train into a pipe writes plain lines" tokenizer train \
  --vocab 300 --data corpus.txt --out tok-logs.json

echo "cases by kind:"
for k in parser setting meaningless size output input accepted checkpoint exit-code logs; do
  [ -n "${kinds[$k]:-}" ] && printf '  %-12s %4d cases, %d failed\n' "$k" "${kinds[$k]}" "${kind_failed[$k]:-0}"
done
echo "hostile: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
