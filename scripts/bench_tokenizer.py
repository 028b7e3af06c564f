#!/usr/bin/env python3
"""Tokenizer speed beside Hugging Face's `tokenizers`, in one run.

    python3 scripts/bench_tokenizer.py [TEXT] [--vocab 8192] [--repeats 3]

TEXT defaults to ../shared/data/tinyshakespeare.txt. Prints, alternating
Tessera and `tokenizers` runs (the machine is shared: say so with figures):
  - training seconds for a vocabulary of --vocab (GPT-2 pattern,
    min_frequency 2, one special token), and whether both learn the same tokens;
  - encoding MB/s of the whole text with that tokenizer at 1 and 2 threads.
    Tessera: `tessera tokenizer encode --summary` (time inside the encoder,
    file already read). tokenizers: `encode(text)` (one call, one thread) and
    `encode_batch(lines)` under RAYON_NUM_THREADS=1 and 2, each timed in its own
    process around the call only. Both encode the same bytes; ids are checked equal.
Medians of --repeats runs are printed last.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESSERA = os.path.join(ROOT, ".build", "release", "tessera")

HF_TRAIN = r"""
import sys, time
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
tok = Tokenizer(models.BPE()); tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
t = time.perf_counter()
tok.train([sys.argv[1]], trainers.BpeTrainer(vocab_size=int(sys.argv[2]), min_frequency=2, special_tokens=["<|endoftext|>"],
          show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
print(time.perf_counter() - t)
tok.save(sys.argv[3])
"""

HF_ENCODE = r"""
import sys, time
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1]); text = open(sys.argv[2], encoding="utf-8").read()
if sys.argv[3] == "whole":
    t = time.perf_counter(); ids = tok.encode(text).ids; dt = time.perf_counter() - t
else:
    lines = text.splitlines(keepends=True)
    t = time.perf_counter(); out = tok.encode_batch(lines); dt = time.perf_counter() - t
print(dt)
"""

def run(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"bench_tokenizer: {' '.join(cmd)} failed: {r.stderr.strip()}")
    return r

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("text", nargs="?", default=os.path.join(ROOT, "..", "shared", "data", "tinyshakespeare.txt"))
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    size = os.path.getsize(a.text)
    print(f"bench_tokenizer: {a.text} ({size} bytes), vocabulary {a.vocab}, {a.repeats} alternated repeats, {os.cpu_count()} cores")
    results = {k: [] for k in ["tessera train s", "tokenizers train s", "tessera 1t MB/s", "tessera 2t MB/s",
                               "tokenizers encode() MB/s", "tokenizers batch 1t MB/s", "tokenizers batch 2t MB/s"]}
    with tempfile.TemporaryDirectory(prefix="tessera-tokbench-") as tmp:
        for r in range(a.repeats):
            mine = os.path.join(tmp, f"tessera{r}.json"); theirs = os.path.join(tmp, f"hf{r}.json")
            t = time.perf_counter()
            run([TESSERA, "tokenizer", "train", "--vocab", str(a.vocab), "--data", a.text, "--out", mine, "--threads", "1"])
            results["tessera train s"].append(time.perf_counter() - t)
            results["tokenizers train s"].append(float(run([sys.executable, "-c", HF_TRAIN, a.text, str(a.vocab), theirs]).stdout))
            if r == 0:
                same = json.load(open(mine))["model"]["vocab"] == json.load(open(theirs))["model"]["vocab"]
                print(f"same {a.vocab} tokens learned by both trainers: {same}")
                ids_mine = run([TESSERA, "tokenizer", "encode", "--tokenizer", mine, a.text]).stdout.split()
                from tokenizers import Tokenizer
                ids_hf = Tokenizer.from_file(mine).encode(open(a.text, encoding="utf-8").read()).ids
                print(f"same ids from both encoders: {list(map(int, ids_mine)) == ids_hf} ({len(ids_hf)} tokens)")
            for threads in [1, 2]:
                out = run([TESSERA, "tokenizer", "encode", "--tokenizer", mine, "--summary", "--threads", str(threads), a.text]).stdout
                results[f"tessera {threads}t MB/s"].append(float(out.split(": ")[1].split(" MB/s")[0]))
                env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
                dt = float(run([sys.executable, "-c", HF_ENCODE, mine, a.text, "batch"], env=env).stdout)
                results[f"tokenizers batch {threads}t MB/s"].append(size / dt / 1e6)
            dt = float(run([sys.executable, "-c", HF_ENCODE, mine, a.text, "whole"], env=dict(os.environ, RAYON_NUM_THREADS="1")).stdout)
            results["tokenizers encode() MB/s"].append(size / dt / 1e6)
            print("run %d: " % (r + 1) + ", ".join(f"{k} {v[-1]:.2f}" for k, v in results.items()))
    print("median: " + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in results.items()))

if __name__ == "__main__":
    main()
