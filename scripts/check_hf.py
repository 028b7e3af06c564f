#!/usr/bin/env python3
"""Checks Tessera's Hugging Face checkpoints in and out live against
transformers. Run by `make test` after the build; prints one skip line and
exits 0 when torch, transformers or safetensors is not importable.

    ${PYTHON:-python3} scripts/check_hf.py [path/to/tessera]

Checks, each printed with its figures:
  1. in: small random GPT-2 and Llama (grouped-query, untied) models saved
     by transformers' save_pretrained (fp32 whole, fp32 sharded, fp16 and bf16 sharded): the logits of every token
     `tessera generate --temperature 0` produces equal transformers' logits
     on the same ids (the directory loaded in float32, so half-precision
     weights are upcast exactly as Tessera upcasts them) within 1e-5 relative
     (max |a - b| / max |b|); and an architecture Tessera does not run, or an
     unsupported config key (Llama: rope scaling, biases), is a one-line
     error with exit status 2.
  2. out, with the tokenizer, for each family: a BPE tokenizer trained by
     `tessera tokenizer train` on a small text, a short `tessera train`
     through it, `tessera
     export --hf`: AutoTokenizer and AutoModelForCausalLM load the directory,
     and transformers' greedy text equals `tessera generate`'s, token for
     token, from the checkpoint and from the export; `train --init-from`
     the export encodes its text with the exported tokenizer.
"""
import copy, json, os, subprocess, sys, tempfile

try:
    import numpy as np
    import torch
    from safetensors.numpy import load_file
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer
except ImportError as e:
    print(f"check_hf: SKIPPED (python package '{e.name}' is not installed; pip install torch transformers safetensors)")
    sys.exit(0)
transformers.logging.set_verbosity_error()
try:
    transformers.utils.logging.disable_progress_bar()
except AttributeError:
    pass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESSERA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "tessera")
CORPUS = os.path.join(ROOT, "Tests", "TesseraTokenizerTests", "Fixtures", "trainer_corpus.txt")
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1


def tessera(*args, expect=0):
    r = subprocess.run([TESSERA, *args], capture_output=True, text=True)
    if r.returncode != expect:
        print(f"tessera {' '.join(args)} exited {r.returncode} (expected {expect}):\n{r.stdout}{r.stderr}")
        sys.exit(1)
    return r


def relative(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def random_models():
    """(name, config) of the small random models the import check saves."""
    from transformers import GPT2Config, LlamaConfig
    gpt2 = GPT2Config(vocab_size=300, n_positions=64, n_embd=64, n_layer=2, n_head=4, activation_function="gelu_new",
                      resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, bos_token_id=None, eos_token_id=None)
    llama = LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                        num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, tie_word_embeddings=False,
                        bos_token_id=None, eos_token_id=None, pad_token_id=None)
    return [("gpt2", gpt2), ("llama", llama)]


def check_import(tmp):
    prompts = ["The ", "Once upon a time", "x"]
    tokens = 16
    for family, config in random_models():
        torch.manual_seed(3)
        model = AutoModelForCausalLM.from_config(config).eval()
        with torch.no_grad():  # weights larger than the 0.02 init, so the logits are far from uniform
            for p in model.parameters():
                if p.dim() == 2:
                    p.mul_(6.0)
        for variant, dtype, shard in [("fp32", torch.float32, None), ("fp32-sharded", torch.float32, "100KB"),
                                      ("fp16", torch.float16, None), ("bf16-sharded", torch.bfloat16, "100KB")]:
            d = os.path.join(tmp, f"{family}-{variant}")
            kwargs = {"max_shard_size": shard} if shard else {}
            copy.deepcopy(model).to(dtype).save_pretrained(d, **kwargs)
            files = sorted(f for f in os.listdir(d) if f.endswith(".safetensors"))
            ref = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
            logits_path = os.path.join(tmp, "logits.safetensors")
            cmd = ["generate", "--checkpoint", d, "--tokens", str(tokens), "--temperature", "0", "--batch", "2",
                   "--logits", logits_path]
            for p in prompts:
                cmd += ["--prompt", p]
            tessera(*cmd)
            ours = load_file(logits_path)
            worst = 0.0
            for r, prompt in enumerate(prompts):
                rows = ours[f"request.{r}"]  # [tokens, vocab]
                ids = list(prompt.encode()) + rows[:-1, :256].argmax(axis=1).tolist()  # Tessera picks among the 256 bytes
                with torch.no_grad():
                    full = ref(torch.tensor([ids])).logits[0].numpy()
                theirs = full[len(prompt.encode()) - 1:]
                worst = max(worst, relative(rows, theirs))
            check(worst < 1e-5, f"in: {family} {variant} ({len(files)} safetensors file(s)): logits of "
                                f"{len(prompts)}×{tokens} generated tokens, max relative difference {worst:.2e} (< 1e-5)")
        # What Tessera cannot run: a one-line error, exit status 2.
        d = os.path.join(tmp, f"{family}-fp32")
        refusals = [("architectures", ["BertForMaskedLM"], "BertForMaskedLM")]
        refusals += ([("add_cross_attention", True, "add_cross_attention")] if family == "gpt2" else
                     [("rope_scaling", {"rope_type": "linear", "factor": 2.0}, "linear"),
                      ("rope_parameters", {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 2.0}, "yarn"),
                      ("attention_bias", True, "attention_bias")])
        for key, value, named in refusals:
            with open(os.path.join(d, "config.json")) as f:
                original = f.read()
            edited = json.loads(original)
            edited[key] = value
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(edited, f)
            r = tessera("generate", "--checkpoint", d, "--tokens", "2", expect=2)
            with open(os.path.join(d, "config.json"), "w") as f:
                f.write(original)
            line = r.stderr.strip()
            check(line.count("\n") == 0 and named in line and line.startswith("tessera: error:"),
                  f"in: {family} config.json with {key}={value} refused: {line}")


