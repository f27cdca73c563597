// Ctrl-C (SIGINT) and SIGTERM for the streaming commands: they cancel the
// call in flight, so that the server stops its work and the command ends
// its own way (a summary, the terminal restored, exit 130), instead of
// killing the process mid-write.
#pragma once

#include <signal.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "grpcpp/grpcpp.h"
#include "tools/cli/commands.h"

namespace switchyard::cli {

class InterruptCanceller {
 public:
  // Blocks both signals in the calling thread, and so in every thread it
  // starts afterwards (gRPC's among them), and waits for them on a thread of
  // its own. Construct it before any channel is opened.
  InterruptCanceller();
  // Stops waiting; the signals stay blocked.
  ~InterruptCanceller();
  InterruptCanceller(const InterruptCanceller&) = delete;
  InterruptCanceller& operator=(const InterruptCanceller&) = delete;

  // The commands' on_start hook: the context to cancel, or nullptr once the
  // call is over. A signal that came before the call cancels it at once.
  ContextHook hook();
  const std::atomic<bool>& cancelled() const { return cancelled_; }

 private:
  sigset_t signals_;
  std::mutex mu_;  // held while ctx_ is used or replaced
  grpc::ClientContext* ctx_ = nullptr;
  std::atomic<bool> done_{false};
  std::atomic<bool> cancelled_{false};
  std::thread watcher_;
};

}  // namespace switchyard::cli
