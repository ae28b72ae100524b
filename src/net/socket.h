// Thin helpers over BSD sockets: non-blocking listeners and accepted connections.
#pragma once

#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/result.h"

namespace verge::net {

struct BoundSocket {
  int fd = -1;
  ListenAddress address;  // with the port actually bound (port 0 resolved)
};

// Creates a non-blocking listening TCP socket (SO_REUSEADDR, backlog 4096).
Result<BoundSocket> listen_tcp(const ListenAddress& addr);

// Connects (blocking, for tools and benchmarks) and returns a non-blocking socket with TCP_NODELAY.
Result<int> connect_tcp(const std::string& host, uint16_t port);

// "a.b.c.d:port" / "[v6]:port" of the peer, for logs.
std::string peer_address(int fd);

// True for 127.0.0.0/8 and ::1 (anonymous access is allowed by default only there).
bool is_loopback_host(const std::string& host);

}  // namespace verge::net
