#!/usr/bin/env python3
"""Generation on one thread: Tessera (--weights fp32, bf16, int8) beside
llama.cpp (the same weights exported as GGUF F32 and Q8_0 by `tessera export
--gguf`, run by llama.cpp's own benchmark programs) and Hugging Face
transformers (float32, its KV cache), alternated row by row so all see the
same load.

Every engine runs `batch` greedy sequences of `prompt` bytes, generating
`tokens` bytes each, and is timed end to end (prefill included):
tok/s = batch * tokens / seconds. A second figure is the decode step alone
(batch * 1 / seconds of one step at the prompt's depth): Tessera's median
per-token interval (p50), llama-bench's tg test at depth `prompt` (batch 1)
and llama-batched-bench's generation phase (batch > 1).

llama.cpp: LLAMA_BENCH names its `llama-bench` binary (built from source:
cmake -B build -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DGGML_OPENMP=OFF, then
cmake --build build --target llama-bench llama-batched-bench); batch 1 runs
llama-bench's pg test (prompt then tokens, one sequence), batches above 1
llama-batched-bench (beside it in the same folder; `batch` sequences of
their own prompt, one llama_decode a step). Both with one thread, KV cache
f16 (their default), flash attention off.
Without LLAMA_BENCH, llama.cpp is skipped with a line saying so.

    LLAMA_BENCH=/path/to/llama-bench python scripts/bench_generate_peers.py \
        --tessera .build/release/tessera [--batches 1,32] [--prompt-lengths 16,1024] [--tokens 32] [--repeats 3]

Rates are wall-clock: llama.cpp's programs time their own runs (model
loading excluded), Tessera's `bench generate` its generation loop; it also
prints tokens per CPU second (cpu-tok/s), in brackets (transformers' too,
from time.process_time()); llama.cpp's programs do not report it. On
a shared machine compare rows run together, and read the load average
printed at the start of each row.
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time

import numpy as np


def prompts(batch, length):  # GenerateBenchmark.prompts
    return [[32 + (31 * i + 17 * b) % 95 for i in range(length)] for b in range(batch)]


def tessera_run(binary, model_dir, fmt, batch, length, tokens):
    """(wall-clock tok/s, decode steps/s · batch from the median interval, tokens per CPU second)."""
    out = subprocess.run([binary, "bench", "generate", "--checkpoint", model_dir, "--layouts", "tp1",
                          "--batches", str(batch), "--prompt-lengths", str(length), "--tokens", str(tokens),
                          "--threads", "1", "--weights", fmt], check=True, capture_output=True, text=True).stdout
    p50 = float(re.search(r"p50=([\d.]+)ms", out)[1]) * 1e-3
    return (float(re.search(r" tok/s=([\d.]+)", out)[1]), batch / p50 if p50 > 0 else float("nan"),
            float(re.search(r"cpu-tok/s=([\d.]+)", out)[1]))


class LlamaCpp:
    """llama.cpp's llama-bench (batch 1) and llama-batched-bench (batch > 1) on one GGUF file."""

    def __init__(self, bench, path):
        self.bench, self.path = bench, path
        self.batched = os.path.join(os.path.dirname(bench), "llama-batched-bench")

    def run(self, batch, length, tokens):
        if batch == 1:
            def one(args):
                out = subprocess.run([self.bench, "-m", self.path, "-t", "1", "-r", "1", "-fa", "0",
                                      "-o", "json"] + args, check=True, capture_output=True, text=True).stdout
                return json.loads(out)[0]
            pg = one(["-p", "0", "-n", "0", "-pg", f"{length},{tokens}"])
            tg = one(["-p", "0", "-n", str(tokens), "-d", str(length)])
            return tokens / (pg["avg_ns"] * 1e-9), tokens / (tg["avg_ns"] * 1e-9), None
        if not os.access(self.batched, os.X_OK):
            return None
        out = subprocess.run([self.batched, "-m", self.path, "-t", "1", "-tb", "1", "-fa", "off",
                              "-c", str(batch * (length + tokens)),
                              "-npp", str(length), "-ntg", str(tokens), "-npl", str(batch), "--output-format", "jsonl"],
                             check=True, capture_output=True, text=True).stdout
        row = [json.loads(l) for l in out.splitlines() if l.startswith("{")][-1]
        return batch * tokens / row["t"], row["speed_tg"], None

    def version(self):
        """llama.cpp's build and the CPU it reports, from a one-token run (which also warms up)."""
        out = subprocess.run([self.bench, "-m", self.path, "-t", "1", "-r", "1", "-p", "0", "-n", "1", "-o", "json"],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out)[0]
        return f"build {r.get('build_number')} ({r.get('build_commit')}), {r.get('cpu_info')}, backends {r.get('backends')}"


