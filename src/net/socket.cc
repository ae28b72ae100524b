#include "net/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace verge::net {

namespace {

Error sys_error(const std::string& what) { return Error{what + ": " + std::strerror(errno)}; }

bool fill_sockaddr(const std::string& host, uint16_t port, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

std::string format_address(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  return "unknown";
}

}  // namespace

Result<BoundSocket> listen_tcp(const ListenAddress& addr) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  std::string host = addr.host.empty() ? "0.0.0.0" : addr.host;
  if (host == "localhost") host = "127.0.0.1";
  if (!fill_sockaddr(host, addr.port, ss, len)) {
    return unexpected(Error{"cannot listen on '" + host + "': not an IP address"});
  }
  const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return unexpected(sys_error("socket"));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    auto err = sys_error("cannot bind " + to_string(ListenAddress{host, addr.port}));
    close(fd);
    return unexpected(err);
  }
  if (listen(fd, 4096) != 0) {
    auto err = sys_error("listen");
    close(fd);
    return unexpected(err);
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  uint16_t port = bound.ss_family == AF_INET
                      ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                      : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return BoundSocket{fd, ListenAddress{host, port}};
}

Result<int> connect_tcp(const std::string& host, uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!fill_sockaddr(host == "localhost" ? "127.0.0.1" : host, port, ss, len)) {
    return unexpected(Error{"not an IP address: " + host});
  }
  const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return unexpected(sys_error("socket"));
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    auto err = sys_error("connect " + host + ":" + std::to_string(port));
    close(fd);
    return unexpected(err);
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

bool literal_address(const std::string& host, uint16_t port, sockaddr_storage& out,
                     socklen_t& len) {
  return fill_sockaddr(host == "localhost" ? "127.0.0.1" : host, port, out, len);
}

Result<int> start_connect(const sockaddr_storage& addr, socklen_t len) {
  const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return unexpected(sys_error("socket"));
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS) {
    auto err = sys_error("connect");
    close(fd);
    return unexpected(err);
  }
  return fd;
}

std::string peer_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "unknown";
  return format_address(ss);
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  return false;
}

}  // namespace verge::net
