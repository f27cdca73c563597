#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora, tests/fuzz/corpus/<target>/, from the
fixtures and from hand-written edge cases. Deterministic, so the committed
files change only when this script does. Files it did not write (the
regression inputs of crashes the fuzzers found, regress-*) are left alone.

Needs python3 and protoc (protobuf-compiler, a build dependency): requests
are written in protobuf text format and encoded with `protoc --encode`.

    tests/fuzz/make_corpus.py
"""
import json
import pathlib
import struct
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = ROOT / "tests" / "fuzz" / "corpus"

# The order of kTokenizerDirs in fuzz_tokenizer.cc: the first byte of an
# input picks the tokenizer at that index.
TOKENIZER_DIRS = [
    "mixtral", "olmoe", "qwen2_moe", "qwen3_moe",
    "tokenizer/bpe_affixes", "tokenizer/bytelevel_gpt2", "tokenizer/bytelevel_llama3",
    "tokenizer/bytelevel_misc", "tokenizer/bytelevel_qwen", "tokenizer/spm_legacy",
    "tokenizer/spm_metaspace", "tokenizer/spm_metaspace_split",
]


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


def compact_json(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- fuzz_generate_request: GenerateRequest wire bytes ---------------------

# Against the demo model (tests/fixtures/mixtral: 512 ids, context 512).
REQUESTS = {
    "text": 'text: "Hello world"',
    "token_ids": "token_ids { ids: [1, 22, 300, 511] }",
    "everything": """
        model: "demo" text: "The quick brown fox" request_id: "req-1" logprobs: 5 return_routing: true
        sampling { temperature: 0.7 top_k: 40 top_p: 0.9 min_p: 0.05 repetition_penalty: 1.1
                   presence_penalty: 0.5 frequency_penalty: -0.5 seed: 42 }
        stopping { max_tokens: 32 stop: ["\\n", "END"] stop_token_ids: [2] ignore_eos: true }""",
    "greedy": 'text: "1 2 3" sampling { temperature: 0 } stopping { max_tokens: 1 }',
    "special_tokens_text": 'text: "<s>[INST] hi [/INST]</s><unk>"',
    "utf8_text": 'text: "你好 😀 wörld\\t\\r\\n"',
    "context_full": "token_ids { ids: [1, 2] } stopping { max_tokens: 510 }",
    # Refused: each names one bad field.
    "context_over": "token_ids { ids: [1, 2] } stopping { max_tokens: 511 }",
    "empty_text": 'text: ""',
    "no_prompt": 'model: "demo"',
    "empty_ids": "token_ids { }",
    "id_negative": "token_ids { ids: [5, -1] }",
    "id_past_vocab": "token_ids { ids: [512] }",
    "temperature_nan": 'text: "a" sampling { temperature: nan }',
    "top_p_zero": 'text: "a" sampling { top_p: 0 }',
    "penalty_inf": 'text: "a" sampling { repetition_penalty: inf presence_penalty: -2.5 }',
    "max_tokens_zero": 'text: "a" stopping { max_tokens: 0 }',
    "max_tokens_huge": 'text: "a" stopping { max_tokens: 2147483647 }',
    "stop_empty": 'text: "a" stopping { stop: ["x", ""] }',
    "stop_token_bad": 'text: "a" stopping { stop_token_ids: [3, 512] }',
    "logprobs_21": 'text: "a" logprobs: 21',
}


def generate_request_corpus():
    for name, text in REQUESTS.items():
        encoded = subprocess.run(
            ["protoc", f"--proto_path={ROOT / 'proto'}", "--encode=switchyard.v1.GenerateRequest",
             "switchyard/v1/switchyard.proto"],
            input=text.encode(), capture_output=True, check=True).stdout
        write("fuzz_generate_request", name, encoded)
    # Not UTF-8 in a string field: protobuf itself refuses the message.
    write("fuzz_generate_request", "text_not_utf8", b"\x12\x02\xff\xfe")


# --- fuzz_tokenizer: selector byte + text -----------------------------------

EDGE_TEXTS = [
    b"\xff\xfe not utf-8 \xc3",        # invalid bytes, read as U+FFFD
    b"\xe2\x82",                       # a character cut short
    "<s></s><unk>[CLS]<|endoftext|>".encode(),
    "<|im_start|>user\nhi<|im_end|>\n".encode(),
    b"   \t\t\n\n  ",
    b"a" * 64,
    "e\u0301 \u00e9 \ufb01 \u212b".encode(),  # NFC / NFD pairs
    "\u2581\u2581x  \u0120y".encode(),       # the replacement characters themselves
]


def tokenizer_corpus():
    strings = json.loads((FIXTURES / "tokenizer" / "strings.json").read_text())
    for index, directory in enumerate(TOKENIZER_DIRS):
        name = directory.split("/")[-1]
        for j in range(2):
            text = strings[(index * 7 + j * 431) % len(strings)]
            write("fuzz_tokenizer", f"{name}_{j}", bytes([index]) + text.encode())
        edge = EDGE_TEXTS[index % len(EDGE_TEXTS)]
        write("fuzz_tokenizer", f"{name}_edge", bytes([index]) + edge)
    # As ids (two bytes each, little-endian): in range, then past the end.
    write("fuzz_tokenizer", "mixtral_ids", bytes([0]) + struct.pack("<8H", 1, 3, 70, 200, 2, 0xF002, 0xF004, 0xF005))
    write("fuzz_tokenizer", "spm_bytes_ids", bytes([9]) + struct.pack("<6H", 0xE2 + 3, 0x82 + 3, 0xAC + 3, 5, 6, 0))


# --- fuzz_tokenizer_json: flag byte + tokenizer.json [+ NUL + config] -------

def shrunk(tokenizer, keep=256, keep_merges=64):
    """The fixture's pipeline with its vocabulary cut to the first `keep` ids
    (the byte alphabet), the first `keep_merges` merges and their tokens, and
    the added tokens: a few KB instead of 20-90, which the fuzzer mutates much
    faster. Ids are renumbered densely, the post-processor's with them."""
    model = dict(tokenizer["model"])
    old_vocab = model["vocab"]
    prefix = model.get("continuing_subword_prefix") or ""
    kept = {k for k, v in old_vocab.items() if v < keep}
    kept |= {t["content"] for t in tokenizer.get("added_tokens") or []} & old_vocab.keys()
    merges = []
    for merge in model["merges"][:keep_merges]:
        a, b = merge.split(" ", 1) if isinstance(merge, str) else merge
        joined = a + (b[len(prefix):] if prefix and b.startswith(prefix) else b)
        if {a, b, joined} <= old_vocab.keys():
            kept |= {a, b, joined}
            merges.append(merge)
    new_id = {old_vocab[k]: i for i, k in enumerate(sorted(kept, key=old_vocab.get))}
    # Added tokens outside the model's vocabulary are numbered from its size
    # (as in HF), so they move down with it.
    moved = len(old_vocab) - len(kept)

    def renumber(i):
        return new_id.get(i, i - moved if i >= len(old_vocab) else i)

    def renumbered(value):
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if k == "ids":
                    out[k] = [renumber(i) for i in v]
                elif k in ("cls", "sep"):
                    out[k] = [v[0], renumber(v[1])]
                else:
                    out[k] = renumbered(v)
            return out
        if isinstance(value, list):
            return [renumbered(v) for v in value]
        return value

    model["vocab"] = {k: new_id[old_vocab[k]] for k in sorted(kept, key=old_vocab.get)}
    model["merges"] = merges
    added = [{**t, "id": renumber(t["id"])} for t in tokenizer.get("added_tokens") or []]
    return {**tokenizer, "model": model, "added_tokens": added,
            "post_processor": renumbered(tokenizer.get("post_processor"))}


