// How the long-running commands (`verge edge`, `verge sim ...`) stop: SIGINT and SIGTERM are
// blocked in every thread (call before starting any) and the main thread waits for one of them.
// A peer closing a socket mid-write is an EPIPE, not a crash.
#pragma once

#include <pthread.h>

#include <csignal>

namespace verge::cmd {

class StopSignals {
 public:
  StopSignals() {
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  // Blocks until SIGINT or SIGTERM; returns its name for the log.
  const char* wait() {
    int sig = 0;
    sigwait(&set_, &sig);
    return sig == SIGINT ? "SIGINT" : "SIGTERM";
  }

 private:
  sigset_t set_{};
};

}  // namespace verge::cmd
