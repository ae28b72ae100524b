// A byte stream over one non-blocking socket: plain TCP or TLS. Owned by one connection and used
// only on that connection's loop thread (it may be handed to another loop by posting).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace verge::net {

enum class IoStatus : uint8_t { Ok, WouldBlock, Closed, Error };

struct IoResult {
  IoStatus status = IoStatus::Ok;
  size_t bytes = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  int fd() const { return fd_; }
  virtual IoResult read(uint8_t* buf, size_t len) = 0;
  virtual IoResult writev(const iovec* iov, int count) = 0;
  // TLS: the subject CN of a verified client certificate; empty otherwise.
  virtual std::string peer_identity() const { return {}; }
  // TLS: the serial of that verified client certificate as lowercase hex of whole octets (as the
  // hub's CA records it, sync/pki.h IssuedCert::serial_hex); empty otherwise.
  virtual std::string peer_cert_serial() const { return {}; }
  // Human-readable reason of the last Error status (e.g. a TLS alert).
  virtual std::string last_error() const { return {}; }

 protected:
  explicit Transport(int fd) : fd_(fd) {}
  int fd_;
};

// Takes ownership of `fd` and closes it on destruction.
std::unique_ptr<Transport> make_tcp_transport(int fd);

}  // namespace verge::net
