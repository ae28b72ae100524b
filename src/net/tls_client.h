// TLS for outbound connections (OpenSSL 3): the edge's link to its hub. One context per set of
// credentials, one transport per connection; the handshake runs inside the first reads and writes,
// as on the server side (net/tls.h).
//
// Verification of the server: either a CA file (normal operation) or, before the node has its
// certificate, a pin: the SHA-256 of the DER of the chain's root (the CA the hub made), which the
// enrolment token carries (as kubeadm's --discovery-token-ca-cert-hash does). In both cases the
// server certificate must have the serverAuth purpose, so a node certificate (clientAuth only,
// signed by the same CA) cannot pose as the hub. Host names are not checked: the CA is private to
// one hub and every certificate it signs is known to it.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "net/transport.h"

using SSL_CTX = struct ssl_ctx_st;

namespace verge::net {

struct TlsClientSettings {
  std::string ca_pem;     // PEM of the CA(s) that must sign the server's chain; or
  std::string ca_sha256;  // hex SHA-256 of the DER of the root the chain must end in (pinning)
  std::string cert_pem;   // PEM client certificate (mutual TLS); empty: none is sent
  std::string key_pem;    // PEM private key of cert_pem
};

class TlsClientContext {
 public:
  // Errors name what is wrong ("client key does not match certificate", "no CA and no pin").
  static Result<std::shared_ptr<TlsClientContext>> create(const TlsClientSettings& settings);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  // Takes ownership of `fd` (a connected, or connecting, non-blocking TCP socket). The
  // transport's last_error() says why a handshake failed (e.g. "CA pin mismatch").
  std::unique_ptr<Transport> connect(int fd) const;

 private:
  struct Pin;
  TlsClientContext(SSL_CTX* ctx, std::unique_ptr<Pin> pin);
  SSL_CTX* ctx_;
  std::unique_ptr<Pin> pin_;
};

}  // namespace verge::net
