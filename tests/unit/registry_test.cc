// The hub registry on its embedded (SQLite) backend: the shared scenarios
// (registry_scenarios.h, also run against PostgreSQL by tests/pg) and SQLite-only checks.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "registry_scenarios.h"
#include "segment_log_test_util.h"
#include "store/sqlite.h"
#include "sync/registry_backend.h"

namespace verge::sync {
namespace {

using store::testing::TempDir;
using namespace verge::sync::testing;

class EmbeddedRegistry : public RegistryBackend {
 public:
  std::unique_ptr<Registry> open() override {
    RegistryOptions o;
    o.data_dir = dir_.path() + "/hub";  // created by open
    auto r = Registry::open(o);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? std::move(*r) : nullptr;
  }
  std::string path() const { return dir_.path() + "/hub/hub.db"; }

 private:
  TempDir dir_;
};

}  // namespace

VERGE_REGISTRY_SCENARIOS(RegistrySqlite, EmbeddedRegistry)

TEST(RegistrySqlite, UnknownStorageIsAnError) {
  RegistryOptions o;
  o.storage = "mysql://x";
  auto r = Registry::open(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("postgres://"), std::string::npos);
}

TEST(RegistrySqlite, NewerSchemaIsRefused) {
  EmbeddedRegistry backend;
  ASSERT_TRUE(backend.open());
  {
    auto db = store::Database::open(backend.path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("PRAGMA user_version=99"));
  }
  RegistryOptions o;
  o.data_dir = backend.path().substr(0, backend.path().size() - 7);
  auto r = Registry::open(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("schema version 99"), std::string::npos) << r.error().message;
}

TEST(RegistrySqlite, DamagedFileIsRefusedWithItsPath) {
  EmbeddedRegistry backend;
  ASSERT_TRUE(backend.open());
  {
    std::ofstream f(backend.path(), std::ios::trunc);
    f << std::string(8192, 'x');
  }
  RegistryOptions o;
  o.data_dir = backend.path().substr(0, backend.path().size() - 7);
  auto r = Registry::open(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find(backend.path()), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("restore a backup"), std::string::npos) << r.error().message;
}

namespace {

// A real backend whose commits can be made to fail, to show that a failed write changes nothing.
class FailingBackend : public registry_internal::Backend {
 public:
  explicit FailingBackend(std::unique_ptr<Backend> real) : real_(std::move(real)) {}
  Result<registry_internal::Snapshot> load() override { return real_->load(); }
  Result<void> commit(const std::vector<registry_internal::Op>& ops) override {
    if (*fail) return unexpected(Error{"disk full"});
    return real_->commit(ops);
  }
  Result<void> append_audit(const AuditEntry& e) override {
    if (*fail) return unexpected(Error{"disk full"});
    return real_->append_audit(e);
  }
  Result<std::vector<AuditEntry>> read_audit(int64_t after, size_t limit) override {
    return real_->read_audit(after, limit);
  }
  std::shared_ptr<bool> fail = std::make_shared<bool>(false);

