// UTF-8 helpers shared by the tokenizer stages. Text inside the tokenizer is
// always valid UTF-8: Tokenizer::Encode repairs its input once at the door.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace switchyard::engine::tok {

// Length of the sequence that starts with `lead` (1 for stray bytes, so that a
// loop over invalid input still advances).
inline size_t Utf8Length(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// Decodes the code point at s[i] of valid UTF-8 and stores its length in *len.
char32_t DecodeUtf8(std::string_view s, size_t i, size_t* len);

void AppendUtf8(char32_t cp, std::string* out);

// Replaces each maximal invalid subsequence by one U+FFFD, exactly as Rust's
// String::from_utf8_lossy does; HF tokenizers' decoders use that function, so
// decoded text must follow the same rule to compare equal.
std::string LossyUtf8(std::string_view bytes);

// Whether `bytes` is entirely valid UTF-8.
bool IsValidUtf8(std::string_view bytes);

// Unicode White_Space, which is what Rust's char::is_whitespace and the
// regex crate's \s test (used by HF for added-token stripping).
bool IsUnicodeWhitespace(char32_t cp);

}  // namespace switchyard::engine::tok
