#include "engine/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace switchyard::engine {
namespace {

using json = nlohmann::json;

// The header length and every tensor are little-endian; reading them in place
// is only right on a little-endian host.
static_assert(std::endian::native == std::endian::little);

// Same cap as the reference implementation: real headers are a few MB even
// for checkpoints with tens of thousands of tensors.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// A safetensors header nests three levels deep, an index two; the cap keeps a
// hostile "[[[[..." from building a gigantic DOM.
constexpr int kMaxJsonDepth = 64;
constexpr char kSupportedDTypes[] = "F32, F16, BF16";

// Closes a file descriptor on every return path.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() { ::close(fd_); }

 private:
  int fd_;
};

// A JSON value for an error message: numbers verbatim, anything else by type
// (strings could be huge or carry control characters).
std::string Describe(const json& v) {
  return v.is_number() ? v.dump() : std::string(v.type_name());
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

std::optional<DType> DTypeFromName(std::string_view name) {
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
    if (DTypeName(t) == name) return t;
  }
  return std::nullopt;
}

// `where` prefixes every message: "<path>: tensor '<name>'". (absl::StrCat here
// takes no std::string_view: Debian's Abseil has its own string_view.)
absl::StatusOr<DType> ParseDType(const json& v, const std::string& where) {
  if (!v.is_string()) {
    return absl::DataLossError(
        absl::StrCat(where, ": \"dtype\" is a ", Describe(v), ", not a string"));
  }
  const auto& name = v.get_ref<const std::string&>();
  std::optional<DType> dtype = DTypeFromName(name);
  if (!dtype) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " has dtype ", name,
                     ", which is not supported (supported: ", kSupportedDTypes, ")"));
  }
  return *dtype;
}

absl::StatusOr<std::vector<int64_t>> ParseShape(const json& v, const std::string& where) {
  if (!v.is_array()) {
    return absl::DataLossError(
        absl::StrCat(where, ": \"shape\" is a ", Describe(v), ", not an array"));
  }
  std::vector<int64_t> shape;
  shape.reserve(v.size());
  for (const json& d : v) {
    if (d.is_number_integer() && !d.is_number_unsigned()) {
      return absl::DataLossError(
          absl::StrCat(where, ": negative dimension ", Describe(d), " in \"shape\""));
    }
    if (!d.is_number_unsigned()) {
      return absl::DataLossError(
          absl::StrCat(where, ": \"shape\" holds ", Describe(d), ", not a non-negative integer"));
    }
    const auto dim = d.get<uint64_t>();
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::DataLossError(
          absl::StrCat(where, ": dimension ", dim, " in \"shape\" is too large"));
    }
    shape.push_back(static_cast<int64_t>(dim));
  }
  return shape;
}

// Bytes that `shape` of `dtype` occupies, or an error if the element count or
// the byte count does not fit in 63 bits. A zero dimension makes the tensor
// empty whatever the other dimensions are.
absl::StatusOr<uint64_t> ExpectedBytes(const std::vector<int64_t>& shape, DType dtype,
                                       const std::string& where) {
  uint64_t numel = 1;
  bool overflow = false;
  for (int64_t d : shape) {
    if (d == 0) return 0;
    overflow = overflow || __builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel);
  }
  uint64_t bytes = 0;
  overflow = overflow || __builtin_mul_overflow(numel, DTypeSize(dtype), &bytes) ||
             bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (overflow) {
    return absl::DataLossError(
        absl::StrCat(where, ": element count of shape ", ShapeString(shape), " overflows"));
  }
  return bytes;
}

struct Offsets {
  uint64_t begin;
  uint64_t end;
};

absl::StatusOr<Offsets> ParseOffsets(const json& v, uint64_t buffer_size,
                                     const std::string& where) {
  if (!v.is_array() || v.size() != 2 || !v[0].is_number_unsigned() || !v[1].is_number_unsigned()) {
    return absl::DataLossError(
        absl::StrCat(where, ": \"data_offsets\" is not an array of two non-negative integers"));
  }
  const Offsets o{v[0].get<uint64_t>(), v[1].get<uint64_t>()};
  if (o.begin > o.end) {
    return absl::DataLossError(
        absl::StrCat(where, ": \"data_offsets\" [", o.begin, ", ", o.end, "] begin after end"));
  }
  if (o.end > buffer_size) {
    return absl::DataLossError(absl::StrCat(where, ": \"data_offsets\" [", o.begin, ", ", o.end,
                                            "] end beyond the ", buffer_size, "-byte data buffer"));
  }
  return o;
}

