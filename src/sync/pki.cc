#include "sync/pki.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <utility>

#include "core/file.h"
#include "sync/topics.h"

namespace verge::sync {

namespace {

template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using Bn = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using Names = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;

constexpr int64_t kDayMs = int64_t{24} * 3600 * 1000;
constexpr int64_t kCaValidityMs = 3652 * kDayMs;     // 10 years
constexpr int64_t kServerValidityMs = 825 * kDayMs;  // what browsers accept; reissued early
constexpr int64_t kServerRenewBeforeMs = 30 * kDayMs;
// Certificates start a little in the past: a node whose clock lags the hub's still accepts them.
constexpr int64_t kBackdateMs = 5 * 60 * 1000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The oldest queued OpenSSL error as text (and the queue cleared, so it does not leak into the
// next caller's error).
std::string ssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Error pki_error(const std::string& what) { return Error{what + ": " + ssl_error()}; }

std::string hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 0xf]);
  }
  return out;
}

std::string sha256_hex(const void* data, size_t n) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data, n, md, &len, EVP_sha256(), nullptr);
  return hex(md, len);
}

Result<PKey> new_p256_key() {
  PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return unexpected(pki_error("cannot generate EC P-256 key"));
  return key;
}

bool is_p256(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC") != 1) return false;
  char group[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) !=
      1) {
    return false;
  }
  return std::string_view(group, len) == "prime256v1" || std::string_view(group, len) == "P-256";
}

Bio mem_bio(std::string_view text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

Result<Cert> parse_cert(std::string_view pem, std::string_view what) {
  if (pem.size() > (1u << 20)) return unexpected(Error{std::string(what) + ": too large"});
  Bio bio = mem_bio(pem);
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return unexpected(Error{std::string(what) + ": not a PEM certificate"});
  }
  return cert;
}

Result<PKey> parse_key(std::string_view pem, std::string_view what) {
  Bio bio = mem_bio(pem);
  PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return unexpected(Error{std::string(what) + ": not a PEM private key"});
  }
  return key;
}

std::string cert_pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bio_text(bio.get());
}

std::string key_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  // PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: the file's mode 0600 protects it.
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}

std::string serial_hex(X509* cert) {
  Bn bn(ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr));
  if (!bn) return {};
  char* text = BN_bn2hex(bn.get());
  std::string out(text ? text : "");
  OPENSSL_free(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

int64_t not_after_ms(X509* cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return int64_t{timegm(&tm)} * 1000;
}

// A random positive 128-bit serial (RFC 5280 allows up to 20 octets; random makes them
// unguessable and unique without a counter to keep).
bool set_random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x40;  // and a full 16 octets, so every serial has the same length
  Bn bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

bool set_validity(X509* cert, int64_t from_ms, int64_t to_ms) {
  return ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(from_ms / 1000)) &&
         ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(to_ms / 1000));
}

bool set_cn(X509_NAME* name, std::string_view cn) {
  return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(cn.data()),
                                    static_cast<int>(cn.size()), -1, 0) == 1;
}

// Adds `value` (openssl.cnf syntax) as extension `nid`. `issuer` null: self-signed.
bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1;
}

// Subject alternative names: IP literals as IP addresses, everything else as DNS names.
bool add_sans(X509* cert, const std::vector<std::string>& names) {
  Names gens(sk_GENERAL_NAME_new_null());
  if (!gens) return false;
  for (const auto& n : names) {
    unsigned char addr[16];
    const bool ip =
        inet_pton(AF_INET, n.c_str(), addr) == 1 || inet_pton(AF_INET6, n.c_str(), addr) == 1;
    ASN1_STRING* value = nullptr;
    if (ip) {
      value = a2i_IPADDRESS(n.c_str());
    } else {
      value = ASN1_IA5STRING_new();
      if (value && ASN1_STRING_set(value, n.data(), static_cast<int>(n.size())) != 1) {
        ASN1_STRING_free(value);
        value = nullptr;
      }
    }
    GENERAL_NAME* g = value ? GENERAL_NAME_new() : nullptr;
    if (!g) {
      ASN1_STRING_free(value);
      return false;
    }
    GENERAL_NAME_set0_value(g, ip ? GEN_IPADD : GEN_DNS, value);
    if (sk_GENERAL_NAME_push(gens.get(), g) == 0) {
      GENERAL_NAME_free(g);
      return false;
    }
  }
  return X509_add1_ext_i2d(cert, NID_subject_alt_name, gens.get(), 0, 0) == 1;
}

bool sign(X509* cert, EVP_PKEY* key) { return X509_sign(cert, key, EVP_sha256()) > 0; }

