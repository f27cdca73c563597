#include "engine/safetensors.h"

#include <unistd.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/engine/safetensors_writer.h"

namespace switchyard::engine {
namespace {

using test::BytesOf;
using test::RawSafetensors;
using test::SafetensorsBytes;
using test::TestTensor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SafetensorsTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> OpenBytes(std::string_view bytes) {
    test::WriteFile(path_, bytes);
    return SafetensorsFile::Open(path_);
  }

  test::ScratchDir dir_;
  const std::string path_ = dir_.File("model.safetensors");
};

std::vector<TestTensor> SampleTensors() {
  return {
      // Deliberately not in name order: tensors() must sort.
      {"b.f32", "F32", {2, 3}, BytesOf(std::vector<float>{0, 1, 2, 3, 4, 5.5f})},
      {"e.empty", "BF16", {0, 3}, ""},
      {"a.f16", "F16", {4}, BytesOf(std::vector<uint16_t>{0x3c00, 0xc000, 0x0001, 0x7bff})},
      {"d.scalar", "F32", {}, BytesOf(std::vector<float>{-2.25f})},
      {"c.bf16", "BF16", {2, 2}, BytesOf(std::vector<uint16_t>{0x3f80, 0x4000, 0xbf80, 0x7f80})},
  };
}

TEST_F(SafetensorsTest, RoundTripsF32F16Bf16ScalarAndEmpty) {
  const std::vector<TestTensor> written = SampleTensors();
  auto file = OpenBytes(SafetensorsBytes(written, {{"format", "pt"}, {"note", "x"}}));
  ASSERT_TRUE(file.ok()) << file.status();
  const auto& tensors = (*file)->tensors();
  ASSERT_EQ(tensors.size(), written.size());
  std::vector<std::string> names;
  for (const TensorView& t : tensors) names.push_back(t.name);
  EXPECT_THAT(names, ElementsAre("a.f16", "b.f32", "c.bf16", "d.scalar", "e.empty"));

  for (const TestTensor& w : written) {
    SCOPED_TRACE(w.name);
    const TensorView* t = (*file)->Find(w.name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(DTypeName(t->dtype), w.dtype);
    EXPECT_EQ(t->shape, w.shape);
    EXPECT_EQ(t->file, path_);
    ASSERT_EQ(t->nbytes, w.bytes.size());
    EXPECT_EQ(std::memcmp(t->data, w.bytes.data(), t->nbytes), 0);
  }
  EXPECT_EQ((*file)->Find("d.scalar")->numel(), 1);
  EXPECT_EQ((*file)->Find("e.empty")->numel(), 0);
  EXPECT_EQ((*file)->Find("b.f32")->numel(), 6);
  EXPECT_EQ((*file)->Find("missing"), nullptr);
  EXPECT_EQ((*file)->Find("a"), nullptr);  // a prefix is not a match
  EXPECT_EQ((*file)->path(), path_);
  EXPECT_THAT((*file)->metadata(),
              ElementsAre(std::pair<const std::string, std::string>("format", "pt"),
                          std::pair<const std::string, std::string>("note", "x")));
}

TEST_F(SafetensorsTest, NoTensorsNoMetadata) {
  auto file = OpenBytes(RawSafetensors("{}", ""));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE((*file)->tensors().empty());
  EXPECT_TRUE((*file)->metadata().empty());
}

// Unpadded headers put data at odd addresses; gaps between tensors and empty
// tensors sharing an offset are legal and must not read as overlap.
TEST_F(SafetensorsTest, AcceptsUnalignedDataGapsAndCoincidentEmptyTensors) {
  const float value = 1.5f;
  std::string buffer(3, '\xee');
  buffer.append(reinterpret_cast<const char*>(&value), 4);
  auto file = OpenBytes(RawSafetensors(
      R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[3,7]},)"
      R"("e1":{"dtype":"F16","shape":[0],"data_offsets":[3,3]},)"
      R"("e2":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[3,3]}})",
      buffer));
  ASSERT_TRUE(file.ok()) << file.status();
  const TensorView* w = (*file)->Find("w");
  ASSERT_NE(w, nullptr);
  float read;
  std::memcpy(&read, w->data, 4);
  EXPECT_EQ(read, value);
  EXPECT_EQ((*file)->Find("e2")->numel(), 0);
}

TEST_F(SafetensorsTest, MovedFileKeepsItsMapping) {
  auto file = OpenBytes(SafetensorsBytes(SampleTensors()));
  ASSERT_TRUE(file.ok()) << file.status();
  SafetensorsFile moved = std::move(**file);
  file->reset();  // unmaps nothing: the mapping now belongs to `moved`
  const TensorView* t = moved.Find("b.f32");
  ASSERT_NE(t, nullptr);
  float last;
  std::memcpy(&last, t->data + 20, 4);
  EXPECT_EQ(last, 5.5f);
}

