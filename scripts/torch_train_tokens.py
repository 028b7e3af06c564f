#!/usr/bin/env python3
"""PyTorch peer for training on the token ids of a `tessera data prepare` directory.

    /path/to/torch/venv/bin/python scripts/torch_train_tokens.py --data DIR --vocab 8192 \
        [--layers 4 --d 128 --heads 4 --seq 64 --batch 8 --steps 1000 --threads 2]

Reads the shards (1024-byte header, then uint16/uint32 ids) of both splits
with numpy, and trains a GPT-2-style model (pre-LayerNorm blocks, tanh GELU,
learned positions, head tied to the embedding, biases) with the recipe of
`tessera train`'s defaults: AdamW (betas 0.9/0.95, weight decay 0.1 on
matrices), peak lr 2e-3 with linear warm-up over 40 steps then cosine decay
to 0.1 of the peak, gradient clipping at norm 1. Windows are drawn uniformly
at random (torch's generator, not Tessera's Philox: the same distribution,
not the same sequences). Prints the mean training loss of each 100 steps,
the validation loss at the end (--eval-batches batches) and tokens/s.
"""
import argparse, json, math, os, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

class Block(nn.Module):
    def __init__(s, d, h):
        super().__init__(); s.h = h
        s.ln1 = nn.LayerNorm(d); s.qkv = nn.Linear(d, 3 * d); s.proj = nn.Linear(d, d)
        s.ln2 = nn.LayerNorm(d); s.fc = nn.Linear(d, 4 * d); s.out = nn.Linear(4 * d, d)
    def forward(s, x):
        B, T, C = x.shape
        q, k, v = s.qkv(s.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, s.h, C // s.h).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        x = x + s.proj(y)
        return x + s.out(F.gelu(s.fc(s.ln2(x)), approximate="tanh"))

class GPT(nn.Module):
    def __init__(s, V, T, L, d, h):
        super().__init__()
        s.wte = nn.Embedding(V, d); s.wpe = nn.Embedding(T, d)
        s.blocks = nn.ModuleList(Block(d, h) for _ in range(L)); s.lnf = nn.LayerNorm(d)
        for n, p in s.named_parameters():
            if p.dim() == 2: nn.init.normal_(p, 0.0, 0.02)
    def forward(s, idx, tgt):
        x = s.wte(idx) + s.wpe(torch.arange(idx.shape[1]))
        for b in s.blocks: x = b(x)
        logits = s.lnf(x) @ s.wte.weight.T
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt.reshape(-1))

def split(dirpath, index, name):
    dtype = np.uint16 if index["dtype"] == "uint16" else np.uint32
    parts = [np.fromfile(os.path.join(dirpath, s["file"]), dtype=dtype, offset=1024) for s in index["shards"] if s["split"] == name]
    return np.concatenate(parts).astype(np.int64)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    for k, v in dict(vocab=8192, layers=4, d=128, heads=4, seq=64, batch=8, steps=1000, threads=2,
                     warmup=40, eval_batches=8, seed=1337).items():
        ap.add_argument("--" + k.replace("_", "-"), type=int, default=v)
    ap.add_argument("--lr", type=float, default=2e-3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads); torch.manual_seed(a.seed)
    index = json.load(open(os.path.join(a.data, "index.json")))
    train, val = split(a.data, index, "train"), split(a.data, index, "validation")
    model = GPT(a.vocab, a.seq, a.layers, a.d, a.heads)
    decay = [p for p in model.parameters() if p.dim() >= 2]; rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(a.seed)
    def batch(ids):
        starts = torch.randint(0, len(ids) - a.seq, (a.batch,), generator=gen).numpy()
        w = np.stack([ids[s:s + a.seq + 1] for s in starts])
        return torch.from_numpy(w[:, :-1]), torch.from_numpy(w[:, 1:])
    def lr_at(step):
        if step < a.warmup: return a.lr * (step + 1) / a.warmup
        p = (step - a.warmup) / max(1, a.steps - a.warmup)
        return a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))
    print(f"torch {torch.__version__}: {sum(p.numel() for p in model.parameters())} parameters, "
          f"{len(train)} train / {len(val)} validation ids, {a.threads} thread(s)")
    losses, t0 = [], time.perf_counter()
    for step in range(a.steps):
        for g in opt.param_groups: g["lr"] = lr_at(step)
        x, y = batch(train)
        loss = model(x, y)
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); losses.append(loss.item())
        if (step + 1) % 100 == 0:
            print(f"step {step + 1}: mean training loss of the last 100 steps {sum(losses[-100:]) / 100:.4f}", flush=True)
    elapsed = time.perf_counter() - t0
    with torch.no_grad():
        v = sum(model(*batch(val)).item() for _ in range(a.eval_batches)) / a.eval_batches
    print(f"validation loss {v:.4f} after {a.steps} steps; {a.steps * a.batch * a.seq / elapsed:.0f} tok/s, {elapsed:.1f} s")

if __name__ == "__main__":
    main()