// Write to a temporary file beside `path` with `mode`, fsync, rename over `path`, fsync the
// directory: a crash leaves either the old file or the new one, never a torn key.
Result<void> write_file_atomic(const std::string& path, std::string_view text, mode_t mode) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const char* what) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return unexpected(Error{std::string("cannot ") + what + " " + path + ": " + std::strerror(e)});
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail("create");
  // O_CREAT applies the umask, and an old tmp file keeps its mode: set it explicitly.
  if (::fchmod(fd, mode) != 0) {
    ::close(fd);
    return fail("chmod");
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return fail("write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return fail("fsync");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

struct CaPair {
  PKey key;
  Cert cert;
};

Result<CaPair> create_ca(const std::string& dir) {
  auto key = new_p256_key();
  if (!key) return unexpected(key.error());
  Cert cert(X509_new());
  const int64_t now = now_ms();
  const bool ok = cert && X509_set_version(cert.get(), X509_VERSION_3) &&
                  set_random_serial(cert.get()) &&
                  set_validity(cert.get(), now - kBackdateMs, now + kCaValidityMs) &&
                  set_cn(X509_get_subject_name(cert.get()), "verge hub CA") &&
                  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) &&
                  X509_set_pubkey(cert.get(), key->get()) &&
                  add_ext(cert.get(), nullptr, NID_basic_constraints, "critical,CA:TRUE") &&
                  add_ext(cert.get(), nullptr, NID_key_usage, "critical,keyCertSign,cRLSign") &&
                  add_ext(cert.get(), nullptr, NID_subject_key_identifier, "hash") &&
                  sign(cert.get(), key->get());
  if (!ok) return unexpected(pki_error("cannot make the CA certificate"));
  // Key first: a crash before the certificate is written makes a new CA next time (no node can
  // hold a certificate of a CA whose certificate was never written).
  auto wrote = write_file_atomic(dir + "/ca.key", key_pem(key->get()), 0600);
  if (!wrote) return unexpected(wrote.error());
  wrote = write_file_atomic(dir + "/ca.crt", cert_pem(cert.get()), 0644);
  if (!wrote) return unexpected(wrote.error());
  return CaPair{std::move(*key), std::move(cert)};
}

Result<CaPair> load_ca_files(const std::string& dir) {
  auto key_text = read_text_file(dir + "/ca.key", "CA key");
  if (!key_text) return unexpected(key_text.error());
  auto cert_text = read_text_file(dir + "/ca.crt", "CA certificate");
  if (!cert_text) return unexpected(cert_text.error());
  auto key = parse_key(*key_text, dir + "/ca.key");
  if (!key) return unexpected(key.error());
  auto cert = parse_cert(*cert_text, dir + "/ca.crt");
  if (!cert) return unexpected(cert.error());
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return unexpected(Error{dir + "/ca.key does not match " + dir + "/ca.crt"});
  }
  return CaPair{std::move(*key), std::move(*cert)};
}

// The SAN list as stored in server.names: the operator's names, then localhost and 127.0.0.1,
// without repeats, one a line.
std::vector<std::string> server_san_list(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    if (!n.empty() && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  for (const char* n : {"localhost", "127.0.0.1"}) {
    if (std::find(out.begin(), out.end(), n) == out.end()) out.emplace_back(n);
  }
  return out;
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

// The server certificate is kept when it was issued by this CA for the same names and is not
// close to expiry.
bool server_cert_current(const std::string& dir, const CaPair& ca, const std::string& names_text) {
  auto stored_names = read_text_file(dir + "/server.names", "server names");
  if (!stored_names || *stored_names != names_text) return false;
  auto chain = read_text_file(dir + "/server.crt", "server certificate");
  auto key_text = read_text_file(dir + "/server.key", "server key");
  if (!chain || !key_text) return false;
  auto cert = parse_cert(*chain, "server.crt");
  auto key = parse_key(*key_text, "server.key");
  if (!cert || !key) return false;
  EVP_PKEY* ca_pub = X509_get0_pubkey(ca.cert.get());
  const bool ok = X509_verify(cert->get(), ca_pub) == 1 &&
                  X509_check_private_key(cert->get(), key->get()) == 1 &&
                  not_after_ms(cert->get()) > now_ms() + kServerRenewBeforeMs;
  ERR_clear_error();
  return ok;
}

Result<void> issue_server_cert(const std::string& dir, const CaPair& ca,
                               const std::vector<std::string>& sans) {
  auto key = new_p256_key();
  if (!key) return unexpected(key.error());
  Cert cert(X509_new());
  const int64_t now = now_ms();
  const bool ok =
      cert && X509_set_version(cert.get(), X509_VERSION_3) && set_random_serial(cert.get()) &&
      set_validity(cert.get(), now - kBackdateMs, now + kServerValidityMs) &&
      set_cn(X509_get_subject_name(cert.get()), sans.front()) &&
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.cert.get())) &&
      X509_set_pubkey(cert.get(), key->get()) &&
      add_ext(cert.get(), ca.cert.get(), NID_basic_constraints, "critical,CA:FALSE") &&
      add_ext(cert.get(), ca.cert.get(), NID_key_usage, "critical,digitalSignature") &&
      add_ext(cert.get(), ca.cert.get(), NID_ext_key_usage, "serverAuth") &&
      add_ext(cert.get(), ca.cert.get(), NID_subject_key_identifier, "hash") &&
      add_ext(cert.get(), ca.cert.get(), NID_authority_key_identifier, "keyid:always") &&
      add_sans(cert.get(), sans) && sign(cert.get(), ca.key.get());
  if (!ok) return unexpected(pki_error("cannot make the server certificate"));
  // Key, then chain, then names: the names file is the commit point (a crash before it makes the
  // next start issue again).
  auto wrote = write_file_atomic(dir + "/server.key", key_pem(key->get()), 0600);
  if (!wrote) return unexpected(wrote.error());
  wrote =
      write_file_atomic(dir + "/server.crt", cert_pem(cert.get()) + cert_pem(ca.cert.get()), 0644);
  if (!wrote) return unexpected(wrote.error());
  return write_file_atomic(dir + "/server.names", join_lines(sans), 0644);
}