// Resident pages of this process (file-backed mappings included), from /proc.
int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

TEST_F(SafetensorsTest, DroppedPagesLeaveTheResidentSetAndReadTheSame) {
  constexpr int64_t kFloats = int64_t{8} << 20;  // 32 MiB
  std::vector<float> values(kFloats);
  for (int64_t i = 0; i < kFloats; ++i) values[i] = static_cast<float>(i % 1000);
  auto file = OpenBytes(SafetensorsBytes({{"big", "F32", {kFloats}, BytesOf(values)}}));
  ASSERT_TRUE(file.ok()) << file.status();
  const TensorView& t = *(*file)->Find("big");
  const auto sum = [&] {
    double total = 0;
    for (int64_t i = 0; i < kFloats; i += 1024) {  // a float per 4 KiB page
      float v;
      std::memcpy(&v, t.data + i * 4, 4);
      total += v;
    }
    return total;
  };
  const double before = sum();  // every page faulted in
  const int64_t resident = ResidentBytes();
  DropResidentPages(t);
  EXPECT_GE(resident - ResidentBytes(), 30 << 20);
  EXPECT_EQ(sum(), before);  // faulted in again from the file
}

TEST_F(SafetensorsTest, MissingFileIsNotFound) {
  auto file = SafetensorsFile::Open(dir_.File("absent.safetensors"));
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(file.status().message(), HasSubstr("absent.safetensors"));
}

TEST_F(SafetensorsTest, DirectoryIsInvalidArgument) {
  auto file = SafetensorsFile::Open(dir_.path());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(file.status().message(), HasSubstr(dir_.path()));
}

