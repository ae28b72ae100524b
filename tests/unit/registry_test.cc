// The hub registry on its embedded (SQLite) backend: the shared scenarios
// (registry_scenarios.h, also run against PostgreSQL by tests/pg) and SQLite-only checks.
#include <gtest/gtest.h>

#include <chrono>

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
