#!/usr/bin/env bash
# Tessera generation beside Hugging Face transformers on the same exported
# weights and prompts (interleaved per config). PEER_PYTHON names a Python
# with torch and transformers; extra arguments go to scripts/bench_generate.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PEER_PYTHON=${PEER_PYTHON:-python3}
BIN=.build/release/tessera
DIR=$(mktemp -d)/gpt2-bench
trap 'rm -rf "$(dirname "$DIR")"' EXIT
"$BIN" bench generate --export-model "$DIR"
"$PEER_PYTHON" scripts/bench_generate.py --tessera "$BIN" --hf "$DIR" "$@"
