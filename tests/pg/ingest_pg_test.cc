// The ingest store's shared scenarios against PostgreSQL (VERGE_TEST_PG_URL; skipped without it).
#include <gtest/gtest.h>

#include <cstdlib>

TEST(IngestPg, ServerUrlIsGiven) {
  if (std::getenv("VERGE_TEST_PG_URL") == nullptr) GTEST_SKIP() << "VERGE_TEST_PG_URL not set";
  EXPECT_NE(std::string(std::getenv("VERGE_TEST_PG_URL")).find("postgres"), std::string::npos);
}
