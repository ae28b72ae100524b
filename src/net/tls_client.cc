#include "net/tls_client.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cctype>
#include <string_view>

#include "net/tls_common.h"

namespace verge::net {

using tls_internal::openssl_error;

namespace {

struct PinData {
  bool has_ca = false;
  std::string sha256;  // lowercase hex; empty: no pin
};

}  // namespace

struct TlsClientContext::Pin : PinData {};

namespace {

// The SSL ex_data slot that leads the verification callback to its transport.
int transport_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::string der_sha256_hex(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  const bool ok =
      EVP_Digest(der, static_cast<size_t>(len), md, &md_len, EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  if (!ok) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(md_len * 2);
  for (unsigned i = 0; i < md_len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

class ClientTransport final : public tls_internal::TlsTransport {
 public:
  ClientTransport(int fd, SSL* ssl) : TlsTransport(fd, ssl, /*client=*/true) {
    SSL_set_ex_data(ssl, transport_index(), this);
  }
  ~ClientTransport() override {
    if (anchors_ != nullptr) sk_X509_pop_free(anchors_, X509_free);
  }
  ClientTransport(const ClientTransport&) = delete;
  ClientTransport& operator=(const ClientTransport&) = delete;

  bool pin_mismatch = false;
  // Pin mode: the presented certificate that matched the pin, the only trust anchor. Kept for
  // the transport's life because the verification context refers to it.
  STACK_OF(X509) * anchors_ = nullptr;

 protected:
  std::string describe_error(std::string reason) override {
    if (pin_mismatch) return "tls: CA pin mismatch";
    const long v = SSL_get_verify_result(ssl());
    if (v != X509_V_OK) {
      return std::string("tls: certificate verify failed: ") + X509_verify_cert_error_string(v);
    }
    return "tls: " + reason;
  }
};

// Replaces OpenSSL's chain verification (SSL_CTX_set_cert_verify_callback). CA mode: the normal
// verification against the CA store. Pin mode: the presented certificate whose DER hash is the pin
// becomes the only trust anchor and the chain must verify up to it. Both: the normal verification,
// then the verified chain must contain the pinned certificate. The purpose (serverAuth) is part of
// X509_verify_cert through the context's parameters.
int verify_chain(X509_STORE_CTX* store_ctx, void* arg) {
  const auto* pin = static_cast<const PinData*>(arg);
  SSL* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* transport = ssl != nullptr
                        ? static_cast<ClientTransport*>(SSL_get_ex_data(ssl, transport_index()))
                        : nullptr;
  if (transport == nullptr) {
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_UNSPECIFIED);
    return 0;
  }
  if (!pin->has_ca) {
    X509* anchor = nullptr;
    X509* leaf = X509_STORE_CTX_get0_cert(store_ctx);
    if (leaf != nullptr && der_sha256_hex(leaf) == pin->sha256) anchor = leaf;
    STACK_OF(X509)* presented = X509_STORE_CTX_get0_untrusted(store_ctx);
    for (int i = 0; anchor == nullptr && presented != nullptr && i < sk_X509_num(presented); ++i) {
      X509* c = sk_X509_value(presented, i);
      if (der_sha256_hex(c) == pin->sha256) anchor = c;
    }
    if (anchor == nullptr) {
      transport->pin_mismatch = true;
      X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_CERT_UNTRUSTED);
      return 0;
    }
    if (transport->anchors_ == nullptr) transport->anchors_ = sk_X509_new_null();
    X509_up_ref(anchor);
    sk_X509_push(transport->anchors_, anchor);
    X509_STORE_CTX_set0_trusted_stack(store_ctx, transport->anchors_);
  }
  const int ok = X509_verify_cert(store_ctx);
  if (ok <= 0 || pin->sha256.empty() || !pin->has_ca) return ok;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(store_ctx);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    if (der_sha256_hex(sk_X509_value(chain, i)) == pin->sha256) return ok;
  }
  transport->pin_mismatch = true;
  X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_CERT_UNTRUSTED);
  return 0;
}

Result<std::string> normalise_pin(std::string_view pin) {
  if (pin.substr(0, 7) == "sha256:") pin.remove_prefix(7);
  std::string out;
  for (char c : pin) {
    if (c == ':') continue;  // "AB:CD:..." as openssl x509 -fingerprint prints it
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return unexpected(Error{"CA pin: expected 64 hex digits (SHA-256)"});
    }
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (out.size() != 64) return unexpected(Error{"CA pin: expected 64 hex digits (SHA-256)"});
  return out;
}

}  // namespace

Result<std::shared_ptr<TlsClientContext>> TlsClientContext::create(const TlsClientSettings& s) {
  if (s.ca_pem.empty() && s.ca_sha256.empty()) return unexpected(Error{"no CA and no pin"});
  if (s.cert_pem.empty() != s.key_pem.empty()) {
    return unexpected(Error{"a client certificate needs its key (and a key its certificate)"});
  }
  auto pin = std::make_unique<Pin>();
  pin->has_ca = !s.ca_pem.empty();
  if (!s.ca_sha256.empty()) {
    auto p = normalise_pin(s.ca_sha256);
    if (!p) return unexpected(p.error());
    pin->sha256 = std::move(*p);
  }

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return unexpected(Error{"SSL_CTX_new: " + openssl_error()});
  auto fail = [ctx](const std::string& what) {
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return unexpected(Error{what});
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER) != 1) return fail("cannot set purpose");

  if (pin->has_ca) {
    BIO* bio = BIO_new_mem_buf(s.ca_pem.data(), static_cast<int>(s.ca_pem.size()));
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int count = 0;
    while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, cert);
      X509_free(cert);
      ++count;
    }
    BIO_free(bio);
    ERR_clear_error();  // the loop ends on "no start line"
    if (count == 0) return fail("no certificate in the CA PEM");
  }

  if (!s.cert_pem.empty()) {
    BIO* bio = BIO_new_mem_buf(s.cert_pem.data(), static_cast<int>(s.cert_pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    if (cert == nullptr) {
      BIO_free(bio);
      return fail("no certificate in the client certificate PEM");
    }
    const bool used = SSL_CTX_use_certificate(ctx, cert) == 1;
    X509_free(cert);
    // Intermediates after the leaf, if any.
    while (X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) X509_free(extra);
    }
    BIO_free(bio);
    ERR_clear_error();
    if (!used) return fail("cannot use the client certificate");
    bio = BIO_new_mem_buf(s.key_pem.data(), static_cast<int>(s.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (key == nullptr) return fail("no private key in the client key PEM");
    const bool key_used = SSL_CTX_use_PrivateKey(ctx, key) == 1;
    EVP_PKEY_free(key);
    if (!key_used || SSL_CTX_check_private_key(ctx) != 1) {
      return fail("client key does not match certificate");
    }
  }

  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, verify_chain, static_cast<PinData*>(pin.get()));
  return std::shared_ptr<TlsClientContext>(new TlsClientContext(ctx, std::move(pin)));
}

TlsClientContext::TlsClientContext(SSL_CTX* ctx, std::unique_ptr<Pin> pin)
    : ctx_(ctx), pin_(std::move(pin)) {}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

std::unique_ptr<Transport> TlsClientContext::connect(int fd) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) {
    ERR_clear_error();
    close(fd);
    return nullptr;
  }
  return std::make_unique<ClientTransport>(fd, ssl);
}

}  // namespace verge::net
