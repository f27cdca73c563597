#include "scheduler/block_manager.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "common/check.h"

namespace switchyard::scheduler {
namespace {

// SplitMix64's finaliser: spreads every input bit over the output.
uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

BlockManager::BlockManager(KvCacheShape shape, bool enable_caching)
    : shape_(shape), enable_caching_(enable_caching), info_(shape.num_blocks) {
  SWITCHYARD_CHECK(shape.num_blocks >= 1 && shape.block_size >= 1);
  if (enable_caching_) {
    tokens_.resize(static_cast<size_t>(shape.num_blocks) * shape.block_size);
    root_salt_.resize(shape.num_blocks);
  }
  // A fresh cache hands out blocks 0, 1, 2, ...
  for (int32_t b = 0; b < shape.num_blocks; ++b) PushFree(b, /*front=*/false);
}

void BlockManager::PushFree(int32_t block, bool front) {
  BlockInfo& b = info_[block];
  b.prev = front ? -1 : free_tail_;
  b.next = front ? free_head_ : -1;
  (b.prev >= 0 ? info_[b.prev].next : free_head_) = block;
  (b.next >= 0 ? info_[b.next].prev : free_tail_) = block;
  ++num_free_;
  if (b.cached) ++num_evictable_;
}

void BlockManager::Unlink(int32_t block) {
  BlockInfo& b = info_[block];
  (b.prev >= 0 ? info_[b.prev].next : free_head_) = b.next;
  (b.next >= 0 ? info_[b.next].prev : free_tail_) = b.prev;
  b.prev = b.next = -1;
  --num_free_;
  if (b.cached) --num_evictable_;
}

void BlockManager::Uncache(int32_t block) {
  BlockInfo& b = info_[block];
  if (!b.cached) return;
  index_.erase(b.hash);
  b.cached = false;
  --num_cached_;
}

bool BlockManager::Grow(std::vector<int32_t>& table, int64_t num_tokens) {
  const int64_t needed = BlocksFor(num_tokens) - static_cast<int64_t>(table.size());
  if (needed <= 0) return true;
  if (needed > num_free_) return false;
  for (int64_t i = 0; i < needed; ++i) {
    const int32_t block = free_head_;
    Unlink(block);
    Uncache(block);  // evicted: its memory is needed
    info_[block].refs = 1;
    table.push_back(block);
  }
  return true;
}

void BlockManager::Release(std::vector<int32_t>& table) {
  // Last block first, so that among a sequence's cached blocks the deepest
  // is evicted first and the shared root last.
  for (auto it = table.rbegin(); it != table.rend(); ++it) {
    const int32_t block = *it;
    SWITCHYARD_CHECK(block >= 0 && block < num_blocks() && info_[block].refs > 0);
    if (--info_[block].refs > 0) continue;
    // Nothing worth keeping: reused first. A cached prefix: reused last.
    PushFree(block, /*front=*/!info_[block].cached);
  }
  table.clear();
}

uint64_t BlockManager::RootHash(const std::string& salt) const { return Mix(std::hash<std::string>{}(salt) ^ 0x5a17); }

uint64_t BlockManager::ChainHash(uint64_t parent_hash, absl::Span<const int32_t> block_tokens) const {
  uint64_t h = Mix(parent_hash);
  for (const int32_t t : block_tokens) h = Mix(h ^ static_cast<uint32_t>(t));
  return h;
}

absl::Span<const int32_t> BlockManager::StoredTokens(int32_t block) const {
  return absl::MakeConstSpan(tokens_.data() + static_cast<size_t>(block) * shape_.block_size, shape_.block_size);
}

bool BlockManager::Matches(int32_t block, absl::Span<const int32_t> block_tokens, int32_t parent,
                           const std::string& salt) const {
  const BlockInfo& b = info_[block];
  if (!b.cached || b.parent != parent || !std::equal(block_tokens.begin(), block_tokens.end(),
                                                     StoredTokens(block).begin())) {
    return false;
  }
  return parent < 0 ? root_salt_[block] == salt : b.parent_generation == info_[parent].generation;
}

PrefixChain BlockManager::TakeCachedPrefix(absl::Span<const int32_t> tokens, int32_t max_blocks,
                                           const std::string& salt, std::vector<int32_t>& table) {
  SWITCHYARD_CHECK(table.empty());
  if (!enable_caching_) return {};
  const int32_t bs = shape_.block_size;
  const int32_t limit = std::min<int64_t>(max_blocks, static_cast<int64_t>(tokens.size()) / bs);
  uint64_t hash = RootHash(salt);
  int32_t parent = -1;
  for (int32_t i = 0; i < limit; ++i) {
    const absl::Span<const int32_t> block_tokens = tokens.subspan(static_cast<size_t>(i) * bs, bs);
    hash = ChainHash(hash, block_tokens);
    const auto it = index_.find(hash);
    if (it == index_.end() || !Matches(it->second, block_tokens, parent, salt)) break;
    const int32_t block = it->second;
    if (info_[block].refs++ == 0) Unlink(block);
    table.push_back(block);
    parent = block;
  }
  return {static_cast<int32_t>(table.size()), parent, false};
}

void BlockManager::CacheFullBlocks(absl::Span<const int32_t> tokens, int32_t num_computed, const std::string& salt,
                                   const std::vector<int32_t>& table, PrefixChain& chain) {
  if (!enable_caching_ || chain.broken) return;
  const int32_t bs = shape_.block_size;
  const int32_t full = std::min<int64_t>(num_computed / bs, static_cast<int64_t>(table.size()));
  for (; chain.num_blocks < full; ++chain.num_blocks) {
    const int32_t k = chain.num_blocks;
    const int32_t block = table[k];
    const int32_t parent = chain.tail;
    const absl::Span<const int32_t> block_tokens = tokens.subspan(static_cast<size_t>(k) * bs, bs);
    const uint64_t hash = ChainHash(parent < 0 ? RootHash(salt) : info_[parent].hash, block_tokens);
    const auto [it, inserted] = index_.try_emplace(hash, block);
    if (!inserted) {
      // Another sequence cached this content first: continue through its
      // block. A collision (other content under the hash) ends the chain.
      if (!Matches(it->second, block_tokens, parent, salt)) {
        chain.broken = true;
        return;
      }
      chain.tail = it->second;
      continue;
    }
    BlockInfo& b = info_[block];
    SWITCHYARD_CHECK(!b.cached);
    b.cached = true;
    b.hash = hash;
    b.parent = parent;
    b.parent_generation = parent < 0 ? 0 : info_[parent].generation;
    ++b.generation;
    std::copy(block_tokens.begin(), block_tokens.end(), tokens_.begin() + static_cast<size_t>(block) * bs);
    if (parent < 0) root_salt_[block] = salt;
    ++num_cached_;
    chain.tail = block;
  }
}

absl::Status BlockManager::CheckInvariants() const {
  int32_t free = 0, evictable = 0, cached = 0;
  std::vector<bool> queued(num_blocks(), false);
  for (int32_t b = free_head_, prev = -1; b >= 0; prev = b, b = info_[b].next) {
    if (queued[b] || info_[b].prev != prev) return absl::InternalError(absl::StrCat("free queue broken at block ", b));
    queued[b] = true;
    ++free;
    if (info_[b].cached) ++evictable;
  }
  for (int32_t b = 0; b < num_blocks(); ++b) {
    const BlockInfo& info = info_[b];
    if (info.refs < 0 || queued[b] != (info.refs == 0)) {
      return absl::InternalError(absl::StrCat("block ", b, " has ", info.refs, " references but is ",
                                              queued[b] ? "" : "not ", "in the free queue"));
    }
    if (!info.cached) continue;
    ++cached;
    const auto it = index_.find(info.hash);
    const uint64_t parent_hash = info.parent < 0 ? RootHash(root_salt_[b]) : info_[info.parent].hash;
    if (it == index_.end() || it->second != b || ChainHash(parent_hash, StoredTokens(b)) != info.hash) {
      // A parent evicted and re-registered since is another parent: its
      // hash no longer vouches for this block, which can then never match.
      if (info.parent >= 0 && info.parent_generation != info_[info.parent].generation) continue;
      return absl::InternalError(absl::StrCat("cached block ", b, " is not indexed under its tokens' hash"));
    }
  }
  if (free != num_free_ || evictable != num_evictable_ || cached != num_cached_ ||
      cached != static_cast<int32_t>(index_.size())) {
    return absl::InternalError(absl::StrCat("counters: free ", num_free_, " (queue ", free, "), evictable ",
                                            num_evictable_, " (", evictable, "), cached ", num_cached_, " (", cached,
                                            ", indexed ", index_.size(), ")"));
  }
  return absl::OkStatus();
}

}  // namespace switchyard::scheduler
