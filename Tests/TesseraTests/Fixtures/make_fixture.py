"""Writes gpt_small_reference.safetensors: an independent PyTorch computation
of the GPT-2 model Tessera implements, for the Swift tests to match.

Usage: python make_fixture.py [OUT]   (needs torch and numpy; the tests do not)

Config: 2 layers, d=64, 4 heads, T=32, batch 4, vocab 256, dropout 0.
Contents (names as in Tessera's checkpoints):
  every parameter (wte, wpe, h.{i}.ln1.weight, ..., lnf.bias), GPT-2 init drawn by torch;
  tokens/targets int32 [10, 4, 32]: one batch per optimizer step;
  logits [128, 256], loss [1] and grad.<name> for every parameter, at step 0;
  losses [10]: the loss of each of 10 steps of AdamW (lr 1e-3, betas 0.9/0.95,
  eps 1e-8, weight decay 0.1 on 2-D weights only, global-norm clip 1.0).
"""
import json, math, struct, sys
import numpy as np
import torch
import torch.nn.functional as F

L, D, H, T, B, V, STEPS = 2, 64, 4, 32, 4, 256, 10
LR, BETAS, EPS, WD, CLIP = 1e-3, (0.9, 0.95), 1e-8, 0.1, 1.0
torch.manual_seed(1234)

def param_shapes():
    shapes = [("wte", (V, D)), ("wpe", (T, D))]
    for i in range(L):
        p = f"h.{i}."
        shapes += [(p + "ln1.weight", (D,)), (p + "ln1.bias", (D,)),
                   (p + "attn.qkv.weight", (3 * D, D)), (p + "attn.qkv.bias", (3 * D,)),
                   (p + "attn.proj.weight", (D, D)), (p + "attn.proj.bias", (D,)),
                   (p + "ln2.weight", (D,)), (p + "ln2.bias", (D,)),
                   (p + "mlp.fc.weight", (4 * D, D)), (p + "mlp.fc.bias", (4 * D,)),
                   (p + "mlp.out.weight", (D, 4 * D)), (p + "mlp.out.bias", (D,))]
    return shapes + [("lnf.weight", (D,)), ("lnf.bias", (D,))]

# GPT-2 init, but with non-trivial LayerNorm gains and biases so their
# gradients and the bias paths are exercised by the comparison.
params = {}
for name, shape in param_shapes():
    if name.endswith("ln1.weight") or name.endswith("ln2.weight") or name == "lnf.weight":
        t = 1 + 0.1 * torch.randn(shape)
    elif len(shape) == 1:
        t = 0.02 * torch.randn(shape)
    else:
        std = 0.02 / math.sqrt(2 * L) if ("attn.proj" in name or "mlp.out" in name) else 0.02
        t = std * torch.randn(shape)
    params[name] = t.float().requires_grad_(True)

def forward(idx):
    x = params["wte"][idx] + params["wpe"][torch.arange(T)]
    for i in range(L):
        p = lambda n: params[f"h.{i}.{n}"]
        h = F.layer_norm(x, (D,), p("ln1.weight"), p("ln1.bias"), 1e-5)
        qkv = h @ p("attn.qkv.weight").T + p("attn.qkv.bias")
        q, k, v = qkv.split(D, dim=2)
        q, k, v = (t.view(B, T, H, D // H).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D // H)
        att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + (y @ p("attn.proj.weight").T + p("attn.proj.bias"))
        h = F.layer_norm(x, (D,), p("ln2.weight"), p("ln2.bias"), 1e-5)
        f = F.gelu(h @ p("mlp.fc.weight").T + p("mlp.fc.bias"), approximate="tanh")
        x = x + (f @ p("mlp.out.weight").T + p("mlp.out.bias"))
    x = F.layer_norm(x, (D,), params["lnf.weight"], params["lnf.bias"], 1e-5)
    return (x @ params["wte"].T).view(B * T, V)

data = torch.randint(0, V, (STEPS, B, T + 1))
tokens, targets = data[:, :, :T].contiguous(), data[:, :, 1:].contiguous()
arrays = {name: t.detach().clone() for name, t in params.items()}

logits = forward(tokens[0])
loss = F.cross_entropy(logits, targets[0].reshape(-1))
loss.backward()
arrays["logits"] = logits.detach().clone()
arrays["loss"] = loss.detach().reshape(1).clone()
for name, t in params.items():
    arrays["grad." + name] = t.grad.detach().clone()

decay = [t for n, t in params.items() if t.dim() >= 2]
no_decay = [t for n, t in params.items() if t.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=LR, betas=BETAS, eps=EPS)
losses = []
for step in range(STEPS):
    opt.zero_grad()
    loss = F.cross_entropy(forward(tokens[step]), targets[step].reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(params.values()), CLIP)
    opt.step()
    losses.append(loss.item())
arrays["losses"] = torch.tensor(losses, dtype=torch.float32)
arrays["tokens"] = tokens.int()
arrays["targets"] = targets.int()

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

meta = {"layers": str(L), "d-model": str(D), "heads": str(H), "seq-len": str(T), "batch": str(B), "vocab": str(V),
        "lr": str(LR), "beta1": str(BETAS[0]), "beta2": str(BETAS[1]), "eps": str(EPS), "weight-decay": str(WD),
        "grad-clip": str(CLIP), "steps": str(STEPS), "torch": torch.__version__}
out = sys.argv[1] if len(sys.argv) > 1 else "gpt_small_reference.safetensors"
write_safetensors(out, arrays, meta)
print(f"wrote {out}: loss {arrays['loss'].item():.6f}, 10-step losses {losses[0]:.5f} .. {losses[-1]:.5f}")
