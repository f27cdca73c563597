#!/usr/bin/env python3
"""Generate Switchyard's golden test fixtures from Hugging Face transformers.

    python3 tools/make_fixtures.py [--out tests/fixtures]

Why: the C++ engine (config parser, safetensors loader, tokenizer, CPU and
CUDA backends) is checked against transformers itself. This script builds four
tiny MoE checkpoints, one per supported architecture, saves each exactly the
way a Hugging Face model owner would (`save_pretrained`), and records what
transformers computes on them. The C++ golden tests load the folders as if
they were real hub checkpoints and compare.

What it writes, one folder per model under --out (see SPECS below):

  mixtral/    MixtralForCausalLM, fp32, 8 experts top-2, GQA 4q/2kv, 2 layers,
              SentencePiece-style BPE tokenizer with byte fallback (Llama /
              Mixtral tokenizer.json layout). Briefly trained on the corpus so
              that, as the server's built-in demo model, it writes corpus-like
              text instead of noise.
  qwen3_moe/  Qwen3MoeForCausalLM, fp32, 6 experts top-3, norm_topk_prob,
              explicit head_dim (24 != 64/4), q_norm/k_norm, 3 layers with
              layer 1 a dense MLP (mlp_only_layers=[1]); Qwen2-style
              byte-level BPE tokenizer with ChatML special tokens.
  olmoe/      OlmoeForCausalLM stored in bf16 and sharded (3 safetensors files
              plus model.safetensors.index.json), 12 experts top-1 without
              renormalisation, clip_qkv that really clips, untied lm_head;
              GPT-NeoX-style byte-level BPE tokenizer.
  qwen2_moe/  Qwen2MoeForCausalLM, fp32, 5 experts top-4 plus a shared expert
              with its sigmoid gate, qkv biases, decoder_sparse_step=2 (layers
              0 and 2 dense, layer 1 sparse), MQA (4q/1kv), tied embeddings,
              vocab 500 (not a power of two).

Each folder holds config.json, generation_config.json, the safetensors
file(s), tokenizer.json, tokenizer_config.json (all written by transformers /
tokenizers, untouched), plus:

  golden.json                 prompts, their token ids, 32 greedy tokens,
                              the smallest top1-top2 logit gap of the greedy
                              steps, the smallest router top-k gap, and a few
                              tokenizer encode/decode cases;
  golden_logits.safetensors   prompt_<i>.logits [prompt_len, vocab] F32: the
                              logits at every prompt position (one forward);
                              prompt_<i>.decode_logits [32, vocab] F32: row j
                              is the last-position logits of the sequence
                              prompt + greedy[:j] (recomputed from scratch, no
                              KV cache), so greedy[j] == argmax(row j).

The reference is transformers in float32 with eager attention and eager
experts, model.eval(), torch.no_grad(), reloaded from the saved folder (for
the bf16 olmoe that means fp32 math on the bf16-rounded weights).

Everything is deterministic: fixed seeds, a pure-Python BPE trainer (the
tokenizers trainer breaks ties in hash-map order), one CPU thread. Running the
script twice gives byte-identical files. Pinned versions: tools/requirements.txt.

Random weights use initializer_range 0.2 (transformers' default 0.02 gives
near-flat logits and fragile greedy decoding); RMSNorm weights and attention
biases, which transformers initialises to exactly 1 and 0, are perturbed so a
backend that ignores them fails the comparison. The script refuses to write a
fixture whose greedy steps have a top1-top2 gap below 1e-3 or whose routers
have a top-k/(k+1) logit gap below 1e-4.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import tokenizers
import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tools" / "fixture_corpus.txt"

NUM_GREEDY = 32
MIN_TOP2_GAP = 1e-3
MIN_ROUTER_GAP = 1e-4

# The pre-tokenizer regex of the Qwen2 / Qwen3 tokenizer.json.
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


# --------------------------------------------------------------------------------------
# What to build
# --------------------------------------------------------------------------------------


@dataclass
class TokenizerSpec:
    kind: str  # "sentencepiece" | "qwen2" | "gpt_neox"
    vocab_size: int
    specials: list[str]  # special tokens, in id order
    specials_first: bool  # ids 0.. (True) or the last ids of the vocab (False)
    bos: str | None
    eos: str
    pad: str | None = None
    unk: str | None = None


@dataclass
class ModelSpec:
    name: str
    architecture: str
    seed: int
    tokenizer: TokenizerSpec
    config: dict  # passed to the config class (token ids are added from the tokenizer)
    prompts: list[str]
    save_dtype: torch.dtype = torch.float32
    max_shard_size: str | None = None  # None: one model.safetensors
    train_steps: int = 0  # > 0: train on the corpus (the demo model)
    notes: list[str] = field(default_factory=list)


COMMON = dict(max_position_embeddings=512, initializer_range=0.2, hidden_act="silu")

CHATML = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

SPECS = [
    ModelSpec(
        name="mixtral",
        architecture="MixtralForCausalLM",
        seed=1234,
        tokenizer=TokenizerSpec("sentencepiece", 512, ["<unk>", "<s>", "</s>"], True,
                                bos="<s>", eos="</s>", unk="<unk>"),
        config=dict(COMMON, initializer_range=0.1, hidden_size=64, intermediate_size=48,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                    num_local_experts=8, num_experts_per_tok=2, rms_norm_eps=1e-5,
                    rope_parameters={"rope_type": "default", "rope_theta": 1e6},
                    tie_word_embeddings=False),
        prompts=[
            "The yard master walked the length of the platform",
            "On rainy days the work was slower: car 4417 to track 9 ✅, « café » 🚂.",
            "The",
        ],
        train_steps=1000,
        notes=["not random: briefly trained on tools/fixture_corpus.txt (see weights.train_steps) "
               "so that the server's demo model writes corpus-like text"],
    ),
    ModelSpec(
        name="qwen3_moe",
        architecture="Qwen3MoeForCausalLM",
        seed=10,
        tokenizer=TokenizerSpec("qwen2", 512, CHATML, False,
                                bos="<|endoftext|>", eos="<|im_end|>", pad="<|endoftext|>"),
        config=dict(COMMON, hidden_size=64, head_dim=24, intermediate_size=96,
                    moe_intermediate_size=32, num_hidden_layers=3, num_attention_heads=4,
                    num_key_value_heads=2, num_experts=6, num_experts_per_tok=3,
                    norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[1],
                    rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 5e5},
                    tie_word_embeddings=False),
        prompts=[
            "<|im_start|>user\nWhere does car 4418 go?<|im_end|>\n<|im_start|>assistant\n",
            "Ilse counts in French: un, deux, trois. 请注意安全 ✅ x = [1, 2];",
            "The",
        ],
    ),
    ModelSpec(
        name="olmoe",
        architecture="OlmoeForCausalLM",
        seed=8,
        tokenizer=TokenizerSpec("gpt_neox", 512, ["<|endoftext|>", "<|padding|>"], True,
                                bos="<|endoftext|>", eos="<|endoftext|>", pad="<|padding|>"),
        config=dict(COMMON, hidden_size=64, intermediate_size=32, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=4, num_experts=12,
                    num_experts_per_tok=1, norm_topk_prob=False, clip_qkv=2.0,
                    rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 1e4},
                    tie_word_embeddings=False),
        prompts=[
            "def route(tokens, router, k=2):\n    return top",
            "Some words she liked: naïve, façade, Zürich. Total: 1324 (up 4.7%) 🎉",
            "The",
        ],
        save_dtype=torch.bfloat16,
        max_shard_size="200KB",
    ),
    ModelSpec(
        name="qwen2_moe",
        architecture="Qwen2MoeForCausalLM",
        seed=6,
        tokenizer=TokenizerSpec("qwen2", 500, CHATML, False,
                                bos="<|endoftext|>", eos="<|endoftext|>", pad="<|endoftext|>"),
        config=dict(COMMON, hidden_size=64, intermediate_size=96, moe_intermediate_size=32,
                    shared_expert_intermediate_size=80, num_hidden_layers=3,
                    num_attention_heads=4, num_key_value_heads=1, num_experts=5,
                    num_experts_per_tok=4, norm_topk_prob=False, decoder_sparse_step=2,
                    qkv_bias=True, rms_norm_eps=1e-6,
                    rope_parameters={"rope_type": "default", "rope_theta": 1e6},
                    tie_word_embeddings=True),
        prompts=[
            "Rules of the yard: never stand between two cars.",
            "Weekly totals:\ntrack 1: 212 | track 2: 198\nДорога длинная 🚧",
            "The",
        ],
    ),
]

# Extra strings whose encoding is recorded in golden.json for the C++ tokenizer tests.
TOKENIZER_CASES = [
    "",
    " ",
    "Hello world",
    "  two  spaces,\ttab and\nnewline\n\n",
    "naïve café Zürich Łódź",
    "駅のホーム 请注意安全 기차",
    "emoji 🦊🚂☕ and 👍🏽",
    "numbers 1234567 3.14159 -0.5e-3",
    "<s>not special in byte-level</s> <|endoftext|> <|im_start|>",
    "don't won't I'm we'll they've",
    "e\u0301 (decomposed e-acute)",
]


# --------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (ByteLevel's alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def train_bpe(words: Counter, alphabet: list[str], num_tokens: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Plain BPE training until `num_tokens` new tokens exist, deterministic: the most
    frequent adjacent pair is merged next, ties broken by the pair's strings. Characters
    outside `alphabet` split words (the tokenizer leaves them to byte fallback). Returns
    (new tokens in creation order, merges in priority order)."""
    known = set(alphabet)
    seqs: Counter = Counter()
    for word, count in words.items():
        for chunk in re.split(r"\x00+", "".join(c if c in known else "\x00" for c in word)):
            if len(chunk) > 1:
                seqs[tuple(chunk)] += count
    tokens, merges = [], []
    vocab = set(alphabet)
    while len(tokens) < num_tokens:
        pairs: Counter = Counter()
        for seq, count in seqs.items():
            for a, b in zip(seq, seq[1:]):
                pairs[(a, b)] += count
        candidates = [(-c, p) for p, c in pairs.items() if c >= 2]
        if not candidates:
            raise SystemExit(f"corpus too small: only {len(tokens)} of {num_tokens} tokens")
        _, (a, b) = min(candidates)
        merged = a + b
        merges.append((a, b))
        if merged not in vocab:  # two merge paths may spell the same token
            tokens.append(merged)
            vocab.add(merged)
        new_seqs: Counter = Counter()
        for seq, count in seqs.items():
            out, i = [], 0
            while i < len(seq):
                if i + 1 < len(seq) and seq[i] == a and seq[i + 1] == b:
                    out.append(merged)
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            new_seqs[tuple(out)] += count
        seqs = new_seqs
    return tokens, merges


