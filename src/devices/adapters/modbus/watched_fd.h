// A file descriptor registered with an event loop whose handler outlives its close: epoll
// events already fetched in the current batch may still name it, and a transport that closes
// and reopens in one batch must not take the old socket's events for the new one's.
// Loop thread only.
#pragma once

#include <cstdint>
#include <functional>

#include "net/event_loop.h"

namespace verge::devices::modbus {

class WatchedFd {
 public:
  explicit WatchedFd(net::EventLoop& loop) : loop_(loop) {}
  ~WatchedFd() { close(); }
  WatchedFd(const WatchedFd&) = delete;
  WatchedFd& operator=(const WatchedFd&) = delete;

  // Takes ownership of `fd` (closed on failure too). False when the loop refuses it.
  bool watch(int fd, uint32_t events, std::function<void(uint32_t)> on_events);
  void modify(uint32_t events);
  // Unregisters and closes; no event reaches the callback afterwards.
  void close();
  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }

 private:
  class Handler;
  net::EventLoop& loop_;
  int fd_ = -1;
  Handler* handler_ = nullptr;  // freed in the loop's next iteration after close()
};

}  // namespace verge::devices::modbus
