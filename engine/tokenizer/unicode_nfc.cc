#include "engine/tokenizer/unicode_nfc.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/tokenizer/utf8.h"

namespace switchyard::engine::tok {
namespace {

struct DecompEntry {
  char32_t cp;
  uint16_t offset;
  uint8_t length;
};
struct CccRange {
  char32_t first;
  char32_t last;
  uint8_t ccc;
};
struct CompEntry {
  char32_t first;
  char32_t second;
  char32_t composite;
};

#include "engine/tokenizer/nfc_tables.inc"

// Hangul syllables decompose and compose arithmetically (Unicode ch. 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161,
                   kTBase = 0x11A7;
constexpr int kLCount = 19, kVCount = 21, kTCount = 28,
              kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

// Lookup structures built once from the generated tables.
class NfcData {
 public:
  static const NfcData& Get() {
    static const NfcData* data = new NfcData();
    return *data;
  }

  uint8_t Ccc(char32_t cp) const {
    if (cp < 0x300) return 0;
    const auto it = std::upper_bound(
        std::begin(kCcc), std::end(kCcc), cp,
        [](char32_t c, const CccRange& r) { return c < r.first; });
    if (it == std::begin(kCcc)) return 0;
    const CccRange& r = *(it - 1);
    return cp <= r.last ? r.ccc : 0;
  }

  // Appends the full canonical decomposition of cp.
  void Decompose(char32_t cp, std::vector<char32_t>* out) const {
    if (cp >= kSBase && cp < kSBase + kSCount) {
      const char32_t s = cp - kSBase;
      out->push_back(kLBase + s / kNCount);
      out->push_back(kVBase + (s % kNCount) / kTCount);
      if (s % kTCount != 0) out->push_back(kTBase + s % kTCount);
      return;
    }
    if (cp >= 0xC0) {
      const auto it = std::lower_bound(
          std::begin(kDecomp), std::end(kDecomp), cp,
          [](const DecompEntry& e, char32_t c) { return e.cp < c; });
      if (it != std::end(kDecomp) && it->cp == cp) {
        out->insert(out->end(), kDecompPool + it->offset,
                    kDecompPool + it->offset + it->length);
        return;
      }
    }
    out->push_back(cp);
  }

  // The primary composite of (a, b), or 0.
  char32_t Compose(char32_t a, char32_t b) const {
    if (a >= kLBase && a < kLBase + kLCount && b >= kVBase &&
        b < kVBase + kVCount) {
      return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
    }
    if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 &&
        b > kTBase && b < kTBase + kTCount) {
      return a + (b - kTBase);
    }
    const auto it = composites_.find(Key(a, b));
    return it == composites_.end() ? 0 : it->second;
  }

  // True when cp can neither change nor interact with its neighbours before
  // it: a starter with no decomposition that never composes with what
  // precedes it. Text between two such characters normalizes independently.
  bool IsInert(char32_t cp) const {
    if (cp < 0x300) return true;  // Latin-1 and friends: see BuildInert
    return cp < inert_.size() * 64 && ((inert_[cp / 64] >> (cp % 64)) & 1);
  }

 private:
  NfcData() {
    for (const CompEntry& e : kComp) composites_[Key(e.first, e.second)] = e.composite;
    BuildInert();
  }

  static uint64_t Key(char32_t a, char32_t b) {
    return (static_cast<uint64_t>(a) << 32) | b;
  }

  void BuildInert() {
    inert_.assign(0x110000 / 64, ~uint64_t{0});
    const auto clear = [&](char32_t cp) { inert_[cp / 64] &= ~(uint64_t{1} << (cp % 64)); };
    for (const DecompEntry& e : kDecomp) clear(e.cp);
    for (const CccRange& r : kCcc) {
      for (char32_t cp = r.first; cp <= r.last; ++cp) clear(cp);
    }
    for (const CompEntry& e : kComp) clear(e.second);
    for (char32_t cp = kSBase; cp < kSBase + kSCount; ++cp) clear(cp);
    for (char32_t cp = kVBase; cp < kVBase + kVCount; ++cp) clear(cp);
    for (char32_t cp = kTBase + 1; cp < kTBase + kTCount; ++cp) clear(cp);
    // Below U+0300 every character is a starter and none is the second half
    // of a composite, so IsInert may answer true there without the table even
    // for precomposed letters: a string made only of such characters is NFC.
  }

  absl::flat_hash_map<uint64_t, char32_t> composites_;
  std::vector<uint64_t> inert_;  // bit set over all code points
};

// Decomposes `chunk` and sorts each run of combining marks by class (stable,
// as canonical ordering requires).
std::vector<char32_t> DecomposeAndOrder(const NfcData& d, std::string_view chunk) {
  std::vector<char32_t> cps;
  for (size_t i = 0; i < chunk.size();) {
    size_t len;
    d.Decompose(DecodeUtf8(chunk, i, &len), &cps);
    i += len;
  }
  for (size_t i = 0; i < cps.size();) {
    if (d.Ccc(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && d.Ccc(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j,
                     [&](char32_t a, char32_t b) { return d.Ccc(a) < d.Ccc(b); });
    i = j;
  }
  return cps;
}

// Canonical composition of a decomposed, ordered sequence (UAX #15).
void Compose(const NfcData& d, std::vector<char32_t>* cps) {
  size_t out = 0;
  size_t starter = 0;
  bool have_starter = false;
  int last_ccc = 0;
  for (size_t i = 0; i < cps->size(); ++i) {
    const char32_t c = (*cps)[i];
    const int ccc = d.Ccc(c);
    // c may join the starter unless a mark in between has a class >= its own
    // (blocked); a starter may only join a directly adjacent starter.
    const bool reachable =
        have_starter && (last_ccc < ccc || (last_ccc == 0 && out == starter + 1));
    if (reachable) {
      if (const char32_t comp = d.Compose((*cps)[starter], c); comp != 0) {
        (*cps)[starter] = comp;
        continue;
      }
    }
    if (ccc == 0) {
      starter = out;
      have_starter = true;
    }
    last_ccc = ccc;
    (*cps)[out++] = c;
  }
  cps->resize(out);
}

template <bool kCompose>
std::string Normalize(std::string_view text) {
  const NfcData& d = NfcData::Get();
  std::string out;
  out.reserve(text.size());
  // Chunks start at inert characters; most text is one inert character after
  // another, copied through untouched.
  size_t chunk_start = 0;
  const auto flush = [&](size_t end) {
    if (end == chunk_start) return;
    const std::string_view chunk = text.substr(chunk_start, end - chunk_start);
    size_t len;
    const char32_t first = DecodeUtf8(chunk, 0, &len);
    // A lone inert character is already normalized, except that for NFD the
    // precomposed letters below U+0300 (which IsInert lets through) split.
    if (len == chunk.size() && d.IsInert(first) &&
        (kCompose || first < 0xC0 || first >= 0x300)) {
      out.append(chunk);
    } else {
      std::vector<char32_t> cps = DecomposeAndOrder(d, chunk);
      if (kCompose) Compose(d, &cps);
      for (char32_t c : cps) AppendUtf8(c, &out);
    }
    chunk_start = end;
  };
  for (size_t i = 0; i < text.size();) {
    size_t len;
    const char32_t cp = DecodeUtf8(text, i, &len);
    if (d.IsInert(cp)) flush(i);
    i += len;
  }
  flush(text.size());
  return out;
}

}  // namespace

std::string ToNfc(std::string_view text) { return Normalize<true>(text); }
std::string ToNfd(std::string_view text) { return Normalize<false>(text); }

}  // namespace switchyard::engine::tok
