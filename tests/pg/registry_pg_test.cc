// The hub registry's shared scenarios (tests/unit/registry_scenarios.h) against PostgreSQL
// (VERGE_TEST_PG_URL, set by with_postgres.py; every test skips without it).
#include <gtest/gtest.h>

#include <cstdlib>

#include "registry_scenarios.h"
#include "store/postgres.h"

namespace verge::sync {
namespace {

using namespace verge::sync::testing;

const char* pg_url() { return std::getenv("VERGE_TEST_PG_URL"); }

// Each scenario starts from an empty registry: the registry's tables are dropped first (other
// components' tables on the same server are left alone).
class PostgresRegistry : public RegistryBackend {
 public:
  PostgresRegistry() {
    if (pg_url() == nullptr) return;
    auto pg = store::Postgres::connect(pg_url());
    if (!pg) {
      why_ = pg.error().message;
      return;
    }
    auto dropped = (*pg)->exec(
        "DROP TABLE IF EXISTS nodes, enrol_tokens, desired_docs, api_tokens, audit, alarms; "
        "CREATE TABLE IF NOT EXISTS schema_version (component text PRIMARY KEY, version bigint "
        "NOT NULL); DELETE FROM schema_version WHERE component = 'registry'");
    if (!dropped) {
      why_ = dropped.error().message;
      return;
    }
    ready_ = true;
  }
  std::unique_ptr<Registry> open() override {
    RegistryOptions o;
    o.storage = pg_url();
    auto r = Registry::open(o);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? std::move(*r) : nullptr;
  }
  bool ready() const override { return ready_; }
  std::string why_not() const override {
    return pg_url() == nullptr ? "VERGE_TEST_PG_URL not set" : why_;
  }

 private:
  bool ready_ = false;
  std::string why_;
};

}  // namespace

VERGE_REGISTRY_SCENARIOS(RegistryPg, PostgresRegistry)

TEST(RegistryPg, NewerSchemaIsRefused) {
  PostgresRegistry backend;
  if (!backend.ready()) GTEST_FAIL() << backend.why_not();
  ASSERT_TRUE(backend.open());
  auto pg = store::Postgres::connect(pg_url());
  ASSERT_TRUE(pg);
  ASSERT_TRUE((*pg)->exec("UPDATE schema_version SET version = 99 WHERE component = 'registry'"));
  RegistryOptions o;
  o.storage = pg_url();
  auto r = Registry::open(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("schema version is 99"), std::string::npos) << r.error().message;
}

}  // namespace verge::sync

namespace verge::sync {

// One selector change stores the versions of many nodes in one statement (unnest); they must
// all be there after a restart.
TEST(RegistryPg, ManyVersionsStoredTogether) {
  PostgresRegistry backend;
  if (!backend.ready()) GTEST_FAIL() << backend.why_not();
  constexpr int kNodes = 1'000;
  {
    auto r = backend.open();
    ASSERT_TRUE(r);
    for (int i = 0; i < kNodes; ++i) {
      ASSERT_TRUE(r->create_node("n" + std::to_string(i), "", {{"site", "hydro"}}, kT0));
    }
    auto changed = r->put_desired(selector_scope("site=hydro"),
                                  registry_json(R"({"streams":{"s":"x"}})"), kT0);
    ASSERT_TRUE(changed);
    EXPECT_EQ(changed->size(), static_cast<size_t>(kNodes));
  }
  auto r = backend.open();
  ASSERT_TRUE(r);
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_EQ(version_of(*r, "n" + std::to_string(i)), 1) << i;
  }
}

}  // namespace verge::sync
