#!/usr/bin/env python3
"""Tessera's KV-cached generation beside Hugging Face transformers' `generate`
(PyTorch, with its KV cache) on the same weights and prompts, interleaved
config by config so both see the same load on a shared machine.

For each (batch, prompt length): Tessera at each layout (a `tessera bench
generate` process), then transformers greedy generation of the same number
of bytes on one thread, timed end to end; per-token latency is the interval
between generation steps (a logits processor records each step's time).

    python scripts/bench_generate.py --tessera .build/release/tessera --hf DIR \
        [--batches 1,8,32] [--prompt-lengths 16,256,1024] [--tokens 32] [--layouts tp1,tp2,pp2] [--repeats 1]

With --repeats N (odd), each row alternates the Tessera layouts and
transformers N times and reports each side's median run (by tok/s).
"""
import argparse, re, subprocess, time

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, LogitsProcessor, LogitsProcessorList


def prompts(batch, length):  # the same bytes as GenerateBenchmark.prompts
    return [[32 + (31 * i + 17 * b) % 95 for i in range(length)] for b in range(batch)]


class StepClock(LogitsProcessor):
    def __init__(self):
        self.times = []

    def __call__(self, input_ids, scores):
        self.times.append(time.perf_counter())
        return scores


def hf_run(model, batch, length, tokens):
    ids = torch.tensor(prompts(batch, length))
    clock = StepClock()
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=tokens, min_new_tokens=tokens,
                             do_sample=False, use_cache=True, pad_token_id=0, eos_token_id=None,
                             logits_processor=LogitsProcessorList([clock]))
    seconds = time.perf_counter() - start
    assert out.shape[1] - length == tokens
    intervals = np.diff(clock.times)
    p50, p99 = (np.percentile(intervals, 50), np.percentile(intervals, 99)) if len(intervals) else (0.0, 0.0)
    return batch * tokens / seconds, p50, p99


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tessera", required=True)
    ap.add_argument("--hf", required=True)
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--prompt-lengths", default="16,256,1024")
    ap.add_argument("--layouts", default="tp1,tp2,pp2")
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=1,
                    help="alternate Tessera and transformers this many times per row and keep each side's median run")
    args = ap.parse_args()
    if args.repeats < 1 or args.repeats % 2 == 0:
        ap.error(f"--repeats must be a positive odd number (the median is one run), got {args.repeats}")
    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(args.hf).eval()  # GPT2LMHeadModel or LlamaForCausalLM, by config.json
    hf_run(model, 1, 16, 4)  # warm-up
    print(f"{type(model).__name__}; torch {torch.__version__}, transformers {transformers.__version__}, 1 thread; "
          f"tessera layouts {args.layouts}; {args.tokens} bytes per prompt")
    print("| batch | prompt | transformers tok/s | p50 ms | p99 ms | layout | tessera tok/s | p50 ms | p99 ms | stage wait | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for batch in map(int, args.batches.split(",")):
        for length in map(int, args.prompt_lengths.split(",")):
            runs, hf_runs = {layout: [] for layout in args.layouts.split(",")}, []
            for _ in range(args.repeats):
                for layout in runs:
                    line = subprocess.run([args.tessera, "bench", "generate", "--checkpoint", args.hf, "--layouts", layout,
                                           "--batches", str(batch), "--prompt-lengths", str(length),
                                           "--tokens", str(args.tokens), "--threads", "1"],
                                          check=True, capture_output=True, text=True).stdout
                    m = re.search(r"tok/s=([\d.]+) p50=([\d.]+)ms p99=([\d.]+)ms .* stage-wait=([\d.]+)%", line)
                    runs[layout].append((layout, float(m[1]), float(m[2]), float(m[3]), float(m[4])))
                    if layout == args.layouts.split(",")[0]:  # transformers right after the first layout
                        hf_runs.append(hf_run(model, batch, length, args.tokens))
            median = lambda xs, key: sorted(xs, key=key)[len(xs) // 2]
            hf = median(hf_runs, lambda r: r[0])
            rows = [median(r, lambda r: r[1]) for r in runs.values()]
            for layout, tps, p50, p99, wait in rows:
                print(f"| {batch} | {length} | {hf[0]:.1f} | {hf[1] * 1e3:.2f} | {hf[2] * 1e3:.2f} | {layout} | "
                      f"{tps:.1f} | {p50:.2f} | {p99:.2f} | {wait:.0f}% | {tps / hf[0]:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
