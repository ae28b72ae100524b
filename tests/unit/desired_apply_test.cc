// Desired state applied to real device and rule managers: only changed items, configuration items
// (read-only for REST), a failed item keeps what ran, persistence and restore after a restart.
#include "sync/desired_apply.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "device_test_util.h"
#include "devices/manager.h"
#include "json_test_util.h"
#include "net/loop_group.h"
#include "rules/manager.h"

namespace verge::sync {
namespace {

using devices::testing::FakeBus;
using devices::testing::FakeControl;
using devices::testing::FakeFactory;
using test::json;

constexpr std::string_view kV1 = R"j({"version": 1,
  "profiles": {"boiler": {"protocol": "fake", "points": [
      {"name": "temp", "address": "reg:0", "type": "int16"}]}},
  "devices": {"b1": {"profile": "boiler", "connection": {}}},
  "streams": {"s": "CREATE STREAM s () WITH (DATASOURCE=\"in/#\")"},
  "rules": {"r1": {"sql": "SELECT * FROM s", "actions": [{"publish": {"topic": "out/a"}}]}}})j";

// v1 with only the rule changed.
constexpr std::string_view kV2 = R"j({"version": 2,
  "profiles": {"boiler": {"protocol": "fake", "points": [
      {"name": "temp", "address": "reg:0", "type": "int16"}]}},
  "devices": {"b1": {"profile": "boiler", "connection": {}}},
  "streams": {"s": "CREATE STREAM s () WITH (DATASOURCE=\"in/#\")"},
  "rules": {"r1": {"sql": "SELECT temp FROM s", "actions": [{"publish": {"topic": "out/a"}}]}}})j";

// v2 with a broken rule r1 and a new good rule r2.
constexpr std::string_view kV3 = R"j({"version": 3,
  "profiles": {"boiler": {"protocol": "fake", "points": [
      {"name": "temp", "address": "reg:0", "type": "int16"}]}},
  "devices": {"b1": {"profile": "boiler", "connection": {}}},
  "streams": {"s": "CREATE STREAM s () WITH (DATASOURCE=\"in/#\")"},
  "rules": {"r1": {"sql": "SELEC nonsense FROM", "actions": [{"publish": {"topic": "out/a"}}]},
            "r2": {"sql": "SELECT * FROM s", "actions": [{"publish": {"topic": "out/b"}}]}}})j";

class DesiredApplyTest : public ::testing::Test {
 protected:
  DesiredApplyTest() : loops_(1) {
    char tmpl[] = "/tmp/verge_desired_apply_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
    registry_.add(std::make_unique<FakeFactory>("fake", true, &control_));
    loops_.start();
    open_managers();
  }
  ~DesiredApplyTest() override {
    close_managers();
    loops_.stop();
    std::filesystem::remove_all(dir_);
  }

  void open_managers() {
    devices::DeviceManagerOptions d;
    d.loops = &loops_;
    d.bus = &bus_;
    d.meta_path = dir_ + "/meta.db";
    d.adapters = &registry_;
    auto dm = devices::DeviceManager::create(std::move(d));
    ASSERT_TRUE(dm) << dm.error().message;
    devices_ = std::move(*dm);
    rules::ManagerOptions r;
    r.services.bus = &bus_;
    auto rm = rules::RuleManager::create(std::move(r));
    ASSERT_TRUE(rm) << rm.error().message;
    rules_ = std::move(*rm);
  }
  void close_managers() {
    rules_.reset();
    if (devices_) devices_->stop();
    devices_.reset();
  }
  std::string sync_dir() const { return dir_ + "/sync"; }
  // Every start or restart posted to the device's loop so far has run.
  void settle_device() {
    ASSERT_TRUE(control_.on_loop("b1", [](auto&) {}));
  }

  std::string dir_;
  FakeControl control_;
  devices::AdapterRegistry registry_;
  net::LoopGroup loops_;
  FakeBus bus_;
  std::unique_ptr<devices::DeviceManager> devices_;
  std::unique_ptr<rules::RuleManager> rules_;
};

TEST_F(DesiredApplyTest, AppliesOnlyWhatChangedAsConfigurationItems) {
  DesiredApplier applier(sync_dir(), devices_.get(), rules_.get());
  auto r1 = applier.apply(json(kV1));
  ASSERT_TRUE(r1) << r1.error().message;
  EXPECT_EQ(r1->applied,
            (std::vector<std::string>{"profiles/boiler", "devices/b1", "streams/s", "rules/r1"}));
  EXPECT_TRUE(r1->failed.empty());
  EXPECT_EQ(applier.applied_version(), 1);
  devices_->start();
  ASSERT_TRUE(devices::testing::eventually([&] { return control_.starts.load() == 1; }));

  // Items from the hub are read-only for the node's REST API.
  auto dev = devices_->device("b1");
  ASSERT_TRUE(dev.has_value());
  EXPECT_TRUE(dev->find("from_config")->is_true());
  auto rest_put = devices_->put_device(json(R"({"id":"b1","profile":"boiler"})"), false);
  ASSERT_FALSE(rest_put);
  EXPECT_EQ(rest_put.error().code, devices::DeviceErrorCode::ReadOnly);
  auto rest_remove = rules_->remove("r1");
  ASSERT_FALSE(rest_remove);
  EXPECT_EQ(rest_remove.error().code, rules::RuleErrc::Conflict);

  auto r2 = applier.apply(json(kV2));
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(r2->applied, std::vector<std::string>{"rules/r1"});
  EXPECT_EQ(r2->unchanged, 3u);
  settle_device();
  EXPECT_EQ(control_.starts.load(), 1);  // the device was not put again (a put restarts it)
  auto spec = rules_->spec("r1");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->sql, "SELECT temp FROM s");
  EXPECT_TRUE(spec->from_config);

  // The same document again changes nothing.
  auto again = applier.apply(json(kV2));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->applied.empty());
  EXPECT_EQ(again->unchanged, 4u);
}

