#include "server/service/kserve_tensor.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/service/quoted_value.h"

namespace switchyard::server {
namespace {

enum class Family { kBool, kInt, kUint, kFloat, kBytes };

struct Datatype {
  const char* name;
  Family family;
  size_t bytes;  // per element in raw form; 0 for BYTES (length-prefixed)
};

constexpr Datatype kDatatypes[] = {
    {"BOOL", Family::kBool, 1},   {"INT8", Family::kInt, 1},    {"INT16", Family::kInt, 2},
    {"INT32", Family::kInt, 4},   {"INT64", Family::kInt, 8},   {"UINT8", Family::kUint, 1},
    {"UINT16", Family::kUint, 2}, {"UINT32", Family::kUint, 4}, {"UINT64", Family::kUint, 8},
    {"FP32", Family::kFloat, 4},  {"FP64", Family::kFloat, 8},  {"BYTES", Family::kBytes, 0},
};

const Datatype* FindDatatype(const std::string& name) {
  for (const Datatype& d : kDatatypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

std::string Input(const std::string& name) { return absl::StrCat("input ", QuotedValue(name)); }

// The element count the shape declares.
absl::StatusOr<int64_t> ElementCount(const inference::ModelInferRequest::InferInputTensor& t) {
  int64_t count = 1;
  for (int64_t d : t.shape()) {
    if (d < 0) {
      return absl::InvalidArgumentError(absl::StrCat(Input(t.name()), " has shape [", absl::StrJoin(t.shape(), ","),
                                                     "]; dimensions must be >= 0"));
    }
    // The message size bounds any real tensor far below this.
    if (d > 0 && count > (int64_t{1} << 40) / d) {
      return absl::InvalidArgumentError(
          absl::StrCat(Input(t.name()), " has shape [", absl::StrJoin(t.shape(), ","), "]: too many elements"));
    }
    count *= d;
  }
  return count;
}

// Little-endian, as the protocol lays raw elements out (and as every host
// this builds for is).
template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

absl::StatusOr<TensorValues> ReadRaw(const std::string& name, const Datatype& type, int64_t count,
                                     const std::string& raw) {
  const std::string where = absl::StrCat(Input(name), " (raw_input_contents)");
  if (type.family == Family::kBytes) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < raw.size()) {
      if (raw.size() - pos < 4) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": a BYTES element must start with a 4-byte length; ", raw.size() - pos,
                         " bytes are left"));
      }
      const uint32_t len = Load<uint32_t>(raw.data() + pos);
      pos += 4;
      if (len > raw.size() - pos) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": element ", out.size(), " says it has ", len,
                                                       " bytes; only ", raw.size() - pos, " are left"));
      }
      out.emplace_back(raw.data() + pos, len);
      pos += len;
    }
    if (static_cast<int64_t>(out.size()) != count) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " holds ", out.size(), " BYTES elements; its shape needs ", count));
    }
    return out;
  }
  if (static_cast<int64_t>(raw.size()) != count * static_cast<int64_t>(type.bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(where, " has ", raw.size(), " bytes; ", count, " ", type.name,
                                                   " elements need ", count * static_cast<int64_t>(type.bytes)));
  }
  const char* p = raw.data();
  switch (type.family) {
    case Family::kBool: {
      std::vector<bool> out;
      for (int64_t i = 0; i < count; ++i) out.push_back(p[i] != 0);
      return out;
    }
    case Family::kInt: {
      std::vector<int64_t> out;
      for (int64_t i = 0; i < count; ++i, p += type.bytes) {
        switch (type.bytes) {
          case 1: out.push_back(Load<int8_t>(p)); break;
          case 2: out.push_back(Load<int16_t>(p)); break;
          case 4: out.push_back(Load<int32_t>(p)); break;
          default: out.push_back(Load<int64_t>(p)); break;
        }
      }
      return out;
    }
    case Family::kUint: {
      std::vector<uint64_t> out;
      for (int64_t i = 0; i < count; ++i, p += type.bytes) {
        switch (type.bytes) {
          case 1: out.push_back(Load<uint8_t>(p)); break;
          case 2: out.push_back(Load<uint16_t>(p)); break;
          case 4: out.push_back(Load<uint32_t>(p)); break;
          default: out.push_back(Load<uint64_t>(p)); break;
        }
      }
      return out;
    }
    case Family::kFloat: {
      std::vector<double> out;
      for (int64_t i = 0; i < count; ++i, p += type.bytes) {
        out.push_back(type.bytes == 4 ? static_cast<double>(Load<float>(p)) : Load<double>(p));
      }
      return out;
    }
    case Family::kBytes:
      break;
  }
  return absl::InternalError("unreachable");
}

