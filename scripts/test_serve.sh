#!/usr/bin/env bash
# tessera serve end to end: trains a tiny model for a few steps, starts the
# server on a free loopback port, drives it with curl (completions, chat,
# streaming, errors, metrics, a client that goes away) and with the official
# `openai` Python package (pip-installed if missing; a clear SKIP line if that
# fails), then SIGTERMs it mid-request: the request finishes and the server
# exits 0. On every exit path the server this script started is stopped and
# its files removed. Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/tessera
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -TERM "$server"; sleep 1; kill -KILL "$server" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
passed=0; failed=0
ok()  { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; echo "$2" | sed 's/^/     /' | head -20; failed=$((failed + 1)); }
finish() { echo "serve: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

# A tiny byte-level model (context 1024) trained for a few steps on the built-in corpus.
if ! out=$("$BIN" train --layers 2 --d-model 64 --heads 4 --seq-len 1024 --batch 2 --steps 2 --sample 0 \
           --checkpoint "$work/model" 2>&1); then bad "train a tiny model" "$out"; finish; fi

wait_port() {  # tenths of a second to wait; sets $port and $base from the server's "listening on" line in $work/log
  port=""
  for _ in $(seq 1 "$1"); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$work/log" 2>/dev/null | grep -o '[0-9]*$')
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  base="http://127.0.0.1:$port"
  [ -n "$port" ]
}

start() {  # extra flags; sets $server and $base
  "$BIN" serve --checkpoint "$work/model" --port 0 --model-name tiny "$@" >"$work/log" 2>&1 &
  server=$!
  wait_port 300
}
if start; then ok "server listens on a free port ($(grep -o 'http://[0-9.:]*' "$work/log"))"
else bad "server start" "$(cat "$work/log")"; finish; fi

post() { curl -s -o "$work/body" -w '%{http_code}' -H 'Content-Type: application/json' "$base$1" -d "$2"; }
field() { python3 -c "import json,sys; d=json.load(open('$work/body')); print($1)" 2>/dev/null; }

[ "$(curl -s "$base/health")" = '{"status":"ok"}' ] && ok "GET /health" || bad "GET /health" "$(curl -s "$base/health")"
code=$(curl -s -o "$work/body" -w '%{http_code}' "$base/v1/models")
[ "$code" = 200 ] && [ "$(field "d['data'][0]['id']")" = tiny ] && ok "GET /v1/models names the model" || bad "GET /v1/models" "$(cat "$work/body")"

code=$(post /v1/completions '{"model": "tiny", "prompt": "The cat", "max_tokens": 12, "temperature": 0}')
greedy=$(field "d['choices'][0]['text']")
if [ "$code" = 200 ] && [ "$(field "d['usage']['completion_tokens']")" = 12 ]; then ok "completion: 12 bytes, finish_reason $(field "d['choices'][0]['finish_reason']")"
else bad "completion ($code)" "$(cat "$work/body")"; fi
code=$(post /v1/completions '{"model": "tiny", "prompt": "The cat", "max_tokens": 12, "temperature": 0}')
[ "$(field "d['choices'][0]['text']")" = "$greedy" ] && ok "greedy completion repeats exactly" || bad "greedy repeat" "$(cat "$work/body")"

curl -sN -H 'Content-Type: application/json' "$base/v1/completions" \
  -d '{"prompt": "The cat", "max_tokens": 12, "temperature": 0, "stream": true}' >"$work/stream"
streamed=$(python3 -c "
import json
text = ''
for line in open('$work/stream').read().split('\n\n'):
    if line.startswith('data: ') and line != 'data: [DONE]': text += json.loads(line[6:])['choices'][0]['text']
print(text)")
if [ "$(tail -c 15 "$work/stream" | tr -d '\n')" = "data: [DONE]" ] && [ "$streamed" = "$greedy" ]; then
  ok "streamed completion: $(grep -c '^data: {' "$work/stream") chunks add up to the same text, then [DONE]"
else bad "stream" "$(head -c 600 "$work/stream")"; fi

code=$(post /v1/chat/completions '{"model": "tiny", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8}')
[ "$code" = 200 ] && [ "$(field "d['object']")" = chat.completion ] && ok "chat completion" || bad "chat ($code)" "$(cat "$work/body")"

expect_error() {  # status, param, description, json
  code=$(post /v1/completions "$4")
  if [ "$code" = "$1" ] && [ "$(field "d['error']['param']")" = "$2" ]; then ok "$3 -> $code: $(field "d['error']['message']" | cut -c1-80)"
  else bad "$3 (got $code)" "$(cat "$work/body")"; fi
}
expect_error 400 None "malformed JSON" '{"prompt": '
expect_error 404 model "unknown model" '{"model": "gpt-4", "prompt": "hi"}'
expect_error 400 max_tokens "negative max_tokens" '{"prompt": "hi", "max_tokens": -1}'
expect_error 400 max_tokens "max_tokens past the context" '{"prompt": "hi", "max_tokens": 100000}'
expect_error 400 temperature "temperature < 0" '{"prompt": "hi", "temperature": -1}'
expect_error 400 n "n too large" '{"prompt": "hi", "n": 1000}'
long=$(python3 -c "print('a' * 1100)")
expect_error 400 prompt "prompt longer than the context" "{\"prompt\": \"$long\"}"
big=$(python3 -c "print('{\"prompt\": \"' + 'a' * 2000000 + '\"}')")
code=$(printf '%s' "$big" | curl -s -o "$work/body" -w '%{http_code}' -H 'Content-Type: application/json' "$base/v1/completions" --data-binary @-)
[ "$code" = 413 ] && ok "body over the limit -> 413" || bad "oversized body (got $code)" "$(head -c 300 "$work/body")"

# A streaming client that goes away: its sequence is cancelled and its blocks freed.
before=$(curl -s "$base/metrics" | awk '/^tessera_generation_tokens_total/ {print $2}')
curl -sN --max-time 0.3 -H 'Content-Type: application/json' "$base/v1/completions" \
  -d '{"prompt": "The", "max_tokens": 1000, "n": 16, "temperature": 0.8, "stream": true}' >/dev/null 2>&1
sleep 0.5
m=$(curl -s "$base/metrics")
after=$(awk '/^tessera_generation_tokens_total/ {print $2}' <<<"$m")
if grep -q '^tessera_running_sequences 0' <<<"$m" && grep -q '^tessera_kv_blocks_used 0' <<<"$m" \
   && python3 -c "import sys; sys.exit(0 if float('$after') - float('${before:-0}') < 16000 else 1)"; then
  ok "a client that disconnects is cancelled: $(python3 -c "print(int(float('$after') - float('${before:-0}')))") of 16 x 1000 bytes made, no sequence or block left"
else bad "disconnect cancels" "$(grep -E '^tessera_(running|kv_blocks_used|generation)' <<<"$m") before=$before"; fi
grep -q '^tessera_time_to_first_token_seconds_bucket' <<<"$m" && grep -q '^tessera_waiting_sequences' <<<"$m" \
  && ok "GET /metrics: Prometheus text with TTFT/ITL histograms and queue gauges" || bad "metrics" "$m"

# The official openai client.
if python3 -c "import openai" 2>/dev/null || pip install -q openai >/dev/null 2>&1; then
  if out=$(python3 - "$base" "$greedy" <<'PY' 2>&1
import sys, openai
base, greedy = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base + "/v1", api_key="unused")
assert [m.id for m in client.models.list()] == ["tiny"]
c = client.completions.create(model="tiny", prompt="The cat", max_tokens=12, temperature=0)
assert c.choices[0].text == greedy, (c.choices[0].text, greedy)
s = "".join(chunk.choices[0].text for chunk in client.completions.create(model="tiny", prompt="The cat", max_tokens=12,
                                                                          temperature=0, stream=True))
assert s == greedy, (s, greedy)
chat = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}], max_tokens=8, seed=5)
again = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}], max_tokens=8, seed=5)
assert chat.choices[0].message.content == again.choices[0].message.content and chat.usage.completion_tokens <= 8
parts = [c.choices[0].delta.content or "" for c in client.chat.completions.create(
    model="tiny", messages=[{"role": "user", "content": "Hi"}], max_tokens=8, seed=5, stream=True) if c.choices]
