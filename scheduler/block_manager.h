// The paged KV cache's bookkeeping: which fixed-size blocks are free, which
// sequences hold which, and which full blocks hold a cached prefix.
//
// Blocks are reference-counted: with prefix caching a full block may sit in
// several sequences' tables at once (they share its KV, which no one writes
// again). A sequence's block table lives with the sequence (so the batch can
// point at it); the manager grows and releases tables and owns the free
// queue.
//
// Prefix caching (vLLM's automatic prefix caching): once a full block's
// positions are computed, CacheFullBlocks registers it under a hash chained
// over its parent block's hash and its own token ids (the root's parent is
// the request's cache salt). TakeCachedPrefix walks a new sequence's tokens
// block by block through that index; a candidate counts only if its stored
// tokens, its parent block (and that parent's registration) and, for a root,
// its salt are exactly the sequence's, so a hash collision can never hand a
// sequence another's KV. Partial blocks are never shared. A block no
// sequence uses stays cached, in the free queue, until its memory is needed:
// blocks with nothing cached are reused first, then cached ones, least
// recently freed first (a sequence's last block before its first, so that
// the shared roots of prefixes stay longest). Every operation is O(1) per
// block (hashing O(block_size)).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "engine/backend.h"
#include "scheduler/prefix_chain.h"

namespace switchyard::scheduler {

struct KvCacheShape {
  int32_t num_blocks = 0;
  int32_t block_size = 0;  // tokens per block
};

class BlockManager {
 public:
  // Both fields must be >= 1. Without caching, TakeCachedPrefix finds
  // nothing and CacheFullBlocks registers nothing.
  explicit BlockManager(KvCacheShape shape, bool enable_caching = true);

  // Blocks that hold `num_tokens` positions.
  int64_t BlocksFor(int64_t num_tokens) const { return engine::KvBlocksFor(num_tokens, shape_.block_size); }
  // Grows `table` to cover positions [0, num_tokens) with fresh blocks
  // (evicting cached ones no one uses, when nothing else is free). All or
  // nothing: false, with `table` unchanged, when the free blocks do not
  // suffice.
  bool Grow(std::vector<int32_t>& table, int64_t num_tokens);
  // Drops `table`'s reference to each of its blocks and clears it; a block
  // no one refers to any more is free (and stays cached if it was).
  void Release(std::vector<int32_t>& table);

  // For a sequence with an empty `table`: appends the longest cached prefix
  // of `tokens` (whole blocks, at most `max_blocks`, under `salt`) and
  // returns the chain it makes (its num_blocks: how many it took).
  PrefixChain TakeCachedPrefix(absl::Span<const int32_t> tokens, int32_t max_blocks, const std::string& salt,
                               std::vector<int32_t>& table);
  // Caches the full blocks of `table` whose positions are all computed
  // (`tokens[0, num_computed)`) past `chain`, and advances it. A block whose
  // content another block holds cached already stays private, and the chain
  // continues through that other block; each block is hashed once.
  void CacheFullBlocks(absl::Span<const int32_t> tokens, int32_t num_computed, const std::string& salt,
                       const std::vector<int32_t>& table, PrefixChain& chain);

  bool in_use(int32_t block) const { return info_[block].refs > 0; }
  int32_t ref_count(int32_t block) const { return info_[block].refs; }
  bool is_cached(int32_t block) const { return info_[block].cached; }
  const KvCacheShape& shape() const { return shape_; }
  int32_t num_blocks() const { return shape_.num_blocks; }
  int32_t num_free() const { return num_free_; }  // evictable cached blocks included
  int32_t num_used() const { return num_blocks() - num_free(); }
  int32_t num_cached() const { return num_cached_; }
  int32_t num_evictable() const { return num_evictable_; }
  double usage() const { return static_cast<double>(num_used()) / num_blocks(); }  // in [0, 1]

  // The manager's own invariants, in O(blocks * block_size), for tests: the
  // free queue holds exactly the blocks no one refers to, the counters
  // match, and every cached block is indexed under the hash of its tokens
  // and its parent's hash.
  absl::Status CheckInvariants() const;

 private:
  struct BlockInfo {
    int32_t refs = 0;
    bool cached = false;  // registered in index_ under `hash`
    uint64_t hash = 0;
    int32_t parent = -1;  // the previous block of its prefix; -1 for a root
    uint32_t parent_generation = 0;
    uint32_t generation = 0;  // bumped at each registration: a re-registered parent is another parent
    int32_t prev = -1, next = -1;  // free queue links
  };

  uint64_t RootHash(const std::string& salt) const;
  uint64_t ChainHash(uint64_t parent_hash, absl::Span<const int32_t> block_tokens) const;
  absl::Span<const int32_t> StoredTokens(int32_t block) const;
  // Whether `block` holds `block_tokens` after `parent` (-1: the root of `salt`).
  bool Matches(int32_t block, absl::Span<const int32_t> block_tokens, int32_t parent, const std::string& salt) const;
  void Uncache(int32_t block);
  void PushFree(int32_t block, bool front);
  void Unlink(int32_t block);

  KvCacheShape shape_;
  bool enable_caching_;
  std::vector<BlockInfo> info_;
  std::vector<int32_t> tokens_;           // [num_blocks, block_size]: a cached block's token ids
  std::vector<std::string> root_salt_;    // a cached root block's salt
  absl::flat_hash_map<uint64_t, int32_t> index_;  // chain hash -> cached block
  int32_t free_head_ = -1, free_tail_ = -1;        // the free queue: taken at the head
  int32_t num_free_ = 0, num_cached_ = 0, num_evictable_ = 0;
};

}  // namespace switchyard::scheduler