TEST_F(DesiredApplyTest, FailedItemKeepsWhatRanAndIsReported) {
  DesiredApplier applier(sync_dir(), devices_.get(), rules_.get());
  ASSERT_TRUE(applier.apply(json(kV2)));
  auto r3 = applier.apply(json(kV3));
  ASSERT_TRUE(r3) << r3.error().message;
  ASSERT_EQ(r3->failed.size(), 1u);
  EXPECT_EQ(r3->failed[0].item, "rules/r1");
  EXPECT_FALSE(r3->failed[0].error.empty());
  EXPECT_EQ(r3->applied, std::vector<std::string>{"rules/r2"});
  EXPECT_EQ(r3->version, 3);

  // r1 keeps running its previous spec, and the applied state says so.
  auto spec = rules_->spec("r1");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->sql, "SELECT temp FROM s");
  EXPECT_EQ(applier.applied().find("rules")->find("r1")->find("sql")->as_string(),
            "SELECT temp FROM s");
  EXPECT_TRUE(rules_->spec("r2"));

  const Value report = r3->to_value();
  EXPECT_EQ(report.find("failed")->at(0)->find("item")->as_string(), "rules/r1");
  EXPECT_EQ(report.find("version")->as_int(), 3);

  std::ifstream in(sync_dir() + "/applied.json");
  std::stringstream text;
  text << in.rdbuf();
  auto saved = parse_json(text.str());
  ASSERT_TRUE(saved.has_value());
  EXPECT_EQ(saved->find("version")->as_int(), 3);
  EXPECT_EQ(saved->find("rules")->find("r1")->find("sql")->as_string(), "SELECT temp FROM s");
}

TEST_F(DesiredApplyTest, RestoreAfterARestartRunsTheSameItems) {
  {
    DesiredApplier applier(sync_dir(), devices_.get(), rules_.get());
    ASSERT_TRUE(applier.apply(json(kV2)));
  }
  close_managers();
  open_managers();  // a restart: configuration items are not in meta.db
  EXPECT_FALSE(devices_->device("b1").has_value());
  EXPECT_FALSE(rules_->spec("r1"));

  DesiredApplier applier(sync_dir(), devices_.get(), rules_.get());
  auto r = applier.restore();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->applied.size(), 4u);
  EXPECT_TRUE(r->failed.empty());
  EXPECT_EQ(applier.applied_version(), 2);
  EXPECT_TRUE(devices_->device("b1").has_value());
  auto spec = rules_->spec("r1");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->sql, "SELECT temp FROM s");
  EXPECT_EQ(rules_->streams().size(), 1u);
}

TEST_F(DesiredApplyTest, RestoreWithoutAFileIsEmpty) {
  DesiredApplier applier(sync_dir(), devices_.get(), rules_.get());
  auto r = applier.restore();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->applied.empty());
  EXPECT_EQ(applier.applied_version(), 0);
}

TEST_F(DesiredApplyTest, RemovedRuleAndStreamAreDeleted) {
  DesiredApplier applier(sync_dir(), devices_.get(), rules_.get());
  ASSERT_TRUE(applier.apply(json(kV2)));
  auto r = applier.apply(json(R"j({"version": 5,
    "profiles": {"boiler": {"protocol": "fake", "points": [
      {"name": "temp", "address": "reg:0", "type": "int16"}]}},
    "devices": {"b1": {"profile": "boiler", "connection": {}}}})j"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->applied, (std::vector<std::string>{"rules/r1", "streams/s"}));
  EXPECT_FALSE(rules_->spec("r1"));
  EXPECT_TRUE(rules_->streams().empty());
  EXPECT_EQ(applier.applied().find("rules")->as_object().size(), 0u);
}

TEST_F(DesiredApplyTest, BadDocumentIsRefusedWholeAndMissingManagerFailsItsKinds) {
  DesiredApplier applier(sync_dir(), nullptr, rules_.get());
  auto bad = applier.apply(json(R"({"devices": []})"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("devices"), std::string::npos);

  auto r = applier.apply(json(kV1));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->failed.size(), 2u);
  EXPECT_EQ(r->failed[0].item, "profiles/boiler");
  EXPECT_EQ(r->failed[1].item, "devices/b1");
  EXPECT_EQ(r->applied, (std::vector<std::string>{"streams/s", "rules/r1"}));
}

}  // namespace
}  // namespace verge::sync
