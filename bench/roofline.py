#!/usr/bin/env python3
"""Bandwidth roofline of one decode step of an MoE model (issue 7).

Bytes a decode step of `batch` sequences at `context` tokens each must read:
the dense weights (attention, norms, router, embeddings rows are negligible,
the LM head whole), the distinct experts the batch routes to (expected value
under uniform routing: E * (1 - (1 - k/E)^batch) per layer), and the KV cache
(bf16 K and V of every layer, `context` positions per sequence). Over the
measured bandwidth that is the fastest a step can be.

  python3 bench/roofline.py bench/configs/qwen3_30b_a3b --bandwidth-gbps 3000 \
      --batch 1 8 32 64 --context 1024
"""
import argparse
import json
import os


def step_bytes(cfg, batch, context, dtype_bytes=2):
    h = cfg["hidden_size"]
    layers = cfg["num_hidden_layers"]
    heads, kv_heads = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    head_dim = cfg.get("head_dim", h // heads)
    experts = cfg.get("num_experts", cfg.get("num_local_experts"))
    k = cfg["num_experts_per_tok"]
    inter = cfg.get("moe_intermediate_size", cfg.get("intermediate_size"))
    attn = h * (heads + 2 * kv_heads) * head_dim + heads * head_dim * h
    router = experts * h
    dense = layers * (attn + router) + cfg["vocab_size"] * h  # + LM head
    expert = 3 * h * inter
    distinct = experts * (1 - (1 - k / experts) ** batch)
    moe = layers * distinct * expert
    kv = batch * context * layers * 2 * kv_heads * head_dim
    return {"dense": dense * dtype_bytes, "experts": moe * dtype_bytes, "kv": kv * dtype_bytes,
            "distinct_experts_per_layer": distinct}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a model directory or config.json")
    p.add_argument("--bandwidth-gbps", type=float, required=True, help="measured device read bandwidth, GB/s")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32, 64])
    p.add_argument("--context", type=int, default=1024)
    a = p.parse_args()
    path = os.path.join(a.model, "config.json") if os.path.isdir(a.model) else a.model
    with open(path) as f:
        cfg = json.load(f)
    print("| batch | distinct experts/layer | dense GB | experts GB | KV GB | roofline ms/step |")
    print("|---|---|---|---|---|---|")
    for b in a.batch:
        s = step_bytes(cfg, b, a.context)
        total = s["dense"] + s["experts"] + s["kv"]
        print(f"| {b} | {s['distinct_experts_per_layer']:.1f} | {s['dense'] / 1e9:.3f} | {s['experts'] / 1e9:.3f} "
              f"| {s['kv'] / 1e9:.3f} | {total / (a.bandwidth_gbps * 1e9) * 1e3:.2f} |")


if __name__ == "__main__":
    main()
