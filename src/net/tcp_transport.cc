#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net/transport.h"

namespace verge::net {

namespace {

class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(int fd) : Transport(fd) {}
  ~TcpTransport() override { close(fd_); }

  IoResult read(uint8_t* buf, size_t len) override {
    for (;;) {
      const ssize_t n = ::read(fd_, buf, len);
      if (n > 0) return {IoStatus::Ok, static_cast<size_t>(n)};
      if (n == 0) return {IoStatus::Closed, 0};
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::WouldBlock, 0};
      errno_ = errno;
      return {IoStatus::Error, 0};
    }
  }

  IoResult writev(const iovec* iov, int count) override {
    for (;;) {
      const ssize_t n = ::writev(fd_, iov, count);
      if (n >= 0) return {IoStatus::Ok, static_cast<size_t>(n)};
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::WouldBlock, 0};
      errno_ = errno;
      return {IoStatus::Error, 0};
    }
  }

  std::string last_error() const override { return std::strerror(errno_); }

 private:
  int errno_ = 0;
};

}  // namespace

std::unique_ptr<Transport> make_tcp_transport(int fd) { return std::make_unique<TcpTransport>(fd); }

}  // namespace verge::net
