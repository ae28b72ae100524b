// One epoll event loop per thread. Everything registered with a loop is touched only by that
// loop's thread; other threads talk to it only through post(). After each batch of events the
// loop runs its "after batch" callbacks, which is where connections flush their writes, so that
// many messages queued in one batch leave in one write(2).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace verge::net {

class EventLoop {
 public:
  class Handler {
   public:
    virtual void on_events(uint32_t events) = 0;

   protected:
    ~Handler() = default;
  };

  explicit EventLoop(unsigned index);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs until stop() is called. Call from the thread that owns the loop.
  void run();
  // Thread-safe.
  void stop();
  // Thread-safe: runs `fn` on the loop's thread soon. Posts from one thread run in order.
  void post(std::function<void()> fn);

  // Loop thread only. `handler` must outlive its registration.
  bool add(int fd, uint32_t events, Handler* handler);
  bool modify(int fd, uint32_t events, Handler* handler);
  void remove(int fd);

  // Loop thread only: `fn` runs every `interval_ms` (approximately; checked between batches).
  void every(uint64_t interval_ms, std::function<void()> fn);
  // Loop thread only: `fn` runs once after the current batch of events (deduplicated by caller).
  void after_batch(std::function<void()> fn) { after_batch_.push_back(std::move(fn)); }
  // Loop thread only: `fn` runs in the next iteration, after its (non-blocking) poll and events,
  // so other sockets get their turn first and every callback of this iteration has run. For work
  // that may keep coming (a busy reader) and for deleting objects callbacks may still refer to.
  void next_iteration(std::function<void()> fn) { next_iteration_.push_back(std::move(fn)); }

  // Monotonic milliseconds, cached once per batch.
  uint64_t now_ms() const { return now_ms_; }
  unsigned index() const { return index_; }
  // Scratch buffer for reads, shared by every connection on this loop.
  uint8_t* read_buffer() { return read_buffer_.data(); }
  size_t read_buffer_size() const { return read_buffer_.size(); }

 private:
  struct Timer {
    uint64_t interval_ms;
    uint64_t next_ms;
    std::function<void()> fn;
  };
  class Wakeup;

  void run_posted();
  void run_timers();
  void run_after_batch();
  int next_timeout_ms() const;
  static uint64_t monotonic_ms();

  unsigned index_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::mutex post_mutex_;
  std::vector<std::function<void()>> posted_;  // guarded by post_mutex_
  std::atomic<bool> wake_pending_{false};
  std::vector<Timer> timers_;
  std::vector<std::function<void()>> after_batch_;
  std::vector<std::function<void()>> next_iteration_;
  std::vector<uint8_t> read_buffer_;
  uint64_t now_ms_ = 0;
};

}  // namespace verge::net
