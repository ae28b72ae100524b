// TLS for listeners (OpenSSL 3): one server context per listener configuration, one transport
// per accepted connection. The handshake runs inside the first reads and writes.
#pragma once

#include <memory>

#include "core/config.h"
#include "core/result.h"
#include "net/transport.h"

using SSL_CTX = struct ssl_ctx_st;

namespace verge::net {

class TlsContext {
 public:
  // Loads the certificate chain, key and (optionally) the CA used to verify client certificates.
  static Result<std::shared_ptr<TlsContext>> create(const TlsSettings& settings);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Takes ownership of `fd`.
  std::unique_ptr<Transport> accept(int fd) const;

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

}  // namespace verge::net
