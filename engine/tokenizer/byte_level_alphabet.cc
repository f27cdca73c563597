#include "engine/tokenizer/byte_level_alphabet.h"

#include <array>

#include "engine/tokenizer/utf8.h"

namespace switchyard::engine::tok {
namespace {

struct Alphabet {
  std::array<std::string, 256> chars;
  std::array<int, 512> bytes;  // every alphabet code point is below U+0200

  Alphabet() {
    bytes.fill(-1);
    // Printable Latin-1 bytes stand for themselves; the others, in byte
    // order, take the code points from U+0100 up.
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const char32_t cp = printable ? b : next++;
      AppendUtf8(cp, &chars[b]);
      bytes[cp] = b;
    }
  }
};

const Alphabet& Get() {
  static const Alphabet* alphabet = new Alphabet();
  return *alphabet;
}

}  // namespace

std::string_view ByteToAlphabet(unsigned char b) { return Get().chars[b]; }

int AlphabetToByte(char32_t cp) { return cp < 512 ? Get().bytes[cp] : -1; }

}  // namespace switchyard::engine::tok
