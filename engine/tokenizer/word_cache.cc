#include "engine/tokenizer/word_cache.h"

#include "absl/hash/hash.h"
#include "engine/tokenizer/absl_view.h"

namespace switchyard::engine::tok {

WordCache::Shard& WordCache::ShardOf(std::string_view word) const {
  return shards_[absl::HashOf(AbslView(word)) % kShards];
}

bool WordCache::Lookup(std::string_view word, std::vector<int32_t>* ids) const {
  if (word.size() >= kMaxWordBytes) return false;
  Shard& shard = ShardOf(word);
  std::lock_guard<std::mutex> lock(shard.mu);
  const auto it = shard.map.find(AbslView(word));
  if (it == shard.map.end()) return false;
  ids->insert(ids->end(), it->second.begin(), it->second.end());
  return true;
}

void WordCache::Insert(std::string_view word, const int32_t* ids, size_t count) {
  if (word.size() >= kMaxWordBytes) return;
  Shard& shard = ShardOf(word);
  std::lock_guard<std::mutex> lock(shard.mu);
  // Starting over when full keeps memory bounded and lets the cache follow
  // the words of recent requests; the cost is a burst of misses.
  if (shard.map.size() >= shard_capacity_) shard.map.clear();
  shard.map.try_emplace(AbslView(word), ids, ids + count);
}

}  // namespace switchyard::engine::tok