MINIMAL_BPE = {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<unk>": 3}, "merges": ["a b"],
               "unk_token": "<unk>"}
HAND_WRITTEN_TOKENIZERS = {
    "minimal": {"model": MINIMAL_BPE},
    "pairs_merges": {"model": {**MINIMAL_BPE, "merges": [["a", "b"]], "fuse_unk": True}},
    "template_wrap": {
        "model": MINIMAL_BPE,
        "added_tokens": [{"id": 4, "content": "<s>", "special": True, "normalized": False,
                          "lstrip": False, "rstrip": False, "single_word": False}],
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [4], "tokens": ["<s>"]}}}},
    "normalizers": {
        "model": MINIMAL_BPE,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFD"}, {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": "a"},
            {"type": "Prepend", "prepend": "b"}, {"type": "NFC"}]}},
    "pre_tokenizers": {
        "model": MINIMAL_BPE,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "Split", "pattern": {"String": "b"}, "behavior": "Removed", "invert": False},
            {"type": "Metaspace", "replacement": "a", "prepend_scheme": "first", "split": True}]}},
    "decoders": {
        "model": {**MINIMAL_BPE, "byte_fallback": True},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "a"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 1}]}},
    "roberta": {"model": MINIMAL_BPE,
                "post_processor": {"type": "RobertaProcessing", "cls": ["a", 0], "sep": ["b", 1]}},
    # Refused.
    "not_object": [],
    "unknown_model": {"model": {"type": "WordPiece", "vocab": {}}},
    "merge_unknown": {"model": {**MINIMAL_BPE, "merges": ["a c"]}},
    "post_processor_id_unknown": {"model": MINIMAL_BPE,
                                  "post_processor": {"type": "BertProcessing", "cls": ["x", 9], "sep": ["b", 1]}},
}


