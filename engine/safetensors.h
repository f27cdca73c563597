// Reader for the safetensors format (https://github.com/huggingface/safetensors):
// a u64 little-endian header length N, N bytes of JSON describing every tensor
// ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
// {...}}), then the byte buffer that `data_offsets` index into. Files are
// memory-mapped, never copied: a 100 GB checkpoint costs address space, not RAM.
//
// Status codes, shared with checkpoint.h:
//   NOT_FOUND         a file or tensor that should exist does not.
//   DATA_LOSS         a file's bytes are malformed or contradict themselves:
//                     truncated file, bad JSON, wrong JSON types, offsets out of
//                     range or overlapping, duplicate names, a shard index that
//                     disagrees with its shards.
//   INVALID_ARGUMENT  the file is well-formed but not usable as asked: a dtype
//                     other than F32/F16/BF16, a shape other than the caller
//                     requires, a path that is not a regular file.
//   others            errno from open/mmap, via absl::ErrnoToStatus.
// Every message names the file and, where there is one, the tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/dtype.h"
#include "nlohmann/json_fwd.hpp"

namespace switchyard::engine {

// One tensor inside a memory-mapped file; valid while that file is open.
struct TensorView {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const std::byte* data;  // points into the mapping; may be unaligned
  size_t nbytes;          // == numel() * DTypeSize(dtype), checked at Open
  std::string file;       // path of the file that holds it, for messages
  int64_t numel() const;  // 1 for a 0-d scalar
};

// One memory-mapped .safetensors file, fully validated at Open: afterwards
// every TensorView lies inside the mapping and no two share a byte. If the
// file is truncated on disk while mapped, reads fault (SIGBUS); nothing in
// user space can validate against that.
class SafetensorsFile {
 public:
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);

  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const std::vector<TensorView>& tensors() const { return tensors_; }  // sorted by name
  const TensorView* Find(std::string_view name) const;                 // null if absent
  // The header's "__metadata__" object (e.g. {"format": "pt"}).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  SafetensorsFile(std::string path, const std::byte* base, size_t size)
      : path_(std::move(path)), base_(base), size_(size) {}
  absl::Status ParseHeader();
  void Unmap();

  std::string path_;
  const std::byte* base_ = nullptr;  // the whole file, mapped read-only
  size_t size_ = 0;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Takes the pages under `t` out of this process's resident set once they
// have been copied: a loader that converts the file into its own buffers
// would otherwise hold the model twice until the file is closed. The pages
// stay in the page cache; reading `t` again faults them back in.
void DropResidentPages(const TensorView& t);

// Parses `text` as JSON, answering DATA_LOSS (message prefixed with `what`)
// for invalid JSON, an object with a repeated key (nlohmann would silently keep
// the last one, hiding e.g. a duplicated tensor) or nesting deeper than any
// header needs. Shared with the checkpoint's shard index.
absl::StatusOr<nlohmann::json> ParseJsonStrict(std::string_view text, std::string_view what);

}  // namespace switchyard::engine