const json* Member(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// One header entry -> TensorView; `buffer` is the byte buffer after the header.
absl::StatusOr<TensorView> ParseEntry(const std::string& path, const std::string& name,
                                      const json& entry, const std::byte* buffer,
                                      uint64_t buffer_size) {
  const std::string where = absl::StrCat(path, ": tensor '", name, "'");
  if (!entry.is_object()) {
    return absl::DataLossError(
        absl::StrCat(where, ": entry is a ", Describe(entry), ", not an object"));
  }
  const json* dtype_json = Member(entry, "dtype");
  const json* shape_json = Member(entry, "shape");
  const json* offsets_json = Member(entry, "data_offsets");
  for (auto [field, value] : {std::pair{"dtype", dtype_json}, std::pair{"shape", shape_json},
                              std::pair{"data_offsets", offsets_json}}) {
    if (value == nullptr)
      return absl::DataLossError(absl::StrCat(where, ": missing \"", field, "\""));
  }
  TensorView t{.name = name, .dtype = {}, .shape = {}, .data = nullptr, .nbytes = 0, .file = path};
  ASSIGN_OR_RETURN(t.dtype, ParseDType(*dtype_json, where));
  ASSIGN_OR_RETURN(t.shape, ParseShape(*shape_json, where));
  ASSIGN_OR_RETURN(const uint64_t expected, ExpectedBytes(t.shape, t.dtype, where));
  ASSIGN_OR_RETURN(const Offsets o, ParseOffsets(*offsets_json, buffer_size, where));
  if (o.end - o.begin != expected) {
    return absl::DataLossError(absl::StrCat(where, ": \"data_offsets\" [", o.begin, ", ", o.end,
                                            "] span ", o.end - o.begin, " bytes, but shape ",
                                            ShapeString(t.shape), " of ",
                                            std::string(DTypeName(t.dtype)), " needs ", expected));
  }
  t.data = buffer + o.begin;
  t.nbytes = static_cast<size_t>(expected);
  return t;
}

absl::StatusOr<std::map<std::string, std::string>> ParseMetadata(const json& v,
                                                                 const std::string& path) {
  if (!v.is_object()) {
    return absl::DataLossError(
        absl::StrCat(path, ": \"__metadata__\" is a ", Describe(v), ", not an object"));
  }
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : v.items()) {
    if (!value.is_string()) {
      return absl::DataLossError(absl::StrCat(path, ": \"__metadata__\" value of '", key, "' is a ",
                                              Describe(value), ", not a string"));
    }
    metadata.emplace(key, value.get<std::string>());
  }
  return metadata;
}

