#!/usr/bin/env python3
"""Writes tokenizer.json (and the tokenizer config transformers reads) into an
export of a byte-vocabulary Tessera model, so Hugging Face tools that need a
tokenizer (transformers serve, llama.cpp's GGUF conversion) can serve it.

Tessera's byte models read id b for byte b (vocabulary 256, no merges). The
tokenizer written here is a byte-level BPE whose token b is GPT-2's printable
character for byte b and which has no merges and no regex split, so it encodes
any text to exactly its UTF-8 bytes and decodes ids back to those bytes: the
same ids Tessera uses. The script checks that on a sample before writing.

Usage: byte_tokenizer.py EXPORT_DIR
"""
import json, os, sys

try:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
except ImportError:
    print("byte_tokenizer.py: skipped: the Python package 'tokenizers' is not installed (pip install tokenizers)")
    sys.exit(3)


def byte_alphabet():
    """GPT-2's map from each byte to a printable character."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def main():
    if len(sys.argv) != 2 or not os.path.isfile(os.path.join(sys.argv[1], "config.json")):
        print("usage: byte_tokenizer.py EXPORT_DIR (a directory with config.json)", file=sys.stderr)
        sys.exit(2)
    out = sys.argv[1]
    config = json.load(open(os.path.join(out, "config.json")))
    if config.get("vocab_size") != 256:
        print(f"byte_tokenizer.py: {out} has vocab_size {config.get('vocab_size')}, not 256 (bytes)", file=sys.stderr)
        sys.exit(2)
    vocab = {c: b for b, c in byte_alphabet().items()}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    sample = "Hello, wörld! 日本 🙂\n\t  end"
    ids = tok.encode(sample).ids
    if ids != list(sample.encode()) or tok.decode(ids) != sample:
        print("byte_tokenizer.py: the tokenizer does not map text to its bytes", file=sys.stderr)
        sys.exit(1)
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": config.get("n_positions", 1024),
                   "clean_up_tokenization_spaces": False}, f, indent=1)
    print(f"wrote {out}/tokenizer.json (256 byte tokens, no merges)")


if __name__ == "__main__":
    main()
