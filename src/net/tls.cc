#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace verge::net {

namespace {

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

class TlsTransport final : public Transport {
 public:
  TlsTransport(int fd, SSL* ssl) : Transport(fd), ssl_(ssl) {
    SSL_set_fd(ssl_, fd);
    SSL_set_accept_state(ssl_);
  }
  ~TlsTransport() override {
    if (SSL_is_init_finished(ssl_)) SSL_shutdown(ssl_);  // best effort close_notify
    SSL_free(ssl_);
    close(fd_);
  }

  IoResult read(uint8_t* buf, size_t len) override {
    const int n = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(len, INT32_MAX)));
    if (n > 0) {
      if (!identity_checked_) check_identity();
      return {IoStatus::Ok, static_cast<size_t>(n)};
    }
    return status(n);
  }

  IoResult writev(const iovec* iov, int count) override {
    // TLS records need contiguous bytes: coalesce up to 16 KiB (one record). A retried write
    // sees the same prefix because the queue only grows at its back.
    size_t len = 0;
    for (int i = 0; i < count && len < sizeof scratch_; ++i) {
      const size_t take = std::min(iov[i].iov_len, sizeof scratch_ - len);
      std::memcpy(scratch_ + len, iov[i].iov_base, take);
      len += take;
    }
    if (len == 0) return {IoStatus::Ok, 0};
    const int n = SSL_write(ssl_, scratch_, static_cast<int>(len));
    if (n > 0) return {IoStatus::Ok, static_cast<size_t>(n)};
    return status(n);
  }

  std::string peer_identity() const override { return identity_; }
  std::string last_error() const override { return error_; }

 private:
  IoResult status(int n) {
    switch (SSL_get_error(ssl_, n)) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        return {IoStatus::WouldBlock, 0};
      case SSL_ERROR_ZERO_RETURN:
        return {IoStatus::Closed, 0};
      case SSL_ERROR_SYSCALL:
        error_ = errno != 0 ? std::strerror(errno) : "connection closed during TLS";
        ERR_clear_error();
        return {IoStatus::Closed, 0};
      default:
        error_ = openssl_error();
        return {IoStatus::Error, 0};
    }
  }

  void check_identity() {
    identity_checked_ = true;
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) return;
    if (SSL_get_verify_result(ssl_) == X509_V_OK) {
      char cn[256] = {};
      if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) >
          0) {
        identity_ = cn;
      }
    }
    X509_free(cert);
  }

  SSL* ssl_;
  bool identity_checked_ = false;
  std::string identity_;
  std::string error_;
  static thread_local char scratch_[16384];
};

thread_local char TlsTransport::scratch_[16384];

}  // namespace

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
  return std::make_unique<TlsTransport>(fd, ssl);
}

}  // namespace verge::net