// A JSON nesting far past the cap is rejected without deep recursion or a
// giant DOM.
TEST_F(SafetensorsTest, RejectsVeryDeepNestingQuickly) {
  const std::string deep = std::string(500'000, '[') + std::string(500'000, ']');
  auto file = OpenBytes(RawSafetensors(deep, ""));
  EXPECT_EQ(file.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(file.status().message(), HasSubstr("deeper"));
}

TEST_F(SafetensorsTest, ParseErrorMessageStaysShort) {
  auto file = OpenBytes(RawSafetensors("{\"" + std::string(1'000'000, 'a'), ""));
  EXPECT_EQ(file.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(file.status().message(), HasSubstr("not valid JSON"));
  EXPECT_LT(file.status().message().size(), 1000u);
}

// --- Corrupt files: every one is an error naming the file (and the tensor).

struct Corruption {
  std::string label;
  std::string bytes;
  absl::StatusCode code;
  std::vector<std::string> needles;  // besides the path, all must be in the message
};

// Just the u64 header length, for lengths that disagree with what follows.
std::string LengthPrefix(uint64_t n) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(n >> (8 * i)));
  return s;
}

// One tensor "w" described by `fields`, followed by `buffer_bytes` zeros.
std::string OneTensor(std::string_view fields, size_t buffer_bytes = 8) {
  return RawSafetensors(absl::StrCat(R"({"w":{)", std::string(fields), "}}"),
                        std::string(buffer_bytes, '\0'));
}

std::string Header(std::string_view json, size_t buffer_bytes = 8) {
  return RawSafetensors(json, std::string(buffer_bytes, '\0'));
}

std::vector<Corruption> Corruptions() {
  using absl::StatusCode;
  constexpr auto kData = StatusCode::kDataLoss;
  // One case per line reads as a table.
  // clang-format off
  std::vector<Corruption> cases = {
      {"Empty", "", kData, {"too short"}},
      {"SevenBytes", std::string(7, '\0'), kData, {"too short"}},
      {"HeaderPastEnd", LengthPrefix(1000) + "{}", kData, {"runs past the end"}},
      {"HeaderOneBytePastEnd", LengthPrefix(3) + "{}", kData, {"runs past the end"}},
      {"HeaderOverCap", LengthPrefix(100'000'001) + "{}", kData, {"exceeds the limit"}},
      {"HeaderLengthMax", LengthPrefix(std::numeric_limits<uint64_t>::max()), kData, {"exceeds"}},
      {"EmptyHeader", Header(""), kData, {"not valid JSON"}},
      {"TruncatedJson", Header(R"({"w": {"dtype")"), kData, {"not valid JSON"}},
      {"InvalidUtf8", Header("{\"w\xff\": 1}"), kData, {"not valid JSON"}},
      {"TrailingGarbage", Header("{} x"), kData, {"not valid JSON"}},
      {"JsonArray", Header("[1, 2]"), kData, {"not an object"}},
      {"JsonNull", Header("null"), kData, {"not an object"}},
      {"EntryNotObject", Header(R"({"w": 5})"), kData, {"'w'", "not an object"}},
      {"MissingDtype", OneTensor(R"("shape":[2],"data_offsets":[0,8])"), kData, {"'w'", "missing \"dtype\""}},
      {"MissingShape", OneTensor(R"("dtype":"F32","data_offsets":[0,8])"), kData, {"'w'", "missing \"shape\""}},
      {"MissingOffsets", OneTensor(R"("dtype":"F32","shape":[2])"), kData, {"'w'", "missing \"data_offsets\""}},
      {"DtypeNotString", OneTensor(R"("dtype":4,"shape":[2],"data_offsets":[0,8])"), kData, {"'w'", "\"dtype\""}},
      {"ShapeNotArray", OneTensor(R"("dtype":"F32","shape":"2","data_offsets":[0,8])"), kData, {"'w'", "\"shape\""}},
      {"ShapeFloat", OneTensor(R"("dtype":"F32","shape":[2.0],"data_offsets":[0,8])"), kData, {"'w'", "2.0"}},
      {"ShapeBool", OneTensor(R"("dtype":"F32","shape":[true],"data_offsets":[0,8])"), kData, {"'w'", "boolean"}},
      {"ShapeNested", OneTensor(R"("dtype":"F32","shape":[[2]],"data_offsets":[0,8])"), kData, {"'w'", "array"}},
      {"NegativeDim", OneTensor(R"("dtype":"F32","shape":[-2],"data_offsets":[0,8])"), kData, {"'w'", "negative dimension -2"}},
      {"DimOverInt64", OneTensor(R"("dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8])"), kData, {"'w'", "too large"}},
      {"DimOverUint64", OneTensor(R"("dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8])"), kData, {"'w'", "not a non-negative integer"}},
      {"NumelOverflow", OneTensor(R"("dtype":"F32","shape":[4294967296,4294967297],"data_offsets":[0,8])"), kData, {"'w'", "overflows"}},
      {"BytesOverflowUint64", OneTensor(R"("dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8])"), kData, {"'w'", "overflows"}},
      {"BytesOverInt64", OneTensor(R"("dtype":"BF16","shape":[4611686018427387904],"data_offsets":[0,8])"), kData, {"'w'", "overflows"}},
      {"OffsetsNotArray", OneTensor(R"("dtype":"F32","shape":[2],"data_offsets":8)"), kData, {"'w'", "data_offsets"}},
      {"OneOffset", OneTensor(R"("dtype":"F32","shape":[2],"data_offsets":[8])"), kData, {"'w'", "data_offsets"}},
      {"ThreeOffsets", OneTensor(R"("dtype":"F32","shape":[2],"data_offsets":[0,8,8])"), kData, {"'w'", "data_offsets"}},
      {"NegativeOffset", OneTensor(R"("dtype":"F32","shape":[2],"data_offsets":[-8,0])"), kData, {"'w'", "data_offsets"}},
      {"StringOffset", OneTensor(R"("dtype":"F32","shape":[2],"data_offsets":[0,"8"])"), kData, {"'w'", "data_offsets"}},
      {"BeginAfterEnd", OneTensor(R"("dtype":"F32","shape":[2],"data_offsets":[8,0])"), kData, {"'w'", "begin after end"}},
      {"EndPastBuffer", OneTensor(R"("dtype":"F32","shape":[4],"data_offsets":[0,16])"), kData, {"'w'", "end beyond the 8-byte data buffer"}},
      {"EndMaxUint64", OneTensor(R"("dtype":"F32","shape":[2],"data_offsets":[18446744073709551608,18446744073709551615])"), kData, {"'w'", "end beyond"}},
      {"SizeMismatch", OneTensor(R"("dtype":"F32","shape":[3],"data_offsets":[0,8])"), kData, {"'w'", "span 8 bytes", "needs 12"}},
      {"EmptyShapeButBytes", OneTensor(R"("dtype":"F32","shape":[0],"data_offsets":[0,8])"), kData, {"'w'", "needs 0"}},
      {"Overlap",
       Header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
       kData, {"'a'", "'b'", "overlap"}},
      {"SameBytes",
       Header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
              R"("b":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})"),
       kData, {"'a'", "'b'", "overlap"}},
      {"OverlapAfterEmpty",
       Header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
              R"("b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
              R"("c":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12),
       kData, {"'a'", "'c'", "overlap"}},
      {"DuplicateName",
       Header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
              R"("w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16),
       kData, {"'w'", "twice"}},
      {"DuplicateField", OneTensor(R"("dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8])"), kData, {"'dtype'", "twice"}},
      {"TooDeep", Header(std::string(100, '[') + std::string(100, ']')), kData, {"deeper"}},
      {"MetadataNotObject", Header(R"({"__metadata__": ["a"]})"), kData, {"__metadata__", "not an object"}},
      {"MetadataValueNotString", Header(R"({"__metadata__": {"k": 1}})"), kData, {"__metadata__", "'k'", "not a string"}},
  };
  // clang-format on
  // Every dtype safetensors knows besides ours, plus one it does not.
  for (std::string dtype : {"F64", "I64", "U64", "I32", "U32", "I16", "U16", "I8", "U8", "BOOL",
                            "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "C64", "f32", "XYZ"}) {
    cases.push_back(
        {"Dtype_" + dtype,
         OneTensor(absl::StrCat(R"("dtype":")", dtype, R"(","shape":[1],"data_offsets":[0,8])")),
         StatusCode::kInvalidArgument,
         {"'w'", "dtype " + dtype + ",", "supported: F32, F16, BF16"}});
  }
  return cases;
}

