#include "sim/edges_pacer.h"

namespace verge::sim {

void Pacer::acquire(std::function<void()> start) {
  queue_.push_back(std::move(start));
  drain();
}

void Pacer::release() {
  if (in_flight_ > 0) --in_flight_;
  drain();
}

void Pacer::drain() {
  if (draining_) return;
  draining_ = true;
  while (in_flight_ < limit_ && !queue_.empty()) {
    auto start = std::move(queue_.front());
    queue_.pop_front();
    ++in_flight_;
    start();
  }
  draining_ = false;
}

}  // namespace verge::sim
