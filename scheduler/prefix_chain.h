// How far a sequence's full KV blocks are in the prefix cache: what
// BlockManager::CacheFullBlocks continues from at each step.
#pragma once

#include <cstdint>

namespace switchyard::scheduler {

struct PrefixChain {
  // Leading blocks of the sequence's table whose content is cached: in the
  // table's own block, or, when another sequence cached the same content
  // first, in that one.
  int32_t num_blocks = 0;
  // The cached block holding the last of them (-1: none yet): the parent
  // the next full block is registered under.
  int32_t tail = -1;
  // A hash collision stopped the chain: nothing more of this sequence is
  // cached (rare, and only a lost chance of reuse).
  bool broken = false;
};

}  // namespace switchyard::scheduler
