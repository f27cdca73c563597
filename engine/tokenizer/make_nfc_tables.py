#!/usr/bin/env python3
"""Writes engine/tokenizer/nfc_tables.inc: the Unicode data behind the NFC normalizer.

HF tokenizers normalizes with its own (older) copy of the Unicode tables, and a
normalizer that must give the same ids has to use the same data, not whatever
version Python or the OS ships. So every table here is read off HF tokenizers
itself by probing its NFD/NFC normalizers, with Python's unicodedata only
proposing candidates. The script then checks a Python model of the algorithm
built from these tables against HF's NFC on random strings.

    python3 engine/tokenizer/make_nfc_tables.py   # needs `pip install tokenizers`
"""
import os
import random
import sys
import unicodedata

from tokenizers import normalizers

HF_NFD = normalizers.NFD()
HF_NFC = normalizers.NFC()
SEP = "\x00"  # a starter that never decomposes: keeps probes from interacting
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3


def code_points():
    return [c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]


def probe(norm, strings):
    """Runs `norm` on many short strings at once, separated by SEP."""
    out = []
    for i in range(0, len(strings), 4096):
        chunk = strings[i:i + 4096]
        res = norm.normalize_str(SEP.join(chunk)).split(SEP)
        assert len(res) == len(chunk)
        out.extend(res)
    return out


def full_decompositions(cps):
    """cp -> HF's full canonical decomposition, for algorithmic Hangul too (skipped later)."""
    res = probe(HF_NFD, [chr(c) for c in cps])
    return {c: [ord(x) for x in d] for c, d in zip(cps, res) if d != chr(c)}


def combining_classes(cps):
    """cp -> ccc as HF sees it. ccc values never change once assigned (Unicode
    stability policy), so HF's value is Python's or 0 for a mark HF's older tables
    lack; a mark it knows reorders before U+0334 (ccc 1) or after U+0301 (ccc 230)."""
    cand = [c for c in cps if unicodedata.combining(chr(c))]
    high = [c for c in cand if unicodedata.combining(chr(c)) > 1]
    low = [c for c in cand if unicodedata.combining(chr(c)) == 1]
    known = set()
    for c, r in zip(high, probe(HF_NFD, [chr(c) + "\u0334" for c in high])):
        if r == "\u0334" + chr(c):
            known.add(c)
    for c, r in zip(low, probe(HF_NFD, ["\u0301" + chr(c) for c in low])):
        if r == chr(c) + "\u0301":
            known.add(c)
    return {c: unicodedata.combining(chr(c)) for c in known}


def compositions(cps, decomp):
    """(first, second) -> composite for every primary composite HF recomposes."""
    pairs = {}
    cand = []
    for c in cps:
        if HANGUL_FIRST <= c <= HANGUL_LAST or c not in decomp:
            continue
        d = unicodedata.decomposition(chr(c))
        if not d or d.startswith("<"):
            continue
        parts = [int(x, 16) for x in d.split()]
        if len(parts) == 2:
            cand.append((c, parts))
    res = probe(HF_NFC, [chr(a) + chr(b) for _, (a, b) in cand])
    for (c, (a, b)), r in zip(cand, res):
        if r == chr(c):
            pairs[(a, b)] = c
    return pairs


