#!/usr/bin/env bash
# tessera serve under a bounded load (scripts/bench_serve.py: fixed request
# count, concurrency 1/8/32/64, lengths from a fixed seed): output tokens/s,
# time to first token and inter-token latency percentiles. The model is the
# generation benchmark's (`tessera bench generate --export-model`, a GPT-2
# export), or MODEL=DIR (a checkpoint, exported the same way).
# PEER_URL=http://host:port adds an OpenAI-compatible peer serving the same
# export, measured alternately level by level in the same run.
# PEER=transformers starts that peer here: `transformers serve` (FastAPI and
# uvicorn, continuous batching with paged attention: --continuous-batching)
# on a copy of the same export, with a byte tokenizer.json written by
# scripts/peers/byte_tokenizer.py (ids = bytes, as Tessera's byte model).
# Its KV cache is Tessera's default pool for this model (5120 blocks of 16 positions,
# PEER_BLOCKS to change; left to itself it takes half the machine's memory)
# and a step holds at most 512 tokens as Tessera's --step-tokens;
# PEER_THREADS sets its torch threads (default 2). Needs ${PYTHON:-python3}
# with transformers, accelerate, fastapi and uvicorn; skipped with a line when absent.
# Extra arguments go to bench_serve.py. Loopback only; the servers are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TESSERA_BIN:-.build/release/tessera}
work=$(mktemp -d)
server=""
peer=""
PY=${PYTHON:-python3}
trap '[ -n "$server" ] && kill -TERM "$server" 2>/dev/null; [ -n "$peer" ] && kill -TERM "$peer" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
# MODEL=DIR serves that checkpoint (exported for both servers) instead of the benchmark's untrained
# model, whose greedy bytes are often invalid UTF-8 that a peer streams as nothing until they form text.
if [ -n "${MODEL:-}" ]; then
  "$BIN" export --checkpoint "$MODEL" --hf "$work/gpt2-bench" >/dev/null
else
  "$BIN" bench generate --export-model "$work/gpt2-bench" >/dev/null
fi
"$BIN" serve --checkpoint "$work/gpt2-bench" --port 0 --model-name bench ${SERVE_FLAGS:-} >"$work/log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$work/log" 2>/dev/null | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/log"; exit 1; }
servers=(--server "tessera=http://127.0.0.1:$port")
[ -n "${PEER_URL:-}" ] && servers+=(--server "peer=$PEER_URL")
if [ "${PEER:-}" = transformers ]; then
  if ! "$PY" -c "import transformers, accelerate, fastapi, uvicorn" 2>/dev/null; then
    echo "bench_serve: peer skipped: $PY lacks transformers, accelerate, fastapi or uvicorn (pip install transformers accelerate fastapi uvicorn)"
  else
    cp -r "$work/gpt2-bench" "$work/peer-model"
    "$PY" scripts/peers/byte_tokenizer.py "$work/peer-model"
    peer_port=$("$PY" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
    OMP_NUM_THREADS=${PEER_THREADS:-2} "$PY" -c "import sys; from transformers.cli.transformers import main; sys.argv[0] = 'transformers'; sys.exit(main())" \
      serve "$work/peer-model" --continuous-batching --cb-block-size 16 --cb-num-blocks "${PEER_BLOCKS:-5120}" \
      --cb-max-batch-tokens 512 --device cpu --dtype float32 --host 127.0.0.1 --port "$peer_port" \
      --log-level warning >"$work/peer.log" 2>&1 &
    peer=$!
    for _ in $(seq 1 600); do
      "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$peer_port/health', timeout=1)" 2>/dev/null && break
      kill -0 "$peer" 2>/dev/null || { cat "$work/peer.log"; exit 1; }
      sleep 0.5
    done
    servers+=(--server "transformers=http://127.0.0.1:$peer_port")
    echo "peer: transformers $("$PY" -c 'import transformers; print(transformers.__version__)') serve --continuous-batching, torch threads ${PEER_THREADS:-2}"
  fi
fi
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); flags: $(grep -o -w -m1 'avx512_bf16\|avx512f\|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
python3 scripts/bench_serve.py "${servers[@]}" "$@"
