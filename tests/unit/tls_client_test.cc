// net::TlsClientContext: settings errors, and handshakes of mqtt::Client against the broker's
// TLS listener (CA file, CA pin, client certificates, a server certificate without serverAuth).
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "mqtt_client_test_util.h"
#include "net/tls_client.h"
#include "sync/pki.h"
#include "test_certs.h"

namespace verge::test {
namespace {

TEST(TlsClientContext, SettingsErrorsSayWhatIsWrong) {
  auto none = net::TlsClientContext::create({});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "no CA and no pin");

  auto bad_pin = net::TlsClientContext::create({"", "abc", "", ""});
  ASSERT_FALSE(bad_pin);
  EXPECT_NE(bad_pin.error().message.find("64 hex digits"), std::string::npos);

  char tmpl[] = "/tmp/verge-tls-client-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  TestPki pki = make_test_pki(dir);
  ASSERT_TRUE(pki.ok);
  ClientCreds one = make_client_cert(pki, "one");
  ClientCreds two = make_client_cert(pki, "two");
  ASSERT_TRUE(one.ok && two.ok);
  auto mismatch = net::TlsClientContext::create({pki.ca_pem, "", one.cert_pem, two.key_pem});
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().message, "client key does not match certificate");

  auto no_key = net::TlsClientContext::create({pki.ca_pem, "", one.cert_pem, ""});
  ASSERT_FALSE(no_key);

  auto not_pem = net::TlsClientContext::create({"not a certificate", "", "", ""});
  ASSERT_FALSE(not_pem);

  EXPECT_TRUE(net::TlsClientContext::create({pki.ca_pem, "", one.cert_pem, one.key_pem}));
  EXPECT_TRUE(net::TlsClientContext::create({"", pki.ca_sha256, "", ""}));
  std::string upper = pki.ca_sha256;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_TRUE(net::TlsClientContext::create({"", "sha256:" + upper, "", ""}));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

class TlsClient : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    pki_ = make_test_pki(dir_);
    ASSERT_TRUE(pki_.ok);
    cfg.mqtt_listen.reset();
    cfg.mqtts_listen = ListenAddress{"127.0.0.1", 0};
    cfg.tls.cert_file = pki_.server_cert_file;
    cfg.tls.key_file = pki_.server_key_file;
    cfg.tls.ca_file = pki_.ca_file;
  }
  mqtt::ClientOptions tls_options(const std::string& id, const net::TlsClientSettings& s) {
    auto ctx = net::TlsClientContext::create(s);
    EXPECT_TRUE(ctx) << ctx.error().message;
    auto o = options(id, "mqtts");
    o.reconnect = false;
    if (ctx) o.tls = *ctx;
    return o;
  }
  // Connects once; returns "" when connected, else the on_disconnected reason.
  std::string try_connect(const net::TlsClientSettings& s, ClientEvents& ev,
                          const std::string& id = "c") {
    add_client(tls_options(id, s), ev);
    EXPECT_TRUE(ev.wait([&] { return ev.connected > 0 || !ev.disconnects.empty(); }));
    std::lock_guard lock(ev.mu);
    return ev.connected > 0 ? "" : ev.disconnects.empty() ? "timeout" : ev.disconnects[0];
  }
  TestPki pki_;
};

TEST_F(TlsClient, ClientCertificateIdentityIsTheUsername) {
  cfg.tls.require_client_cert = true;
  cfg.tls.identity_from_cert = true;
  cfg.acl_file = file("acl.conf", "allow all authenticated nodes/%u/#\n");
  start_broker();
  ClientCreds node = make_client_cert(pki_, "node-1");
  ASSERT_TRUE(node.ok);
  ClientEvents ev;
  ASSERT_EQ(try_connect({pki_.ca_pem, "", node.cert_pem, node.key_pem}, ev), "");
  mqtt::Client* c = clients_.back().get();
  run_on(loop(), [&] {
    c->publish("nodes/node-1/up", "mine", 1, false, ev.done());
    c->publish("nodes/node-2/up", "not mine", 1, false, ev.done());
  });
  ASSERT_TRUE(ev.wait([&] { return ev.results.size() == 2; }));
  std::lock_guard lock(ev.mu);
  EXPECT_TRUE(ev.results[0].ok()) << ev.results[0].error << " " << int(ev.results[0].reason);
  EXPECT_FALSE(ev.results[1].ok());
  EXPECT_GE(ev.results[1].reason, 0x80);
}

TEST_F(TlsClient, MissingClientCertificateIsRefused) {
  cfg.tls.require_client_cert = true;
  cfg.tls.identity_from_cert = true;
  start_broker();
  ClientEvents ev;
  const std::string why = try_connect({pki_.ca_pem, "", "", ""}, ev);
  EXPECT_NE(why, "");
  EXPECT_NE(why.find("tls"), std::string::npos) << why;
}

TEST_F(TlsClient, PinOfTheRootIsAccepted) {
  start_broker();
  ClientEvents ev;
  EXPECT_EQ(try_connect({"", pki_.ca_sha256, "", ""}, ev), "");
}

TEST_F(TlsClient, WrongPinIsRefused) {
  start_broker();
  ClientEvents ev;
  std::string wrong = pki_.ca_sha256;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  const std::string why = try_connect({"", wrong, "", ""}, ev);
  EXPECT_EQ(why, "tls: CA pin mismatch");
}

TEST_F(TlsClient, PinAndCaMustBothHold) {
  start_broker();
  ClientEvents ok, bad;
  EXPECT_EQ(try_connect({pki_.ca_pem, pki_.ca_sha256, "", ""}, ok, "ok"), "");
  std::string wrong = pki_.ca_sha256;
  wrong[1] = wrong[1] == 'a' ? 'b' : 'a';
  EXPECT_EQ(try_connect({pki_.ca_pem, wrong, "", ""}, bad, "bad"), "tls: CA pin mismatch");
}

