// Shared by the KServe v2 tests: ModelInferRequests built the way clients
// build them, and outputs read back.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "inference/grpc_service.pb.h"
#include "server/service/kserve_request.h"

namespace switchyard::server {

// Builds requests the way clients do: typed contents (KServe's clients) or
// raw contents (tritonclient), never both in one request.
class RequestBuilder {
 public:
  using Input = inference::ModelInferRequest::InferInputTensor;

  explicit RequestBuilder(bool raw = true) : raw_(raw) {}

  RequestBuilder& Bytes(const std::string& name, const std::vector<std::string>& elements,
                        std::vector<int64_t> shape = {}) {
    Input& t = Add(name, "BYTES", shape.empty() ? std::vector<int64_t>{static_cast<int64_t>(elements.size())} : shape);
    if (raw_) {
      std::string raw;
      for (const std::string& e : elements) {
        const uint32_t n = static_cast<uint32_t>(e.size());
        raw.append(reinterpret_cast<const char*>(&n), 4);
        raw += e;
      }
      r_.add_raw_input_contents(raw);
    } else {
      for (const std::string& e : elements) t.mutable_contents()->add_bytes_contents(e);
    }
    return *this;
  }
  RequestBuilder& Bool(const std::string& name, bool v) {
    Input& t = Add(name, "BOOL", {1});
    if (raw_) {
      r_.add_raw_input_contents(std::string(1, v ? '\1' : '\0'));
    } else {
      t.mutable_contents()->add_bool_contents(v);
    }
    return *this;
  }
  RequestBuilder& Int32(const std::string& name, int32_t v) {
    Input& t = Add(name, "INT32", {1});
    if (raw_) {
      r_.add_raw_input_contents(std::string(reinterpret_cast<const char*>(&v), 4));
    } else {
      t.mutable_contents()->add_int_contents(v);
    }
    return *this;
  }
  RequestBuilder& Uint64(const std::string& name, uint64_t v) {
    Input& t = Add(name, "UINT64", {1});
    if (raw_) {
      r_.add_raw_input_contents(std::string(reinterpret_cast<const char*>(&v), 8));
    } else {
      t.mutable_contents()->add_uint64_contents(v);
    }
    return *this;
  }
  RequestBuilder& Fp32(const std::string& name, float v) {
    Input& t = Add(name, "FP32", {1});
    if (raw_) {
      r_.add_raw_input_contents(std::string(reinterpret_cast<const char*>(&v), 4));
    } else {
      t.mutable_contents()->add_fp32_contents(v);
    }
    return *this;
  }
  RequestBuilder& Param(const std::string& key, inference::InferParameter p) {
    (*r_.mutable_parameters())[key] = p;
    return *this;
  }
  RequestBuilder& Output(const std::string& name) {
    r_.add_outputs()->set_name(name);
    return *this;
  }
  RequestBuilder& Prompt(const std::string& text = "The yard master") { return Bytes("text_input", {text}); }

  inference::ModelInferRequest& request() { return r_; }
  absl::StatusOr<KServeRequest> Translate() const { return TranslateInferRequest(r_); }
  const inference::ModelInferRequest& Build() const { return r_; }

 private:
  Input& Add(const std::string& name, const std::string& datatype, const std::vector<int64_t>& shape) {
    Input* t = r_.add_inputs();
    t->set_name(name);
    t->set_datatype(datatype);
    t->mutable_shape()->Add(shape.begin(), shape.end());
    return *t;
  }

  bool raw_;
  inference::ModelInferRequest r_;
};

inline inference::InferParameter IntParam(int64_t v) {
  inference::InferParameter p;
  p.set_int64_param(v);
  return p;
}
inline inference::InferParameter StringParam(const std::string& v) {
  inference::InferParameter p;
  p.set_string_param(v);
  return p;
}
inline inference::InferParameter DoubleParam(double v) {
  inference::InferParameter p;
  p.set_double_param(v);
  return p;
}
inline inference::InferParameter BoolParam(bool v) {
  inference::InferParameter p;
  p.set_bool_param(v);
  return p;
}

// The elements of a BYTES output (raw, 4-byte length before each), or of a
// UINT32 one; empty if the response has no such output.
inline std::vector<std::string> BytesOutput(const inference::ModelInferResponse& r, const std::string& name) {
  std::vector<std::string> out;
  for (int i = 0; i < r.outputs_size() && i < r.raw_output_contents_size(); ++i) {
    if (r.outputs(i).name() != name) continue;
    const std::string& raw = r.raw_output_contents(i);
    for (size_t pos = 0; pos + 4 <= raw.size();) {
      uint32_t n;
      std::memcpy(&n, raw.data() + pos, 4);
      out.push_back(raw.substr(pos + 4, n));
      pos += 4 + n;
    }
  }
  return out;
}

inline std::vector<uint32_t> Uint32Output(const inference::ModelInferResponse& r, const std::string& name) {
  std::vector<uint32_t> out;
  for (int i = 0; i < r.outputs_size() && i < r.raw_output_contents_size(); ++i) {
    if (r.outputs(i).name() != name) continue;
    const std::string& raw = r.raw_output_contents(i);
    for (size_t pos = 0; pos + 4 <= raw.size(); pos += 4) {
      uint32_t v;
      std::memcpy(&v, raw.data() + pos, 4);
      out.push_back(v);
    }
  }
  return out;
}

}  // namespace switchyard::server
