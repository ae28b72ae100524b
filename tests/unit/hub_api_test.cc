// The hub's REST API through its handler function against a real Hub in a temporary directory
// (no broker, no sockets): authentication, roles, the audit log, nodes, desired state, errors.
#include "api/hub_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/clock.h"
#include "sync/pki.h"

namespace verge::api {
namespace {

std::string header_of(const net::HttpReply& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return {};
}

Value body_of(const net::HttpReply& r) {
  auto v = parse_json(r.body);
  EXPECT_TRUE(v.has_value()) << r.body;
  return v ? *v : Value();
}

std::string str(const Value& v, std::string_view key) {
  const Value* m = v.find(key);
  return m != nullptr && m->is_string() ? m->as_string() : std::string();
}

class HubApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("verge-hub-api-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto hub = sync::Hub::open(
        sync::HubOptions{.data_dir = dir_.string(), .storage = {}, .server_names = {}});
    ASSERT_TRUE(hub.has_value()) << hub.error().message;
    hub_ = std::move(*hub);
    admin_ = make_token("root", sync::Role::Admin);
    operator_ = make_token("ops", sync::Role::Operator);
    viewer_ = make_token("watcher", sync::Role::Viewer);
  }
  void TearDown() override {
    if (hub_) hub_->stop();
    hub_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string make_token(std::string_view name, sync::Role role) {
    auto t = hub_->registry().create_api_token(name, role, wall_ms());
    EXPECT_TRUE(t.has_value());
    return t ? *t : std::string();
  }

  net::HttpReply call(std::string method, std::string target, const std::string& token,
                      std::string body = {}) {
    net::HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
    req.body = std::move(body);
    return handle_hub_request(req, *hub_);
  }

  // Creates a node as the operator; returns its enrolment token.
  std::string create_node(const std::string& id, const std::string& site) {
    auto r = call(
        "POST", "/api/v1/nodes", operator_,
        R"({"id":")" + id + R"(","site":")" + site + R"(","labels":{"site":")" + site + R"("}})");
    EXPECT_EQ(r.status, 201) << r.body;
    return str(body_of(r), "token");
  }

  std::filesystem::path dir_;
  std::unique_ptr<sync::Hub> hub_;
  std::string admin_, operator_, viewer_;
};

TEST(HubApiPaths, OwnsTheHubResources) {
  EXPECT_TRUE(is_hub_api_path("/api/v1/nodes"));
  EXPECT_TRUE(is_hub_api_path("/api/v1/nodes/pump-1/desired"));
  EXPECT_TRUE(is_hub_api_path("/api/v1/desired/selectors/site%3Dhydro"));
  EXPECT_TRUE(is_hub_api_path("/api/v1/hub"));
  EXPECT_TRUE(is_hub_api_path("/api/v1/audit"));
  EXPECT_FALSE(is_hub_api_path("/api/v1/nodesx"));
  EXPECT_FALSE(is_hub_api_path("/api/v1/devices"));
  EXPECT_FALSE(is_hub_api_path("/metrics"));
}

TEST_F(HubApiTest, RefusesRequestsWithoutAValidToken) {
  auto none = call("GET", "/api/v1/nodes", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(header_of(none, "WWW-Authenticate").find("Bearer"), std::string::npos);
  auto wrong = call("GET", "/api/v1/nodes", "not-a-token");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(header_of(wrong, "WWW-Authenticate").find("Bearer"), std::string::npos);
  net::HttpRequest basic;
  basic.method = "GET";
  basic.target = "/api/v1/nodes";
  basic.headers.emplace_back("Authorization", "Basic " + admin_);
  EXPECT_EQ(handle_hub_request(basic, *hub_).status, 401);
}

TEST_F(HubApiTest, ViewerReadsButChangesNothing) {
  create_node("pump-1", "hydro");
  EXPECT_EQ(call("GET", "/api/v1/nodes", viewer_).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/nodes/pump-1", viewer_).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/hub", viewer_).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/desired", viewer_).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/alarms", viewer_).status, 200);
  const std::pair<const char*, const char*> changes[] = {
      {"POST", "/api/v1/nodes"},
      {"DELETE", "/api/v1/nodes/pump-1"},
      {"PUT", "/api/v1/nodes/pump-1/labels"},
      {"POST", "/api/v1/nodes/pump-1/revoke"},
      {"POST", "/api/v1/nodes/pump-1/token"},
      {"PUT", "/api/v1/desired/nodes/pump-1"},
      {"DELETE", "/api/v1/desired/nodes/pump-1"},
      {"PUT", "/api/v1/desired/selectors/site%3Dhydro"},
      {"POST", "/api/v1/tokens"},
      {"DELETE", "/api/v1/tokens/abcdefgh"},
  };
  for (const auto& [method, path] : changes) {
    auto r = call(method, path, viewer_, R"({"id":"x"})");
    EXPECT_EQ(r.status, 403) << method << " " << path;
    EXPECT_NE(str(body_of(r), "error").find("role viewer may not"), std::string::npos) << r.body;
  }
  EXPECT_EQ(call("GET", "/api/v1/tokens", viewer_).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/audit", viewer_).status, 403);
  ASSERT_TRUE(hub_->registry().node("pump-1"));
  EXPECT_EQ(hub_->registry().node("pump-1")->state, sync::NodeState::Pending);
}

TEST_F(HubApiTest, OperatorCreatesNodesButNotTokens) {
  auto r = call("POST", "/api/v1/nodes", operator_,
                R"({"id":"pump-1","site":"hydro","labels":{"site":"hydro","tier":"a"}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(header_of(r, "Location"), "/api/v1/nodes/pump-1");
  const Value b = body_of(r);
  EXPECT_EQ(str(b, "id"), "pump-1");
  auto parsed = sync::parse_enrol_token(str(b, "token"));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->node_id, "pump-1");
  EXPECT_EQ(parsed->ca_sha256, hub_->ca().ca_sha256);
  ASSERT_NE(b.find("expires_at_ms"), nullptr);
  EXPECT_GT(b.find("expires_at_ms")->as_int(), wall_ms());

  auto t = call("POST", "/api/v1/tokens", operator_, R"({"name":"x","role":"viewer"})");
  EXPECT_EQ(t.status, 403);
  EXPECT_EQ(str(body_of(t), "error"), "role operator may not POST /api/v1/tokens (needs admin)");

  auto list = body_of(call("GET", "/api/v1/nodes?selector=tier%3Da", viewer_));
  ASSERT_EQ(list.find("nodes")->as_array().size(), 1u);
  EXPECT_EQ(str(list.find("nodes")->as_array()[0], "state"), "pending");
  auto none = body_of(call("GET", "/api/v1/nodes?selector=tier%3Db", viewer_));
  EXPECT_TRUE(none.find("nodes")->as_array().empty());
  auto active = body_of(call("GET", "/api/v1/nodes?state=active", viewer_));
  EXPECT_TRUE(active.find("nodes")->as_array().empty());
}

TEST_F(HubApiTest, AdminManagesTokens) {
  auto r = call("POST", "/api/v1/tokens", admin_, R"({"name":"grafana","role":"viewer"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const Value b = body_of(r);
  const std::string token = str(b, "token");
  const std::string id = str(b, "id");
  EXPECT_EQ(str(b, "role"), "viewer");
  EXPECT_EQ(call("GET", "/api/v1/nodes", token).status, 200);

  auto list = call("GET", "/api/v1/tokens", admin_);
  ASSERT_EQ(list.status, 200);
  EXPECT_NE(list.body.find("grafana"), std::string::npos);
  EXPECT_EQ(list.body.find(token), std::string::npos);  // the secret is shown once only

  EXPECT_EQ(call("DELETE", "/api/v1/tokens/" + id, admin_).status, 204);
  EXPECT_EQ(call("GET", "/api/v1/nodes", token).status, 401);
  EXPECT_EQ(call("DELETE", "/api/v1/tokens/" + id, admin_).status, 404);
  EXPECT_EQ(call("POST", "/api/v1/tokens", admin_, R"({"name":"x","role":"root"})").status, 400);
}

TEST_F(HubApiTest, AuditLogsEveryChangeWithoutSecrets) {
  const std::string enrol = create_node("pump-1", "hydro");
  auto t = call("POST", "/api/v1/tokens", admin_, R"({"name":"grafana","role":"viewer"})");
  ASSERT_EQ(t.status, 201);
  const std::string api_token = str(body_of(t), "token");
  ASSERT_EQ(call("PUT", "/api/v1/nodes/pump-1/labels", operator_,
                 R"({"labels":{"site":"hydro","tier":"b"}})")
                .status,
            200);
  ASSERT_EQ(call("POST", "/api/v1/nodes/pump-1/revoke", operator_).status, 200);
  // A refused change is not audited.
  ASSERT_EQ(call("POST", "/api/v1/nodes", viewer_, R"({"id":"x"})").status, 403);

  auto r = call("GET", "/api/v1/audit", admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  const Value b = body_of(r);
  const auto& entries = b.find("entries")->as_array();
  ASSERT_EQ(entries.size(), 4u) << r.body;
  EXPECT_EQ(str(entries[0], "who"), "ops");
  EXPECT_EQ(str(entries[0], "action"), "node.create");
  EXPECT_EQ(str(entries[0], "target"), "node:pump-1");
  EXPECT_EQ(str(entries[1], "who"), "root");
  EXPECT_EQ(str(entries[1], "action"), "token.create");
  EXPECT_EQ(str(entries[2], "action"), "node.labels");
  EXPECT_EQ(str(entries[3], "action"), "node.revoke");
  EXPECT_GT(entries[3].find("ts_ms")->as_int(), 0);
  EXPECT_EQ(r.body.find(enrol), std::string::npos);
  EXPECT_EQ(r.body.find(sync::parse_enrol_token(enrol)->secret), std::string::npos);
  EXPECT_EQ(r.body.find(api_token), std::string::npos);

  auto page = body_of(call("GET", "/api/v1/audit?after=2&limit=1", admin_));
  ASSERT_EQ(page.find("entries")->as_array().size(), 1u);
  EXPECT_EQ(str(page.find("entries")->as_array()[0], "action"), "node.labels");
}

TEST_F(HubApiTest, SelectorDesiredStateReachesMatchingNodes) {
  create_node("pump-1", "hydro");
  create_node("pump-2", "hydro");
  create_node("mill-1", "wind");
  auto r = call("PUT", "/api/v1/desired/selectors/site%3Dhydro", operator_,
                R"j({"streams":{"temps":"CREATE STREAM temps (v DOUBLE)"}})j");
  ASSERT_EQ(r.status, 200) << r.body;
  const Value b = body_of(r);
  EXPECT_EQ(str(b, "scope"), "selector:site=hydro");
  EXPECT_EQ(b.find("revision")->as_int(), 1);
  std::vector<std::string> nodes;
  for (const Value& n : b.find("nodes")->as_array()) nodes.push_back(n.as_string());
  std::sort(nodes.begin(), nodes.end());
  EXPECT_EQ(nodes, (std::vector<std::string>{"pump-1", "pump-2"}));

  auto eff = call("GET", "/api/v1/nodes/pump-1/desired", viewer_);
  ASSERT_EQ(eff.status, 200) << eff.body;
  const Value e = body_of(eff);
  ASSERT_NE(e.find("version"), nullptr);
  EXPECT_GE(e.find("version")->as_int(), 1);
  const Value* streams = e.find("desired")->find("streams");
  ASSERT_NE(streams, nullptr) << eff.body;
  EXPECT_NE(streams->find("temps"), nullptr);
  auto other = body_of(call("GET", "/api/v1/nodes/mill-1/desired", viewer_));
  const Value* other_streams = other.find("desired")->find("streams");
  EXPECT_TRUE(other_streams == nullptr || other_streams->find("temps") == nullptr)
      << other.to_json();

  auto got = call("GET", "/api/v1/desired/selectors/site%3Dhydro", viewer_);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(body_of(got).find("revision")->as_int(), 1);
  EXPECT_EQ(
      call("GET", "/api/v1/desired", viewer_).body.find("selector:site=hydro") != std::string::npos,
      true);

  auto del = call("DELETE", "/api/v1/desired/selectors/site%3Dhydro", operator_);
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(call("GET", "/api/v1/desired/selectors/site%3Dhydro", viewer_).status, 404);
}

TEST_F(HubApiTest, BadInputGetsClearErrors) {
  create_node("pump-1", "hydro");
  auto bad_json = call("POST", "/api/v1/nodes", operator_, "{\"id\":");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_NE(str(body_of(bad_json), "error").find("invalid JSON"), std::string::npos);
  auto bad_id = call("POST", "/api/v1/nodes", operator_, R"({"id":"a.b"})");
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_NE(str(body_of(bad_id), "error").find("id:"), std::string::npos);
  EXPECT_EQ(call("POST", "/api/v1/nodes", operator_, R"({"id":"pump-1"})").status, 409);

  auto unknown = call("GET", "/api/v1/nodes/nope", viewer_);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(str(body_of(unknown), "error"), "no node 'nope'");
  EXPECT_EQ(call("GET", "/api/v1/nodes/nope/desired", viewer_).status, 404);
  EXPECT_EQ(call("PUT", "/api/v1/desired/nodes/nope", operator_, "{}").status, 404);

  auto bad_sel = call("PUT", "/api/v1/desired/selectors/site", operator_, "{}");
  EXPECT_EQ(bad_sel.status, 400);
  EXPECT_EQ(str(body_of(bad_sel), "error").rfind("selector: ", 0), 0u) << bad_sel.body;
  EXPECT_EQ(call("GET", "/api/v1/nodes?selector=site", viewer_).status, 400);

  auto bad_doc =
      call("PUT", "/api/v1/desired/nodes/pump-1", operator_, R"({"devices":{"boiler-1":42}})");
  EXPECT_EQ(bad_doc.status, 400);
  EXPECT_NE(str(body_of(bad_doc), "error").find("devices.boiler-1"), std::string::npos)
      << bad_doc.body;

  EXPECT_EQ(call("GET", "/api/v1/nodes/pump-1/streams/t/records?limit=x", viewer_).status, 400);
  EXPECT_EQ(call("PATCH", "/api/v1/nodes/pump-1", operator_).status, 405);
  EXPECT_EQ(call("GET", "/api/v1/nodes/pump-1/devices/d1", viewer_).status, 404);
}

TEST_F(HubApiTest, NewEnrolmentTokenOnlyForPendingNodes) {
  const std::string first = create_node("pump-1", "hydro");
  auto r = call("POST", "/api/v1/nodes/pump-1/token", operator_);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string second = str(body_of(r), "token");
  EXPECT_NE(second, first);
  EXPECT_TRUE(sync::parse_enrol_token(second).has_value());
  ASSERT_EQ(call("POST", "/api/v1/nodes/pump-1/revoke", operator_).status, 200);
  EXPECT_EQ(call("POST", "/api/v1/nodes/pump-1/token", operator_).status, 409);
  EXPECT_EQ(call("DELETE", "/api/v1/nodes/pump-1", operator_).status, 204);
  EXPECT_EQ(call("GET", "/api/v1/nodes/pump-1", viewer_).status, 404);
}

// Re-enrolment of an active node (its enrolment reply was lost): a new one-time token, and once
// it is used the node's certificate serial is the new one, so the old certificate is refused.
TEST_F(HubApiTest, NewEnrolmentTokenForAnActiveNodeRetiresTheOldCertificate) {
  using Verdict = mqtt::ConnectDecision::Verdict;
  auto connect = [&](std::string_view serial) {
    return hub_->check_connect(mqtt::ConnectCheck{.listener = "mqtts",
                                                  .client_id = "pump-7",
                                                  .cert_identity = "pump-7",
                                                  .cert_serial = serial});
  };
  auto enrol = [&](const std::string& token_text, std::string_view serial) {
    auto token = sync::parse_enrol_token(token_text);
    ASSERT_TRUE(token.has_value());
    EXPECT_EQ(token->ca_sha256, hub_->ca().ca_sha256);
    ASSERT_TRUE(hub_->registry().consume_enrol_token("pump-7", token->secret, wall_ms()));
    ASSERT_TRUE(hub_->registry().set_enrolled("pump-7", serial, wall_ms() + 1000, wall_ms()));
  };
  const std::string first = create_node("pump-7", "hydro");
  enrol(first, "4aaa");
  EXPECT_EQ(connect("4aaa").verdict, Verdict::Allow);
  const uint64_t refused = hub_->stats().enrol_refused.load();
  EXPECT_EQ(connect("4bbb").verdict, Verdict::Refuse);
  EXPECT_EQ(connect("").verdict, Verdict::Refuse);
  EXPECT_EQ(hub_->stats().enrol_refused.load(), refused + 2);

  auto r = call("POST", "/api/v1/nodes/pump-7/token", operator_);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string second = str(body_of(r), "token");
  EXPECT_NE(second, first);
  EXPECT_EQ(connect("4aaa").verdict, Verdict::Allow);  // until the new certificate is issued
  enrol(second, "4bbb");
  EXPECT_EQ(connect("4bbb").verdict, Verdict::Allow);
  EXPECT_EQ(connect("4aaa").verdict, Verdict::Refuse);
  EXPECT_FALSE(hub_->registry().enrol_token_valid("pump-7", sync::parse_enrol_token(second)->secret,
                                                  wall_ms()));

  auto log = call("GET", "/api/v1/audit", admin_);
  EXPECT_NE(log.body.find("node.token"), std::string::npos) << log.body;
  ASSERT_EQ(call("POST", "/api/v1/nodes/pump-7/revoke", operator_).status, 200);
  EXPECT_EQ(call("POST", "/api/v1/nodes/pump-7/token", operator_).status, 409);
  EXPECT_EQ(connect("4bbb").verdict, Verdict::Refuse);
}

}  // namespace
}  // namespace verge::api