assert "".join(parts) == chat.choices[0].message.content
try:
    client.completions.create(model="tiny", prompt="hi", max_tokens=-1)
    raise SystemExit("no error for max_tokens -1")
except openai.BadRequestError as e:
    assert e.status_code == 400
try:
    client.completions.create(model="nope", prompt="hi")
    raise SystemExit("no error for an unknown model")
except openai.NotFoundError:
    pass
print("openai", openai.__version__)
PY
); then ok "openai client: models, completion (= curl's greedy text), streaming, seeded chat and its stream, 400 and 404 ($out)"
  else bad "openai client" "$out"; fi
else echo "SKIP openai client: the openai package is not installed and pip could not install it"; fi

# Log-probabilities through the openai client: legacy completions (tokens, token_logprobs,
# top_logprobs, text_offset), the same values streamed, and chat's logprobs/top_logprobs.
if python3 -c "import openai" 2>/dev/null; then
  if out=$(python3 - "$base" <<'PY' 2>&1
import sys, math, openai
client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="unused")
c = client.completions.create(model="tiny", prompt="The cat", max_tokens=12, temperature=0, logprobs=3)
lp, text = c.choices[0].logprobs, c.choices[0].text
assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == 12, lp
assert lp.text_offset == list(range(12)), lp.text_offset
if text.isascii():
    assert "".join(lp.tokens) == text, (lp.tokens, text)
