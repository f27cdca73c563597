// The weights of a Hugging Face model directory: either DIR/model.safetensors
// or DIR/model.safetensors.index.json plus the shards its "weight_map" names.
// When both exist the single file wins, as in transformers.
//
// Status codes follow safetensors.h: NOT_FOUND for a missing directory, weight
// file, shard or tensor; DATA_LOSS for malformed files and for an index that
// disagrees with its shards (a tensor in another shard than indexed, in two
// shards, or in a shard but not in the index); INVALID_ARGUMENT for a
// well-formed tensor that is not what Require asks for or has an unsupported
// dtype.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/safetensors.h"

namespace switchyard::engine {

class Checkpoint {
 public:
  static absl::StatusOr<std::unique_ptr<Checkpoint>> Open(const std::string& dir);

  // Views stay valid as long as this Checkpoint lives.
  const TensorView* Find(std::string_view name) const;  // null if absent
  std::vector<std::string> Names() const;               // sorted
  // The tensor, if present with exactly this shape; otherwise NOT_FOUND, or
  // INVALID_ARGUMENT naming the tensor, its file, the expected and the actual
  // shape.
  absl::StatusOr<TensorView> Require(std::string_view name, absl::Span<const int64_t> shape) const;
  uint64_t total_bytes() const { return total_bytes_; }  // sum of tensor nbytes
  const std::string& dir() const { return dir_; }

 private:
  explicit Checkpoint(std::string dir) : dir_(std::move(dir)) {}
  absl::Status OpenSharded(const std::string& index_path);
  // Adds every tensor of `file` to the name table; DATA_LOSS if a name is
  // already there from another file.
  absl::Status Adopt(std::unique_ptr<SafetensorsFile> file);

  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;  // own the mappings
  std::map<std::string, const TensorView*, std::less<>> tensors_;
  uint64_t total_bytes_ = 0;
};

}  // namespace switchyard::engine
