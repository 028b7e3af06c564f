#!/usr/bin/env bash
# Writes docs/SEEDS.md: the seeds' examples in their order, each as the
# command that shows it and that command's real output, then where the seeds
# are wrong or simplified. Also draws docs/pictures/*.png (needs rsvg-convert).
#   scripts/seeds_walkthrough.sh [path/to/tessera]    (default .build/release/tessera)
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-.build/release/tessera}
out=docs/SEEDS.md
pics=docs/pictures
mkdir -p "$pics"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

run() {  # run CMD...: the command line and its output as a code block
  printf '```\n$ tessera %s\n' "$*"
  "$T" "$@" 2>&1 | sed -e "s|$tmp/||g"
  printf '```\n\n'
}

{
cat <<'MD'
# The seeds' examples, run

The seeds are the tutorial documents Tessera was built from. This page walks
their examples in their order: for each, the command that shows it in Tessera
and what that command printed (pasted from a real run by
`scripts/seeds_walkthrough.sh`, which writes this page). Cluster figures are
the planner's (A100 80 GB, 8 per node, bf16 with fp32 gradients, unless a line
says otherwise); nothing here needs a GPU. The last section lists where the
seeds are wrong or simplified, with the correct figure.

## 1. A 4 × 4 × 4 mesh of 64 GPUs

Sixty-four GPUs in eight nodes of eight, split 4 ways by pipeline, tensor and
data parallelism. The seeds name the dimensions PP × TP × DP; the default
order here (pp, dp, cp, tp: outermost first) keeps each tp group on
neighbouring ranks, so within a node. `--order` may leave out size-1
dimensions (cp here).

MD
run mesh --pp 4 --tp 4 --dp 4 --order pp,dp,tp --ranks-per-node 8

cat <<'MD'
## 2. TP 8 × PP 4 × DP 2

Tensor parallelism 8-wide fills a node; the 4 stages and 2 replicas cross
nodes. Only the rule lines and the group lists are shown here (the full table
has 64 rows, as above).

MD
printf '```\n$ tessera mesh --tp 8 --pp 4 --dp 2 --ranks-per-node 8 | grep -v "^[0-9]"\n'
"$T" mesh --tp 8 --pp 4 --dp 2 --ranks-per-node 8 | grep -v '^[0-9]'
printf '```\n\n'

cat <<'MD'
## 3. GPT-3 175B on 512 GPUs as the seeds write it: PP 8, TP 4, DP 16

Global batch 1536 sequences of 2048 tokens (GPT-3's 3.2M tokens), sequence
parallelism with tp. As written (no recomputation, optimizer replicated) it
needs 158 GiB per GPU; selective recomputation and ZeRO-1 (the optimizer's
states sharded over the 16 data-parallel ranks) bring it to 54.55 GiB.

MD
run plan --model gpt3-175b --gpu a100-80 --global-batch 1536 --layout "pp=8,tp=4,dp=16,sp=true" --recompute none
run plan --model gpt3-175b --gpu a100-80 --global-batch 1536 --layout "pp=8,tp=4,dp=16,sp=true,zero=1" --recompute selective
cat <<'MD'
What the planner's search proposes for the same 512 GPUs (the seeds' layout
is not far behind):

MD
run plan --model gpt3-175b --gpus 512 --gpu a100-80 --global-batch 1536 --top 3

cat <<'MD'
## 4. PaLM 540B as the seeds write it: PP 12, TP 12, DP 64 (9216 GPUs)

On A100s, not PaLM's TPU v4. Global batch 2304 sequences of 2048 (PaLM's 2048
rounded to a multiple of dp 64 · micro-batches); tp 12 does not divide the
2048-token sequence, so no sequence parallelism, and a tp group of 12 spans
two 8-GPU nodes. With full recomputation and the optimizer replicated it
needs 82 GiB per GPU; with ZeRO-1 over dp 64, selective recomputation fits.

MD
run plan --model palm-540b --gpu a100-80 --global-batch 2304 --layout "pp=12,tp=12,dp=64" --recompute full
run plan --model palm-540b --gpu a100-80 --global-batch 2304 --layout "pp=12,tp=12,dp=64,zero=1" --recompute selective

cat <<'MD'
## 5. A 70B model's memory under ZeRO 1, 2 and 3

Pure data parallelism over 64 GPUs, bf16 weights with fp32 master weights and
Adam moments (16 bytes per parameter before sharding), full recomputation.
Only the plan's row and the memory lines are shown.

MD
for z in 0 1 2 3; do
  printf '```\n$ tessera plan --model llama2-70b --gpu a100-80 --global-batch 1024 --recompute full --layout "dp=64,zero=%s" | sed -n "3,13p"\n' "$z"
  "$T" plan --model llama2-70b --gpu a100-80 --global-batch 1024 --recompute full --layout "dp=64,zero=$z" | sed -n '3,13p'
  printf '```\n\n'
done

cat <<'MD'
## 6. The bubble of each schedule

