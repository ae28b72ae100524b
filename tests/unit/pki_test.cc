#include "sync/pki.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "segment_log_test_util.h"

namespace verge::sync {
namespace {

using store::testing::TempDir;  // segment_log_test_util.h

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using CertPtr = std::unique_ptr<X509, X509Free>;

CertPtr parse(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  CertPtr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

// Verifies `leaf` against `ca` as OpenSSL would in a TLS handshake for `purpose`.
bool verifies(const std::string& leaf, const std::string& ca, int purpose) {
  CertPtr l = parse(leaf), c = parse(ca);
  if (!l || !c) return false;
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, c.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, l.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

mode_t file_mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

constexpr int64_t kYearMs = int64_t{365} * 24 * 3600 * 1000;

TEST(Pki, CaCreatedOnceThenLoaded) {
  TempDir dir;
  auto first = load_or_create_ca(dir.path(), {"hub.example.com"});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->ca_sha256.size(), 64u);
  EXPECT_EQ(file_mode(dir.path() + "/ca.key"), 0600u);
  EXPECT_EQ(file_mode(dir.path() + "/server.key"), 0600u);
  const std::string server_before = slurp(first->server_cert_file);

  auto second = load_or_create_ca(dir.path(), {"hub.example.com"});
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->ca_sha256, first->ca_sha256);
  EXPECT_EQ(second->ca_cert_pem, first->ca_cert_pem);
  EXPECT_EQ(slurp(second->server_cert_file), server_before) << "same names: not reissued";

  auto pin = cert_sha256(slurp(second->ca_cert_file));
  ASSERT_TRUE(pin);
  EXPECT_EQ(*pin, first->ca_sha256);
}

TEST(Pki, CaIsACa) {
  TempDir dir;
  auto files = load_or_create_ca(dir.path(), {});
  ASSERT_TRUE(files);
  CertPtr ca = parse(files->ca_cert_pem);
  ASSERT_TRUE(ca);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  const uint32_t usage = X509_get_key_usage(ca.get());
  EXPECT_TRUE(usage & KU_KEY_CERT_SIGN);
  EXPECT_TRUE(usage & KU_CRL_SIGN);
  auto info = cert_info(files->ca_cert_pem);
  ASSERT_TRUE(info);
  EXPECT_GT(info->not_after_ms, wall_ms() + 9 * kYearMs);
}

TEST(Pki, ServerCertHasNamesAndIsReissuedWhenTheyChange) {
  TempDir dir;
  auto files = load_or_create_ca(dir.path(), {"hub.example.com", "10.0.0.7"});
  ASSERT_TRUE(files) << files.error().message;
  const std::string chain = slurp(files->server_cert_file);
  CertPtr server = parse(chain);
  ASSERT_TRUE(server);
  EXPECT_EQ(X509_check_host(server.get(), "hub.example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(server.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "10.0.0.7", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
  EXPECT_NE(X509_check_host(server.get(), "other.example.com", 0, 0, nullptr), 1);
  EXPECT_TRUE(verifies(chain, files->ca_cert_pem, X509_PURPOSE_SSL_SERVER));
  EXPECT_FALSE(verifies(chain, files->ca_cert_pem, X509_PURPOSE_SSL_CLIENT));
  EXPECT_NE(chain.find(files->ca_cert_pem), std::string::npos) << "chain includes the CA";

  auto again = load_or_create_ca(dir.path(), {"other.example.com"});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ca_sha256, files->ca_sha256);
  CertPtr reissued = parse(slurp(again->server_cert_file));
  ASSERT_TRUE(reissued);
  EXPECT_EQ(X509_check_host(reissued.get(), "other.example.com", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(reissued.get(), "hub.example.com", 0, 0, nullptr), 1);
}

TEST(Pki, MissingCaKeyIsAnError) {
  TempDir dir;
  ASSERT_TRUE(load_or_create_ca(dir.path(), {}));
  std::filesystem::remove(dir.path() + "/ca.key");
  auto r = load_or_create_ca(dir.path(), {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("ca.key"), std::string::npos) << r.error().message;
}

class PkiCa : public ::testing::Test {
 protected:
  void SetUp() override {
    auto files = load_or_create_ca(dir_.path(), {});
    ASSERT_TRUE(files) << files.error().message;
    files_ = *files;
    auto ca = CertificateAuthority::load(dir_.path());
    ASSERT_TRUE(ca) << ca.error().message;
    ca_ = std::make_unique<CertificateAuthority>(std::move(*ca));
  }
  TempDir dir_;
  CaFiles files_;
  std::unique_ptr<CertificateAuthority> ca_;
};

TEST_F(PkiCa, SignsNodeCsrThatVerifiesAsClient) {
  auto key = make_node_key_and_csr("node-1");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_NE(key->key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  const int64_t now = wall_ms();
  auto issued = ca_->sign_node_csr(key->csr_pem, "node-1", now, kYearMs);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_EQ(ca_->ca_cert_pem(), files_.ca_cert_pem);
  EXPECT_TRUE(verifies(issued->cert_pem, files_.ca_cert_pem, X509_PURPOSE_SSL_CLIENT));
  EXPECT_FALSE(verifies(issued->cert_pem, files_.ca_cert_pem, X509_PURPOSE_SSL_SERVER));
  EXPECT_EQ(issued->serial_hex.size(), 32u) << issued->serial_hex;
  EXPECT_NEAR(static_cast<double>(issued->not_after_ms), static_cast<double>(now + kYearMs), 1000);

  auto info = cert_info(issued->cert_pem);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->common_name, "node-1");
  EXPECT_EQ(info->serial_hex, issued->serial_hex);
  EXPECT_EQ(info->not_after_ms, issued->not_after_ms);

  auto second = ca_->sign_node_csr(key->csr_pem, "node-1", now, kYearMs);
  ASSERT_TRUE(second);
  EXPECT_NE(second->serial_hex, issued->serial_hex) << "random serials";
}

TEST_F(PkiCa, CommonNameForcedToNodeId) {
  auto key = make_node_key_and_csr("admin");  // asks for another identity
  ASSERT_TRUE(key);
  auto issued = ca_->sign_node_csr(key->csr_pem, "node-7", wall_ms(), kYearMs);
  ASSERT_TRUE(issued) << issued.error().message;
  auto info = cert_info(issued->cert_pem);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->common_name, "node-7");
}

TEST_F(PkiCa, BadCsrsRefused) {
  auto r = ca_->sign_node_csr("hello", "n", wall_ms(), kYearMs);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "csr: not PEM");

  auto key = make_node_key_and_csr("n");
  ASSERT_TRUE(key);
  // Flip one character of the signature (the end of the base64 body, just before the footer).
  std::string tampered = key->csr_pem;
  const size_t footer = tampered.find("-----END");
  ASSERT_NE(footer, std::string::npos);
  size_t pos = footer - 6;  // inside the last base64 line, before any '=' padding
  while (tampered[pos] == '=' || tampered[pos] == '\n') --pos;
  tampered[pos] = tampered[pos] == 'A' ? 'B' : 'A';
  r = ca_->sign_node_csr(tampered, "n", wall_ms(), kYearMs);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message == "csr: bad signature" || r.error().message == "csr: not PEM")
      << r.error().message;

  r = ca_->sign_node_csr(key->csr_pem, "bad.id", wall_ms(), kYearMs);
  EXPECT_FALSE(r);
}

TEST_F(PkiCa, NonP256CsrRefused) {
  EVP_PKEY* rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  ASSERT_NE(rsa, nullptr);
  X509_REQ* req = X509_REQ_new();
  X509_REQ_set_pubkey(req, rsa);
  X509_REQ_sign(req, rsa, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, req);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  const std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  X509_REQ_free(req);
  EVP_PKEY_free(rsa);
  auto r = ca_->sign_node_csr(pem, "n", wall_ms(), kYearMs);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "csr: not EC P-256");
}

TEST(Pki, OtherCaDoesNotVerify) {
  TempDir a, b;
  auto ca_a = load_or_create_ca(a.path(), {});
  auto ca_b = load_or_create_ca(b.path(), {});
  ASSERT_TRUE(ca_a && ca_b);
  EXPECT_NE(ca_a->ca_sha256, ca_b->ca_sha256);
  auto signer = CertificateAuthority::load(a.path());
  ASSERT_TRUE(signer);
  auto key = make_node_key_and_csr("n");
  ASSERT_TRUE(key);
  auto issued = signer->sign_node_csr(key->csr_pem, "n", wall_ms(), kYearMs);
  ASSERT_TRUE(issued);
  EXPECT_FALSE(verifies(issued->cert_pem, ca_b->ca_cert_pem, X509_PURPOSE_SSL_CLIENT));
}

TEST(Pki, CertInfoAndPinErrors) {
  EXPECT_FALSE(cert_info("not a cert"));
  EXPECT_FALSE(cert_sha256(""));
  EXPECT_FALSE(CertificateAuthority::load("/nonexistent/verge-pki"));
}

TEST(Pki, Tokens) {
  const std::string a = random_token(), b = random_token();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, b);
  for (char c : a) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  EXPECT_EQ(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(equal_constant_time(token_hash(a), token_hash(a)));
  EXPECT_FALSE(equal_constant_time(token_hash(a), token_hash(b)));
  EXPECT_FALSE(equal_constant_time("abc", "abcd"));
  EXPECT_FALSE(equal_constant_time("abd", "abc"));
  EXPECT_TRUE(equal_constant_time("", ""));
}

TEST(Pki, EnrolTokenRoundTrip) {
  const EnrolToken t{"node-1", random_token(), std::string(64, 'a')};
  const std::string text = format_enrol_token(t);
  EXPECT_EQ(text.rfind("vgt1.node-1.", 0), 0u);
  auto back = parse_enrol_token(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->node_id, t.node_id);
  EXPECT_EQ(back->secret, t.secret);
  EXPECT_EQ(back->ca_sha256, t.ca_sha256);
}

TEST(Pki, EnrolTokenParseErrors) {
  const std::string pin(64, 'f');
  const std::vector<std::string> bad{"",
                                     "vgt1",
                                     "vgt2.n.s." + pin,
                                     "vgt1.n.s",
                                     "vgt1.n.s." + pin + ".x",
                                     "vgt1..s." + pin,
                                     "vgt1.n..",
                                     "vgt1.n.." + pin,
                                     "vgt1.n/x.s." + pin,
                                     "vgt1.n.s!." + pin,
                                     "vgt1.n.s." + pin.substr(1),
                                     "vgt1.n.s." + std::string(64, 'G')};
  for (const auto& text : bad) {
    auto r = parse_enrol_token(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().message.rfind("token: ", 0), 0u) << r.error().message;
  }
}

}  // namespace
}  // namespace verge::sync
