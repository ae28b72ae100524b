#include "api/series_api.h"

#include <gtest/gtest.h>

#include <cmath>

namespace verge::api {
namespace {

using store::Sample;
using store::ValueType;

constexpr int64_t kT0 = 1'700'006'400'000;

class SeriesApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = *db_->series("pump-1/temperature", ValueType::Float, "sensors");
    auto c = *db_->series("pump-1/count", ValueType::Int);
    auto r = *db_->series("pump-1/running", ValueType::Bool);
    auto m = *db_->series("pump-1/mode", ValueType::String);
    std::vector<Sample> batch;
    for (int k = 0; k < 6; ++k) {
      batch.push_back(Sample{t, kT0 + k * 1000, 20.5 + k, 0, {}});
      batch.push_back(Sample{c, kT0 + k * 1000, 0, k * 10, {}});
    }
    batch.push_back(Sample{r, kT0, 0, 1, {}});
    batch.push_back(Sample{m, kT0, 0, 0, "say \"hi\"\n"});
    batch.push_back(Sample{t, kT0 + 6000, NAN, 0, {}});
    ASSERT_EQ(*db_->append(batch), batch.size());
  }

  net::HttpReply get(const std::string& target) {
    net::HttpRequest req;
    req.method = "GET";
    req.target = target;
    return handle_series_request(*db_, req, options_);
  }

  void expect_bad(const std::string& target, const std::string& param) {
    const net::HttpReply r = get(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_NE(r.body.find("bad parameter '" + param + "'"), std::string::npos)
        << target << " -> " << r.body;
  }

  std::unique_ptr<store::Tsdb> db_ = store::Tsdb::in_memory({});
  SeriesApiOptions options_;
};

TEST_F(SeriesApiTest, Paths) {
  EXPECT_TRUE(is_series_path("/api/v1/series"));
  EXPECT_TRUE(is_series_path("/api/v1/series/latest"));
  EXPECT_FALSE(is_series_path("/api/v1/seriesx"));
  EXPECT_FALSE(is_series_path("/api/v1"));
}

TEST_F(SeriesApiTest, ListsSeries) {
  const net::HttpReply r = get("/api/v1/series");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"series\":["
            "{\"name\":\"pump-1/count\",\"group\":\"default\",\"type\":\"int\",\"points\":6,"
            "\"first\":1700006400000,\"last\":1700006405000},"
            "{\"name\":\"pump-1/mode\",\"group\":\"default\",\"type\":\"string\",\"points\":1,"
            "\"first\":1700006400000,\"last\":1700006400000},"
            "{\"name\":\"pump-1/running\",\"group\":\"default\",\"type\":\"bool\",\"points\":1,"
            "\"first\":1700006400000,\"last\":1700006400000},"
            "{\"name\":\"pump-1/temperature\",\"group\":\"sensors\",\"type\":\"float\","
            "\"points\":7,\"first\":1700006400000,\"last\":1700006406000}]}\n");
}

TEST_F(SeriesApiTest, RawRange) {
  net::HttpReply r = get("/api/v1/series?name=pump-1%2Ftemperature&from=1700006401000&to=" +
                         std::to_string(kT0 + 3000));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"name\":\"pump-1/temperature\",\"type\":\"float\",\"points\":"
            "[[1700006401000,21.5],[1700006402000,22.5]]}\n");
  // NaN has no JSON spelling: null. Strings are escaped; bools are JSON bools.
  r = get("/api/v1/series?name=pump-1/temperature&from=1700006406000");
  EXPECT_EQ(r.body,
            "{\"name\":\"pump-1/temperature\",\"type\":\"float\",\"points\":"
            "[[1700006406000,null]]}\n");
  r = get("/api/v1/series?name=pump-1/mode");
  EXPECT_EQ(r.body,
            "{\"name\":\"pump-1/mode\",\"type\":\"string\",\"points\":"
            "[[1700006400000,\"say \\\"hi\\\"\\n\"]]}\n");
  r = get("/api/v1/series?name=pump-1/running&to=now");
  EXPECT_EQ(r.body,
            "{\"name\":\"pump-1/running\",\"type\":\"bool\",\"points\":[[1700006400000,true]]}\n");
  r = get("/api/v1/series?name=pump-1/count&from=now-1h");  // all of it is older
  EXPECT_EQ(r.body, "{\"name\":\"pump-1/count\",\"type\":\"int\",\"points\":[]}\n");
}

TEST_F(SeriesApiTest, Downsample) {
  net::HttpReply r = get("/api/v1/series?name=pump-1/count&step=2s&agg=sum");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"name\":\"pump-1/count\",\"step\":2000,\"agg\":\"sum\",\"buckets\":"
            "[[1700006400000,10,2],[1700006402000,50,2],[1700006404000,90,2]]}\n");
  r = get("/api/v1/series?name=pump-1/count&step=1m");  // agg defaults to avg
  EXPECT_EQ(r.body,
            "{\"name\":\"pump-1/count\",\"step\":60000,\"agg\":\"avg\",\"buckets\":"
            "[[1700006400000,25,6]]}\n");
}

TEST_F(SeriesApiTest, Latest) {
  net::HttpReply r = get("/api/v1/series/latest?name=pump-1/count");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"name\":\"pump-1/count\",\"ts\":1700006405000,\"value\":50}\n");
  r = get("/api/v1/series/latest?name=pump-1/mode");
  EXPECT_EQ(r.body,
            "{\"name\":\"pump-1/mode\",\"ts\":1700006400000,\"value\":\"say \\\"hi\\\"\\n\"}\n");
  expect_bad("/api/v1/series/latest", "name");
  expect_bad("/api/v1/series/latest?name=pump-1/count&step=1s", "step");
}

TEST_F(SeriesApiTest, BadParametersAreNamed) {
  expect_bad("/api/v1/series?from=1", "name");
  expect_bad("/api/v1/series?name=", "name");
  expect_bad("/api/v1/series?name=pump-1/count&from=yesterday", "from");
  expect_bad("/api/v1/series?name=pump-1/count&to=12x", "to");
  expect_bad("/api/v1/series?name=pump-1/count&from=10&to=5", "to");
  expect_bad("/api/v1/series?name=pump-1/count&step=0", "step");
  expect_bad("/api/v1/series?name=pump-1/count&step=-5s", "step");
  expect_bad("/api/v1/series?name=pump-1/count&step=fast", "step");
  expect_bad("/api/v1/series?name=pump-1/count&agg=avg", "agg");  // without step
  expect_bad("/api/v1/series?name=pump-1/count&step=1s&agg=median", "agg");
  expect_bad("/api/v1/series?name=pump-1/count&limit=5", "limit");
  expect_bad("/api/v1/series?name=pump-1/count&name=x", "name");
  expect_bad("/api/v1/series?name=pump%zz", "name");
  expect_bad("/api/v1/series?name=pump-1/mode&step=1s", "step");  // strings: no aggregates
  const net::HttpReply r = get("/api/v1/series?name=nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"error\":\"no series nope\"}\n");
}

TEST_F(SeriesApiTest, RepliesAreBounded) {
  options_.max_points = 3;
  expect_bad("/api/v1/series?name=pump-1/count", "from");
  expect_bad("/api/v1/series?name=pump-1/count&step=1s", "step");
  EXPECT_EQ(get("/api/v1/series?name=pump-1/count&step=2s").status, 200);
}

}  // namespace
}  // namespace verge::api
