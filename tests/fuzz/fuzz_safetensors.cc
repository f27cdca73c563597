// Bytes as a .safetensors file -> engine::SafetensorsFile::Open. Open takes a
// path and maps the file, so the input is written to one memfd, reused for
// every run, and opened through /proc/self/fd. A file Open accepts must keep
// safetensors.h's promises: every tensor inside the file's data buffer, at the
// bytes its header names, nbytes == numel * dtype size, no two tensors sharing
// a byte. The header is read a second time here, plainly, as the reference.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "common/check.h"
#include "engine/dtype.h"
#include "engine/safetensors.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine {
namespace {

// The input as a file: one memfd for the whole process, rewritten each run.
const std::string& WriteInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("fuzz.safetensors", MFD_CLOEXEC);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  SWITCHYARD_CHECK(fd >= 0);
  SWITCHYARD_CHECK(ftruncate(fd, static_cast<off_t>(size)) == 0);
  size_t written = 0;
  while (written < size) {
    const ssize_t n = pwrite(fd, data + written, size - written, static_cast<off_t>(written));
    SWITCHYARD_CHECK(n > 0);
    written += static_cast<size_t>(n);
  }
  return path;
}

void CheckAccepted(const SafetensorsFile& file, const uint8_t* data, size_t size) {
  // Open accepted the header, so it is 8 bytes of length, then that much JSON.
  uint64_t header_bytes;
  std::memcpy(&header_bytes, data, 8);
  SWITCHYARD_CHECK(header_bytes <= size - 8);
  const uint8_t* buffer = data + 8 + header_bytes;
  const uint64_t buffer_size = size - 8 - header_bytes;
  const auto header = nlohmann::json::parse(data + 8, buffer, nullptr, /*allow_exceptions=*/false);
  SWITCHYARD_CHECK(header.is_object());

  const std::vector<TensorView>& tensors = file.tensors();
  SWITCHYARD_CHECK(tensors.size() == header.size() - header.contains("__metadata__"));
  std::vector<std::pair<uint64_t, uint64_t>> spans;  // [begin, end) of non-empty tensors
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorView& t = tensors[i];
    if (i > 0) SWITCHYARD_CHECK(tensors[i - 1].name < t.name);  // sorted, no repeats
    SWITCHYARD_CHECK(file.Find(t.name) == &t);
    SWITCHYARD_CHECK(t.file == file.path());
    const nlohmann::json& entry = header.at(t.name);
    SWITCHYARD_CHECK(entry.at("dtype") == DTypeName(t.dtype));
    SWITCHYARD_CHECK(entry.at("shape") == t.shape);
    SWITCHYARD_CHECK(t.nbytes == static_cast<uint64_t>(t.numel()) * DTypeSize(t.dtype));
    const uint64_t begin = entry.at("data_offsets").at(0).get<uint64_t>();
    const uint64_t end = entry.at("data_offsets").at(1).get<uint64_t>();
    SWITCHYARD_CHECK(begin <= end && end <= buffer_size && end - begin == t.nbytes);
    if (t.nbytes == 0) continue;
    // The mapping holds the file's bytes: the view must show the ones the
    // header names, and reading its first and last byte must not fault.
    SWITCHYARD_CHECK(std::memcmp(t.data, buffer + begin, t.nbytes) == 0);
    SWITCHYARD_CHECK(t.data[0] == static_cast<std::byte>(buffer[begin]));
    SWITCHYARD_CHECK(t.data[t.nbytes - 1] == static_cast<std::byte>(buffer[end - 1]));
    // Views into one mapping: their distances are the header's offsets'.
    SWITCHYARD_CHECK(t.data - tensors[0].data ==
               static_cast<std::ptrdiff_t>(begin) -
                   static_cast<std::ptrdiff_t>(header.at(tensors[0].name).at("data_offsets").at(0).get<uint64_t>()));
    spans.emplace_back(begin, end);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) SWITCHYARD_CHECK(spans[i - 1].second <= spans[i].first);
}

}  // namespace
}  // namespace switchyard::engine

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace switchyard::engine;
  const std::string& path = WriteInput(data, size);
  const absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(path);
  if (!file.ok()) {
    // A readable regular file can only be malformed or unsupported.
    const absl::StatusCode code = file.status().code();
    SWITCHYARD_CHECK(code == absl::StatusCode::kDataLoss || code == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  CheckAccepted(**file, data, size);
  return 0;
}
