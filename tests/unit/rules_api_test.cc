// The rule engine's REST API through its handler function (no sockets): status codes, JSON
// shapes, errors with positions, Location and Allow headers.
#include "api/rules_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <string>

#include "rules/bus.h"
#include "store/metadata.h"

namespace verge::api {
namespace {

class QuietBus final : public rules::Bus {
 public:
  uint64_t subscribe(std::string_view, Handler) override { return ++next_; }
  void unsubscribe(uint64_t) override {}
  void publish(std::string_view, std::string_view, uint8_t, bool) override {}

 private:
  std::atomic<uint64_t> next_{0};
};

std::string header_of(const net::HttpReply& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return {};
}

class RulesApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("verge-rules-api-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto meta = store::MetadataStore::open(dir_.string());
    ASSERT_TRUE(meta.has_value()) << meta.error().message;
    meta_ = std::move(*meta);
    alarms_ = std::make_unique<rules::AlarmService>(*meta_, nullptr);
    rules::ManagerOptions o;
    o.services.bus = &bus_;
    o.services.alarms = alarms_.get();
    auto m = rules::RuleManager::create(std::move(o));
    ASSERT_TRUE(m.has_value()) << m.error().message;
    manager_ = std::move(*m);
  }
  void TearDown() override {
    manager_.reset();
    alarms_.reset();
    meta_.reset();
    std::filesystem::remove_all(dir_);
  }
  net::HttpReply call(const std::string& method, const std::string& target,
                      const std::string& body = {}) {
    net::HttpRequest req;
    req.method = method;
    req.target = target;
    req.body = body;
    auto r = handle_rules_request(req, *manager_, alarms_.get());
    EXPECT_TRUE(r.has_value()) << target;
    return r ? *r : net::HttpReply{};
  }
  Value json(const net::HttpReply& r) {
    auto v = parse_json(r.body);
    EXPECT_TRUE(v.has_value()) << r.body;
    return v ? *v : Value();
  }
  void define_stream() {
    auto r = call("POST", "/api/v1/streams",
                  R"j({"sql": "CREATE STREAM s () WITH (DATASOURCE=\"in/#\")"})j");
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(header_of(r, "Location"), "/api/v1/streams/s");
  }

