// At most `limit` operations at a time (enrolments, first connections) on one event loop: 10,000
// nodes starting together would otherwise hit the hub with 10,000 TLS handshakes and CSR
// signatures at once. Loop thread only.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>

namespace verge::sim {

class Pacer {
 public:
  explicit Pacer(size_t limit) : limit_(limit == 0 ? 1 : limit) {}

  // Runs `start` now when a slot is free, otherwise when one is released (first come, first
  // served). The operation must call release() exactly once when it ends.
  void acquire(std::function<void()> start);
  void release();

  size_t in_flight() const { return in_flight_; }
  size_t waiting() const { return queue_.size(); }

 private:
  void drain();

  size_t limit_;
  size_t in_flight_ = 0;
  bool draining_ = false;  // an operation that ends inside its start must not recurse
  std::deque<std::function<void()>> queue_;
};

}  // namespace verge::sim
