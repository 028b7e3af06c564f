#!/usr/bin/env python3
"""Checks a `tessera export --hf` directory against Tessera itself.

Loads DIR with transformers.GPT2LMHeadModel.from_pretrained, then for each
prompt: greedy generation must give the same bytes as `tessera generate
--temperature 0` on the same directory, and the logits of every generated
byte must equal Tessera's within 1e-5 relative (max |a - b| / max |b|).
Exits 0 when all hold, 1 otherwise, 77 when transformers is not installed.

    python scripts/check_hf_export.py --tessera .build/release/tessera --hf DIR [--tokens 32]
"""
import argparse, os, subprocess, sys, tempfile

try:
    import numpy as np
    import torch
    from safetensors.numpy import load_file
    from transformers import GPT2LMHeadModel
except ImportError as e:  # the check needs transformers; say so and skip
    print(f"check_hf_export: skipped, {e.name} is not installed (pip install transformers safetensors)")
    sys.exit(77)

PROMPTS = ["The ", "Once upon a time", "x"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tessera", required=True)
    ap.add_argument("--hf", required=True, help="directory written by tessera export --hf")
    ap.add_argument("--tokens", type=int, default=32)
    args = ap.parse_args()
    torch.manual_seed(0)
    model = GPT2LMHeadModel.from_pretrained(args.hf).eval()
    with tempfile.TemporaryDirectory() as tmp:
        logits_path = os.path.join(tmp, "logits.safetensors")
        cmd = [args.tessera, "generate", "--checkpoint", args.hf, "--tokens", str(args.tokens), "--temperature", "0",
               "--batch", "2", "--logits", logits_path]
        for p in PROMPTS:
            cmd += ["--prompt", p]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        tessera = load_file(logits_path)
    ok = True
    for r, prompt in enumerate(PROMPTS):
        ids = torch.tensor([list(prompt.encode())])
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=args.tokens, do_sample=False, pad_token_id=0,
                                 eos_token_id=None, use_cache=True)
        ours = tessera[f"request.{r}"]  # [tokens, vocab]
        # Tessera emits bytes only: its greedy choice is the argmax over ids < 256.
        ours_tokens = ours[:, :256].argmax(axis=1).tolist()
        hf_tokens = out[0, ids.shape[1]:].tolist()
        with torch.no_grad():
            full = model(out).logits[0].numpy()  # logits after every prefix of prompt + generated
        hf_rows = full[ids.shape[1] - 1: ids.shape[1] - 1 + ours.shape[0]]
        rel = float(np.abs(hf_rows - ours).max() / np.abs(hf_rows).max())
        same = hf_tokens == ours_tokens
        print(f"prompt {r} {prompt!r}: greedy {'identical' if same else 'DIFFERENT'} over {len(hf_tokens)} tokens, "
              f"logits max relative difference {rel:.2e}")
        ok &= same and rel < 1e-5
    print("check_hf_export:", "PASSED" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
