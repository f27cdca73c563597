// Test-only helpers that build safetensors files byte by byte: valid ones, and
// broken ones the reader must reject. Header-only so that it does not become
// a test executable of its own.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine::test {

struct TestTensor {
  std::string name;
  std::string dtype;  // safetensors spelling, including ones the reader rejects
  std::vector<int64_t> shape;
  std::string bytes;  // raw little-endian data
};

// The raw bytes of any trivially copyable values.
template <typename T>
std::string BytesOf(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// `header` behind its u64 little-endian length, then `buffer`: any header
// text, so tests can write what no JSON builder would.
inline std::string RawSafetensors(std::string_view header, std::string_view buffer) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(uint64_t{header.size()} >> (8 * i)));
  out.append(header);
  out.append(buffer);
  return out;
}

// A well-formed file: tensors packed in the order given, the header padded
// with spaces to a multiple of 8 bytes as the reference writer does.
inline std::string SafetensorsBytes(const std::vector<TestTensor>& tensors,
                                    const std::map<std::string, std::string>& metadata = {}) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string buffer;
  for (const TestTensor& t : tensors) {
    header[t.name] = {
        {"dtype", t.dtype},
        {"shape", t.shape},
        {"data_offsets", nlohmann::json::array({buffer.size(), buffer.size() + t.bytes.size()})}};
    buffer += t.bytes;
  }
  std::string text = header.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');
  return RawSafetensors(text, buffer);
}

inline void WriteFile(const std::string& path, std::string_view bytes) {
  // A fresh file, not a truncated one: ext4 flushes a file truncated and
  // rewritten to disk on close, which costs milliseconds per write.
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

// A fresh directory under the system temp dir, removed with its contents.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "switchyard_test_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed for " << tmpl;
    path_ = tmpl;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::string& path() const { return path_; }
  std::string File(std::string_view name) const {
    return (std::filesystem::path(path_) / name).string();
  }

 private:
  std::string path_;
};

}  // namespace switchyard::engine::test