def hf_run(model, batch, length, tokens):
    import torch
    ids = torch.tensor(prompts(batch, length))
    start, cpu = time.perf_counter(), time.process_time()
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=tokens, min_new_tokens=tokens,
                             do_sample=False, use_cache=True, pad_token_id=0, eos_token_id=None)
    assert out.shape[1] - length == tokens
    return batch * tokens / (time.perf_counter() - start), None, batch * tokens / (time.process_time() - cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tessera", required=True)
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--prompt-lengths", default="16,1024")
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3, help="runs per engine and row (the median of each figure)")
    ap.add_argument("--formats", default="fp32,bf16,int8", help="Tessera's weight formats")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    try:
        run_all(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_all(args, tmp):
    hf_dir = os.path.join(tmp, "hf")
    subprocess.run([args.tessera, "bench", "generate", "--export-model", hf_dir], check=True, stdout=subprocess.DEVNULL)
    engines = {f"tessera {f}": (lambda f: lambda b, l, t: tessera_run(args.tessera, hf_dir, f, b, l, t))(f)
               for f in args.formats.split(",")}
    bench = os.environ.get("LLAMA_BENCH")
    if bench and os.access(bench, os.X_OK):
        for fmt, name in [("fp32", "f32"), ("int8", "Q8_0")]:
            path = os.path.join(tmp, f"model-{name}.gguf")
            subprocess.run([args.tessera, "export", "--gguf", path, "--weights", fmt, "--checkpoint", hf_dir],
                           check=True, stdout=subprocess.DEVNULL)
            peer = LlamaCpp(bench, path)
            engines[f"llama.cpp {name}"] = peer.run
        print(f"llama.cpp: {bench}: {peer.version()}")
    else:
        print("LLAMA_BENCH is not set to an executable llama-bench: llama.cpp skipped")
    try:
        import torch, transformers
        from transformers import GPT2LMHeadModel
        torch.set_num_threads(1)
        model = GPT2LMHeadModel.from_pretrained(hf_dir).eval()
        engines["transformers fp32"] = lambda b, l, t: hf_run(model, b, l, t)
        print(f"torch {torch.__version__}, transformers {transformers.__version__}, 1 thread")
    except ImportError as e:
        print(f"{e.name} is not installed: transformers skipped")
    for e, run in engines.items():
        if e.startswith("transformers"):
            run(1, 16, 2)  # warm-up (Tessera and llama.cpp runs are processes of their own)
    print(f"{args.tokens} bytes per sequence, greedy, 1 thread each, median of {args.repeats} alternated runs")
    print("cells: end-to-end tok/s (prefill included) / decode-step tok/s (Tessera: batch / median step interval; "
          "llama.cpp: its generation phase's mean, so not comparable under load); tokens per CPU second in brackets")
    print("| batch | prompt | load | " + " | ".join(f"{e}" for e in engines) + " |")
    print("|---|---|---|" + "---|" * len(engines))
    for batch in map(int, args.batches.split(",")):
        for length in map(int, args.prompt_lengths.split(",")):
            load = os.getloadavg()[0]
            runs = {e: [] for e in engines}
            for _ in range(args.repeats):
                for e, run in engines.items():
                    r = run(batch, length, args.tokens)
                    if r is not None:
                        runs[e].append(r)

            def cell(rs):
                if not rs:
                    return "—"
                end = sorted(r[0] for r in rs)[len(rs) // 2]
                dec = [r[1] for r in rs if r[1] is not None]
                cpu = [r[2] for r in rs if r[2] is not None]
                text = f"{end:.1f}"
                if dec:
                    text += f" / {sorted(dec)[len(dec) // 2]:.1f}"
                if cpu:
                    text += f" ({sorted(cpu)[len(cpu) // 2]:.1f})"
                return text
            print(f"| {batch} | {length} | {load:.1f} | " + " | ".join(cell(runs[e]) for e in engines) + " |", flush=True)


if __name__ == "__main__":
    main()