def corpus_lines() -> list[str]:
    return [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def build_sentencepiece_tokenizer(spec: TokenizerSpec) -> Tokenizer:
    """Llama / Mixtral layout: BPE with byte fallback, '▁' for spaces via the normalizer,
    no pre-tokenizer, <s> added by a TemplateProcessing post-processor."""
    words: Counter = Counter()
    chars: Counter = Counter()
    for line in corpus_lines():
        text = "▁" + line.replace(" ", "▁")
        chars.update(text)
        words.update(w for w in re.split("(?=▁)", text) if w)
    # Keep characters seen at least 4 times; rarer ones (most CJK, emoji, some accents,
    # and '\n', which never reaches the trainer) are encoded as <0xXX> byte tokens.
    alphabet = sorted((c for c, n in chars.items() if n >= 4), key=lambda c: (-chars[c], c))
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    budget = spec.vocab_size - len(spec.specials) - len(byte_tokens) - len(alphabet)
    new_tokens, merges = train_bpe(words, alphabet, budget)
    vocab_list = spec.specials + byte_tokens + alphabet + new_tokens
    vocab = {tok: i for i, tok in enumerate(vocab_list)}
    assert len(vocab) == spec.vocab_size

    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=spec.unk, fuse_unk=True,
                               byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens([AddedToken(s, normalized=False, special=True) for s in spec.specials])
    bos_id = vocab[spec.bos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{spec.bos} $A", pair=f"{spec.bos} $A {spec.bos} $B:1", special_tokens=[(spec.bos, bos_id)])
    return tok


def build_byte_level_tokenizer(spec: TokenizerSpec) -> Tokenizer:
    """GPT-2 family byte-level BPE. kind "qwen2": NFC + Split(Qwen2 regex) + ByteLevel
    without regex (the Qwen2/Qwen3 tokenizer.json); kind "gpt_neox": NFC + ByteLevel with
    its built-in GPT-2 regex (the GPT-NeoX / OLMoE tokenizer.json). No tokens are added
    around the text."""
    byte_map = bytes_to_unicode()
    if spec.kind == "qwen2":
        pre = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ])
        trim_offsets = False
    else:
        pre = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
        trim_offsets = True
    words: Counter = Counter()
    for line in corpus_lines():
        text = unicodedata.normalize("NFC", line + "\n")
        words.update(piece for piece, _ in pre.pre_tokenize_str(text))
    alphabet = [byte_map[b] for b in sorted(byte_map, key=lambda b: ord(byte_map[b]))]
    budget = spec.vocab_size - len(spec.specials) - len(alphabet)
    new_tokens, merges = train_bpe(words, alphabet, budget)
    body = alphabet + new_tokens
    vocab_list = spec.specials + body if spec.specials_first else body + spec.specials
    vocab = {tok: i for i, tok in enumerate(vocab_list)}
    assert len(vocab) == spec.vocab_size

    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=False, fuse_unk=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=trim_offsets,
                                              use_regex=False)
    tok.add_special_tokens([AddedToken(s, normalized=False, special=True) for s in spec.specials])
    return tok


