#!/usr/bin/env bash
# tessera serve under a bounded load (scripts/bench_serve.py: fixed request
# count, concurrency 1/8/32/64, lengths from a fixed seed): output tokens/s,
# time to first token and inter-token latency percentiles. The model is the
# generation benchmark's (`tessera bench generate --export-model`, a GPT-2
# export). PEER_URL=http://host:port adds an OpenAI-compatible peer serving
# the same export, measured alternately level by level in the same run.
# Extra arguments go to bench_serve.py. Loopback only; the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/tessera
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill -TERM "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
"$BIN" bench generate --export-model "$work/gpt2-bench" >/dev/null
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
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); flags: $(grep -o -w -m1 'avx512_bf16\|avx512f\|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
python3 scripts/bench_serve.py "${servers[@]}" "$@"