def tokenizer_json_corpus():
    for directory in TOKENIZER_DIRS:
        name = directory.split("/")[-1]
        tokenizer = json.loads((FIXTURES / directory / "tokenizer.json").read_text())
        data = compact_json(shrunk(tokenizer)).encode()
        config = FIXTURES / directory / "tokenizer_config.json"
        if config.exists():
            write("fuzz_tokenizer_json", f"{name}_small", b"\x01" + data + b"\x00" + config.read_bytes())
        else:
            write("fuzz_tokenizer_json", f"{name}_small", b"\x00" + data)
    # One whole fixture, as the server reads it.
    write("fuzz_tokenizer_json", "mixtral_full",
          b"\x01" + (FIXTURES / "mixtral" / "tokenizer.json").read_bytes() + b"\x00" +
          (FIXTURES / "mixtral" / "tokenizer_config.json").read_bytes())
    for name, tokenizer in HAND_WRITTEN_TOKENIZERS.items():
        write("fuzz_tokenizer_json", name, b"\x00" + compact_json(tokenizer).encode())
    write("fuzz_tokenizer_json", "config_bos_eos",
          b"\x01" + compact_json(HAND_WRITTEN_TOKENIZERS["template_wrap"]).encode() + b"\x00" +
          compact_json({"bos_token": {"content": "<s>"}, "eos_token": "ab"}).encode())
    write("fuzz_tokenizer_json", "config_unknown_token",
          b"\x01" + compact_json(HAND_WRITTEN_TOKENIZERS["minimal"]).encode() + b"\x00" +
          compact_json({"eos_token": "</s>"}).encode())


# --- fuzz_safetensors: .safetensors files ------------------------------------

