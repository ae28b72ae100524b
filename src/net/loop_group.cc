#include "net/loop_group.h"

namespace verge::net {

LoopGroup::LoopGroup(unsigned count) {
  if (count == 0) count = std::max(1U, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < count; ++i) loops_.push_back(std::make_unique<EventLoop>(i));
}

LoopGroup::~LoopGroup() { stop(); }

void LoopGroup::start() {
  for (auto& l : loops_) threads_.emplace_back([loop = l.get()] { loop->run(); });
}

void LoopGroup::stop() {
  for (auto& l : loops_) l->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace verge::net
