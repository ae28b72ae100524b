#include "net/timer_queue.h"

#include <unordered_map>

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <vector>

namespace verge::net {

// The timerfd and its registration. Separate from the queue so that the epoll events already
// fetched for it in the current batch find a live handler after the queue is destroyed.
class TimerQueue::Fd final : public EventLoop::Handler {
 public:
  explicit Fd(TimerQueue* owner) : owner_(owner) {}
  virtual ~Fd() = default;
  void on_events(uint32_t /*events*/) override {
    uint64_t expirations = 0;
    [[maybe_unused]] auto n = read(fd, &expirations, sizeof expirations);
    if (owner_ != nullptr) owner_->fire();
  }
  int fd = -1;
  TimerQueue* owner_;
};

TimerQueue::TimerQueue(EventLoop& loop) : loop_(loop), fd_(new Fd(this)) {
  fd_->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd_->fd < 0 || !loop_.add(fd_->fd, EPOLLIN, fd_)) {
    std::perror("verge: cannot create a timer");  // environment failure: stop loudly
    std::abort();
  }
}

TimerQueue::~TimerQueue() {
  loop_.remove(fd_->fd);
  close(fd_->fd);
  fd_->owner_ = nullptr;
  std::shared_ptr<Fd> dead(fd_);
  loop_.next_iteration([dead] {});
}

uint64_t TimerQueue::now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

TimerQueue::Id TimerQueue::after(uint64_t delay_ms, std::function<void()> fn) {
  const Id id = next_id_++;
  // From the next whole millisecond: a timer never fires before `delay_ms` has passed.
  const uint64_t deadline = now_ms() + 1 + delay_ms;
  queue_.emplace(std::make_pair(deadline, id), std::move(fn));
  by_id_.emplace(id, deadline);
  arm();
  return id;
}

bool TimerQueue::cancel(Id id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return false;
  queue_.erase({it->second, id});
  by_id_.erase(it);
  arm();
  return true;
}

void TimerQueue::arm() {
  const uint64_t next = queue_.empty() ? 0 : queue_.begin()->first.first;
  if (next == armed_for_) return;
  armed_for_ = next;
  itimerspec spec{};
  if (next != 0) {
    // Absolute time: a deadline already past fires at once.
    spec.it_value.tv_sec = static_cast<time_t>(next / 1000);
    spec.it_value.tv_nsec = static_cast<long>((next % 1000) * 1000000);
  }
  timerfd_settime(fd_->fd, next != 0 ? TFD_TIMER_ABSTIME : 0, &spec, nullptr);
}

void TimerQueue::fire() {
  armed_for_ = 0;
  const uint64_t now = now_ms();
  // Collect first: callbacks may schedule or cancel timers (also ones due now).
  std::vector<Id> due;
  for (auto it = queue_.begin(); it != queue_.end() && it->first.first <= now; ++it) {
    due.push_back(it->first.second);
  }
  for (Id id : due) {
    auto at = by_id_.find(id);
    if (at == by_id_.end()) continue;  // cancelled by an earlier callback
    auto node = queue_.extract({at->second, id});
    by_id_.erase(at);
    node.mapped()();
  }
  arm();
}

std::shared_ptr<TimerQueue> shared_timer_queue(EventLoop& loop) {
  thread_local std::unordered_map<EventLoop*, std::weak_ptr<TimerQueue>> by_loop;
  std::weak_ptr<TimerQueue>& slot = by_loop[&loop];
  if (auto q = slot.lock()) return q;
  auto q = std::make_shared<TimerQueue>(loop);
  slot = q;
  return q;
}

}  // namespace verge::net
