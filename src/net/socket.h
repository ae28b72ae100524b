// Thin helpers over BSD sockets: non-blocking listeners and accepted connections.
#pragma once

#include <sys/socket.h>

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

// The socket address of an IPv4/IPv6 literal or "localhost" (127.0.0.1); false for anything
// else (a name to resolve, e.g. with resolve_host in net/http_client.h).
bool literal_address(const std::string& host, uint16_t port, sockaddr_storage& out, socklen_t& len);

// Starts a non-blocking connect (TCP_NODELAY, close-on-exec) and returns the socket at once; it
// becomes writable when the connection is made or has failed (then SO_ERROR says why).
Result<int> start_connect(const sockaddr_storage& addr, socklen_t len);

// "a.b.c.d:port" / "[v6]:port" of the peer, for logs.
std::string peer_address(int fd);

// True for 127.0.0.0/8 and ::1 (anonymous access is allowed by default only there).
bool is_loopback_host(const std::string& host);

}  // namespace verge::net