template <typename Out, typename Field>
absl::StatusOr<TensorValues> Typed(const std::string& name, const char* field_name, const Field& field,
                                   int64_t count) {
  if (field.size() != count) {
    return absl::InvalidArgumentError(absl::StrCat(Input(name), " has ", field.size(), " elements in contents.",
                                                   field_name, "; its shape needs ", count));
  }
  return Out(field.begin(), field.end());
}

absl::StatusOr<TensorValues> ReadTyped(const inference::ModelInferRequest::InferInputTensor& t, const Datatype& type,
                                       int64_t count) {
  const inference::InferTensorContents& c = t.contents();
  switch (type.family) {
    case Family::kBool:
      return Typed<std::vector<bool>>(t.name(), "bool_contents", c.bool_contents(), count);
    case Family::kInt:
      if (type.bytes == 8) return Typed<std::vector<int64_t>>(t.name(), "int64_contents", c.int64_contents(), count);
      return Typed<std::vector<int64_t>>(t.name(), "int_contents", c.int_contents(), count);
    case Family::kUint:
      if (type.bytes == 8) {
        return Typed<std::vector<uint64_t>>(t.name(), "uint64_contents", c.uint64_contents(), count);
      }
      return Typed<std::vector<uint64_t>>(t.name(), "uint_contents", c.uint_contents(), count);
    case Family::kFloat:
      if (type.bytes == 8) return Typed<std::vector<double>>(t.name(), "fp64_contents", c.fp64_contents(), count);
      return Typed<std::vector<double>>(t.name(), "fp32_contents", c.fp32_contents(), count);
    case Family::kBytes:
      return Typed<std::vector<std::string>>(t.name(), "bytes_contents", c.bytes_contents(), count);
  }
  return absl::InternalError("unreachable");
}

bool HasTypedContents(const inference::InferTensorContents& c) {
  return c.bool_contents_size() + c.int_contents_size() + c.int64_contents_size() + c.uint_contents_size() +
             c.uint64_contents_size() + c.fp32_contents_size() + c.fp64_contents_size() + c.bytes_contents_size() >
         0;
}

void AppendLength(uint32_t len, std::string& out) {
  char b[4];
  std::memcpy(b, &len, 4);
  out.append(b, 4);
}

inference::ModelInferResponse::InferOutputTensor* AddOutput(const std::string& name, const char* datatype,
                                                            const std::vector<int64_t>& shape,
                                                            inference::ModelInferResponse& response) {
  inference::ModelInferResponse::InferOutputTensor* t = response.add_outputs();
  t->set_name(name);
  t->set_datatype(datatype);
  t->mutable_shape()->Add(shape.begin(), shape.end());
  return t;
}

}  // namespace

absl::Status CheckRawInputContents(const inference::ModelInferRequest& request) {
  if (request.raw_input_contents_size() == 0) return absl::OkStatus();
  if (request.raw_input_contents_size() != request.inputs_size()) {
    return absl::InvalidArgumentError(absl::StrCat("raw_input_contents has ", request.raw_input_contents_size(),
                                                   " entries; with raw contents every one of the ",
                                                   request.inputs_size(), " inputs needs one, in order"));
  }
  for (const auto& t : request.inputs()) {
    if (HasTypedContents(t.contents())) {
      return absl::InvalidArgumentError(absl::StrCat(
          Input(t.name()), " has typed contents while the request uses raw_input_contents; use one or the other"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TensorValues> ReadInputTensor(const inference::ModelInferRequest& request, int index) {
  const auto& t = request.inputs(index);
  const Datatype* type = FindDatatype(t.datatype());
  if (type == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(Input(t.name()), " has datatype ", QuotedValue(t.datatype()),
                     "; this server reads BOOL, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, FP32, "
                     "FP64 and BYTES"));
  }
  absl::StatusOr<int64_t> count = ElementCount(t);
  if (!count.ok()) return count.status();
  if (request.raw_input_contents_size() > 0) {
    return ReadRaw(t.name(), *type, *count, request.raw_input_contents(index));
  }
  return ReadTyped(t, *type, *count);
}

void AddBytesOutput(const std::string& name, const std::vector<int64_t>& shape,
                    const std::vector<std::string>& elements, inference::ModelInferResponse& response) {
  AddOutput(name, "BYTES", shape, response);
  std::string* raw = response.add_raw_output_contents();
  for (const std::string& e : elements) {
    AppendLength(static_cast<uint32_t>(e.size()), *raw);
    raw->append(e);
  }
}

void AddUint32Output(const std::string& name, const std::vector<int64_t>& shape,
                     const std::vector<uint32_t>& elements, inference::ModelInferResponse& response) {
  AddOutput(name, "UINT32", shape, response);
  std::string* raw = response.add_raw_output_contents();
  for (uint32_t e : elements) AppendLength(e, *raw);
}

}  // namespace switchyard::server
