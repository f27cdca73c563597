#include "engine/checkpoint.h"

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr char kSingleName[] = "model.safetensors";
constexpr char kIndexName[] = "model.safetensors.index.json";

// Every path is built here, so a TensorView's `file` can be compared with the
// path of the shard the index names.
std::string JoinPath(std::string_view dir, std::string_view name) {
  return (fs::path(dir) / fs::path(name)).string();
}

absl::Status WithPrefix(const absl::Status& s, const std::string& prefix) {
  return absl::Status(s.code(), absl::StrCat(prefix, s.message()));
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  std::string text;
  char chunk[1 << 16];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f.get())) > 0) text.append(chunk, n);
  if (std::ferror(f.get())) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
  return text;
}

// The index must not reach outside the checkpoint directory ("../x", "/x")
// nor smuggle a NUL that would cut the path short.
bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

std::string ShapeString(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& dir) {
  std::unique_ptr<Checkpoint> checkpoint(new Checkpoint(dir));
  const std::string single = JoinPath(dir, kSingleName);
  const std::string index = JoinPath(dir, kIndexName);
  std::error_code ec;  // a failed probe reads as "absent"; opening then says why
  if (fs::exists(single, ec)) {
    ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(single));
    RETURN_IF_ERROR(checkpoint->Adopt(std::move(file)));
  } else if (fs::exists(index, ec)) {
    RETURN_IF_ERROR(checkpoint->OpenSharded(index));
  } else if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("checkpoint directory ", dir, " does not exist"));
  } else {
    return absl::NotFoundError(absl::StrCat("no weights in ", dir, ": neither ", kSingleName,
                                            " nor ", kIndexName, " exists"));
  }
  return checkpoint;
}

absl::Status Checkpoint::OpenSharded(const std::string& index_path) {
  ASSIGN_OR_RETURN(const std::string text, ReadFile(index_path));
  ASSIGN_OR_RETURN(const json index, ParseJsonStrict(text, index_path));
  const auto weight_map = index.find("weight_map");  // end() unless an object has it
  if (weight_map == index.end() || !weight_map->is_object()) {
    return absl::DataLossError(
        absl::StrCat(index_path, " is not a JSON object with a \"weight_map\" object"));
  }
  std::map<std::string, std::string, std::less<>> shard_of;  // tensor -> shard file name
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : weight_map->items()) {
    if (!shard.is_string() || !IsPlainFileName(shard.get_ref<const std::string&>())) {
      return absl::DataLossError(absl::StrCat(index_path, ": tensor '", tensor,
                                              "' maps to something other than a file name in ",
                                              dir_));
    }
    shard_of.emplace(tensor, shard.get<std::string>());
    shards.insert(shard.get<std::string>());
  }
  for (const std::string& shard : shards) {
    auto file = SafetensorsFile::Open(JoinPath(dir_, shard));
    if (!file.ok()) {
      return WithPrefix(file.status(), absl::StrCat(index_path, " names shard ", shard, ": "));
    }
    RETURN_IF_ERROR(Adopt(*std::move(file)));
  }
  // The index and the shards must tell the same story: a loader that trusts
  // either alone could pick up a stale or misplaced copy of a weight.
  for (const auto& [tensor, shard] : shard_of) {
    const TensorView* t = Find(tensor);
    if (t == nullptr) {
      return absl::NotFoundError(absl::StrCat(index_path, " maps tensor '", tensor, "' to ", shard,
                                              ", which does not contain it"));
    }
    if (t->file != JoinPath(dir_, shard)) {
      return absl::DataLossError(absl::StrCat(index_path, " maps tensor '", tensor, "' to ", shard,
                                              ", but it is in ", t->file));
    }
  }
  for (const auto& [name, t] : tensors_) {
    if (!shard_of.contains(name)) {
      return absl::DataLossError(absl::StrCat(t->file, " holds tensor '", name, "', which ",
                                              index_path, " does not list"));
    }
  }
  return absl::OkStatus();
}

absl::Status Checkpoint::Adopt(std::unique_ptr<SafetensorsFile> file) {
  for (const TensorView& t : file->tensors()) {
    auto [it, inserted] = tensors_.emplace(t.name, &t);
    if (!inserted) {
      return absl::DataLossError(
          absl::StrCat("tensor '", t.name, "' is in both ", it->second->file, " and ", t.file));
    }
    total_bytes_ += t.nbytes;
  }
  files_.push_back(std::move(file));
  return absl::OkStatus();
}

const TensorView* Checkpoint::Find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

std::vector<std::string> Checkpoint::Names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& [name, t] : tensors_) names.push_back(name);
  return names;
}

absl::StatusOr<TensorView> Checkpoint::Require(std::string_view name,
                                               absl::Span<const int64_t> shape) const {
  const TensorView* t = Find(name);
  if (t == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("tensor '", std::string(name), "' not found in checkpoint ", dir_));
  }
  if (absl::Span<const int64_t>(t->shape) != shape) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", t->name, "' in ", t->file,
                                                   ": expected shape ", ShapeString(shape),
                                                   ", actual ", ShapeString(t->shape)));
  }
  return *t;
}

}  // namespace switchyard::engine
