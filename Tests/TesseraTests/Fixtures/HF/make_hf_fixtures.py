"""Writes small Hugging Face checkpoints, saved by transformers' own
save_pretrained, for the Swift import tests, with the logits transformers
computes for fixed ids:

  gpt2_bf16_sharded/  GPT2LMHeadModel in bfloat16, sharded (model.safetensors.index.json + shards)
  gpt2_fp16/          the same weights in float16, one model.safetensors
  llama_bf16/         LlamaForCausalLM (grouped-query: 4 heads, 2 kv heads; untied head) in bfloat16
  <name>/expected.safetensors: ids int32 [T] and logits [T, vocab] of that
                      directory loaded in float32 (the half-precision weights upcast)

Usage: python make_hf_fixtures.py   (needs torch, transformers, safetensors; the tests do not)
Models: 2 layers, d 32, 4 heads, 24 positions, vocab 260, random init (seed 7);
the Llama with 2 kv heads, feed-forward 80, rope θ 10000, RMSNorm ε 1e-6.
"""
import os, shutil
import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

HERE = os.path.dirname(os.path.abspath(__file__))


def scale(model):
    """Weights larger than the 0.02 init, so the logits are far from uniform."""
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(8.0 if p.dim() == 2 else 1.0).add_(torch.randn_like(p) * 0.1 if p.dim() == 1 else 0)


def main():
    torch.manual_seed(7)
    config = GPT2Config(vocab_size=260, n_positions=24, n_embd=32, n_layer=2, n_head=4,
                        activation_function="gelu_new", resid_pdrop=0, embd_pdrop=0, attn_pdrop=0,
                        bos_token_id=None, eos_token_id=None)
    gpt2 = AutoModelForCausalLM.from_config(config).eval()
    scale(gpt2)
    llama = AutoModelForCausalLM.from_config(LlamaConfig(
        vocab_size=260, hidden_size=32, intermediate_size=80, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=24, rms_norm_eps=1e-6, tie_word_embeddings=False,
        bos_token_id=None, eos_token_id=None, pad_token_id=None)).eval()
    scale(llama)
    ids = torch.tensor([[(i * 37 + 11) % 260 for i in range(24)]])
    for name, model, dtype, shard in [("gpt2_bf16_sharded", gpt2, torch.bfloat16, "20KB"), ("gpt2_fp16", gpt2, torch.float16, None),
                                      ("llama_bf16", llama, torch.bfloat16, None)]:
        out = os.path.join(HERE, name)
        shutil.rmtree(out, ignore_errors=True)
        kwargs = {"max_shard_size": shard} if shard else {}
        model.to(dtype).save_pretrained(out, **kwargs)
        upcast = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
        with torch.no_grad():
            logits = upcast(ids).logits[0].contiguous()
        save_file({"ids": ids[0].to(torch.int32).contiguous(), "logits": logits}, os.path.join(out, "expected.safetensors"))
        print(name, sorted(os.listdir(out)), "logits", tuple(logits.shape), "max |logit|", float(logits.abs().max()))


if __name__ == "__main__":
    main()
