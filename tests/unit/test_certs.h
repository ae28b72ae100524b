// A throwaway PKI for tests (OpenSSL C API, EC P-256 keys so it is fast): a CA, a server
// certificate for 127.0.0.1/localhost and client certificates, written as PEM files in `dir`.
//
//   auto pki = verge::test::make_test_pki(dir);          // dir must exist
//   cfg.tls = {pki.server_cert_file, pki.server_key_file, pki.ca_file, true, true};
//   auto node = verge::test::make_client_cert(pki, "node-1");  // CN=node-1, clientAuth
//   net::TlsClientSettings s{pki.ca_pem, "", node.cert_pem, node.key_pem};
//
// The server certificate file holds the leaf and then the CA, so a server using it presents the
// root too (what the CA-pin mode of net/tls_client.h needs). Header-only: the unit test target
// compiles only *_test.cc files. Failures abort the test with a gtest fatal message in the caller
// (check `ok`).
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>

namespace verge::test {

struct CertAndKey {
  std::string cert_pem, key_pem;    // the leaf alone and its key
  std::string cert_file, key_file;  // the same, written in the PKI's dir
  bool ok = false;
};
using ClientCreds = CertAndKey;

struct TestPki {
  std::string dir;
  std::string ca_pem, ca_key_pem, ca_file;
  std::string ca_sha256;                          // hex SHA-256 of the CA's DER (pin mode)
  std::string server_cert_file, server_key_file;  // leaf + CA chain; key
  std::string server_cert_pem, server_key_pem;    // leaf alone; key
  bool ok = false;
};

namespace pki_detail {

inline std::string to_pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

inline std::string to_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

inline X509* cert_from_pem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* c = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return c;
}

inline EVP_PKEY* key_from_pem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return k;
}

inline bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  return static_cast<bool>(f);
}

inline bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` named CN=`cn`, signed by (issuer, issuer_key); self-signed when issuer
// is null. `eku` e.g. "serverAuth", "clientAuth" (empty: no EKU); `san` e.g.
// "IP:127.0.0.1,DNS:localhost" (empty: none).
inline X509* make_cert(EVP_PKEY* key, std::string_view cn, X509* issuer, EVP_PKEY* issuer_key,
                       bool ca, const char* eku, const char* san) {
  static std::atomic<long> serial{1000};
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial.fetch_add(1));
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24 * 30);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  const std::string cn_text(cn);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn_text.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer != nullptr ? issuer : cert;
  bool ok = true;
  if (ca) {
    ok &= add_ext(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
    ok &= add_ext(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    ok &= add_ext(cert, signer, NID_subject_key_identifier, "hash");
  } else {
    ok &= add_ext(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
    ok &= add_ext(cert, signer, NID_key_usage, "critical,digitalSignature,keyAgreement");
    ok &= add_ext(cert, signer, NID_subject_key_identifier, "hash");
    ok &= add_ext(cert, signer, NID_authority_key_identifier, "keyid:always");
    if (eku != nullptr && *eku != '\0') ok &= add_ext(cert, signer, NID_ext_key_usage, eku);
    if (san != nullptr && *san != '\0') ok &= add_ext(cert, signer, NID_subject_alt_name, san);
  }
  if (!ok || X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    X509_free(cert);
    return nullptr;
  }
  return cert;
}

inline std::string sha256_hex(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_Digest(der, static_cast<size_t>(len), md, &md_len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  std::string out;
  char hex[3];
  for (unsigned i = 0; i < md_len; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", md[i]);
    out += hex;
  }
  return out;
}

}  // namespace pki_detail

// A leaf signed by the PKI's CA, written to <dir>/<file_stem>.crt/.key. `eku`: "serverAuth",
// "clientAuth", "serverAuth,clientAuth"; `san`: e.g. "IP:127.0.0.1,DNS:localhost" or "".
inline CertAndKey make_leaf_cert(const TestPki& pki, std::string_view cn, const char* eku,
                                 const char* san, const std::string& file_stem) {
  namespace d = pki_detail;
  CertAndKey out;
  X509* ca = d::cert_from_pem(pki.ca_pem);
  EVP_PKEY* ca_key = d::key_from_pem(pki.ca_key_pem);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = (ca && ca_key && key) ? d::make_cert(key, cn, ca, ca_key, false, eku, san) : nullptr;
  if (cert != nullptr) {
    out.cert_pem = d::to_pem(cert);
    out.key_pem = d::to_pem(key);
    out.cert_file = pki.dir + "/" + file_stem + ".crt";
    out.key_file = pki.dir + "/" + file_stem + ".key";
    out.ok = d::write_file(out.cert_file, out.cert_pem) && d::write_file(out.key_file, out.key_pem);
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  EVP_PKEY_free(ca_key);
  X509_free(ca);
  return out;
}

// CA "verge test CA" and a server certificate (CN=localhost, serverAuth, SAN 127.0.0.1 and
// localhost) in `dir` (which must exist).
inline TestPki make_test_pki(const std::string& dir) {
  namespace d = pki_detail;
  TestPki pki;
  pki.dir = dir;
  EVP_PKEY* ca_key = EVP_EC_gen("P-256");
  X509* ca = ca_key != nullptr
                 ? d::make_cert(ca_key, "verge test CA", nullptr, nullptr, true, "", "")
                 : nullptr;
  if (ca == nullptr) {
    EVP_PKEY_free(ca_key);
    return pki;
  }
  pki.ca_pem = d::to_pem(ca);
  pki.ca_key_pem = d::to_pem(ca_key);
  pki.ca_sha256 = d::sha256_hex(ca);
  pki.ca_file = dir + "/ca.crt";
  X509_free(ca);
  EVP_PKEY_free(ca_key);
  CertAndKey server =
      make_leaf_cert(pki, "localhost", "serverAuth", "IP:127.0.0.1,DNS:localhost", "server-leaf");
  if (!server.ok) return pki;
  pki.server_cert_pem = server.cert_pem;
  pki.server_key_pem = server.key_pem;
  pki.server_cert_file = dir + "/server.crt";
  pki.server_key_file = server.key_file;
  pki.ok = d::write_file(pki.ca_file, pki.ca_pem) &&
           d::write_file(pki.server_cert_file, server.cert_pem + pki.ca_pem);
  return pki;
}

// CN=<cn>, clientAuth EKU (or serverAuth without `client_auth`), in <dir>/client-<cn>.crt/.key.
inline ClientCreds make_client_cert(const TestPki& pki, std::string_view cn,
                                    bool client_auth = true) {
  return make_leaf_cert(pki, cn, client_auth ? "clientAuth" : "serverAuth", "",
                        "client-" + std::string(cn));
}

}  // namespace verge::test