def safetensors(header, data=b"", pad=True):
    """A file as safetensors writes it: u64 header length, the header (padded
    with spaces to 8 bytes when `pad`), the data buffer."""
    text = header if isinstance(header, (bytes, str)) else compact_json(header)
    text = text.encode() if isinstance(text, str) else text
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def tensor(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def fixture_tensors(path, count=4, max_bytes=512):
    """The first `count` small tensors of a fixture checkpoint, repacked."""
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    buffer = raw[8 + length:]
    out_header, out_data = {"__metadata__": {"format": "pt"}}, b""
    for name, entry in sorted(header.items()):
        if name == "__metadata__" or len(out_header) > count:
            continue
        begin, end = entry["data_offsets"]
        if end - begin > max_bytes:
            continue
        out_header[name] = tensor(entry["dtype"], entry["shape"], len(out_data), len(out_data) + end - begin)
        out_data += buffer[begin:end]
    return safetensors(out_header, out_data)


def safetensors_corpus():
    f32_2x3 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    files = {
        "empty": safetensors({}),
        "f32_2x3": safetensors({"w": tensor("F32", [2, 3], 0, 24)}, f32_2x3),
        "half_types": safetensors({"__metadata__": {"format": "pt"}, "a": tensor("F16", [2], 0, 4),
                                   "b": tensor("BF16", [1, 2], 4, 8)}, bytes(range(8))),
        "scalar": safetensors({"s": tensor("F32", [], 0, 4)}, struct.pack("<f", 3.5)),
        "zero_dim": safetensors({"e": tensor("F32", [0, 4], 4, 4), "x": tensor("F32", [1], 0, 4)}, bytes(4)),
        "gap": safetensors({"x": tensor("F16", [1], 0, 2), "y": tensor("F16", [1], 6, 8)}, bytes(8)),
        "unpadded": safetensors({"w": tensor("BF16", [3], 0, 6)}, bytes(6), pad=False),
        "mixtral": fixture_tensors(FIXTURES / "mixtral" / "model.safetensors"),
        "qwen3_moe": fixture_tensors(FIXTURES / "qwen3_moe" / "model.safetensors", count=3),
        # Refused.
        "short": b"\x08\x00\x00",
        "header_past_end": struct.pack("<Q", 1000) + b"{}",
        "header_too_long": struct.pack("<Q", 200_000_000) + b"{}",
        "not_json": safetensors(b"{\"w\": "),
        "not_object": safetensors([1, 2]),
        "overlap": safetensors({"a": tensor("F32", [2], 0, 8), "b": tensor("F32", [2], 4, 12)}, bytes(12)),
        "past_buffer": safetensors({"a": tensor("F32", [2], 0, 8)}, bytes(4)),
        "wrong_size": safetensors({"a": tensor("F32", [3], 0, 8)}, bytes(8)),
        "begin_after_end": safetensors({"a": tensor("F32", [0], 8, 4)}, bytes(8)),
        "dtype_i64": safetensors({"a": tensor("I64", [1], 0, 8)}, bytes(8)),
        "negative_dim": safetensors({"a": tensor("F32", [-1], 0, 0)}),
        "huge_shape": safetensors({"a": tensor("F32", [2**62, 4], 0, 0)}),
        "duplicate_name": safetensors(b'{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},'
                                      b'"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', bytes(4)),
        "deep_nesting": safetensors(b'{"__metadata__":' + b"[" * 80 + b"]" * 80 + b"}"),
        "metadata_not_string": safetensors({"__metadata__": {"format": 1}}),
    }
    for name, data in files.items():
        write("fuzz_safetensors", name, data)


# --- fuzz_model_config: config.json -------------------------------------------

def model_config_corpus():
    configs = {d: json.loads((FIXTURES / d / "config.json").read_text())
               for d in ("mixtral", "olmoe", "qwen2_moe", "qwen3_moe")}
    for name, config in configs.items():
        write("fuzz_model_config", name, json.dumps(config, indent=1))
    mixtral, qwen2, qwen3, olmoe = (configs[d] for d in ("mixtral", "qwen2_moe", "qwen3_moe", "olmoe"))
    variants = {
        # transformers 4 spelling: rope_theta and torch_dtype at the top level.
        "mixtral_v4": {**{k: v for k, v in mixtral.items() if k not in ("rope_parameters", "dtype")},
                       "rope_theta": 1e6, "rope_scaling": None, "torch_dtype": "bfloat16"},
        "eos_list": {**mixtral, "eos_token_id": [2, 0], "bos_token_id": None, "head_dim": 16},
        "qwen2_dense_layers": {**qwen2, "mlp_only_layers": [0, 2], "decoder_sparse_step": 1},
        "qwen3_sliding_off": {**qwen3, "use_sliding_window": False, "sliding_window": 4096,
                              "layer_types": ["full_attention"] * qwen3["num_hidden_layers"]},
        "olmoe_clip": {**olmoe, "clip_qkv": 8.0, "attention_bias": True, "dtype": "float16"},
        # Refused.
        "arch_unknown": {**mixtral, "architectures": ["LlamaForCausalLM"]},
        "gelu": {**mixtral, "hidden_act": "gelu"},
        "no_vocab": {k: v for k, v in mixtral.items() if k != "vocab_size"},
        "kv_heads_3": {**mixtral, "num_key_value_heads": 3},
        "top_k_9": {**mixtral, "num_experts_per_tok": 9},
        "eos_outside": {**mixtral, "eos_token_id": 512},
        "rope_yarn": {**mixtral, "rope_parameters": {"rope_type": "yarn", "factor": 4}},
        "sliding": {**qwen2, "use_sliding_window": True},
        "huge_int": {**mixtral, "hidden_size": 2**31},
        # Once accepted: 2**32 + 2 wrapped to id 2; OLMoE's q/k-norm check
        # multiplied head_dim by num_attention_heads in an int.
        "eos_wraps": {**mixtral, "eos_token_id": [2, 2**32 + 2]},
        "heads_overflow": {**olmoe, "num_attention_heads": 65536, "head_dim": 65536, "num_key_value_heads": 1},
    }
    for name, config in variants.items():
        write("fuzz_model_config", name, json.dumps(config, indent=1))
    write("fuzz_model_config", "not_object", "[1, 2, 3]")
    write("fuzz_model_config", "duplicate_key", '{"vocab_size": 1, "vocab_size": 2}')


if __name__ == "__main__":
    generate_request_corpus()
    tokenizer_corpus()
    tokenizer_json_corpus()
    safetensors_corpus()
    model_config_corpus()