  std::filesystem::path dir_;
  QuietBus bus_;
  std::unique_ptr<store::MetadataStore> meta_;
  std::unique_ptr<rules::AlarmService> alarms_;
  std::unique_ptr<rules::RuleManager> manager_;
};

constexpr const char* kRule =
    R"({"id": "hot", "sql": "SELECT * FROM s WHERE t > 30", "actions": [{"log": {}}]})";

TEST_F(RulesApiTest, NotOurPaths) {
  net::HttpRequest req;
  req.method = "GET";
  for (const char* t : {"/metrics", "/api/v1/series", "/api/v1/rulesx", "/api/v1"}) {
    req.target = t;
    EXPECT_FALSE(handle_rules_request(req, *manager_, alarms_.get()).has_value()) << t;
  }
}

TEST_F(RulesApiTest, RuleLifecycle) {
  define_stream();
  net::HttpReply r = call("POST", "/api/v1/rules", kRule);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(header_of(r, "Location"), "/api/v1/rules/hot");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(*json(r).find("state"), Value("running"));

  EXPECT_EQ(call("POST", "/api/v1/rules", kRule).status, 409);

  r = call("GET", "/api/v1/rules");
  ASSERT_EQ(r.status, 200);
  const Value list = json(r);
  ASSERT_EQ(list.find("rules")->as_array().size(), 1u);
  EXPECT_EQ(*list.find("rules")->as_array()[0].find("id"), Value("hot"));

  r = call("GET", "/api/v1/rules/hot");
  ASSERT_EQ(r.status, 200);
  const Value detail = json(r);
  EXPECT_EQ(*detail.find("sql"), Value("SELECT * FROM s WHERE t > 30"));
  EXPECT_TRUE(detail.find("actions")->is_array());
  EXPECT_TRUE(detail.find("options")->is_object());

  // What GET returns can be sent back as it is.
  r = call("PUT", "/api/v1/rules/hot", r.body);
  ASSERT_EQ(r.status, 200) << r.body;
  r = call("PUT", "/api/v1/rules/hot", R"({"sql": "SELECT t FROM s", "actions": []})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(*json(call("GET", "/api/v1/rules/hot")).find("sql"), Value("SELECT t FROM s"));
  EXPECT_EQ(call("PUT", "/api/v1/rules/hot", R"({"id": "other", "sql": "SELECT t FROM s"})").status,
            400);
  EXPECT_EQ(call("PUT", "/api/v1/rules/nope", R"({"sql": "SELECT t FROM s"})").status, 404);

  r = call("POST", "/api/v1/rules/hot/stop");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(*json(r).find("state"), Value("stopped"));
  r = call("POST", "/api/v1/rules/hot/start");
  EXPECT_EQ(*json(r).find("state"), Value("running"));
  EXPECT_EQ(call("POST", "/api/v1/rules/hot/restart").status, 200);

  r = call("GET", "/api/v1/rules/hot/status");
  ASSERT_EQ(r.status, 200);
  const Value st = json(r);
  for (const char* k : {"id", "state", "counters", "latency_us", "actions", "state_bytes"}) {
    EXPECT_NE(st.find(k), nullptr) << k << " in " << r.body;
  }
  for (const char* k : {"records_in", "records_out", "dropped", "errors", "late", "evicted"}) {
    EXPECT_NE(st.find("counters")->find(k), nullptr) << k;
  }
  for (const char* k : {"p50", "p99", "max", "count"}) {
    EXPECT_NE(st.find("latency_us")->find(k), nullptr) << k;
  }

  // The stream is in use.
  r = call("DELETE", "/api/v1/streams/s");
  EXPECT_EQ(r.status, 409) << r.body;

  r = call("DELETE", "/api/v1/rules/hot");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(call("GET", "/api/v1/rules/hot").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/rules/hot/status").status, 404);
  EXPECT_EQ(call("POST", "/api/v1/rules/hot/start").status, 404);
  EXPECT_EQ(call("DELETE", "/api/v1/streams/s").status, 204);
  EXPECT_EQ(call("GET", "/api/v1/streams/s").status, 404);
}

TEST_F(RulesApiTest, Errors) {
  define_stream();
  // SQL errors carry the position.
  net::HttpReply r =
      call("POST", "/api/v1/rules", R"({"id": "bad", "sql": "SELECT a,\n  FROM s"})");
  ASSERT_EQ(r.status, 400);
  Value e = json(r);
  EXPECT_EQ(*e.find("line"), Value(2));
  EXPECT_TRUE(e.find("column")->is_int());
  EXPECT_TRUE(e.find("error")->is_string());
  // Malformed JSON names the offset.
  r = call("POST", "/api/v1/rules", R"({"id": "x", "sql": )");
  ASSERT_EQ(r.status, 400);
  e = json(r);
  EXPECT_TRUE(e.find("offset")->is_int());
  EXPECT_EQ(call("POST", "/api/v1/rules", "").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/rules", "[1]").status, 400);
  // Field errors.
  r = call("POST", "/api/v1/rules", R"({"id": "x", "sql": "SELECT * FROM s", "colour": 1})");
  ASSERT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("colour"), std::string::npos);
  r = call("POST", "/api/v1/rules",
           R"({"id": "x", "sql": "SELECT * FROM s", "actions": [{"nosuch": {}}]})");
  ASSERT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("actions[0]"), std::string::npos) << r.body;
  // Methods.
  r = call("PATCH", "/api/v1/rules");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header_of(r, "Allow"), "GET, POST");
  EXPECT_EQ(header_of(call("POST", "/api/v1/rules/x"), "Allow"), "GET, PUT, DELETE");
  EXPECT_EQ(header_of(call("GET", "/api/v1/rules/x/start"), "Allow"), "POST");
  EXPECT_EQ(header_of(call("GET", "/api/v1/rules/validate"), "Allow"), "POST");
  EXPECT_EQ(header_of(call("PUT", "/api/v1/streams"), "Allow"), "GET, POST");
  EXPECT_EQ(header_of(call("POST", "/api/v1/alarms"), "Allow"), "GET");
  // Unknown paths and ids.
  EXPECT_EQ(call("GET", "/api/v1/rules/x/y/z").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/rules/").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/rules/a%20b").status, 404);
  EXPECT_EQ(call("POST", "/api/v1/rules/x/explode").status, 404);
  // A bad stream statement.
  r = call("POST", "/api/v1/streams", R"({"sql": "CREATE STREAM"})");
  ASSERT_EQ(r.status, 400);
  EXPECT_NE(json(r).find("line"), nullptr);
}

