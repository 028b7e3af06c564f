#!/usr/bin/env python3
"""Checks `tessera tokenizer` live against Hugging Face's `tokenizers` on
inputs larger than the Swift tests' fixtures: a generated ~1 MB corpus
(words, the Unicode stress text, random scalars), random byte strings and
random ids. Run by `make test` after the build; prints one skip line and
exits 0 when `tokenizers` is not importable.

    python3 scripts/check_tokenizer.py [path/to/tessera]

Checks, each printed with its counts:
  1. a tokenizer Tessera trains (GPT-2 and Llama 3 patterns) loads in
     `tokenizers`, and both encode the corpus to the same ids;
  2. `tokenizers`' BpeTrainer on the same file learns the same merges;
  3. the fixture tokenizers encode the corpus (2 threads in Tessera) and
     decode random ids identically;
  4. random byte strings: Tessera's ids decode back to the exact bytes, and
     on their U+FFFD-replaced text both packages give the same ids.
"""
import os, random, subprocess, sys, tempfile

try:
    from tokenizers import Tokenizer, pre_tokenizers, decoders, models, trainers
except ImportError:
    print("check_tokenizer: SKIPPED (python package 'tokenizers' is not installed; pip install tokenizers)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESSERA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "tessera")
FIXTURES = os.path.join(ROOT, "Tests", "TesseraTokenizerTests", "Fixtures")
sys.path.insert(0, FIXTURES)
from make_tokenizer_fixtures import STRESS  # the Unicode stress text the fixtures use

failures = 0

def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1

def tessera(*args, data=None):
    r = subprocess.run([TESSERA, *args], input=data, capture_output=True)
    if r.returncode != 0:
        sys.exit(f"check_tokenizer: tessera {' '.join(args)} failed: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout

def ids_of(out):
    return [int(x) for x in out.split()]

def corpus(rng):
    words = ("time person year way day thing man world life hand part child eye woman place work week case point "
             "government company number group problem fact be have do say get make go know take see come think "
             "look want give use find tell ask work seem feel try leave call Москва naïve café 東京 北京 서울 ").split()
    lines = []
    size = 0
    while size < 1_000_000:
        r = rng.random()
        if r < 0.85:
            s = " ".join(rng.choice(words) for _ in range(rng.randint(1, 18))) + rng.choice([".", ",", "!", "?", "", ":", " 2024", "'s"])
        elif r < 0.95:
            s = "".join(chr(rng.choice([rng.randint(0x20, 0x7E), rng.randint(0xA0, 0x24F), rng.randint(0x3040, 0x30FF),
                                        rng.randint(0x1F300, 0x1F64F), rng.randint(0x300, 0x36F), rng.randint(0x600, 0x6FF)]))
                        for _ in range(rng.randint(1, 60)))
        else:
            s = STRESS
        s += rng.choice(["\n", "\n", "\n\n", "  \n", "\r\n"])
        lines.append(s)
        size += len(s)
    return "".join(lines)

def main():
    if not os.access(TESSERA, os.X_OK):
        sys.exit(f"check_tokenizer: {TESSERA} is not built (make build)")
    rng = random.Random(2024)
    with tempfile.TemporaryDirectory(prefix="tessera-tokcheck-") as tmp:
        text = corpus(rng)
        path = os.path.join(tmp, "corpus.txt")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        print(f"check_tokenizer: corpus of {len(text.encode())} bytes, tokenizers {__import__('tokenizers').__version__}")

        for pattern in ["gpt2", "llama3"]:
            out = os.path.join(tmp, f"tessera_{pattern}.json")
            tessera("tokenizer", "train", "--vocab", "2000", "--data", path, "--out", out, "--pattern", pattern, "--threads", "2")
            hf = Tokenizer.from_file(out)
            mine = ids_of(tessera("tokenizer", "encode", "--tokenizer", out, path))
            theirs = hf.encode(text).ids
            check(mine == theirs, f"{pattern}: tokenizers loads Tessera's tokenizer.json and encodes the corpus identically ({len(mine)} ids)")
            if pattern == "gpt2":
                trained = Tokenizer(models.BPE())
                trained.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
                trained.decoder = decoders.ByteLevel()
                trained.train([path], trainers.BpeTrainer(vocab_size=2000, min_frequency=2, special_tokens=["<|endoftext|>"],
                                                          show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
                check(trained.get_vocab() == hf.get_vocab(),
                      f"gpt2: tokenizers' BpeTrainer learns the same {trained.get_vocab_size()} tokens from the corpus")

        for name in ["gpt2_style", "gpt2_prefix", "llama3_style"]:
            fixture = os.path.join(FIXTURES, name + ".json")
            hf = Tokenizer.from_file(fixture)
            mine = ids_of(tessera("tokenizer", "encode", "--tokenizer", fixture, "--threads", "2", path))
            check(mine == hf.encode(text).ids, f"{name}: corpus ids identical ({len(mine)} ids, 2 threads)")
            n = hf.get_vocab_size(with_added_tokens=True)
            bad = 0
            for _ in range(100):
                ids = [rng.randrange(n) for _ in range(rng.randint(1, 80))]
                got = tessera("tokenizer", "decode", "--tokenizer", fixture, data=" ".join(map(str, ids)).encode())
                if got.decode("utf-8", errors="replace") != hf.decode(ids, skip_special_tokens=False):
                    bad += 1
            check(bad == 0, f"{name}: 100 random id lists decode identically ({bad} differ)")

            bad_round, bad_ids = 0, 0
            for _ in range(50):
                raw = bytes(rng.randrange(256) for _ in range(rng.randint(1, 400)))
                ids = tessera("tokenizer", "encode", "--tokenizer", fixture, "--no-special", data=raw)
                back = tessera("tokenizer", "decode", "--tokenizer", fixture, data=ids)
                prefix = b" " if name == "gpt2_prefix" and not raw.startswith(b" ") else b""
                bad_round += back != prefix + raw
                lossy = raw.decode("utf-8", errors="replace")
                if ids_of(tessera("tokenizer", "encode", "--tokenizer", fixture, data=lossy.encode())) != hf.encode(lossy).ids:
                    bad_ids += 1
            check(bad_round == 0, f"{name}: 50 random byte strings decode back to their bytes ({bad_round} differ)")
            check(bad_ids == 0, f"{name}: their U+FFFD-replaced texts encode identically ({bad_ids} differ)")
    print(f"check_tokenizer: {'all checks passed' if failures == 0 else f'{failures} check(s) FAILED'}")
    sys.exit(1 if failures else 0)

if __name__ == "__main__":
    main()