def build_tokenizer(spec: TokenizerSpec) -> Tokenizer:
    if spec.kind == "sentencepiece":
        return build_sentencepiece_tokenizer(spec)
    return build_byte_level_tokenizer(spec)


def save_tokenizer(tok: Tokenizer, spec: TokenizerSpec, out_dir: Path) -> None:
    """tokenizer.json + tokenizer_config.json as transformers writes them."""
    hf = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=spec.bos, eos_token=spec.eos, pad_token=spec.pad,
        unk_token=spec.unk, model_max_length=512, clean_up_tokenization_spaces=False)
    hf.save_pretrained(out_dir)


def token_ids(tok: Tokenizer, spec: TokenizerSpec) -> dict:
    """bos/eos/pad ids for config.json, looked up in the tokenizer."""
    ids = {}
    for key, token in (("bos", spec.bos), ("eos", spec.eos), ("pad", spec.pad)):
        ids[f"{key}_token_id"] = None if token is None else tok.token_to_id(token)
        assert token is None or ids[f"{key}_token_id"] is not None, token
    return ids


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


def make_config(spec: ModelSpec, tok: Tokenizer):
    cls = getattr(transformers, spec.architecture.replace("ForCausalLM", "Config"))
    return cls(vocab_size=tok.get_vocab_size(), **token_ids(tok, spec.tokenizer), **spec.config)


