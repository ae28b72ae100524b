// The node's event loops, one thread each (one per core by default).
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "net/event_loop.h"

namespace verge::net {

class LoopGroup {
 public:
  explicit LoopGroup(unsigned count);  // 0 = one per core
  ~LoopGroup();
  LoopGroup(const LoopGroup&) = delete;
  LoopGroup& operator=(const LoopGroup&) = delete;

  // Starts one thread per loop. Registration work may be posted before or after.
  void start();
  // Stops every loop and joins the threads.
  void stop();

  size_t size() const { return loops_.size(); }
  EventLoop& loop(size_t i) { return *loops_[i]; }

 private:
  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::vector<std::thread> threads_;
};

}  // namespace verge::net