TEST_F(RulesApiTest, Validate) {
  define_stream();
  net::HttpReply r = call("POST", "/api/v1/rules/validate", R"({"sql": "SELECT t FROM s"})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json(r), parse_json(R"({"valid": true})").value());
  r = call("POST", "/api/v1/rules/validate", R"({"sql": "SELECT t FROM nowhere"})");
  ASSERT_EQ(r.status, 200);
  const Value v = json(r);
  EXPECT_EQ(*v.find("valid"), Value(false));
  EXPECT_EQ(*v.find("line"), Value(1));
  EXPECT_GT(v.find("column")->as_int(), 1);
  EXPECT_EQ(call("POST", "/api/v1/rules/validate", R"({"sql": 1})").status, 400);
  EXPECT_TRUE(manager_->list().empty());
}

TEST_F(RulesApiTest, Streams) {
  define_stream();
  net::HttpReply r = call("GET", "/api/v1/streams");
  ASSERT_EQ(r.status, 200);
  const Value v = json(r);
  ASSERT_EQ(v.find("streams")->as_array().size(), 1u);
  const Value& s = v.find("streams")->as_array()[0];
  EXPECT_EQ(*s.find("name"), Value("s"));
  EXPECT_EQ(*s.find("kind"), Value("stream"));
  EXPECT_EQ(*s.find("topic_filter"), Value("in/#"));
  r = call("GET", "/api/v1/streams/s");
  EXPECT_EQ(r.status, 200);
}

TEST_F(RulesApiTest, Alarms) {
  ASSERT_TRUE(alarms_->raise("pump/1", "r", rules::Severity::Critical, "hot", Value(), 1000));
  ASSERT_TRUE(alarms_->raise("pump/2", "r", rules::Severity::Minor, "warm", Value(), 1000));
  ASSERT_TRUE(alarms_->raise("fan/1", "r", rules::Severity::Major, "noisy", Value(), 1000));
  ASSERT_TRUE(alarms_->clear("fan/1", "r", 2000));

  auto count = [&](const std::string& target) -> size_t {
    const net::HttpReply r = call("GET", target);
    EXPECT_EQ(r.status, 200) << target << " " << r.body;
    const Value v = json(r);
    return v.find("alarms") ? v.find("alarms")->as_array().size() : 0;
  };
  EXPECT_EQ(count("/api/v1/alarms"), 3u);
  EXPECT_EQ(count("/api/v1/alarms?active=true"), 2u);
  EXPECT_EQ(count("/api/v1/alarms?active=false"), 1u);
  EXPECT_EQ(count("/api/v1/alarms?severity=major"), 2u);  // critical and major
  EXPECT_EQ(count("/api/v1/alarms?key=pump%2F"), 2u);
  EXPECT_EQ(count("/api/v1/alarms?limit=1"), 1u);
  EXPECT_EQ(call("GET", "/api/v1/alarms?severity=loud").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/alarms?limit=0").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/alarms?colour=red").status, 400);

  const Value first =
      json(call("GET", "/api/v1/alarms?key=pump%2F1")).find("alarms")->as_array()[0];
  const std::string id = std::to_string(first.find("id")->as_int());
  net::HttpReply r = call("GET", "/api/v1/alarms/" + id);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(*json(r).find("key"), Value("pump/1"));
  EXPECT_EQ(call("POST", "/api/v1/alarms/" + id + "/ack", R"({})").status, 400);
  r = call("POST", "/api/v1/alarms/" + id + "/ack", R"({"by": "ops"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(*json(r).find("acked"), Value(true));
  EXPECT_EQ(call("GET", "/api/v1/alarms/999999").status, 404);
  EXPECT_EQ(call("POST", "/api/v1/alarms/999999/ack", R"({"by": "ops"})").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/alarms/abc").status, 404);

  net::HttpRequest req;
  req.method = "GET";
  req.target = "/api/v1/alarms";
  auto none = handle_rules_request(req, *manager_, nullptr);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->status, 503);
}

}  // namespace
}  // namespace verge::api
