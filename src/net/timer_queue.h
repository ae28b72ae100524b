// One-shot timers on an EventLoop, cancellable, backed by one timerfd per queue. The loop's own
// every() timers repeat and cannot be removed; request timeouts and retry back-off need timers
// that fire once and die with their owner.
//
// Loop thread only. The queue must be destroyed on the loop's thread; callbacks never run after
// its destruction. It may be destroyed anywhere on that thread, even from an event handler of the
// same batch: its fd handler is freed in the loop's next iteration. A callback must not destroy
// its own queue.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "net/event_loop.h"

namespace verge::net {

class TimerQueue {
 public:
  using Id = uint64_t;

  explicit TimerQueue(EventLoop& loop);
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Runs `fn` once, from the loop, no earlier than `delay_ms` from now (monotonic; at most about
  // a millisecond later when the loop is idle). Returns an id for cancel().
  Id after(uint64_t delay_ms, std::function<void()> fn);
  // False when the timer already ran or was cancelled.
  bool cancel(Id id);
  size_t size() const { return by_id_.size(); }

 private:
  class Fd;
  void fire();
  void arm();
  static uint64_t now_ms();

  EventLoop& loop_;
  Fd* fd_;  // owned; freed by the loop after this queue is gone
  Id next_id_ = 1;
  // Ordered by (deadline, id): ties fire in scheduling order.
  std::map<std::pair<uint64_t, Id>, std::function<void()>> queue_;
  std::map<Id, uint64_t> by_id_;  // id -> deadline
  uint64_t armed_for_ = 0;        // deadline the timerfd is set to; 0 = disarmed
};

// One timer queue (one timerfd) per loop, shared: 10,000 MQTT clients or simulated nodes on a
// loop cost map entries, not file descriptors. The last holder frees it. Loop thread only.
std::shared_ptr<TimerQueue> shared_timer_queue(EventLoop& loop);

}  // namespace verge::net
