#include "net/tls.h"

#include <openssl/ssl.h>
#include <unistd.h>

#include "net/tls_common.h"

namespace verge::net {

using tls_internal::openssl_error;
using tls_internal::TlsTransport;

Result<std::shared_ptr<TlsContext>> TlsContext::create(const TlsSettings& s) {
  if (s.cert_file.empty() || s.key_file.empty()) {
    return unexpected(Error{"TLS listeners need tls-cert and tls-key"});
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return unexpected(Error{"SSL_CTX_new: " + openssl_error()});
  auto fail = [ctx](const std::string& what) {
    SSL_CTX_free(ctx);
    return unexpected(Error{what + ": " + openssl_error()});
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, s.cert_file.c_str()) != 1) {
    return fail("cannot load tls-cert '" + s.cert_file + "'");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, s.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("cannot load tls-key '" + s.key_file + "'");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) return fail("tls-key does not match tls-cert");
  if (!s.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, s.ca_file.c_str(), nullptr) != 1) {
      return fail("cannot load tls-ca '" + s.ca_file + "'");
    }
    int mode = SSL_VERIFY_PEER;
    if (s.require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
  } else if (s.require_client_cert) {
    SSL_CTX_free(ctx);
    return unexpected(Error{"tls-require-client-cert needs tls-ca"});
  }
  return std::shared_ptr<TlsContext>(new TlsContext(ctx));
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::unique_ptr<Transport> TlsContext::accept(int fd) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) {
    close(fd);
    return nullptr;
  }
  return std::make_unique<TlsTransport>(fd, ssl, /*client=*/false);
}

}  // namespace verge::net
