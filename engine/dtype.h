// Element types of checkpoint tensors and their conversions to float.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace switchyard::engine {

enum class DType { kF32, kF16, kBF16 };

inline size_t DTypeSize(DType t) { return t == DType::kF32 ? 4 : 2; }

std::string_view DTypeName(DType t);  // "F32", "F16", "BF16" (safetensors spelling)

inline float BF16ToFloat(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round to nearest even, as torch does; NaN stays NaN.
inline uint16_t FloatToBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float F16ToFloat(uint16_t h);

// Converts `n` elements of type `src_type` at `src` to float.
void ConvertToFloat(DType src_type, const void* src, float* dst, size_t n);

}  // namespace switchyard::engine