bool base64url_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

Result<CaFiles> load_or_create_ca(const std::string& dir,
                                  const std::vector<std::string>& server_names) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return unexpected(Error{"cannot create " + dir + ": " + ec.message()});
  const bool have_cert = file_exists(dir + "/ca.crt");
  if (have_cert && !file_exists(dir + "/ca.key")) {
    return unexpected(Error{dir + "/ca.key is missing (but " + dir + "/ca.crt exists)"});
  }
  auto ca = have_cert ? load_ca_files(dir) : create_ca(dir);
  if (!ca) return unexpected(ca.error());

  const auto sans = server_san_list(server_names);
  if (!server_cert_current(dir, *ca, join_lines(sans))) {
    auto issued = issue_server_cert(dir, *ca, sans);
    if (!issued) return unexpected(issued.error());
  }

  CaFiles files;
  files.ca_cert_pem = cert_pem(ca->cert.get());
  auto pin = cert_sha256(files.ca_cert_pem);
  if (!pin) return unexpected(pin.error());
  files.ca_sha256 = *pin;
  files.server_cert_file = dir + "/server.crt";
  files.server_key_file = dir + "/server.key";
  files.ca_cert_file = dir + "/ca.crt";
  return files;
}

Result<CertificateAuthority> CertificateAuthority::load(const std::string& dir) {
  auto ca = load_ca_files(dir);
  if (!ca) return unexpected(ca.error());
  CertificateAuthority out;
  out.ca_pem_ = cert_pem(ca->cert.get());
  out.key_ = ca->key.release();
  out.cert_ = ca->cert.release();
  return out;
}

CertificateAuthority::CertificateAuthority(CertificateAuthority&& o) noexcept
    : key_(std::exchange(o.key_, nullptr)),
      cert_(std::exchange(o.cert_, nullptr)),
      ca_pem_(std::move(o.ca_pem_)) {}

CertificateAuthority& CertificateAuthority::operator=(CertificateAuthority&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
    X509_free(static_cast<X509*>(cert_));
    key_ = std::exchange(o.key_, nullptr);
    cert_ = std::exchange(o.cert_, nullptr);
    ca_pem_ = std::move(o.ca_pem_);
  }
  return *this;
}

CertificateAuthority::~CertificateAuthority() {
  EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
  X509_free(static_cast<X509*>(cert_));
}