for tok, value, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs):
    assert value <= 0 and tok in top and len(top) <= 4, (tok, value, top)
    assert abs(top[tok] - value) < 1e-6 and abs(max(top.values()) - value) < 1e-6, "greedy takes the most likely"
    assert sum(math.exp(v) for v in top.values()) <= 1 + 1e-5
streamed = [ch.choices[0].logprobs for ch in client.completions.create(model="tiny", prompt="The cat", max_tokens=12,
            temperature=0, logprobs=3, stream=True) if ch.choices[0].logprobs is not None]
assert sum((s.tokens for s in streamed), []) == lp.tokens
assert max(abs(a - b) for a, b in zip(sum((s.token_logprobs for s in streamed), []), lp.token_logprobs)) < 1e-6
chat = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}], max_tokens=8,
                                      temperature=0, logprobs=True, top_logprobs=2)
content = chat.choices[0].logprobs.content
assert len(content) == chat.usage.completion_tokens and all(len(t.top_logprobs) == 2 for t in content), content
assert all(abs(t.logprob - t.top_logprobs[0].logprob) < 1e-6 and t.bytes == t.top_logprobs[0].bytes for t in content)
try:
    client.completions.create(model="tiny", prompt="hi", max_tokens=2, logprobs=21)
    raise SystemExit("no error for logprobs 21")
except openai.BadRequestError as e:
    assert e.status_code == 400
print(f"first token {lp.tokens[0]!r} logprob {lp.token_logprobs[0]:.4f}")
PY
); then ok "openai client: logprobs in completions (legacy format, streamed alike) and chat, logprobs 21 refused ($out)"
  else bad "openai client logprobs" "$out"; fi
else echo "SKIP openai client logprobs: the openai package is not installed"; fi

# Prefix caching: the same 300-byte prompt twice; the second request shares the first's full blocks.
long=$(python3 -c "print(('the cat sat on the mat ' * 14)[:300])")
hits() { curl -s "$base/metrics" | grep '^tessera_prefix_cache_hits_total' | grep -o '[0-9.e+]*$'; }
h0=$(hits)
post /v1/completions "{\"model\": \"tiny\", \"prompt\": \"$long\", \"max_tokens\": 4, \"temperature\": 0}" >/dev/null
first=$(field "d['choices'][0]['text']")
post /v1/completions "{\"model\": \"tiny\", \"prompt\": \"$long\", \"max_tokens\": 4, \"temperature\": 0}" >/dev/null
second=$(field "d['choices'][0]['text']")
h1=$(hits)
if [ -n "$first" ] && [ "$first" = "$second" ] && python3 -c "import sys; sys.exit(0 if float('$h1') - float('${h0:-0}') == 18 else 1)"; then
  ok "prefix caching: a second identical 300-byte prompt shares 18 full blocks of 16 (metrics), same text"
else bad "prefix caching" "hits before=$h0 after=$h1 first=$first second=$second"; fi

# SIGTERM while 8 requests run: they finish, the server exits 0.
clients=()
for i in 1 2 3 4 5 6 7 8; do
  curl -s -o "$work/drain.$i" -w '%{http_code}' -H 'Content-Type: application/json' "$base/v1/completions" \
    -d '{"prompt": "The", "max_tokens": 500, "temperature": 0.8}' >"$work/drain.$i.code" &
  clients+=($!)
