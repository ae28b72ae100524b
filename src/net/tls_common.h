// Internal to net/: the TLS transport shared by listeners (tls.cc, accept state) and outbound
// connections (tls_client.cc, connect state). The handshake runs inside the first read or write;
// WANT_READ / WANT_WRITE are WouldBlock, so StreamConnection drives it like any other I/O.
#pragma once

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "net/transport.h"

namespace verge::net::tls_internal {

// The oldest queued OpenSSL error as text (and clears the queue).
inline std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// A certificate's serial as lowercase hex of whole octets ("0a1b"), exactly as sync/pki.cc's
// serial_hex records an issued certificate (tests/unit/tls_client_test.cc holds them equal).
inline std::string cert_serial_hex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
  if (bn == nullptr) return {};
  char* text = BN_bn2hex(bn);
  BN_free(bn);
  std::string out(text != nullptr ? text : "");
  OPENSSL_free(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

class TlsTransport : public Transport {
 public:
  // Takes ownership of `fd` and `ssl`. `client`: connect state, else accept state.
  TlsTransport(int fd, SSL* ssl, bool client) : Transport(fd), ssl_(ssl) {
    SSL_set_fd(ssl_, fd);
    if (client) {
      SSL_set_connect_state(ssl_);
    } else {
      SSL_set_accept_state(ssl_);
    }
  }
  ~TlsTransport() override {
    if (SSL_is_init_finished(ssl_)) SSL_shutdown(ssl_);  // best effort close_notify
    SSL_free(ssl_);
    close(fd_);
  }
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

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
  std::string peer_cert_serial() const override { return serial_; }
  std::string last_error() const override { return error_; }

 protected:
  // Turns an OpenSSL failure text into last_error() (the client names verification failures).
  virtual std::string describe_error(std::string openssl_reason) { return openssl_reason; }
  SSL* ssl() const { return ssl_; }

 private:
  IoResult status(int n) {
    switch (SSL_get_error(ssl_, n)) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        return {IoStatus::WouldBlock, 0};
      case SSL_ERROR_ZERO_RETURN:
        return {IoStatus::Closed, 0};
      case SSL_ERROR_SYSCALL:
        error_ = describe_error(errno != 0 ? std::strerror(errno) : "connection closed during TLS");
        ERR_clear_error();
        return {IoStatus::Closed, 0};
      default:
        error_ = describe_error(openssl_error());
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
        serial_ = cert_serial_hex(cert);
      }
    }
    X509_free(cert);
  }

  SSL* ssl_;
  bool identity_checked_ = false;
  std::string identity_;
  std::string serial_;  // set with identity_
  std::string error_;
  static inline thread_local char scratch_[16384];
};

}  // namespace verge::net::tls_internal
