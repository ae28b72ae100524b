// The hub's certificate authority and the node's key material (OpenSSL 3). Keys are EC P-256.
//
// Hub: on first start `load_or_create_ca` makes `<dir>/ca.key` (0600) and `<dir>/ca.crt`
// (self-signed, CA:TRUE, 10 years) and a server certificate for the edge listener (serverAuth,
// SANs: the given names and addresses, plus localhost and 127.0.0.1), reissued when the names
// change. At enrolment `sign_node_csr` signs a node's CSR: the subject is replaced by CN=<node id>
// (a node cannot choose its identity), clientAuth only, 1 year, a random 128-bit serial.
//
// Node: `make_node_key_and_csr` makes the key and the CSR the node sends with its token.
//
// Tokens: `random_token` gives 32 random bytes as base64url; tokens are stored as `token_hash`
// (hex SHA-256: they are random, so no slow hash is needed) and compared in constant time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace verge::sync {

struct CaFiles {
  std::string ca_cert_pem;       // the CA certificate (what nodes trust)
  std::string ca_sha256;         // hex SHA-256 of the CA certificate's DER (the token's pin)
  std::string server_cert_file;  // PEM chain (server cert + CA) for the edge listener
  std::string server_key_file;   // PEM key of it
  std::string ca_cert_file;      // path of ca.crt (for the listener's client verification)
};

// `dir` is created if needed. `server_names`: DNS names and IP literals for the server
// certificate's SANs. Errors name the file at fault.
Result<CaFiles> load_or_create_ca(const std::string& dir,
                                  const std::vector<std::string>& server_names);

struct IssuedCert {
  std::string cert_pem;
  std::string serial_hex;
  int64_t not_after_ms = 0;
};

class CertificateAuthority {
 public:
  // Loads <dir>/ca.key and <dir>/ca.crt (made by load_or_create_ca).
  static Result<CertificateAuthority> load(const std::string& dir);
  // Verifies the CSR's signature; errors: "csr: not PEM", "csr: bad signature", "csr: not EC
  // P-256".
  Result<IssuedCert> sign_node_csr(std::string_view csr_pem, std::string_view node_id,
                                   int64_t now_ms, int64_t validity_ms) const;
  const std::string& ca_cert_pem() const { return ca_pem_; }

  CertificateAuthority(CertificateAuthority&&) noexcept;
  CertificateAuthority& operator=(CertificateAuthority&&) noexcept;
  ~CertificateAuthority();

 private:
  CertificateAuthority() = default;
  void* key_ = nullptr;   // EVP_PKEY*
  void* cert_ = nullptr;  // X509*
  std::string ca_pem_;
};

struct NodeKey {
  std::string key_pem;  // PKCS#8 PEM private key
  std::string csr_pem;  // CSR with CN=<node_id>
};
Result<NodeKey> make_node_key_and_csr(std::string_view node_id);

// Hex SHA-256 of the DER of the first certificate in `pem` (what the token's pin is compared to).
Result<std::string> cert_sha256(std::string_view pem);
// The subject CN and the notAfter (ms) of the first certificate in `pem`.
struct CertInfo {
  std::string common_name, serial_hex;
  int64_t not_after_ms = 0;
};
Result<CertInfo> cert_info(std::string_view pem);

std::string random_token();                      // 43 characters of base64url
std::string token_hash(std::string_view token);  // hex SHA-256
bool equal_constant_time(std::string_view a, std::string_view b);

// Enrolment tokens name their node and pin the hub's CA:  vgt1.<node-id>.<secret>.<ca-sha256>
// (node ids are [A-Za-z0-9_-]{1,64}, so '.' separates unambiguously).
struct EnrolToken {
  std::string node_id, secret, ca_sha256;
};
std::string format_enrol_token(const EnrolToken& t);
Result<EnrolToken> parse_enrol_token(std::string_view text);  // "token: expected vgt1.<node>..."

}  // namespace verge::sync