Result<IssuedCert> CertificateAuthority::sign_node_csr(std::string_view csr_pem,
                                                       std::string_view node_id, int64_t now_ms,
                                                       int64_t validity_ms) const {
  if (!topics::valid_name(node_id)) return unexpected(Error{"csr: invalid node id"});
  if (csr_pem.size() > (64u << 10)) return unexpected(Error{"csr: not PEM"});
  Bio bio = mem_bio(csr_pem);
  Req req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    ERR_clear_error();
    return unexpected(Error{"csr: not PEM"});
  }
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  if (!pub || !is_p256(pub)) {
    ERR_clear_error();
    return unexpected(Error{"csr: not EC P-256"});
  }
  if (X509_REQ_verify(req.get(), pub) != 1) {
    ERR_clear_error();
    return unexpected(Error{"csr: bad signature"});
  }

  auto* ca_cert = static_cast<X509*>(cert_);
  auto* ca_key = static_cast<EVP_PKEY*>(key_);
  Cert cert(X509_new());
  // The subject is ours, not the CSR's: CN=<node id> is the identity the broker's ACL uses.
  const bool ok = cert && X509_set_version(cert.get(), X509_VERSION_3) &&
                  set_random_serial(cert.get()) &&
                  set_validity(cert.get(), now_ms - kBackdateMs, now_ms + validity_ms) &&
                  set_cn(X509_get_subject_name(cert.get()), node_id) &&
                  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert)) &&
                  X509_set_pubkey(cert.get(), pub) &&
                  add_ext(cert.get(), ca_cert, NID_basic_constraints, "critical,CA:FALSE") &&
                  add_ext(cert.get(), ca_cert, NID_key_usage, "critical,digitalSignature") &&
                  add_ext(cert.get(), ca_cert, NID_ext_key_usage, "clientAuth") &&
                  add_ext(cert.get(), ca_cert, NID_subject_key_identifier, "hash") &&
                  add_ext(cert.get(), ca_cert, NID_authority_key_identifier, "keyid:always") &&
                  sign(cert.get(), ca_key);
  if (!ok) return unexpected(pki_error("cannot sign the node certificate"));
  IssuedCert out;
  out.cert_pem = cert_pem(cert.get());
  out.serial_hex = serial_hex(cert.get());
  out.not_after_ms = not_after_ms(cert.get());
  return out;
}

Result<NodeKey> make_node_key_and_csr(std::string_view node_id) {
  auto key = new_p256_key();
  if (!key) return unexpected(key.error());
  Req req(X509_REQ_new());
  X509_NAME* name = req ? X509_REQ_get_subject_name(req.get()) : nullptr;
  const bool ok = req && X509_REQ_set_version(req.get(), 0) && name && set_cn(name, node_id) &&
                  X509_REQ_set_pubkey(req.get(), key->get()) &&
                  X509_REQ_sign(req.get(), key->get(), EVP_sha256()) > 0;
  if (!ok) return unexpected(pki_error("cannot make the CSR"));
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  NodeKey out;
  out.key_pem = key_pem(key->get());
  out.csr_pem = bio_text(bio.get());
  return out;
}

Result<std::string> cert_sha256(std::string_view pem) {
  auto cert = parse_cert(pem, "certificate");
  if (!cert) return unexpected(cert.error());
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert->get(), &der);
  if (n <= 0) return unexpected(pki_error("certificate"));
  std::string out = sha256_hex(der, static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

Result<CertInfo> cert_info(std::string_view pem) {
  auto cert = parse_cert(pem, "certificate");
  if (!cert) return unexpected(cert.error());
  CertInfo info;
  X509_NAME* subject = X509_get_subject_name(cert->get());
  const int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx >= 0) {
    unsigned char* utf8 = nullptr;
    const int n =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
    if (n >= 0) info.common_name.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
  }
  info.serial_hex = serial_hex(cert->get());
  info.not_after_ms = not_after_ms(cert->get());
  return info;
}

std::string random_token() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char bytes[33];  // 32 random bytes, one zero byte of padding for the last group
  bytes[32] = 0;
  if (RAND_bytes(bytes, 32) != 1) std::abort();  // no randomness: nothing safe to hand out
  std::string out;
  out.reserve(44);
  for (size_t i = 0; i < 33; i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 0x3f]);
  }
  out.resize(43);  // 256 bits = 42 full characters and 4 bits
  return out;
}

std::string token_hash(std::string_view token) { return sha256_hex(token.data(), token.size()); }

bool equal_constant_time(std::string_view a, std::string_view b) {
  // The length is not secret (hashes and tokens have fixed lengths); the contents are.
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string format_enrol_token(const EnrolToken& t) {
  return "vgt1." + t.node_id + "." + t.secret + "." + t.ca_sha256;
}

Result<EnrolToken> parse_enrol_token(std::string_view text) {
  const Error bad{"token: expected vgt1.<node>.<secret>.<ca-sha256>"};
  std::vector<std::string_view> parts;
  while (parts.size() < 5) {
    const size_t dot = text.find('.');
    parts.push_back(text.substr(0, dot));
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  if (parts.size() != 4 || parts[0] != "vgt1") return unexpected(bad);
  EnrolToken t{std::string(parts[1]), std::string(parts[2]), std::string(parts[3])};
  if (!topics::valid_name(t.node_id)) return unexpected(Error{"token: invalid node id"});
  if (t.secret.empty() || t.secret.size() > 256 ||
      !std::all_of(t.secret.begin(), t.secret.end(), base64url_char)) {
    return unexpected(Error{"token: invalid secret"});
  }
  if (t.ca_sha256.size() != 64 || !lower_hex(t.ca_sha256)) {
    return unexpected(Error{"token: the CA pin is not 64 hex digits"});
  }
  return t;
}

}  // namespace verge::sync