def model_nfc(s, decomp, ccc, comp):
    """The algorithm of unicode_nfc.cc, in Python, to check the tables."""
    d = []
    for ch in s:
        c = ord(ch)
        if HANGUL_FIRST <= c <= HANGUL_LAST:
            i = c - HANGUL_FIRST
            d += [0x1100 + i // 588, 0x1161 + (i % 588) // 28] + ([0x11A7 + i % 28] if i % 28 else [])
        else:
            d += decomp.get(c, [c])
    i = 0
    while i < len(d):  # canonical ordering: stable sort of each run of non-starters
        if ccc.get(d[i], 0) == 0:
            i += 1
            continue
        j = i
        while j < len(d) and ccc.get(d[j], 0) != 0:
            j += 1
        d[i:j] = sorted(d[i:j], key=lambda x: ccc[x])
        i = j
    out = []
    starter = None
    last_ccc = 0
    for c in d:
        cc = ccc.get(c, 0)
        if starter is not None and (last_ccc < cc or (last_ccc == 0 and len(out) - 1 == starter)):
            s0 = out[starter]
            comp_c = None
            if 0x1100 <= s0 <= 0x1112 and 0x1161 <= c <= 0x1175:
                comp_c = HANGUL_FIRST + ((s0 - 0x1100) * 21 + (c - 0x1161)) * 28
            elif HANGUL_FIRST <= s0 <= HANGUL_LAST and (s0 - HANGUL_FIRST) % 28 == 0 and 0x11A8 <= c <= 0x11C2:
                comp_c = s0 + (c - 0x11A7)
            else:
                comp_c = comp.get((s0, c))
            if comp_c is not None:
                out[starter] = comp_c
                continue
        if cc == 0:
            starter = len(out)
        last_ccc = cc
        out.append(c)
    return "".join(chr(c) for c in out)


def check(decomp, ccc, comp):
    rng = random.Random(7)
    marks = sorted(ccc)
    firsts = sorted({a for a, _ in comp})
    seconds = sorted({b for _, b in comp})
    pool = marks + firsts + seconds + sorted(decomp)[:3000] + list(range(0x1100, 0x1113)) + \
        list(range(0x1161, 0x1176)) + list(range(0x11A7, 0x11C3)) + [0xAC00, 0xAC01, 0xD7A3, 0x41, 0x20]
    for n in range(200000):
        s = "".join(chr(rng.choice(pool)) for _ in range(rng.randint(1, 6)))
        want = HF_NFC.normalize_str(s)
        got = model_nfc(s, decomp, ccc, comp)
        if want != got:
            sys.exit(f"model differs from HF on {[hex(ord(c)) for c in s]}: "
                     f"{[hex(ord(c)) for c in want]} vs {[hex(ord(c)) for c in got]}")


def ranges(mapping):
    """Collapses cp -> value into [first, last, value] runs."""
    out = []
    for c in sorted(mapping):
        v = mapping[c]
        if out and out[-1][1] == c - 1 and out[-1][2] == v:
            out[-1][1] = c
        else:
            out.append([c, c, v])
    return out


def main():
    cps = code_points()
    decomp = {c: d for c, d in full_decompositions(cps).items()
              if not HANGUL_FIRST <= c <= HANGUL_LAST}
    ccc = combining_classes(cps)
    comp = compositions(cps, decomp)
    check(decomp, ccc, comp)

    lines = ["// Generated by engine/tokenizer/make_nfc_tables.py from HF tokenizers' own",
             "// NFC/NFD behaviour; do not edit. Hangul is algorithmic and not listed.", ""]
    pool = []
    entries = []
    for c in sorted(decomp):
        entries.append(f"{{0x{c:X}, {len(pool)}, {len(decomp[c])}}}")
        pool += decomp[c]
    lines.append("// Full canonical decompositions: code point, offset into kDecompPool, length.")
    lines.append("constexpr DecompEntry kDecomp[] = {")
    lines += ["    " + ", ".join(entries[i:i + 4]) + "," for i in range(0, len(entries), 4)]
    lines.append("};")
    lines.append("constexpr char32_t kDecompPool[] = {")
    lines += ["    " + ", ".join(f"0x{c:X}" for c in pool[i:i + 8]) + "," for i in range(0, len(pool), 8)]
    lines.append("};")
    lines.append("// Canonical combining classes other than 0, as runs: first, last, class.")
    lines.append("constexpr CccRange kCcc[] = {")
    rs = [f"{{0x{a:X}, 0x{b:X}, {v}}}" for a, b, v in ranges(ccc)]
    lines += ["    " + ", ".join(rs[i:i + 4]) + "," for i in range(0, len(rs), 4)]
    lines.append("};")
    lines.append("// Primary composites, sorted by (first, second).")
    lines.append("constexpr CompEntry kComp[] = {")
    cs = [f"{{0x{a:X}, 0x{b:X}, 0x{c:X}}}" for (a, b), c in sorted(comp.items())]
    lines += ["    " + ", ".join(cs[i:i + 3]) + "," for i in range(0, len(cs), 3)]
    lines.append("};")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nfc_tables.inc")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}: {len(decomp)} decompositions, {len(ccc)} marks, {len(comp)} composites")


if __name__ == "__main__":
    main()
