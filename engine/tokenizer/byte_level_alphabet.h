// GPT-2's byte-level alphabet: each of the 256 byte values is shown as one
// printable code point (space -> 'Ġ', newline -> 'Ċ', ...) so that a BPE
// vocabulary of strings can hold arbitrary bytes.
#pragma once

#include <string>
#include <string_view>

namespace switchyard::engine::tok {

// UTF-8 of the code point that stands for byte b.
std::string_view ByteToAlphabet(unsigned char b);

// The byte that code point cp stands for, or -1 when cp is not in the alphabet.
int AlphabetToByte(char32_t cp);

}  // namespace switchyard::engine::tok