 private:
  std::unique_ptr<Backend> real_;
};

}  // namespace

TEST(RegistrySqlite, FailedWriteChangesNothing) {
  TempDir dir;
  auto sqlite = registry_internal::open_sqlite_backend(dir.path());
  ASSERT_TRUE(sqlite);
  auto failing = std::make_unique<FailingBackend>(std::move(*sqlite));
  std::shared_ptr<bool> fail = failing->fail;
  auto opened = registry_internal::open_registry(RegistryOptions{}, std::move(failing));
  ASSERT_TRUE(opened);
  auto& r = *opened;
  auto token = r->create_node("n1", "", {{"site", "a"}}, kT0);
  ASSERT_TRUE(token);
  ASSERT_TRUE(
      r->put_desired(selector_scope("site=a"), registry_json(R"({"streams":{"s":"x"}})"), kT0));

  *fail = true;
  auto e = r->create_node("n2", "", {}, kT0);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().message, "disk full");
  EXPECT_FALSE(r->node("n2").has_value());
  EXPECT_FALSE(r->consume_enrol_token("n1", *token, kT0 + 1).has_value());
  EXPECT_TRUE(r->enrol_token_valid("n1", *token, kT0 + 1));
  EXPECT_FALSE(
      r->put_desired(selector_scope("site=a"), registry_json(R"({"streams":{"s":"y"}})"), kT0 + 1));
  EXPECT_FALSE(r->delete_desired(selector_scope("site=a")));
  EXPECT_FALSE(r->relabel("n1", "", {{"site", "b"}}));
  EXPECT_EQ(version_of(*r, "n1"), 1);
  EXPECT_EQ(effective_item(*r, "n1", "streams", "s"), Value("x"));
  EXPECT_EQ(r->node("n1")->labels.at("site"), "a");
  EXPECT_EQ(r->desired_docs().at(0).revision, 1);
  EXPECT_FALSE(r->revoke_node("n1", kT0));
  EXPECT_EQ(r->node("n1")->state, NodeState::Pending);
  EXPECT_FALSE(r->delete_node("n1"));
  EXPECT_TRUE(r->node("n1").has_value());
  EXPECT_FALSE(r->create_api_token("ops", Role::Admin, kT0));
  EXPECT_FALSE(r->has_api_tokens());
  EXPECT_FALSE(r->upsert_alarm("n1", "k", Value(), kT0));
  EXPECT_TRUE(r->alarms("").empty());
  EXPECT_FALSE(r->audit("ops", "x", "y", Value(), kT0));
  metrics::Registry reg;
  r->register_metrics(reg);
  const std::string text = reg.render();
  EXPECT_NE(text.find("verge_hub_registry_write_errors_total 10\n"), std::string::npos) << text;

  *fail = false;
  EXPECT_TRUE(r->consume_enrol_token("n1", *token, kT0 + 1));
}

// The scale target: 10,000 nodes, one selector change recomputes and stores every node's
// effective document (and its version) well under a second; heartbeats are memory updates.
TEST(RegistrySqlite, SelectorChangeOverTenThousandNodes) {
  // Without an fsync per commit: creating the nodes one by one is not what is measured.
  TempDir dir;
  auto sqlite = registry_internal::open_sqlite_backend(dir.path(), false);
  ASSERT_TRUE(sqlite);
  auto opened = registry_internal::open_registry(RegistryOptions{}, std::move(*sqlite));
  ASSERT_TRUE(opened);
  auto& r = *opened;
  constexpr int kNodes = 10'000;
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(r->create_node("n" + std::to_string(i), "s",
                               {{"site", "hydro"}, {"zone", i % 2 == 0 ? "even" : "odd"}}, kT0));
  }
  ASSERT_TRUE(r->put_desired(selector_scope("zone=even"),
                             registry_json(R"({"devices":{"d":{"v":0}}})"), kT0));
  std::string doc = R"({"devices":{)";
  for (int i = 0; i < 50; ++i) {
    doc += (i ? "," : "") + std::string("\"d") + std::to_string(i) + R"(":{"points":[1,2,3]})";
  }
  doc += "}}";
  const auto start = std::chrono::steady_clock::now();
  auto changed = r->put_desired(selector_scope("site=hydro"), registry_json(doc), kT0 + 1);
  Value last;
  for (int i = 0; i < kNodes; ++i) last = r->effective_desired("n" + std::to_string(i));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->size(), static_cast<size_t>(kNodes));
  EXPECT_EQ(*last.find("version"), Value(1));
  RecordProperty(
      "selector_change_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_LT(took, std::chrono::milliseconds(1000))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";

  const auto hb = std::chrono::steady_clock::now();
  for (int i = 0; i < kNodes; ++i) r->heartbeat("n" + std::to_string(i), Value(), kT0 + 2);
  EXPECT_LT(std::chrono::steady_clock::now() - hb, std::chrono::milliseconds(500));
  EXPECT_EQ(r->nodes({{"zone", "odd"}}).size(), static_cast<size_t>(kNodes / 2));
}

}  // namespace verge::sync
