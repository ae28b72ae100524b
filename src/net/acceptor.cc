#include "net/acceptor.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/log.h"

namespace verge::net {

class Acceptor::LoopHandler final : public EventLoop::Handler {
 public:
  LoopHandler(Acceptor& owner, EventLoop& loop)
      : owner_(owner), loop_(loop), spare_fd_(open("/dev/null", O_RDONLY | O_CLOEXEC)) {}
  ~LoopHandler() {
    if (spare_fd_ >= 0) ::close(spare_fd_);
  }
  LoopHandler(const LoopHandler&) = delete;
  LoopHandler& operator=(const LoopHandler&) = delete;

  void on_events(uint32_t /*events*/) override {
    for (;;) {
      const int fd = accept4(owner_.socket_.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if ((errno == EMFILE || errno == ENFILE) && shed_one()) continue;
        return;
      }
      if (!owner_.take_token(loop_.now_ms())) {
        ::close(fd);
        owner_.rate_limited_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      owner_.accepted_.fetch_add(1, std::memory_order_relaxed);
      owner_.on_accept_(loop_, fd);
    }
  }
  EventLoop& loop() { return loop_; }

 private:
  // Out of descriptors: the listener stays readable, and a level-triggered loop would spin. Free
  // the spare descriptor, accept and close the waiting connection, take the spare back.
  bool shed_one() {
    if (spare_fd_ < 0) return false;
    ::close(spare_fd_);
    const int fd = accept4(owner_.socket_.fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) ::close(fd);
    spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    owner_.fd_exhausted_.fetch_add(1, std::memory_order_relaxed);
    if (loop_.now_ms() - last_warning_ms_ >= 10000) {  // at most one line per 10 s per loop
      last_warning_ms_ = loop_.now_ms();
      log_warn("out of file descriptors: refusing connections",
               {{"addr", to_string(owner_.socket_.address)}});
    }
    return fd >= 0;
  }

  Acceptor& owner_;
  EventLoop& loop_;
  int spare_fd_;
  uint64_t last_warning_ms_ = 0;
};

Acceptor::Acceptor(LoopGroup& loops, BoundSocket socket, uint32_t max_rate, OnAccept on_accept)
    : socket_(std::move(socket)),
      max_rate_(max_rate),
      on_accept_(std::move(on_accept)),
      tokens_(max_rate) {
  for (size_t i = 0; i < loops.size(); ++i) {
    auto h = std::make_unique<LoopHandler>(*this, loops.loop(i));
    LoopHandler* raw = h.get();
    handlers_.push_back(std::move(h));
    const int fd = socket_.fd;
    loops.loop(i).post([raw, fd] { raw->loop().add(fd, EPOLLIN | EPOLLEXCLUSIVE, raw); });
  }
}

Acceptor::~Acceptor() {
  // Loops are stopped before acceptors are destroyed; closing the fd removes it from every epoll.
  ::close(socket_.fd);
}

bool Acceptor::take_token(uint64_t now_ms) {
  if (max_rate_ == 0) return true;
  std::lock_guard lock(bucket_mutex_);
  if (last_refill_ms_ != 0 && now_ms > last_refill_ms_) {
    tokens_ = std::min<double>(
        max_rate_, tokens_ + static_cast<double>(now_ms - last_refill_ms_) * max_rate_ / 1000.0);
  }
  last_refill_ms_ = now_ms;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

}  // namespace verge::net
