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

}  // namespace
}  // namespace verge::sync
