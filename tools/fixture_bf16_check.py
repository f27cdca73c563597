#!/usr/bin/env python3
"""Does transformers itself, run in bf16, keep each fixture's fp32 greedy tokens?

    python3 tools/fixture_bf16_check.py [--steps 12] [--fixtures tests/fixtures]

Why: the CUDA backend holds weights in bf16 and rounds activations to bf16 on
their way into the tensor cores, and its tests ask for the CPU backend's
greedy tokens. A fixture whose greedy path the reference implementation
cannot keep in bf16 is too fragile for that comparison; this names the
prompts and the first step where bf16 leaves the fp32 path. Needs the pinned
versions of tools/requirements.txt.
"""

import argparse
import json
import pathlib

import torch
import transformers

MODELS = ["mixtral", "qwen3_moe", "olmoe", "qwen2_moe"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=12, help="greedy steps compared (the CUDA backend test's 12)")
    parser.add_argument("--fixtures", default="tests/fixtures")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in MODELS:
        folder = pathlib.Path(args.fixtures) / name
        golden = json.loads((folder / "golden.json").read_text())
        model = transformers.AutoModelForCausalLM.from_pretrained(
            folder, dtype=torch.bfloat16, attn_implementation="eager").eval()
        for i, prompt in enumerate(golden["prompts"]):
            ids, want = list(prompt["ids"]), prompt["greedy"][: args.steps]
            got = []
            with torch.no_grad():
                for _ in range(args.steps):
                    token = int(model(torch.tensor([ids])).logits[0, -1].float().argmax())
                    got.append(token)
                    ids.append(token)
            first = next((j for j in range(len(want)) if got[j] != want[j]), None)
            verdict = "keeps the fp32 greedy tokens" if first is None else f"leaves them at step {first}"
            print(f"{name} prompt {i} ({len(prompt['ids'])} tokens): bf16 {verdict}")


if __name__ == "__main__":
    main()
