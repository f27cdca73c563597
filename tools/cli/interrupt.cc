#include "tools/cli/interrupt.h"

#include <pthread.h>

#include <ctime>

namespace switchyard::cli {

InterruptCanceller::InterruptCanceller() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  watcher_ = std::thread([this] {
    // A timed wait, so that the destructor can end the thread without a signal.
    const timespec tick{0, 50'000'000};
    while (!done_.load()) {
      if (sigtimedwait(&signals_, nullptr, &tick) > 0) {
        std::lock_guard<std::mutex> lock(mu_);
        cancelled_ = true;
        if (ctx_ != nullptr) ctx_->TryCancel();
        return;
      }
    }
  });
}

InterruptCanceller::~InterruptCanceller() {
  done_ = true;
  watcher_.join();
}

ContextHook InterruptCanceller::hook() {
  return [this](grpc::ClientContext* c) {
    std::lock_guard<std::mutex> lock(mu_);
    ctx_ = c;
    if (c != nullptr && cancelled_.load()) c->TryCancel();
  };
}

}  // namespace switchyard::cli