Four stages, eight micro-batches, a stage's forward costing 1 and its
backward 2 (1 for the input gradient, 1 for the weights' where the schedule
splits them). GPipe and 1F1B have the same bubble, (p−1)/(m+p−1) = 3/11;
what 1F1B changes is memory: rank 0 holds 4 micro-batches' activations instead
of 8. Interleaving (2 chunks per rank) and zero-bubble H1 shrink the bubble.

MD
for s in gpipe 1f1b; do
  run schedule --pp 4 --micro-batches 8 --schedule $s --svg "$pics/schedule-$s.svg" --png
done
run schedule --pp 4 --micro-batches 8 --schedule interleaved --pp-chunks 2 --svg "$pics/schedule-interleaved.svg" --png
run schedule --pp 4 --micro-batches 8 --schedule zb-h1 --svg "$pics/schedule-zb-h1.svg" --png
rm -f "$pics"/*.svg
cat <<'MD'
The pictures share one time scale (40 px per unit of cost), so the same work
is equally wide in each:

![GPipe](pictures/schedule-gpipe.png)
![1F1B](pictures/schedule-1f1b.png)
![interleaved](pictures/schedule-interleaved.png)
![zero-bubble H1](pictures/schedule-zb-h1.png)

## 7. The communication cost of each collective

Each collective run step by step on 4 thread ranks; each rank's buffer is
S = 32 bytes (4 chunks of 8).

MD
for op in allreduce reducescatter allgather alltoall; do run explain $op --ranks 4; done

cat <<'MD'
## 8. Tensor and pipeline parallelism for serving

Llama-2 70B in bf16 on one node of 8 A100 80 GB, 4096-token contexts and
512-token prompts: the layouts ranked for latency (batch 1), then for
throughput (each at its largest batch).

MD
run plan --serve --model llama2-70b --gpus 8 --gpu a100-80 --context 4096 --prompt 512 --target latency --top 6
run plan --serve --model llama2-70b --gpus 8 --gpu a100-80 --context 4096 --prompt 512 --target throughput --top 6

cat <<'MD'
The seeds' "7B: a single GPU" holds for serving, not for training:

MD
run plan --serve --model llama2-7b --gpus 1 --gpu a100-80 --context 4096 --target latency
printf '```\n$ tessera plan --model llama2-7b --gpu a100-80 --global-batch 64 --layout "dp=1" --recompute full | head -4\n'
"$T" plan --model llama2-7b --gpu a100-80 --global-batch 64 --layout "dp=1" --recompute full 2>&1 | head -4
printf '```\n\n'
cat <<'MD'
## Where the seeds are wrong or simplified

- **The ring all-reduce's cost (seed 002).** Written there as 2(N−1)·S/β,
  without the /N. Each of the ring's 2(N−1) steps moves one chunk of S/N
  bytes, so the cost is 2(N−1)/N · S/β (plus 2(N−1) latencies α): under
  2·S/β for any N. Section 7 shows it: on 4 ranks each rank sends
  6 chunks of 8 bytes = 48 bytes = 2·3/4 of S = 32 bytes, not 2·3·32 = 192.
  Reduce-scatter and all-gather each cost half of it, (N−1)/N · S/β.
- **"1F1B has much higher utilization than GPipe."** With the same p and m
  the two have the same bubble, (p−1)/(m+p−1): 27.3% for p 4, m 8 in
  section 6, step time 33 units for both. 1F1B's gain is memory: a rank holds
  at most p − rank micro-batches' activations (4, 3, 2, 1) instead of all m
  (8 on every rank). That memory is what lets 1F1B run more micro-batches and
  so shrink the bubble; at equal m the utilization is equal. Interleaving
  (bubble divided by the chunks) and zero-bubble schedules are what raise
  utilization at a given m.
- **GPT-3 drawn with 192 layers.** GPT-3 175B has 96 layers (Brown et al.
  2020, Table 2.1: n_layers 96, d_model 12288, 96 heads), which the
  `gpt3-175b` preset uses: PP 8 gives 12 blocks per stage.
- **"7B: a single GPU."** True for serving (section 8: 12.6 GiB of bf16
  weights leave room for a batch of KV cache on one 80 GB A100), not for
  training with Adam: 16 bytes per parameter (bf16 weights and gradients,
  fp32 master weights and two moments) is about 100 GiB before activations,
  more than one 80 GB device (last command of section 8).
- **The meshes' order.** The seeds write PP × TP × DP (GPT-3: PP 8, TP 4,
  DP 16). An earlier PLANNER.md read them as DP × TP × PP and evaluated
  dp 8 × pp 16 for GPT-3 and dp 12 × pp 64 for PaLM, layouts the seeds never
  proposed; it now evaluates the seeds' own (sections 3 and 4).
- **PaLM's layout.** PaLM 540B was trained without pipeline parallelism, on
  6144 TPU v4 chips in two pods, 12-way model parallelism and 256-way
  sharded data parallelism in each pod (Chowdhery et al. 2022, section 4).
  The seeds' PP 12 × TP 12 × DP 64 on 9216 GPUs is their own example, planned
  here on A100s as they write it.
MD
} > "$out"
echo "wrote $out and $pics/"
