// A bounded, thread-safe map from a pre-tokenized word to its BPE ids. Real
// text repeats words constantly, and a hit skips the whole merge loop.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace switchyard::engine::tok {

class WordCache {
 public:
  // Words this long or longer are not cached (as in HF): they are rare and
  // would crowd out the common ones.
  static constexpr size_t kMaxWordBytes = 256;

  explicit WordCache(size_t capacity) : shard_capacity_(capacity / kShards + 1) {}

  // Appends the cached ids of `word` to *ids and returns true on a hit.
  bool Lookup(std::string_view word, std::vector<int32_t>* ids) const;
  void Insert(std::string_view word, const int32_t* ids, size_t count);

 private:
  // Shards keep threads that encode at the same time off each other's lock.
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    absl::flat_hash_map<std::string, std::vector<int32_t>> map;
  };
  Shard& ShardOf(std::string_view word) const;

  size_t shard_capacity_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace switchyard::engine::tok
