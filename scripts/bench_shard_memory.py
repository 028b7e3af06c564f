#!/usr/bin/env python3
"""Resident memory of `tessera train --data DIR` does not grow with the corpus.

    python3 scripts/bench_shard_memory.py [--big-gb 2] [--small-mb 20] [--steps 30] [--dir /tmp]

Makes two prepared directories under --dir (deleted at the end): a small one
of --small-mb and a big one of --big-gb of uint16 ids. Both start as a
genuine `tessera data prepare` of a short text with the fixture tokenizer
(vocabulary 700); the script then replaces the shards with random ids below
700 in shards of 256 MiB, each with its llm.c header and SHA-256 in
index.json, as prepare writes them. It trains the same small model on each
(alternating, twice) and prints the peak RSS (/usr/bin/time %M) and wall time.
Opening checks every shard's SHA-256 by reading it in 1 MiB pieces, so the
big run also reads its 2 GB once; the peak RSS must stay flat all the same.
"""
import argparse, hashlib, json, os, shutil, subprocess, sys, tempfile
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESSERA = os.path.join(ROOT, ".build", "release", "tessera")
FIXTURES = os.path.join(ROOT, "Tests", "TesseraTokenizerTests", "Fixtures")
SHARD_TOKENS = 1 << 27

def make(dirpath, total_bytes, rng):
    src = os.path.join(os.path.dirname(dirpath), "seed.txt")
    shutil.copy(os.path.join(FIXTURES, "trainer_corpus.txt"), src)
    subprocess.run([TESSERA, "data", "prepare", "--tokenizer", os.path.join(FIXTURES, "gpt2_style.json"),
                    "--data", src, "--out", dirpath, "--documents", "paragraph", "--validation", "0.2"],
                   check=True, capture_output=True)
    index = json.load(open(os.path.join(dirpath, "index.json")))
    for s in index["shards"]:
        os.remove(os.path.join(dirpath, s["file"]))
    shards, tokens_left, k = [], total_bytes // 2, 0
    split_tokens = {"train": tokens_left - tokens_left // 100, "validation": tokens_left // 100}
    for split, count in split_tokens.items():
        n_shard = 0
        while count > 0:
            n = min(count, SHARD_TOKENS)
            header = np.zeros(256, dtype="<i4"); header[0] = 20240520; header[1] = 1; header[2] = n
            ids = rng.integers(0, 700, size=n, dtype=np.uint16).astype("<u2")
            blob = header.tobytes() + ids.tobytes()
            name = f"{split}-{n_shard:05d}.bin"
            with open(os.path.join(dirpath, name), "wb") as f:
                f.write(blob)
            shards.append({"file": name, "split": split, "tokens": n, "sha256": hashlib.sha256(blob).hexdigest()})
            count -= n; n_shard += 1
    index["shards"] = shards
    index["documents"] = {"mode": "synthetic", "train": 1, "validation": 1}
    with open(os.path.join(dirpath, "index.json"), "w") as f:
        json.dump(index, f, indent=2)
    return sum(s["tokens"] for s in shards)

def train(dirpath, steps):
    cmd = ["/usr/bin/time", "-f", "%M %e", TESSERA, "train", "--data", dirpath, "--vocab", "768", "--layers", "2",
           "--d-model", "64", "--heads", "4", "--seq-len", "64", "--batch", "8", "--steps", str(steps),
           "--eval-every", "0", "--sample", "0", "--log-every", "0", "--threads", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench_shard_memory: {' '.join(cmd)} failed: {r.stderr.strip()}")
    rss_kib, seconds = r.stderr.strip().splitlines()[-1].split()
    return int(rss_kib), float(seconds)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--big-gb", type=float, default=2.0)
    ap.add_argument("--small-mb", type=float, default=20.0)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--tolerance-mib", type=float, default=8.0,
                    help="fail (exit 1) when the big corpus's peak RSS exceeds the small one's by more")
    a = ap.parse_args()
    rng = np.random.default_rng(25)
    base = tempfile.mkdtemp(prefix="tessera-rss-", dir=a.dir)
    try:
        sizes = {"small": int(a.small_mb * 1e6), "big": int(a.big_gb * 1e9)}
        for name, size in sizes.items():
            os.makedirs(os.path.join(base, name))
            n = make(os.path.join(base, name, "data"), size, rng)
            print(f"{name}: {n} ids, {n * 2 / 1e6:.0f} MB of shards")
        peaks = {"small": [], "big": []}
        for rep in range(2):
            for name in ["small", "big"]:
                rss, secs = train(os.path.join(base, name, "data"), a.steps)
                peaks[name].append(rss / 1024)
                print(f"run {rep + 1} {name}: peak RSS {rss / 1024:.1f} MiB, {secs:.1f} s wall (checksums + {a.steps} steps)")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    growth = max(peaks["big"]) - min(peaks["small"])
    verdict = "PASS" if growth <= a.tolerance_mib else "FAIL"
    print(f"{verdict}: the big corpus's highest peak RSS is {growth:+.1f} MiB over the small one's lowest "
          f"(tolerance {a.tolerance_mib:g} MiB)")
    if verdict == "FAIL":
        sys.exit(1)

if __name__ == "__main__":
    main()
