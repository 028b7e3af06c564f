#!/usr/bin/env bash
# Tessera generation beside Hugging Face transformers on the same exported
# weights and prompts (interleaved per config). PEER_PYTHON names a Python
# with torch and transformers; ARCH=llama benchmarks the Llama model instead of
# GPT-2; extra arguments go to scripts/bench_generate.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PEER_PYTHON=${PEER_PYTHON:-python3}
BIN=.build/release/tessera
DIR=$(mktemp -d)/${ARCH:-gpt2}-bench
trap 'rm -rf "$(dirname "$DIR")"' EXIT
"$BIN" bench generate --arch "${ARCH:-gpt2}" --export-model "$DIR"
"$PEER_PYTHON" scripts/bench_generate.py --tessera "$BIN" --hf "$DIR" "$@"
