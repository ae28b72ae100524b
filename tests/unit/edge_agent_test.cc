// The edge agent without a hub: start-up errors, the last applied desired state running before
// any connection, status, and a stop that returns while the hub is unreachable.
#include "sync/edge_agent.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/metrics.h"
#include "json_test_util.h"
#include "rules/bus.h"
#include "rules/manager.h"
#include "rules/uplink.h"
#include "segment_log_test_util.h"
#include "sync/edge_credentials.h"
#include "sync/edge_enrol.h"
#include "sync/edge_files.h"
#include "sync/pki.h"

namespace verge::sync {
namespace {

class NullBus final : public rules::Bus {
 public:
  uint64_t subscribe(std::string_view, Handler) override { return ++next_; }
  void unsubscribe(uint64_t) override {}
  void publish(std::string_view, std::string_view, uint8_t, bool) override {}

 private:
  uint64_t next_ = 0;
};

class EdgeAgentTest : public ::testing::Test {
 protected:
  EdgeAgentTest() : loops_(1) { loops_.start(); }
  ~EdgeAgentTest() override { loops_.stop(); }

  EdgeAgentOptions options() {
    EdgeAgentOptions o;
    o.data_dir = dir_.path();
    o.hub = "127.0.0.1:1";  // nothing listens there: the agent keeps retrying
    o.loops = &loops_;
    return o;
  }
  static std::string token() {
    return format_enrol_token({"node-1", "secret", std::string(64, 'a')});
  }

  store::testing::TempDir dir_;
  net::LoopGroup loops_;
};

TEST_F(EdgeAgentTest, StartUpErrors) {
  auto o = options();
  auto r = EdgeAgent::start(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "not enrolled: pass --token");

  o.token = "not-a-token";
  EXPECT_FALSE(EdgeAgent::start(o));

  o = options();
  o.token = token();
  o.hub = "no-port";
  r = EdgeAgent::start(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("HOST:PORT"), std::string::npos);
}

TEST_F(EdgeAgentTest, RunsTheLastAppliedStateBeforeAnyConnection) {
  ASSERT_TRUE(make_private_dir(dir_.path() + "/sync"));
  ASSERT_TRUE(write_file_atomic(dir_.path() + "/sync/applied.json", R"j({"version": 7,
    "streams": {"s": "CREATE STREAM s () WITH (DATASOURCE=\"in/#\")"},
    "rules": {"r1": {"sql": "SELECT * FROM s", "actions": [{"publish": {"topic": "o"}}]}}})j",
                                0600));
  NullBus bus;
  rules::ManagerOptions mo;
  mo.services.bus = &bus;
  auto rules = rules::RuleManager::create(std::move(mo));
  ASSERT_TRUE(rules);
  rules::UplinkOptions uo;
  uo.dir = dir_.path() + "/uplink";
  rules::UplinkStreams streams(uo);

  auto o = options();
  o.token = token();
  o.rules = rules->get();
  o.streams = &streams;
  auto agent = EdgeAgent::start(o);
  ASSERT_TRUE(agent) << agent.error().message;
  auto spec = (*rules)->spec("r1");
  ASSERT_TRUE(spec);
  EXPECT_TRUE(spec->from_config);

  const Value st = (*agent)->status();
  EXPECT_EQ(st.find("node")->as_string(), "node-1");
  EXPECT_EQ(st.find("applied_version")->as_int(), 7);
  EXPECT_FALSE(st.find("enrolled")->is_true());
  EXPECT_FALSE(st.find("connected")->is_true());
  ASSERT_TRUE(st.find("streams")->is_array());
  EXPECT_EQ(st.find("streams")->as_array().size(), 1u);  // "alarms", opened at start
  EXPECT_EQ(st.find("streams")->at(0)->find("stream")->as_string(), "alarms");

  metrics::Registry registry;
  (*agent)->register_metrics(registry);
  const std::string text = registry.render();
  EXPECT_NE(text.find("verge_sync_connected 0"), std::string::npos);
  EXPECT_NE(text.find("verge_sync_backlog_records{stream=\"alarms\"} 0"), std::string::npos);

  (*agent)->stop();  // returns although the hub never answered
  agent->reset();
  EXPECT_EQ(registry.render().find("verge_sync_backlog_records"), std::string::npos);
}

// The hub's enrolment answer is checked against the token's pin and the node id.
TEST(EdgeEnrolReply, AcceptsOnlyACertificateForThisNodeFromThePinnedCa) {
  store::testing::TempDir dir;
  auto ca_files = load_or_create_ca(dir.path() + "/pki", {});
  ASSERT_TRUE(ca_files) << ca_files.error().message;
  auto ca = CertificateAuthority::load(dir.path() + "/pki");
  ASSERT_TRUE(ca) << ca.error().message;
  auto key = make_node_key_and_csr("node-1");
  ASSERT_TRUE(key);
  const int64_t now = 1'800'000'000'000;
  auto cert = ca->sign_node_csr(key->csr_pem, "node-1", now, 3600'000);
  ASSERT_TRUE(cert) << cert.error().message;

  EnrolRequest req;
  req.hub = "hub:8883";
  req.token = {"node-1", "secret", ca_files->ca_sha256};
  const std::string reply =
      Value(ValueObject{{"cert", cert->cert_pem}, {"ca", ca->ca_cert_pem()}}).to_json();
  auto ok = credentials_from_reply(reply, req, *key);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->node_id, "node-1");
  EXPECT_EQ(ok->hub, "hub:8883");
  EXPECT_EQ(ok->key_pem, key->key_pem);
  EXPECT_EQ(ok->ca_pem, ca->ca_cert_pem());

  EnrolRequest other_pin = req;
  other_pin.token.ca_sha256 = std::string(64, 'b');
  auto bad = credentials_from_reply(reply, other_pin, *key);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("pin"), std::string::npos);

  EnrolRequest other_node = req;
  other_node.token.node_id = "node-2";
  bad = credentials_from_reply(reply, other_node, *key);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("node-1"), std::string::npos);

  bad = credentials_from_reply(R"({"error":"token expired"})", req, *key);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("token expired"), std::string::npos);
  EXPECT_FALSE(credentials_from_reply("nope", req, *key));
}

TEST(EdgeCredentials, SaveThenLoad) {
  store::testing::TempDir dir;
  auto none = load_credentials(dir.path() + "/sync");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  NodeCredentials c{"node-1", "hub:8883", "KEY", "CERT", "CA"};
  ASSERT_TRUE(save_credentials(dir.path() + "/sync", c));
  EXPECT_EQ(std::filesystem::status(dir.path() + "/sync/node.key").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto back = load_credentials(dir.path() + "/sync");
  ASSERT_TRUE(back);
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ((*back)->node_id, "node-1");
  EXPECT_EQ((*back)->hub, "hub:8883");
  EXPECT_EQ((*back)->key_pem, "KEY");
  EXPECT_EQ((*back)->cert_pem, "CERT");
  EXPECT_EQ((*back)->ca_pem, "CA");
}

}  // namespace
}  // namespace verge::sync