def generated_text(stdout):
    """Tessera prints a request's prompt and continuation, then a newline."""
    return stdout[:-1] if stdout.endswith("\n") else stdout


def check_export(tmp, family, arch_flags):
    tok = os.path.join(tmp, "tok.json")
    if not os.path.exists(tok):
        tessera("tokenizer", "train", "--vocab", "512", "--data", CORPUS, "--out", tok)
    tmp = os.path.join(tmp, family)
    os.makedirs(tmp)
    ckpt, hf = os.path.join(tmp, "ckpt"), os.path.join(tmp, "hf")
    tessera("train", "--data", CORPUS, "--tokenizer", tok, "--vocab", "512", "--layers", "2", "--d-model", "64",
            "--heads", "4", "--seq-len", "64", "--batch", "8", "--steps", "200", "--lr", "3e-3", "--eval-every", "0",
            "--sample", "0", "--threads", "2", "--checkpoint", ckpt, *arch_flags)
    tessera("export", "--hf", hf, "--checkpoint", ckpt)
    check(sorted(os.listdir(hf)) == ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"],
          f"out: {family}: export --hf wrote {sorted(os.listdir(hf))}")
    tokenizer = AutoTokenizer.from_pretrained(hf)
    model = AutoModelForCausalLM.from_pretrained(hf).eval()
    wanted = {"gpt2": "GPT2LMHeadModel", "llama": "LlamaForCausalLM"}[family]
    check(type(model).__name__ == wanted, f"out: {family}: AutoModelForCausalLM loads a {type(model).__name__}")
    tokens = 24
    for prompt in ["The king", "What is", "And so"]:
        ids = tokenizer(prompt, return_tensors="pt").input_ids
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=tokens, do_sample=False, pad_token_id=0, eos_token_id=None)
        theirs_ids = out[0, ids.shape[1]:].tolist()
        theirs = tokenizer.decode(out[0].tolist())
        for source, where in [("checkpoint", ckpt), ("export", hf)]:
            r = tessera("generate", "--checkpoint", where, "--prompt", prompt, "--tokens", str(tokens), "--temperature", "0")
            ours = generated_text(r.stdout)
            check(ours == theirs, f"out: {family}: greedy text from the {source} equals transformers' over {len(theirs_ids)} tokens: "
                                  f"{ours[:60]!r}" + ("" if ours == theirs else f" vs {theirs[:60]!r}"))
    # Fine-tuning from the export encodes the text with the tokenizer it carries, and records it.
    r = tessera("train", "--init-from", hf, "--data", CORPUS, "--steps", "2", "--batch", "4", "--eval-every", "0",
                "--sample", "0", "--threads", "2", "--checkpoint", os.path.join(tmp, "ft"))
    line = next((l for l in r.stdout.splitlines() if l.startswith("data:")), "")
    check("tokens (tokenizer sha256" in line and "starting from the weights of" in r.stdout,
          f"out: {family}: train --init-from the export encodes the text with its tokenizer: {line}")


def main():
    if not os.path.exists(TESSERA):
        print(f"check_hf: FAIL, no tessera binary at {TESSERA} (build it first)")
        sys.exit(1)
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        check_import(tmp)
        check_export(tmp, "gpt2", [])
        check_export(tmp, "llama", ["--arch", "llama", "--kv-heads", "2"])
    print(f"check_hf: {'PASSED' if failures == 0 else f'{failures} FAILED'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
