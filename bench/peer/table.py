#!/usr/bin/env python3
"""Results of bench/llama_cpp_peer.sh: one JSON line per measurement, and the table.

    TOOL_OUTPUT | table.py tag ENGINE THREADS REP   tagged JSON lines on stdout
    table.py RESULTS.jsonl                          markdown tables

`tag` brings the three tools' outputs to one shape,
{"engine", "threads", "rep", "workload": "prefill"|"decode", "tokens"|"seqs", "tok_s"},
keeping each tool's own record under "raw": llama-bench's JSON array, and
the JSON lines of llama-batched-bench and build/bench/engine_bench (whose
bandwidth/bytes line passes through with only the tags added).
"""
import json
import statistics
import sys
from collections import defaultdict


def tag(engine: str, threads: str, rep: str) -> None:
    text = sys.stdin.read().strip()
    if text.startswith("["):  # llama-bench -o json
        records = json.loads(text)
    else:
        records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    for raw in records:
        out = {"engine": engine, "threads": int(threads), "rep": int(rep)}
        if "avg_ts" in raw:  # llama-bench: n_prompt tokens in one batch
            out.update(workload="prefill", tokens=raw["n_prompt"], tok_s=raw["avg_ts"], raw=raw)
        elif "speed_tg" in raw:  # llama-batched-bench: S_TG = pl * tg / t_tg
            out.update(workload="decode", seqs=raw["pl"], tok_s=raw["speed_tg"], raw=raw)
        else:  # engine_bench already speaks this shape
            out.update({k: v for k, v in raw.items() if k != "engine"})
        print(json.dumps(out), flush=True)


def spread(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"


def table(path: str) -> None:
    meta, tok_s, bw, bytes1, rss = {}, defaultdict(list), defaultdict(list), {}, defaultdict(list)
    for line in open(path):
        r = json.loads(line)
        if "meta" in r:
            meta = r["meta"]
        elif "max_rss_kb" in r:
            rss[(r["engine"], r["threads"])].append(r["max_rss_kb"])
        elif "read_bandwidth_gbs" in r:
            bw[r["threads"]].append(r["read_bandwidth_gbs"])
            bytes1[r["threads"]] = float(r["decode_bytes_per_token"]["1"])
        elif "workload" in r:
            size = r.get("seqs", r.get("tokens"))
            tok_s[(r["threads"], r["workload"], size, r["engine"])].append(r["tok_s"])

    print(f"Host: {meta.get('cpu', '?')}; {meta.get('date', '?')}; OMP_WAIT_POLICY={meta.get('omp_wait_policy') or '(unset)'}")
    print(f"llama.cpp: {meta.get('llama_cpp', '?')}; Switchyard: {meta.get('switchyard', '?')}")
    print(f"Model: {meta.get('model', '?')}; {meta.get('reps', '?')} reps, engines alternating\n")
    print("| threads | workload | llama.cpp tok/s | Switchyard tok/s | Switchyard / llama.cpp | BW use llama.cpp | BW use Switchyard |")
    print("|---|---|---|---|---|---|---|")
    rows = sorted({k[:3] for k in tok_s}, key=lambda k: (k[0], k[1] == "prefill", k[2]))
    for threads, workload, size in rows:
        llama, sy = tok_s[(threads, workload, size, "llama.cpp")], tok_s[(threads, workload, size, "switchyard")]
        ratio = f"{statistics.median(sy) / statistics.median(llama):.2f}" if llama and sy else "–"
        name = f"decode {size} seq" if workload == "decode" else f"prefill {size}"
        # One sequence decodes at the speed of reading its weights: the share of the
        # measured read bandwidth each engine reaches (same weights, same bytes/token).
        frac = ["", ""]
        if workload == "decode" and size == 1 and bw[threads] and threads in bytes1:
            gbs = statistics.median(bw[threads])
            frac = [f"{statistics.median(v) * bytes1[threads] / 1e9:.1f} GB/s, "
                    f"{statistics.median(v) * bytes1[threads] / (gbs * 1e9):.0%}" if v else "–" for v in (llama, sy)]
            name += f" ({bytes1[threads] / 1e6:.0f} MB/token, {gbs:.1f} GB/s)"
        print(f"| {threads} | {name} | {spread(llama)} | {spread(sy)} | {ratio} | {frac[0]} | {frac[1]} |")

    print("\nPeak RSS of the decode process (max over its runs; weights included):\n")
    print("| threads | engine | process | peak RSS GiB |")
    print("|---|---|---|---|")
    procs = {"llama.cpp": "llama-batched-bench", "switchyard": "engine_bench (prefill + decode)"}
    for (engine, threads), kb in sorted(rss.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(f"| {threads} | {engine} | {procs.get(engine, '')} | {max(kb) / 2**20:.2f} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["tag"]:
        tag(*sys.argv[2:5])
    else:
        table(sys.argv[1])