def perturb_norms_and_biases(model: torch.nn.Module, seed: int) -> None:
    """transformers initialises RMSNorm weights to 1 and biases to 0; make them random so
    that a backend which skips them (or applies the wrong one) cannot match."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))


def check_init_std(model: torch.nn.Module, expected: float) -> float:
    std = model.get_input_embeddings().weight.std().item()
    assert abs(std - expected) < 0.1 * expected, f"embedding std {std}, initializer_range {expected}"
    return std


def train_on_corpus(model: torch.nn.Module, tok: Tokenizer, steps: int, seed: int) -> float:
    """A short language-model training run on the corpus, so the demo model's greedy text
    is recognisable. Returns the final loss."""
    stream = []
    for line in corpus_lines():
        stream += tok.encode(line).ids  # with <s>
    data = torch.tensor(stream)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 20) * (1 - s / steps) + 0.05)
    model.train()
    seq_len, batch = 64, 16
    loss = torch.tensor(0.0)
    for _ in range(steps):
        starts = torch.randint(0, len(data) - seq_len, (batch,), generator=gen)
        x = torch.stack([data[s:s + seq_len] for s in starts.tolist()])
        loss = model(input_ids=x, labels=x, use_cache=False).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return loss.item()


def build_and_save_model(spec: ModelSpec, tok: Tokenizer, out_dir: Path) -> dict:
    config = make_config(spec, tok)
    torch.manual_seed(spec.seed)
    model = getattr(transformers, spec.architecture)(config)
    init_std = check_init_std(model, config.initializer_range)
    perturb_norms_and_biases(model, spec.seed + 1)
    info = {"initializer_range": config.initializer_range, "measured_embedding_std": round(init_std, 4)}
    if spec.train_steps:
        info["train_steps"] = spec.train_steps
        info["final_train_loss"] = round(train_on_corpus(model, tok, spec.train_steps, spec.seed + 2), 3)
    model = model.to(spec.save_dtype).eval()
    kwargs = {"max_shard_size": spec.max_shard_size} if spec.max_shard_size else {}
    model.save_pretrained(out_dir, **kwargs)
    return info


# --------------------------------------------------------------------------------------
# Golden data
# --------------------------------------------------------------------------------------


class RouterGapMonitor:
    """Records the smallest gap between the k-th and (k+1)-th router logit over every
    token that goes through any MoE router: a tiny gap means a backend's rounding could
    send the token to a different expert."""

    def __init__(self, model: torch.nn.Module):
        self.min_gap = float("inf")
        self.handles = [m.register_forward_hook(self._hook) for m in model.modules()
                        if type(m).__name__.endswith("TopKRouter")]
        assert self.handles, "no MoE router found"

    def _hook(self, module, args, output):
        router_logits = output[0]  # [tokens, num_experts]
        top = router_logits.topk(module.top_k + 1, dim=-1).values  # every spec has top_k < experts
        self.min_gap = min(self.min_gap, (top[:, -2] - top[:, -1]).min().item())

    def take(self) -> float:
        gap, self.min_gap = self.min_gap, float("inf")
        return gap


class ClipMonitor:
    """OLMoE clamps q, k (after their norms) and v to +-clip_qkv in place, right after
    these modules run; count how many values are beyond the clip."""

    def __init__(self, model: torch.nn.Module, clip: float):
        self.clip, self.clipped, self.total = clip, 0, 0
        for name, m in model.named_modules():
            if name.endswith(("self_attn.q_norm", "self_attn.k_norm", "self_attn.v_proj")):
                m.register_forward_hook(self._hook)

    def _hook(self, module, args, output):
        self.clipped += (output.abs() > self.clip).sum().item()
        self.total += output.numel()


def to_json(obj, indent: str = "") -> str:
    """Indented JSON with lists of scalars (ids, tokens) kept on one line."""
    inner = indent + "  "
    if isinstance(obj, dict) and obj:
        items = [f"{inner}{json.dumps(k)}: {to_json(v, inner)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        return "[\n" + ",\n".join(inner + to_json(v, inner) for v in obj) + "\n" + indent + "]"
    return json.dumps(obj, ensure_ascii=False)


def top2_gap(logits: torch.Tensor) -> float:
    top = logits.topk(2).values
    return (top[0] - top[1]).item()


def cached_greedy(model, ids: list[int]) -> tuple[list[int], torch.Tensor]:
    """The same greedy loop through transformers' KV cache, one token per step."""
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), use_cache=True)
        rows = [out.logits[0, -1]]
        tokens = [int(rows[-1].argmax())]
        for _ in range(NUM_GREEDY - 1):
            out = model(input_ids=torch.tensor([[tokens[-1]]]), past_key_values=out.past_key_values,
                        use_cache=True)
            rows.append(out.logits[0, -1])
            tokens.append(int(rows[-1].argmax()))
    return tokens, torch.stack(rows)