// Tensors sharing a byte would alias each other's weights: a sure sign of a
// corrupt header. Empty tensors occupy no bytes and so overlap nothing; gaps
// between tensors are harmless and allowed.
absl::Status CheckNoOverlap(const std::vector<TensorView>& tensors, const std::string& path) {
  std::vector<const TensorView*> by_offset;
  for (const TensorView& t : tensors) {
    if (t.nbytes > 0) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorView* a, const TensorView* b) { return a->data < b->data; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorView& prev = *by_offset[i - 1];
    if (by_offset[i]->data < prev.data + prev.nbytes) {
      return absl::DataLossError(absl::StrCat(path, ": tensors '", prev.name, "' and '",
                                              by_offset[i]->name, "' overlap in the data buffer"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

int64_t TensorView::numel() const {
  // A zero dimension first: the product of the others may overflow.
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // cannot overflow: checked at Open
  return n;
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot stat ", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  const auto size = static_cast<size_t>(st.st_size);
  // Also keeps mmap away from an empty file, which it refuses.
  if (size < 8) {
    return absl::DataLossError(
        absl::StrCat(path, ": file has ", size, " bytes, too short for the 8-byte header length"));
  }
  void* base = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (base == MAP_FAILED) return absl::ErrnoToStatus(errno, absl::StrCat("cannot mmap ", path));
  std::unique_ptr<SafetensorsFile> file(
      new SafetensorsFile(path, static_cast<const std::byte*>(base), size));
  RETURN_IF_ERROR(file->ParseHeader());
  return file;
}

void DropResidentPages(const TensorView& t) {
  static const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  // From the page that holds the first byte: the mapping starts on a page, so
  // this stays inside it, and the kernel rounds the length up to the page
  // that holds the last byte. A page shared with a neighbouring tensor is
  // dropped too, which only costs that tensor a page fault. Advice only: a
  // failure leaves the pages resident, as they were.
  const auto data = reinterpret_cast<uintptr_t>(t.data);
  const uintptr_t begin = data & ~(page - 1);
  if (t.nbytes == 0) return;
  ::madvise(reinterpret_cast<void*>(begin), data + t.nbytes - begin, MADV_DONTNEED);
}

absl::Status SafetensorsFile::ParseHeader() {
  uint64_t header_bytes;
  std::memcpy(&header_bytes, base_, 8);
  if (header_bytes > kMaxHeaderBytes) {
    return absl::DataLossError(absl::StrCat(path_, ": header length ", header_bytes,
                                            " exceeds the limit of ", kMaxHeaderBytes, " bytes"));
  }
  if (header_bytes > size_ - 8) {
    return absl::DataLossError(absl::StrCat(path_, ": header length ", header_bytes,
                                            " runs past the end of the ", size_, "-byte file"));
  }
  const std::string_view text(reinterpret_cast<const char*>(base_) + 8, header_bytes);
  ASSIGN_OR_RETURN(const json header, ParseJsonStrict(text, absl::StrCat(path_, ": header")));
  if (!header.is_object()) {
    return absl::DataLossError(
        absl::StrCat(path_, ": header is a JSON ", header.type_name(), ", not an object"));
  }
  const std::byte* buffer = base_ + 8 + header_bytes;
  const uint64_t buffer_size = size_ - 8 - header_bytes;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      ASSIGN_OR_RETURN(metadata_, ParseMetadata(entry, path_));
      continue;
    }
    ASSIGN_OR_RETURN(TensorView t, ParseEntry(path_, name, entry, buffer, buffer_size));
    tensors_.push_back(std::move(t));
  }
  std::sort(tensors_.begin(), tensors_.end(),
            [](const TensorView& a, const TensorView& b) { return a.name < b.name; });
  return CheckNoOverlap(tensors_, path_);
}

const TensorView* SafetensorsFile::Find(std::string_view name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorView& t, std::string_view n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept
    : path_(std::move(other.path_)),
      base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      tensors_(std::move(other.tensors_)),
      metadata_(std::move(other.metadata_)) {}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    Unmap();
    path_ = std::move(other.path_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    tensors_ = std::move(other.tensors_);
    metadata_ = std::move(other.metadata_);
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() { Unmap(); }

void SafetensorsFile::Unmap() {
  if (base_ != nullptr) ::munmap(const_cast<std::byte*>(base_), size_);
  base_ = nullptr;
  size_ = 0;
}

absl::StatusOr<json> ParseJsonStrict(std::string_view text, std::string_view what) {
  // nlohmann reports every key through the parse callback; one key set per
  // open object finds repeats. The first problem aborts the parse by throwing,
  // since returning false would only discard values while still building the
  // parser's stacks: a 100 MB "[[[[..." would then cost gigabytes.
  struct Reject {
    std::string problem;
  };
  std::vector<std::set<std::string>> open_objects;
  auto check = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth) {
          throw Reject{absl::StrCat("nests deeper than ", kMaxJsonDepth, " levels")};
        }
        if (event == json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        open_objects.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!open_objects.back().insert(key).second) {
          throw Reject{absl::StrCat("has the key '", key, "' twice in one object")};
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  // None of these exceptions may leave this API.
  try {
    return json::parse(text.begin(), text.end(), check);
  } catch (const Reject& r) {
    return absl::DataLossError(absl::StrCat(std::string(what), " ", r.problem));
  } catch (const json::exception& e) {
    // nlohmann quotes the offending token, which can be megabytes long.
    constexpr size_t kMaxDetail = 300;
    return absl::DataLossError(absl::StrCat(
        std::string(what), " is not valid JSON: ", std::string(e.what()).substr(0, kMaxDetail)));
  }
}

}  // namespace switchyard::engine
