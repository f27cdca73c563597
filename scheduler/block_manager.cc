#include "scheduler/block_manager.h"

#include "common/check.h"

namespace switchyard::scheduler {

BlockManager::BlockManager(KvCacheShape shape) : shape_(shape), in_use_(shape.num_blocks, false) {
  SWITCHYARD_CHECK(shape.num_blocks >= 1 && shape.block_size >= 1);
  free_.reserve(shape.num_blocks);
  // Pushed in reverse so that a fresh cache hands out blocks 0, 1, 2, ...
  for (int32_t b = shape.num_blocks - 1; b >= 0; --b) free_.push_back(b);
}

bool BlockManager::Grow(std::vector<int32_t>& table, int64_t num_tokens) {
  const int64_t needed = BlocksFor(num_tokens) - static_cast<int64_t>(table.size());
  if (needed <= 0) return true;
  if (needed > static_cast<int64_t>(free_.size())) return false;
  for (int64_t i = 0; i < needed; ++i) {
    const int32_t block = free_.back();
    free_.pop_back();
    in_use_[block] = true;
    table.push_back(block);
  }
  return true;
}

void BlockManager::Release(std::vector<int32_t>& table) {
  for (int32_t block : table) {
    SWITCHYARD_CHECK(block >= 0 && block < num_blocks() && in_use_[block]);
    in_use_[block] = false;
    free_.push_back(block);
  }
  table.clear();
}

}  // namespace switchyard::scheduler