def run_prompt(model, ids: list[int], router: RouterGapMonitor) -> tuple[dict, dict]:
    """Logits at every prompt position, then NUM_GREEDY greedy steps, each a full forward
    over prompt + tokens so far (no KV cache), never stopping at eos."""
    with torch.no_grad():
        prompt_logits = model(input_ids=torch.tensor([ids]), use_cache=False).logits[0]
        seq, greedy, rows, gaps = list(ids), [], [], []
        for _ in range(NUM_GREEDY):
            last = model(input_ids=torch.tensor([seq]), use_cache=False).logits[0, -1]
            nxt = int(last.argmax())
            rows.append(last)
            gaps.append(top2_gap(last))
            greedy.append(nxt)
            seq.append(nxt)
    tensors = {"logits": prompt_logits.float().contiguous(),
               "decode_logits": torch.stack(rows).float().contiguous()}
    result = {"greedy": greedy, "min_top2_gap": min(gaps), "min_router_gap": router.take()}
    # Cross-check: decoding through the KV cache picks the same tokens.
    cached_tokens, cached_rows = cached_greedy(model, ids)
    router.take()
    assert cached_tokens == greedy, "greedy with and without KV cache disagree"
    result["kv_cache_max_abs_diff"] = (cached_rows - tensors["decode_logits"]).abs().max().item()
    return result, tensors


