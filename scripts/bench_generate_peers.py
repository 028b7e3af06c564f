#!/usr/bin/env python3
"""Generation on one thread: Tessera (--weights fp32, bf16, int8) beside
llama.cpp (the same weights exported as GGUF F32 and Q8_0 by `tessera export
--gguf`, run through llama-cpp-python's C API) and Hugging Face transformers
(float32, its KV cache), alternated row by row so all see the same load.

Every engine runs `batch` greedy sequences of `prompt` bytes (the prompts of
GenerateBenchmark.prompts), generating `tokens` bytes each, and is timed end
to end (prefill included): tok/s = batch * tokens / seconds. llama.cpp runs
the batch as `batch` sequences of one context (one llama_decode per step for
all of them, prompts prefilled in chunks of up to 512 tokens), its KV cache in
its default f16, flash attention off; greedy picks on the host.

    python scripts/bench_generate_peers.py --tessera .build/release/tessera [--batches 1,32]
        [--prompt-lengths 16,1024] [--tokens 32] [--repeats 3]

A peer that is not installed is skipped with one line saying so.

On a shared machine wall-clock rates measure the other jobs as much as the
engines, so each run also reports its CPU seconds (every engine runs one
thread): llama.cpp and transformers time.process_time() around the run in
this process; Tessera its process's CPU time over the generation loop, which
`bench generate` prints as cpu-tok/s. The table's rate is tokens per CPU second.
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, time

import numpy as np


def prompts(batch, length):  # GenerateBenchmark.prompts
    return [[32 + (31 * i + 17 * b) % 95 for i in range(length)] for b in range(batch)]


def tessera_run(binary, model_dir, fmt, batch, length, tokens):
    """(tokens per CPU second of the generation loop, wall-clock tok/s), as `bench generate` prints them."""
    out = subprocess.run([binary, "bench", "generate", "--checkpoint", model_dir, "--layouts", "tp1",
                          "--batches", str(batch), "--prompt-lengths", str(length), "--tokens", str(tokens),
                          "--threads", "1", "--weights", fmt], check=True, capture_output=True, text=True).stdout
    return float(re.search(r"cpu-tok/s=([\d.]+)", out)[1]), float(re.search(r" tok/s=([\d.]+)", out)[1])


class LlamaCpp:
    """One GGUF model; a fresh context per run (n_seq_max = batch)."""

    def __init__(self, path):
        import llama_cpp as L
        self.L = L
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        self.model = L.llama_model_load_from_file(path.encode(), mp)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {path}")

    def run(self, batch, length, tokens):
        L = self.L
        cp = L.llama_context_default_params()
        cp.n_ctx = batch * (length + tokens) + 16
        cp.n_batch = cp.n_ubatch = 512
        cp.n_seq_max = batch
        cp.n_threads = cp.n_threads_batch = 1
        cp.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_DISABLED
        ctx = L.llama_init_from_model(self.model, cp)
        if not ctx:
            raise RuntimeError("llama.cpp could not create a context")
        vocab = 256
        b = L.llama_batch_init(512, 0, 1)
        step_times = []

        def decode(items):  # items: (token, pos, seq, want_logits); returns logits rows of the wanted ones
            rows = []
            for start in range(0, len(items), 512):
                chunk = items[start:start + 512]
                b.n_tokens = len(chunk)
                for i, (tok, pos, seq, want) in enumerate(chunk):
                    b.token[i] = tok; b.pos[i] = pos; b.n_seq_id[i] = 1; b.seq_id[i][0] = seq; b.logits[i] = want
                if L.llama_decode(ctx, b) != 0:
                    raise RuntimeError("llama_decode failed")
                for i, (_, _, _, want) in enumerate(chunk):
                    if want:
                        p = L.llama_get_logits_ith(ctx, i)
                        rows.append(np.ctypeslib.as_array(p, shape=(vocab,)).copy())
            return rows

        ps = prompts(batch, length)
        start, cpu = time.perf_counter(), time.process_time()
        items = [(t, i, s, i == length - 1) for s in range(batch) for i, t in enumerate(ps[s])]
        logits = decode(items)
        for step in range(tokens):
            picks = [int(np.argmax(r)) for r in logits]
            step_times.append(time.perf_counter())
            if step == tokens - 1:
                break
            logits = decode([(picks[s], length + step, s, True) for s in range(batch)])
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        L.llama_batch_free(b)
        L.llama_free(ctx)
        return batch * tokens / cpu, batch * tokens / seconds


def hf_run(model, batch, length, tokens):
    import torch
    ids = torch.tensor(prompts(batch, length))
    start, cpu = time.perf_counter(), time.process_time()
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=tokens, min_new_tokens=tokens,
                             do_sample=False, use_cache=True, pad_token_id=0, eos_token_id=None)
    assert out.shape[1] - length == tokens
    return batch * tokens / (time.process_time() - cpu), batch * tokens / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tessera", required=True)
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--prompt-lengths", default="16,1024")
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3, help="runs per engine and row (median by tokens per CPU second)")
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
    try:
        import llama_cpp
        for fmt, name in [("fp32", "f32"), ("int8", "Q8_0")]:
            path = os.path.join(tmp, f"model-{name}.gguf")
            subprocess.run([args.tessera, "export", "--gguf", path, "--weights", fmt, "--checkpoint", hf_dir],
                           check=True, stdout=subprocess.DEVNULL)
            engines[f"llama.cpp {name}"] = LlamaCpp(path).run
        print(f"llama-cpp-python {llama_cpp.__version__}")
    except ImportError:
        print("llama-cpp-python is not installed: llama.cpp skipped (pip install llama-cpp-python)")
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
        if not e.startswith("tessera"):
            run(1, 16, 2)  # warm-up (each Tessera run is a process of its own)
    print(f"{args.tokens} bytes per sequence, greedy, 1 thread each, median of {args.repeats} alternated runs")
    print(f"load average {os.getloadavg()[0]:.1f} at the start; cells: tokens per CPU second (wall-clock tok/s)")
    print("| batch | prompt | " + " | ".join(f"{e}" for e in engines) + " |")
    print("|---|---|" + "---|" * len(engines))
    for batch in map(int, args.batches.split(",")):
        for length in map(int, args.prompt_lengths.split(",")):
            runs = {e: [] for e in engines}
            for _ in range(args.repeats):
                for e, run in engines.items():
                    runs[e].append(run(batch, length, args.tokens))
            med = {e: sorted(r)[len(r) // 2] for e, r in runs.items()}
            print(f"| {batch} | {length} | " + " | ".join(f"{med[e][0]:.1f} ({med[e][1]:.1f})" for e in engines) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
