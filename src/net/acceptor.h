// Accepts connections on one listening socket from every loop (EPOLLEXCLUSIVE wakes one) and
// hands each new socket to a callback on the loop that accepted it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "net/loop_group.h"
#include "net/socket.h"

namespace verge::net {

class Acceptor {
 public:
  // Called on the accepting loop with a non-blocking socket it now owns.
  using OnAccept = std::function<void(EventLoop& loop, int fd)>;

  // `max_rate` new connections per second (0 = unlimited); over it, sockets are closed at once
  // and counted in rate_limited().
  Acceptor(LoopGroup& loops, BoundSocket socket, uint32_t max_rate, OnAccept on_accept);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  const ListenAddress& address() const { return socket_.address; }
  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  uint64_t rate_limited() const { return rate_limited_.load(std::memory_order_relaxed); }
  // Connections refused because the process ran out of file descriptors.
  uint64_t fd_exhausted() const { return fd_exhausted_.load(std::memory_order_relaxed); }

 private:
  class LoopHandler;
  bool take_token(uint64_t now_ms);

  BoundSocket socket_;
  uint32_t max_rate_;
  OnAccept on_accept_;
  std::vector<std::unique_ptr<LoopHandler>> handlers_;
  std::mutex bucket_mutex_;
  double tokens_;                // guarded by bucket_mutex_
  uint64_t last_refill_ms_ = 0;  // guarded by bucket_mutex_
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> rate_limited_{0};
  std::atomic<uint64_t> fd_exhausted_{0};
};

}  // namespace verge::net