def make_golden(spec: ModelSpec, out_dir: Path, build_info: dict) -> dict:
    tok = Tokenizer.from_file(str(out_dir / "tokenizer.json"))
    hf_tok = transformers.AutoTokenizer.from_pretrained(out_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        out_dir, dtype=torch.float32, attn_implementation="eager", experts_implementation="eager").eval()
    assert type(model).__name__ == spec.architecture
    router = RouterGapMonitor(model)
    clip = ClipMonitor(model, model.config.clip_qkv) if getattr(model.config, "clip_qkv", None) else None

    prompts, tensors = [], {}
    for i, text in enumerate(spec.prompts):
        enc = tok.encode(text)  # add_special_tokens=True: whatever the tokenizer adds
        assert enc.ids == hf_tok(text).input_ids, "tokenizers and transformers disagree"
        result, t = run_prompt(model, enc.ids, router)
        for key, value in t.items():
            tensors[f"prompt_{i}.{key}"] = value
        prompts.append({"text": text, "ids": enc.ids, "tokens": enc.tokens, **result,
                        "greedy_text": tok.decode(result["greedy"], skip_special_tokens=False)})

    lengths = sorted(len(p["ids"]) for p in prompts)
    assert 1 <= lengths[0] <= 3 and 40 <= lengths[-1] <= 60, f"{spec.name}: prompt lengths {lengths}"
    for p in prompts:
        if p["min_top2_gap"] < MIN_TOP2_GAP or p["min_router_gap"] < MIN_ROUTER_GAP:
            raise SystemExit(f"{spec.name}: fragile fixture (top2 gap {p['min_top2_gap']:.2e}, "
                             f"router gap {p['min_router_gap']:.2e}); change the seed or the prompt")

    golden = {
        "model": spec.name,
        "architecture": spec.architecture,
        "reference_dtype": "float32",
        "stored_dtype": str(spec.save_dtype).removeprefix("torch."),
        "attn_implementation": "eager",
        "experts_implementation": "eager",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__.split("+")[0],
        "tokenizers_version": tokenizers.__version__,
        "num_greedy_tokens": NUM_GREEDY,
        "decode_logits_row_j": "last-position logits of prompt + greedy[:j], no KV cache",
        "weights": build_info,
        "notes": spec.notes,
        "prompts": prompts,
        "tokenizer_cases": [
            {"text": s, "ids": tok.encode(s).ids, "tokens": tok.encode(s).tokens,
             "decoded": tok.decode(tok.encode(s).ids, skip_special_tokens=False),
             "decoded_skip_special": tok.decode(tok.encode(s).ids, skip_special_tokens=True)}
            for s in TOKENIZER_CASES],
    }
    if clip is not None:
        assert clip.clipped > 0, "clip_qkv does not clip anything"
        golden["clip_qkv_fraction_clipped"] = round(clip.clipped / clip.total, 4)
    save_file(tensors, str(out_dir / "golden_logits.safetensors"), metadata={"format": "pt"})
    (out_dir / "golden.json").write_text(to_json(golden) + "\n", encoding="utf-8")
    return golden