class CorruptionTest : public SafetensorsTest, public ::testing::WithParamInterface<Corruption> {};

TEST_P(CorruptionTest, IsAnErrorNamingFileAndTensor) {
  const Corruption& c = GetParam();
  auto file = OpenBytes(c.bytes);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), c.code) << file.status();
  EXPECT_THAT(file.status().message(), HasSubstr(path_));
  for (const std::string& needle : c.needles) {
    EXPECT_THAT(file.status().message(), HasSubstr(needle));
  }
}

INSTANTIATE_TEST_SUITE_P(All, CorruptionTest, ::testing::ValuesIn(Corruptions()),
                         [](const auto& info) { return info.param.label; });

// --- Mutation: random damage to a valid file must never crash or read out of
// bounds. Run under -fsanitize=address,undefined to make that check sharp.

// Where each tensor of an accepted file must lie, per its own header.
void ExpectViewsMatchBytes(const SafetensorsFile& file, const std::string& bytes) {
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  for (const TensorView& t : file.tensors()) {
    const auto& offsets = header.at(t.name).at("data_offsets");
    const uint64_t begin = 8 + n + offsets[0].get<uint64_t>();
    ASSERT_LE(begin + t.nbytes, bytes.size()) << t.name;
    EXPECT_EQ(t.nbytes, static_cast<size_t>(t.numel()) * DTypeSize(t.dtype)) << t.name;
    EXPECT_EQ(std::memcmp(t.data, bytes.data() + begin, t.nbytes), 0) << t.name;
  }
}

TEST_F(SafetensorsTest, RandomMutationsNeverCrash) {
  const std::string valid = SafetensorsBytes(SampleTensors(), {{"format", "pt"}});
  uint64_t header_bytes;
  std::memcpy(&header_bytes, valid.data(), 8);
  std::mt19937_64 rng(20240611);
  auto below = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  int accepted = 0, rejected = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string m = valid;
    switch (iter % 6) {
      case 0:  // one bit anywhere
        m[below(m.size())] ^= static_cast<char>(1 << below(8));
        break;
      case 1:  // a few random bytes anywhere
        for (size_t k = 1 + below(4); k > 0; --k) m[below(m.size())] = static_cast<char>(rng());
        break;
      case 2: {  // one digit of the header: offsets and shapes stay plausible JSON
        size_t pos = 8 + below(header_bytes);
        while (pos < 8 + header_bytes && !std::isdigit(static_cast<unsigned char>(m[pos]))) ++pos;
        if (pos < 8 + header_bytes) m[pos] = static_cast<char>('0' + below(10));
        break;
      }
      case 3:  // truncation
        m.resize(below(m.size() + 1));
        break;
      case 4: {  // a header chunk copied over another: reshuffled but often valid JSON tokens
        const size_t len = 1 + below(16);
        const size_t from = 8 + below(header_bytes - len), to = 8 + below(header_bytes - len);
        m.replace(to, len, valid, from, len);
        break;
      }
      case 5: {  // the header length off by a little
        const uint64_t n = header_bytes + below(33) - 16;
        std::memcpy(m.data(), &n, 8);
        break;
      }
    }
    auto file = OpenBytes(m);
    if (file.ok()) {
      ++accepted;
      ExpectViewsMatchBytes(**file, m);
    } else {
      ++rejected;
      EXPECT_THAT(file.status().message(), HasSubstr(path_));
    }
  }
  RecordProperty("accepted", accepted);
  RecordProperty("rejected", rejected);
  // Both outcomes must occur, or the mutations are not probing anything.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace switchyard::engine
