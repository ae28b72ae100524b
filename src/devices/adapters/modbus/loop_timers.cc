#include "devices/adapters/modbus/loop_timers.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace verge::devices::modbus {

std::shared_ptr<net::TimerQueue> loop_timers(net::EventLoop& loop) {
  // Per thread: a loop is only ever used from its own thread.
  thread_local std::vector<std::pair<net::EventLoop*, std::weak_ptr<net::TimerQueue>>> queues;
  for (auto& [l, weak] : queues) {
    if (l != &loop) continue;
    if (auto q = weak.lock()) return q;
  }
  std::erase_if(queues, [&](const auto& e) { return e.first == &loop || e.second.expired(); });
  auto q = std::make_shared<net::TimerQueue>(loop);
  queues.emplace_back(&loop, q);
  return q;
}

}  // namespace verge::devices::modbus
