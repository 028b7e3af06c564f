"""Writes llama_small_reference.safetensors: transformers' own LlamaForCausalLM
(random init, eager attention, float32) on a small shape, for the Swift tests
to match Tessera's Llama blocks against.

Usage: ${PYTHON:-python3} make_llama_fixture.py [OUT]   (needs torch, numpy and
transformers; the tests do not)

Config: 2 layers, d 64, 4 heads, 2 kv heads (grouped-query), SwiGLU width 192,
vocab 256, T 32, batch 4, rope_theta 500000, rms_norm_eps 1e-5, untied head,
no biases. The RMSNorm gains are perturbed (1 + 0.1·N(0,1)) so their
gradients are exercised.
Contents (names as in Tessera's checkpoints: Hugging Face's without "model."):
  every parameter (embed_tokens.weight, layers.{i}.self_attn.q_proj.weight, ...,
  norm.weight, lm_head.weight); tokens/targets int32 [4, 32];
  logits [128, 256], loss [1] (mean token cross-entropy) and grad.<name> for every parameter.
"""
import json, struct, sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from transformers import LlamaConfig, LlamaForCausalLM
except ImportError as e:
    print(f"make_llama_fixture.py: skipped, {e.name} is not installed")
    sys.exit(0)

L, D, H, KV, FFN, T, B, V = 2, 64, 4, 2, 192, 32, 4, 256
torch.manual_seed(2024)
config = LlamaConfig(vocab_size=V, hidden_size=D, intermediate_size=FFN, num_hidden_layers=L,
                     num_attention_heads=H, num_key_value_heads=KV, max_position_embeddings=T,
                     rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
                     attention_bias=False, mlp_bias=False, attn_implementation="eager")
model = LlamaForCausalLM(config).float()
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("norm.weight"):
            p.copy_(1 + 0.1 * torch.randn(p.shape))

def tessera_name(hf):
    return hf[len("model."):] if hf.startswith("model.") else hf

data = torch.randint(0, V, (B, T + 1))
tokens, targets = data[:, :T].contiguous(), data[:, 1:].contiguous()
logits = model(input_ids=tokens).logits.reshape(B * T, V)
loss = F.cross_entropy(logits, targets.reshape(-1))
loss.backward()

arrays = {"logits": logits.detach().clone(), "loss": loss.detach().reshape(1).clone(),
          "tokens": tokens.int(), "targets": targets.int()}
for name, p in model.named_parameters():
    arrays[tessera_name(name)] = p.detach().clone()
    arrays["grad." + tessera_name(name)] = p.grad.detach().clone()

def write_safetensors(path, arrays, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(arrays):
        a = arrays[name].contiguous().numpy()
        dtype = {np.float32: "F32", np.int32: "I32"}[a.dtype.type]
        blob = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob); offset += len(blob)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for blob in blobs: f.write(blob)

import transformers
meta = {"arch": "llama", "layers": str(L), "d-model": str(D), "heads": str(H), "kv-heads": str(KV),
        "ffn-hidden": str(FFN), "seq-len": str(T), "batch": str(B), "vocab": str(V), "rope-theta": "500000",
        "norm-eps": "1e-5", "torch": torch.__version__, "transformers": transformers.__version__}
out = sys.argv[1] if len(sys.argv) > 1 else "llama_small_reference.safetensors"
write_safetensors(out, arrays, meta)
print(f"wrote {out}: loss {arrays['loss'].item():.6f}, {sum(1 for n in arrays if n.startswith('grad.'))} gradients")
