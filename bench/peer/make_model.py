#!/usr/bin/env python3
"""Random-weight Qwen3-MoE checkpoint for bench/llama_cpp_peer.sh (~3.1 GB bf16).

    python bench/peer/make_model.py OUT_DIR

Shaped like a small Qwen3-30B-A3B (64 experts, top-8, 8 layers, full 151936
vocabulary) so both engines read the same ~0.5 GB of weights per decoded token.
The tokenizer is the repository's 512-token test fixture: the benchmarks only
feed token ids below 512, and the converter pads the vocabulary to 151936.
"""
import shutil
import sys
from pathlib import Path

import torch
import transformers

FIXTURE = Path(__file__).resolve().parents[2] / "tests/fixtures/qwen3_moe"
SEED = 20240901


def main() -> None:
    out = Path(sys.argv[1])
    config = transformers.Qwen3MoeConfig(
        vocab_size=151936, hidden_size=1024, num_hidden_layers=8,
        num_attention_heads=16, num_key_value_heads=4, head_dim=128,
        moe_intermediate_size=768, intermediate_size=3072,
        num_experts=64, num_experts_per_tok=8, norm_topk_prob=True,
        decoder_sparse_step=1, mlp_only_layers=[], tie_word_embeddings=False,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6},
        max_position_embeddings=4096, rms_norm_eps=1e-6, initializer_range=0.02,
        # The fixture tokenizer's <|endoftext|> / <|im_end|>.
        bos_token_id=509, eos_token_id=511, pad_token_id=509,
    )
    torch.manual_seed(SEED)
    # Built and initialised directly in bf16: no fp32 copy (12 GB) at any point.
    torch.set_default_dtype(torch.bfloat16)
    model = transformers.Qwen3MoeForCausalLM(config).eval()
    n = sum(p.numel() for p in model.parameters())
    print(f"make_model: {n / 1e9:.2f} B parameters, dtype {next(model.parameters()).dtype}")
    model.save_pretrained(out)  # safetensors, per-expert tensors (what both loaders read)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(FIXTURE / name, out / name)


if __name__ == "__main__":
    main()
