#include "net/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace verge::net {

namespace {
constexpr size_t kReadBufferSize = size_t{64} * 1024;
constexpr int kMaxEvents = 256;
// The wake-up eventfd is registered with a null handler.
EventLoop::Handler* const kWakeTag = nullptr;
}  // namespace

EventLoop::EventLoop(unsigned index)
    : index_(index),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      read_buffer_(kReadBufferSize) {
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    std::perror("verge: cannot create event loop");  // environment failure: stop loudly
    std::abort();
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = kWakeTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  now_ms_ = monotonic_ms();
}

EventLoop::~EventLoop() {
  close(wake_fd_);
  close(epoll_fd_);
}

uint64_t EventLoop::monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

void EventLoop::stop() {
  stopping_.store(true);
  uint64_t one = 1;
  [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(post_mutex_);
    posted_.push_back(std::move(fn));
  }
  // Only the first post since the loop last drained needs to wake it.
  if (!wake_pending_.exchange(true)) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
  }
}

bool EventLoop::add(int fd, uint32_t events, Handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::modify(int fd, uint32_t events, Handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::remove(int fd) { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::every(uint64_t interval_ms, std::function<void()> fn) {
  timers_.push_back(Timer{interval_ms, monotonic_ms() + interval_ms, std::move(fn)});
}

void EventLoop::run_posted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(post_mutex_);
    batch.swap(posted_);
    wake_pending_.store(false);
  }
  for (auto& fn : batch) fn();
}

void EventLoop::run_timers() {
  for (auto& t : timers_) {
    if (now_ms_ >= t.next_ms) {
      t.next_ms = now_ms_ + t.interval_ms;
      t.fn();
    }
  }
}

int EventLoop::next_timeout_ms() const {
  if (!after_batch_.empty() || !next_iteration_.empty()) return 0;
  uint64_t next = UINT64_MAX;
  for (const auto& t : timers_) next = std::min(next, t.next_ms);
  if (next == UINT64_MAX) return -1;
  return next <= now_ms_ ? 0 : static_cast<int>(next - now_ms_);
}

void EventLoop::run() {
  epoll_event events[kMaxEvents];
  std::vector<std::function<void()>> deferred;
  while (!stopping_.load(std::memory_order_relaxed)) {
    // Only what was deferred before this poll runs in this iteration: a connection closed during
    // this batch is deleted in the next one, after every callback of this batch has run.
    deferred.clear();
    deferred.swap(next_iteration_);
    const int timeout = deferred.empty() ? next_timeout_ms() : 0;
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout);
    if (n < 0 && errno != EINTR) {
      std::perror("verge: epoll_wait");
      std::abort();
    }
    now_ms_ = monotonic_ms();
    bool woken = false;
    for (int i = 0; i < n; ++i) {
      auto* handler = static_cast<Handler*>(events[i].data.ptr);
      if (handler == kWakeTag) {
        uint64_t count;
        [[maybe_unused]] auto r = read(wake_fd_, &count, sizeof count);
        woken = true;
        continue;
      }
      handler->on_events(events[i].events);
    }
    for (auto& fn : deferred) fn();
    if (woken) run_posted();
    run_timers();
    run_after_batch();
  }
  // Deferred work often frees memory (closed connections): finish it, in order, before the end.
  for (int round = 0; round < 4 && (!next_iteration_.empty() || !after_batch_.empty()); ++round) {
    run_after_batch();
    deferred.clear();
    deferred.swap(next_iteration_);
    for (auto& fn : deferred) fn();
  }
}

void EventLoop::run_after_batch() {
  // Callbacks may schedule more callbacks (a flush that frees window space sends more).
  while (!after_batch_.empty()) {
    std::vector<std::function<void()>> batch;
    batch.swap(after_batch_);
    for (auto& fn : batch) fn();
  }
}

}  // namespace verge::net
