#!/usr/bin/env python3
"""PyTorch peer of build/bench/moe_gpu_bench (issue 7).

Times the expert GEMMs of one MoE layer (gate/up, SiLU*mul, down) with
torch's grouped GEMM -- torch.nn.functional.grouped_mm where present, else
torch._grouped_mm -- for the same shapes, token counts and routings as the
C++ benchmark (bench/moe_gpu_shapes.cc), and prints a markdown table with
the same row keys (model, tokens, routing), so that bench/RESULTS.md can put
the two side by side. Where neither grouped GEMM exists or runs, it says so
and times a per-expert loop of torch.mm instead (marked "loop").

    python3 bench/moe_torch_peer.py [--reps N] [--model SUBSTRING] [--max-tokens N]

Needs only torch (nothing is downloaded). Exits 0 with a message without CUDA.
Routings are drawn with torch's generator, not the C++ one: same laws
(uniform, Zipf s=1.2 over a random expert permutation, top_k distinct per
token), not the same draws.
"""
import argparse
import statistics
import sys

SHAPES = [
    # name, experts, top_k, hidden, intermediate, shared experts
    ("Mixtral-8x7B", 8, 2, 4096, 14336, 0),
    ("Qwen3-30B-A3B", 128, 8, 2048, 768, 0),
    ("OLMoE-1B-7B", 64, 8, 2048, 1024, 0),
    ("DeepSeek-V2-Lite", 64, 6, 2048, 1408, 2),
]
TOKEN_COUNTS = [1, 8, 32, 128, 512, 4096, 32768]
ROUTINGS = ["uniform", "zipf1.2"]
ZIPF_S = 1.2


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--model", default="")
    parser.add_argument("--max-tokens", type=int, default=1 << 30)
    args = parser.parse_args()

    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print(f"moe_torch_peer: torch is not importable ({e}); nothing to measure.")
        return 0
    if not torch.cuda.is_available():
        print("moe_torch_peer: no CUDA device found; nothing to measure.")
        return 0
    dev = torch.device("cuda")

    grouped_mm = getattr(F, "grouped_mm", None)
    grouped_name = "torch.nn.functional.grouped_mm"
    if grouped_mm is None:
        grouped_mm = getattr(torch, "_grouped_mm", None)
        grouped_name = "torch._grouped_mm"
    if grouped_mm is None:
        print(f"moe_torch_peer: torch {torch.__version__} has neither torch.nn.functional.grouped_mm nor "
              "torch._grouped_mm; timing a per-expert torch.mm loop instead (method 'loop').")

    def time_ms(fn, reps, warmup=3):
        for _ in range(warmup):
            fn()
        torch.cuda.synchronize()
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        times = []
        for _ in range(max(1, reps)):
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop))
        return statistics.median(times)

    def reps_for(first_ms):
        return max(3, min(args.reps, int(500.0 / first_ms))) if first_ms > 0 else args.reps

    # References, as in the C++ benchmark: D2D copy (read + write), dense bf16 GEMM.
    n = 1 << 29
    src = torch.empty(n, dtype=torch.float16, device=dev).uniform_()
    dst = torch.empty_like(src)
    copy_ms = time_ms(lambda: dst.copy_(src), 20)
    copy_gbps = 2.0 * src.numel() * 2 / (copy_ms * 1e-3) / 1e9
    del src, dst

    def dense_tflops(m, nn, k):
        a = torch.randn(m, k, dtype=torch.bfloat16, device=dev)
        b = torch.randn(nn, k, dtype=torch.bfloat16, device=dev) * 0.02
        first = time_ms(lambda: a @ b.t(), 1, 1)
        ms = time_ms(lambda: a @ b.t(), reps_for(first), 1)
        return 2.0 * m * nn * k / (ms * 1e-3) / 1e12

    peak = dense_tflops(8192, 8192, 8192)
    print(f"# MoE expert GEMMs, torch {torch.__version__} on {torch.cuda.get_device_name()}\n")
    print(f"D2D copy bandwidth (read + write): {copy_gbps:.0f} GB/s; dense torch bf16 8192^3: {peak:.1f} TFLOP/s; "
          f"grouped GEMM: {grouped_name if grouped_mm is not None else 'none (loop)'}\n")
    print("| model | tokens | routing | experts read | torch µs | GB/s | of copy BW | TFLOP/s | of dense | method |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---|")

    gen = torch.Generator().manual_seed(1234)
    for name, experts, top_k, hidden, inter, shared in SHAPES:
        if args.model and args.model not in name:
            continue
        counts_to_run = [t for t in TOKEN_COUNTS if t <= args.max_tokens]
        if not counts_to_run:
            continue
        groups = experts + shared
        w13 = (torch.rand(groups, 2 * inter, hidden, dtype=torch.bfloat16, device=dev) - 0.5) * 0.04
        w2 = (torch.rand(groups, hidden, inter, dtype=torch.bfloat16, device=dev) - 0.5) * 0.04
        expert_bytes = 3 * inter * hidden * 2
        dense_by_rows = {}
        for tokens in counts_to_run:
            for routing in ROUTINGS:
                if routing == "uniform":
                    probs = torch.ones(experts)
                else:
                    perm = torch.randperm(experts, generator=gen)
                    probs = torch.empty(experts)
                    probs[perm] = torch.arange(1, experts + 1, dtype=torch.float64).pow(-ZIPF_S).float()
                choices = torch.multinomial(probs.expand(tokens, experts), top_k, replacement=False, generator=gen)
                counts = torch.bincount(choices.flatten(), minlength=experts)
                distinct = int((counts > 0).sum())
                order = torch.argsort(choices.flatten(), stable=True)
                a_rows = order // top_k  # the token of each grouped row
                if shared:
                    a_rows = torch.cat([a_rows] + [torch.arange(tokens)] * shared)
                    counts = torch.cat([counts, torch.full((shared,), tokens, dtype=counts.dtype)])
                rows = int(counts.sum())
                ends = torch.cumsum(counts, 0).to(torch.int32)
                x = torch.randn(tokens, hidden, dtype=torch.bfloat16, device=dev)
                xs = x[a_rows.to(dev)].contiguous()  # grouped rows; the gather is not timed
                offs = ends.to(dev)
                host_ends = [0] + ends.tolist()

                def layer_grouped(offs=offs, xs=xs):
                    gu = grouped_mm(xs, w13.transpose(-2, -1), offs=offs)
                    h = F.silu(gu[:, :inter]) * gu[:, inter:]
                    return grouped_mm(h, w2.transpose(-2, -1), offs=offs)

                def layer_loop(xs=xs, host_ends=host_ends):
                    y = torch.empty(rows, hidden, dtype=torch.bfloat16, device=dev)
                    for g in range(groups):
                        lo, hi = host_ends[g], host_ends[g + 1]
                        if hi > lo:
                            gu = xs[lo:hi] @ w13[g].t()
                            y[lo:hi] = (F.silu(gu[:, :inter]) * gu[:, inter:]) @ w2[g].t()
                    return y

                method, fn = "loop", layer_loop
                if grouped_mm is not None:
                    try:
                        layer_grouped()
                        torch.cuda.synchronize()
                        method, fn = "grouped_mm", layer_grouped
                    except Exception as e:  # noqa: BLE001 -- any failure falls back, with the reason
                        print(f"<!-- {name} {tokens} {routing}: grouped_mm failed ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''}); per-expert loop instead -->")
                first = time_ms(fn, 1, 1)
                ms = time_ms(fn, reps_for(first))
                if rows not in dense_by_rows:
                    dense_by_rows[rows] = dense_tflops(rows, 3 * inter, hidden)
                read = (distinct + shared) * expert_bytes
                gbps = read / (ms * 1e-3) / 1e9
                tflops = 2.0 * rows * 3 * inter * hidden / (ms * 1e-3) / 1e12
                print(f"| {name} | {tokens} | {routing} | {distinct + shared} | {ms * 1e3:.1f} | {gbps:.0f} | "
                      f"{gbps / copy_gbps:.2f} | {tflops:.1f} | {tflops / dense_by_rows[rows]:.2f} | {method} |",
                      flush=True)
        del w13, w2
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
