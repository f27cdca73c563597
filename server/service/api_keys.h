// API keys: with --api-key-file, every call of the switchyard.v1.Switchyard
// and inference.GRPCInferenceService services must carry one of the file's
// keys in its metadata, as `authorization: Bearer <key>` (the scheme
// case-insensitive). Health checks are exempt (Kubernetes probes carry no
// key), KServe's ServerLive and ServerReady too (kserve_service.h), and so is
// reflection, which tells only the API's public schema. Keys never appear in
// logs or messages.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/string_ref.h"

namespace switchyard::server {

class ApiKeys {
 public:
  // One key per line, surrounding whitespace trimmed; blank lines and lines
  // starting with '#' are ignored. A file without any key is an error: it
  // would lock every client out. `source` names the text in messages.
  static absl::StatusOr<ApiKeys> Parse(absl::string_view text, absl::string_view source);
  static absl::StatusOr<ApiKeys> LoadFile(const std::string& path);

  size_t size() const { return keys_.size(); }

  // Whether `key` is one of the keys. Every key is compared, each in time
  // that depends only on `key`'s length, so the time taken tells nothing of
  // the keys or of how close a guess came.
  bool Contains(absl::string_view key) const;

  // OK if the call's metadata carries a valid key; else UNAUTHENTICATED,
  // saying how to send one.
  absl::Status Check(const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) const;

 private:
  explicit ApiKeys(std::vector<std::string> keys) : keys_(std::move(keys)) {}

  std::vector<std::string> keys_;
};

}  // namespace switchyard::server