# --------------------------------------------------------------------------------------
# Checks and report
# --------------------------------------------------------------------------------------


def check_saved_layout(spec: ModelSpec, out_dir: Path) -> int:
    """The checkpoint on disk must use the hub's per-expert names, not transformers 5's
    fused in-memory experts.gate_up_proj."""
    names = []
    for f in sorted(out_dir.glob("*.safetensors")):
        if f.name == "golden_logits.safetensors":
            continue
        with safe_open(str(f), "pt") as st:
            names += list(st.keys())
    assert not any("gate_up_proj" in n for n in names), "fused expert tensors on disk"
    expert = "block_sparse_moe.experts.0.w1.weight" if spec.architecture.startswith("Mixtral") \
        else "mlp.experts.0.gate_proj.weight"
    assert any(n.endswith(expert) for n in names), f"no *{expert} on disk"
    if spec.max_shard_size:
        index = json.loads((out_dir / "model.safetensors.index.json").read_text())
        assert len(set(index["weight_map"].values())) >= 2, "expected a sharded checkpoint"
    return len(names)


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def make_fixture(spec: ModelSpec, out_root: Path) -> None:
    out_dir = out_root / spec.name
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    tok = build_tokenizer(spec.tokenizer)
    save_tokenizer(tok, spec.tokenizer, out_dir)
    build_info = build_and_save_model(spec, tok, out_dir)
    num_tensors = check_saved_layout(spec, out_dir)
    golden = make_golden(spec, out_dir, build_info)

    print(f"{spec.name}: {num_tensors} tensors, {folder_bytes(out_dir):,} bytes on disk, {build_info}")
    if "clip_qkv_fraction_clipped" in golden:
        print(f"  clip_qkv clips {golden['clip_qkv_fraction_clipped']:.1%} of q/k/v values")
    for i, p in enumerate(golden["prompts"]):
        print(f"  prompt {i}: {len(p['ids'])} tokens, min top1-top2 gap {p['min_top2_gap']:.4f}, "
              f"min router gap {p['min_router_gap']:.2e}, greedy: {p['greedy_text']!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "fixtures")
    parser.add_argument("--only", nargs="*", help="regenerate only these models")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    for spec in SPECS:
        if args.only and spec.name not in args.only:
            continue
        make_fixture(spec, args.out)
    print(f"total: {folder_bytes(args.out):,} bytes under {args.out}")


if __name__ == "__main__":
    main()