done
sleep 0.3
kill -TERM "$server"
wait "${clients[@]}"
wait "$server"; status=$?
server=""
full=0
for i in 1 2 3 4 5 6 7 8; do
  [ "$(cat "$work/drain.$i.code")" = 200 ] && [ "$(python3 -c "import json; print(json.load(open('$work/drain.$i'))['usage']['completion_tokens'])" 2>/dev/null)" = 500 ] && full=$((full + 1))
done
if [ "$status" = 0 ] && [ "$full" = 8 ] && grep -q "tessera serve: stopped" "$work/log" && grep -q "draining" "$work/log"; then
  ok "SIGTERM drains: all 8 requests in flight got their 500 bytes, exit 0"
else bad "SIGTERM drain (exit $status, $full of 8 complete)" "$(tail -5 "$work/log")"; fi

# Bad settings are one-line errors with exit 2, before anything starts.
out=$("$BIN" serve --checkpoint "$work/model" --tp 3 2>&1); status=$?
[ $status = 2 ] && grep -q "^tessera: error: tp 3 does not divide" <<<"$out" && ok "--tp 3: $(head -1 <<<"$out")" || bad "--tp 3 (exit $status)" "$out"
out=$("$BIN" serve --checkpoint "$work/none" 2>&1); status=$?
[ $status = 2 ] && grep -q "^tessera: error:" <<<"$out" && ok "missing checkpoint: exit 2" || bad "missing checkpoint (exit $status)" "$out"

out=$(python3 - "$BIN" "$work/model" <<'PY' 2>&1
import socket, subprocess, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
r = subprocess.run([sys.argv[1], "serve", "--checkpoint", sys.argv[2], "--port", str(s.getsockname()[1])],
                   capture_output=True, text=True, timeout=120)
print(r.returncode, r.stderr.strip())
PY
)
grep -q "^2 tessera: error: cannot listen on 127.0.0.1:[0-9]* .*Address already in use" <<<"$out" \
  && ok "a port in use: exit 2, one line" || bad "port in use" "$out"

# Under tp 2 × pp 2 (thread ranks) the greedy text is the same.
if start --tp 2 --pp 2; then
  code=$(post /v1/completions '{"prompt": "The cat", "max_tokens": 12, "temperature": 0}')
  [ "$(field "d['choices'][0]['text']")" = "$greedy" ] && ok "tp2 x pp2 serves the same greedy text" || bad "tp2 pp2 ($code)" "$(cat "$work/body")"
  kill -TERM "$server"; wait "$server"; server=""
else bad "tp2 pp2 start" "$(cat "$work/log")"; fi

# Under mpirun (2 processes, tp 2) rank 0 serves the same greedy text; SIGTERM to rank 0 drains the job, exit 0.
if command -v mpirun >/dev/null; then
  MPIRUN=(mpirun --oversubscribe); [ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
  "${MPIRUN[@]}" -np 2 "$BIN" serve --checkpoint "$work/model" --port 0 --model-name tiny --tp 2 >"$work/log" 2>&1 &
  server=$!
  wait_port 600
  leader=$(grep -o '(pid [0-9]*' "$work/log" | grep -o '[0-9]*$')
  if [ -n "$port" ] && [ -n "$leader" ]; then
    post /v1/completions '{"prompt": "The cat", "max_tokens": 12, "temperature": 0}' >/dev/null
    [ "$(field "d['choices'][0]['text']")" = "$greedy" ] && ok "mpirun -np 2 --tp 2 serves the same greedy text" \
      || bad "mpirun tp2" "$(cat "$work/body")"
    post /v1/completions '{"prompt": "The", "max_tokens": 300, "n": 8, "temperature": 0.8}' >"$work/drain.code" &
    client=$!
    sleep 0.3
    kill -TERM "$leader"
    wait "$client"
    wait "$server"; status=$?
    server=""
    if [ "$status" = 0 ] && [ "$(cat "$work/drain.code")" = 200 ] && [ "$(field "d['usage']['completion_tokens']")" = 2400 ]; then
      ok "mpirun: SIGTERM to rank 0 drains (8 x 300 bytes delivered) and the job exits 0"
    else bad "mpirun drain (exit $status, request $(cat "$work/drain.code"))" "$(tail -5 "$work/log")"; fi
  else bad "mpirun serve start" "$(cat "$work/log")"; fi
else echo "SKIP mpirun serve: mpirun not found"; fi
finish