TEST_F(TlsClient, OtherCaIsRefused) {
  start_broker();
  ClientEvents ev;
  std::filesystem::create_directories(dir_ + "/other");
  TestPki other = make_test_pki(dir_ + "/other");
  ASSERT_TRUE(other.ok);
  const std::string why = try_connect({other.ca_pem, "", "", ""}, ev);
  EXPECT_NE(why.find("tls: certificate verify failed"), std::string::npos) << why;
}

TEST_F(TlsClient, ServerCertificateWithoutServerAuthIsRefused) {
  // A node certificate (clientAuth only) from the same CA poses as the server.
  CertAndKey node = make_leaf_cert(pki_, "localhost", "clientAuth", "IP:127.0.0.1", "impostor");
  ASSERT_TRUE(node.ok);
  cfg.tls.cert_file = node.cert_file;
  cfg.tls.key_file = node.key_file;
  start_broker();
  ClientEvents by_ca, by_pin;
  std::string why = try_connect({pki_.ca_pem, "", "", ""}, by_ca, "a");
  EXPECT_NE(why.find("tls: certificate verify failed"), std::string::npos) << why;
  EXPECT_NE(why.find("purpose"), std::string::npos) << why;
  // The server completes its chain from its tls-ca store, so the root is there: the pin holds
  // and the purpose check refuses.
  why = try_connect({"", pki_.ca_sha256, "", ""}, by_pin, "b");
  EXPECT_NE(why.find("purpose"), std::string::npos) << why;
}

// The same with the chain in the certificate file (no tls-ca on the server).
TEST_F(TlsClient, ServerCertificateWithoutServerAuthIsRefusedByPinToo) {
  CertAndKey node = make_leaf_cert(pki_, "localhost", "clientAuth", "IP:127.0.0.1", "impostor");
  ASSERT_TRUE(node.ok);
  const std::string chain = dir_ + "/impostor-chain.crt";
  file("impostor-chain.crt", node.cert_pem + pki_.ca_pem);
  cfg.tls.cert_file = chain;
  cfg.tls.key_file = node.key_file;
  cfg.tls.ca_file.clear();
  start_broker();
  ClientEvents ev;
  const std::string why = try_connect({"", pki_.ca_sha256, "", ""}, ev);
  EXPECT_NE(why.find("tls: certificate verify failed"), std::string::npos) << why;
  EXPECT_NE(why.find("purpose"), std::string::npos) << why;
}

// The CONNECT hook sees the client certificate's serial formatted exactly as the hub's CA records
// it at enrolment (IssuedCert::serial_hex), so the hub can tell a node's current certificate from
// an older one with the same CN.
TEST_F(TlsClient, ConnectHookSeesTheCertificateSerialAsTheCaRecordsIt) {
  auto ca_files = sync::load_or_create_ca(dir_ + "/hub-ca", {});
  ASSERT_TRUE(ca_files) << ca_files.error().message;
  auto ca = sync::CertificateAuthority::load(dir_ + "/hub-ca");
  ASSERT_TRUE(ca) << ca.error().message;
  auto key = sync::make_node_key_and_csr("node-1");
  ASSERT_TRUE(key) << key.error().message;
  auto issued = ca->sign_node_csr(key->csr_pem, "node-1", wall_ms(), 3600'000);
  ASSERT_TRUE(issued) << issued.error().message;
  ASSERT_EQ(issued->serial_hex.size(), 32u);  // random 128-bit serial

  // Both CAs are trusted: the hub's (random serials) and the test PKI's (small serials).
  file("both-cas.crt", ca_files->ca_cert_pem + pki_.ca_pem);
  cfg.tls.ca_file = dir_ + "/both-cas.crt";
  cfg.tls.cert_file = ca_files->server_cert_file;
  cfg.tls.key_file = ca_files->server_key_file;
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> seen;  // (identity, serial)
  hooks.on_connect = [&](const mqtt::ConnectCheck& c) {
    std::lock_guard lock(mu);
    seen.emplace_back(c.cert_identity, c.cert_serial);
    return mqtt::ConnectDecision{mqtt::ConnectDecision::Verdict::Allow, std::string(c.client_id)};
  };
  start_broker();
  ClientEvents node_ev, test_ev, anon_ev;
  ASSERT_EQ(
      try_connect({ca_files->ca_cert_pem, "", issued->cert_pem, key->key_pem}, node_ev, "node-1"),
      "");
  ClientCreds other = make_client_cert(pki_, "other");
  ASSERT_TRUE(other.ok);
  ASSERT_EQ(try_connect({ca_files->ca_cert_pem, "", other.cert_pem, other.key_pem}, test_ev, "o"),
            "");
  ASSERT_EQ(try_connect({ca_files->ca_cert_pem, "", "", ""}, anon_ev, "anon"), "");
  auto other_info = sync::cert_info(other.cert_pem);
  ASSERT_TRUE(other_info);
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].first, "node-1");
  EXPECT_EQ(seen[0].second, issued->serial_hex);
  EXPECT_EQ(seen[1].first, "other");
  EXPECT_EQ(seen[1].second, other_info->serial_hex);
  EXPECT_EQ(seen[1].second.size() % 2, 0u) << seen[1].second;  // whole octets
  EXPECT_EQ(seen[2].first, "");
  EXPECT_EQ(seen[2].second, "");  // no certificate, no serial
}

}  // namespace
}  // namespace verge::test
