#include "devices/adapters/modbus/watched_fd.h"

#include <unistd.h>

#include <memory>

namespace verge::devices::modbus {

class WatchedFd::Handler final : public net::EventLoop::Handler {
 public:
  explicit Handler(std::function<void(uint32_t)> fn) : fn_(std::move(fn)) {}
  virtual ~Handler() = default;
  void on_events(uint32_t events) override {
    if (live) fn_(events);
  }
  bool live = true;

 private:
  std::function<void(uint32_t)> fn_;
};

bool WatchedFd::watch(int fd, uint32_t events, std::function<void(uint32_t)> on_events) {
  close();
  handler_ = new Handler(std::move(on_events));
  fd_ = fd;
  if (!loop_.add(fd, events, handler_)) {
    close();
    return false;
  }
  return true;
}

void WatchedFd::modify(uint32_t events) {
  if (fd_ >= 0) loop_.modify(fd_, events, handler_);
}

void WatchedFd::close() {
  if (fd_ >= 0) {
    loop_.remove(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  if (handler_ != nullptr) {
    handler_->live = false;
    std::shared_ptr<Handler> dead(handler_);
    handler_ = nullptr;
    loop_.next_iteration([dead] {});
  }
}

}  // namespace verge::devices::modbus
