#!/usr/bin/env python3
"""Bounded load generator for OpenAI-compatible servers (stdlib only).

For each concurrency level, sends a fixed number of streaming
/v1/completions requests (prompt and output lengths drawn from a fixed
seed, the same for every server), at most `c` in flight, and reports output
tokens/s, time to first token p50/p99 and inter-token latency p50/p99.
Every request asks for exactly `max_tokens` tokens (greedy, no stop), so
servers produce the same amount of work. Several servers (--server
NAME=URL) are measured alternately, level by level, in one run.

By default every level sends the same prompts, so a server that caches
prompt prefixes (Tessera, transformers' continuous batching) prefills them
once, at the first level; --fresh-prompts draws each level's prompts from
its own seed (seed + 1000 * level), so no level reuses another's.
"""
import argparse, http.client, json, random, statistics, threading, time, urllib.parse
from concurrent.futures import ThreadPoolExecutor

WORDS = "the cat sat on a mat and then ran far away from home while it rained over the old town".split()


def workload(n, seed, prompt_range, output_range):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        length = rng.randint(*prompt_range)
        text = ""
        while len(text) < length:
            text += rng.choice(WORDS) + " "
        out.append((text[:length], rng.randint(*output_range)))
    return out


def one(url, model, prompt, max_tokens, timeout):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    body = json.dumps({"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True})
    start = time.perf_counter()
    conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"{url}: HTTP {resp.status}: {resp.read()[:200]!r}")
    arrivals, buf = [], b""
    while True:
        chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(1)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            if not event.startswith(b"data: ") or event == b"data: [DONE]":
                continue
            text = json.loads(event[6:])["choices"][0].get("text", "")
            if text:
                arrivals.append(time.perf_counter())
    conn.close()
    if not arrivals:
        raise RuntimeError(f"{url}: no tokens")
    return start, arrivals


def greedy_text(url, model, prompt, max_tokens, timeout):
    """The whole (non-streamed) greedy completion of `prompt`."""
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    body = json.dumps({"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0})
    conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    text = json.loads(conn.getresponse().read())["choices"][0]["text"]
    conn.close()
    return text


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def level(url, model, work, concurrency, timeout):
    begin = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda w: one(url, model, w[0], w[1], timeout), work))
    wall = time.perf_counter() - begin
    tokens = sum(w[1] for w in work)
    ttft = [a[0] - s for s, a in results]
    # Inter-token latency: per request, the time after the first token divided over the tokens after it.
    itl = [(a[-1] - a[0]) / (mt - 1) for (s, a), (_, mt) in zip(results, work) if mt > 1]
    return dict(throughput=tokens / wall, wall=wall, tokens=tokens,
                ttft50=percentile(ttft, 50), ttft99=percentile(ttft, 99),
                itl50=percentile(itl, 50), itl99=percentile(itl, 99))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", action="append", required=True, help="NAME=URL (repeatable)")
    p.add_argument("--model", action="append", help="model name per server (default: each server's first)")
    p.add_argument("--requests", type=int, default=64)
    p.add_argument("--concurrency", default="1,8,32,64")
    p.add_argument("--prompt-lengths", default="16,192")
    p.add_argument("--output-lengths", default="32,128")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--fresh-prompts", action="store_true", help="new prompts at every level (no prefix reuse)")
    a = p.parse_args()
    servers = [s.split("=", 1) for s in a.server]
    models = a.model or []
    names = []
    for i, (name, url) in enumerate(servers):
        if i < len(models):
            names.append(models[i])
        else:
            u = urllib.parse.urlparse(url)
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            conn.request("GET", "/v1/models")
            names.append(json.loads(conn.getresponse().read())["data"][0]["id"])
    work = workload(a.requests, a.seed, tuple(map(int, a.prompt_lengths.split(","))),
                    tuple(map(int, a.output_lengths.split(","))))
    print(f"{a.requests} requests per level, prompts {a.prompt_lengths} bytes, outputs {a.output_lengths} tokens, seed {a.seed}"
          + (" (+ 1000 per level: fresh prompts)" if a.fresh_prompts else " (the same prompts at every level)"))
    texts = [greedy_text(url, model, work[0][0], 64, a.timeout) for (_, url), model in zip(servers, names)]
    if len(servers) > 1:
        same = all(t == texts[0] for t in texts)
        print(f"greedy text of the first prompt (64 tokens) {'equal on every server' if same else 'DIFFERS between servers'}: "
              + " | ".join(f"{n}: {t!r}" for (n, _), t in zip(servers, texts)))
    print(f"{'server':<12} {'conc':>4} {'tok/s':>9} {'TTFT p50':>9} {'TTFT p99':>9} {'ITL p50':>9} {'ITL p99':>9}  (ms)")
    for i, c in enumerate(map(int, a.concurrency.split(","))):
        if a.fresh_prompts:
            work = workload(a.requests, a.seed + 1000 * (i + 1), tuple(map(int, a.prompt_lengths.split(","))),
                            tuple(map(int, a.output_lengths.split(","))))
        for (name, url), model in zip(servers, names):
            one(url, model, "warm up", 4, a.timeout)
            r = level(url, model, work, c, a.timeout)
            print(f"{name:<12} {c:>4} {r['throughput']:>9.1f} {r['ttft50']*1e3:>9.1f} {r['ttft99']*1e3:>9.1f} "
                  f"{r['itl50']*1e3:>9.2f} {r['itl99']*1e3:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
