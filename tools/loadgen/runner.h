// Sends a benchmark's requests to a server and records what comes back.
//
// Each call is a gRPC callback reactor, driven by gRPC's own threads: a
// request in flight costs no thread of ours, so the open loop sends at its
// arrival times however many requests are outstanding (a fixed pool of
// blocking threads would cap them and quietly turn it into a closed loop).
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tools/loadgen/config.h"
#include "tools/loadgen/request_record.h"
#include "tools/loadgen/workload.h"

namespace switchyard::loadgen {

struct RunResult {
  std::vector<RequestRecord> records;  // in the order they finished
  double duration_s = 0;               // first request sent to last status received
};

// The model's description (vocabulary and context sizes for random prompts);
// fails with the call's status, e.g. when no server answers.
absl::StatusOr<v1::ModelInfo> FetchModelInfo(v1::Switchyard::Stub& stub, const std::string& model);

// Runs the whole benchmark; failed requests are records with their status.
RunResult RunLoad(v1::Switchyard::Stub& stub, const LoadgenConfig& config, const Workload& workload);

}  // namespace switchyard::loadgen
