// The pure parts of `verge ctl`: command lines, the REST call each command makes, and output.
#include <gtest/gtest.h>

#include "cmd/ctl_args.h"
#include "cmd/ctl_doc.h"
#include "cmd/ctl_format.h"

namespace verge::cmd::ctl {
namespace {

Result<CtlArgs, CtlError> parse(std::vector<std::string> args, const char* api = nullptr,
                                const char* token = nullptr) {
  return parse_ctl_args(args, api, token);
}

Result<CtlRequest, CtlError> plan(std::vector<std::string> args,
                                  const DocReader& reader = nullptr) {
  auto a = parse_ctl_args(args, nullptr, nullptr);
  if (!a) return unexpected(a.error());
  return plan_request(*a, reader);
}

TEST(CtlArgs, GlobalOptionsAnywhereWithEnvironmentDefaults) {
  auto a = parse({"node", "--json", "status", "--api=http://hub:9000", "pump-1", "--token", "t1"},
                 "http://env:1", "envtok");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->api, "http://hub:9000");
  EXPECT_EQ(a->token, "t1");
  EXPECT_TRUE(a->json);
  EXPECT_EQ(a->words, (std::vector<std::string>{"node", "status", "pump-1"}));

  auto env = parse({"node", "list"}, "http://env:1", "envtok");
  ASSERT_TRUE(env);
  EXPECT_EQ(env->api, "http://env:1");
  EXPECT_EQ(env->token, "envtok");
  auto none = parse({"node", "list"});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->api, "http://127.0.0.1:8080");
  EXPECT_TRUE(none->token.empty());
}

TEST(CtlArgs, OptionsNeedValuesAndRepeat) {
  auto a = parse({"node", "create", "p1", "--label", "a=1", "--label=b=2", "--site", "hydro"});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->all("--label"), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(a->option("--site"), "hydro");
  auto missing = parse({"node", "list", "--selector"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().exit_code, kExitUsage);
  EXPECT_EQ(missing.error().message, "--selector needs a value");
  EXPECT_FALSE(parse({"--json=yes"}));
  auto dash = parse({"token", "delete", "-utg4ZH4"});  // token ids may start with '-'
  ASSERT_TRUE(dash);
  EXPECT_EQ(dash->words.back(), "-utg4ZH4");
  auto rest = parse({"token", "delete", "--", "--odd"});
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->words, (std::vector<std::string>{"token", "delete", "--odd"}));
}

TEST(CtlPlan, NodeCommands) {
  auto list = plan({"node", "list", "--selector", "site=hydro,tier=a"});
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(list->method, "GET");
  EXPECT_EQ(list->path, "/api/v1/nodes?selector=site%3Dhydro%2Ctier%3Da");
  EXPECT_EQ(list->output, Output::NodeList);

  auto create = plan({"node", "create", "pump-1", "--site", "hydro", "--label", "tier=a"});
  ASSERT_TRUE(create);
  EXPECT_EQ(create->method, "POST");
  EXPECT_EQ(create->path, "/api/v1/nodes");
  auto body = parse_json(create->body);
  ASSERT_TRUE(body) << create->body;
  EXPECT_EQ(body->find("id")->as_string(), "pump-1");
  EXPECT_EQ(body->find("site")->as_string(), "hydro");
  EXPECT_EQ(body->find("labels")->find("tier")->as_string(), "a");

  auto label = plan({"node", "label", "pump-1", "--label", "x=y"});
  ASSERT_TRUE(label);
  EXPECT_EQ(label->method, "PUT");
  EXPECT_EQ(label->path, "/api/v1/nodes/pump-1/labels");
  EXPECT_EQ(label->body, R"({"labels":{"x":"y"}})");
  EXPECT_FALSE(plan({"node", "label", "pump-1"}));  // nothing to change
  EXPECT_FALSE(plan({"node", "create", "p", "--label", "novalue"}));

  EXPECT_EQ(plan({"node", "status", "pump-1"})->path, "/api/v1/nodes/pump-1");
  EXPECT_EQ(plan({"node", "revoke", "pump-1"})->path, "/api/v1/nodes/pump-1/revoke");
  EXPECT_EQ(plan({"node", "delete", "pump-1"})->method, "DELETE");
  EXPECT_EQ(plan({"node", "token", "pump-1"})->method, "POST");
  EXPECT_EQ(plan({"node", "devices", "pump-1", "b 1"})->path, "/api/v1/nodes/pump-1/devices/b%201");
}

TEST(CtlPlan, UsageErrorsSayWhatIsWrong) {
  auto unknown = plan({"nodes", "list"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().exit_code, kExitUsage);
  EXPECT_EQ(unknown.error().message, "unknown command 'nodes list' (verge ctl --help)");
  auto args = plan({"node", "status"});
  ASSERT_FALSE(args);
  EXPECT_EQ(args.error().message, "node status: expected 1 argument(s), got 0");
  auto opt = plan({"node", "status", "p", "--limit", "3"});
  ASSERT_FALSE(opt);
  EXPECT_EQ(opt.error().message, "node status: unknown option '--limit'");
  auto num = plan({"records", "p", "s", "--limit", "ten"});
  ASSERT_FALSE(num);
  EXPECT_EQ(num.error().message, "--limit: expected a non-negative integer, got 'ten'");
  EXPECT_FALSE(plan({"token", "create", "grafana"}));  // --role is required
  EXPECT_FALSE(plan({"desired", "delete"}));           // a scope is required
  EXPECT_FALSE(plan({"desired", "get", "--node", "a", "--selector", "b=c"}));
  EXPECT_FALSE(plan({}));
}

TEST(CtlPlan, DesiredRecordsTokensAudit) {
  DocReader reader = [](const std::string& path) -> Result<Value> {
    if (path != "site.yaml") return unexpected(Error{path + ": cannot open"});
    return parse_doc_text("streams:\n  temps: CREATE STREAM temps (v DOUBLE)\n", path);
  };
  auto set = plan({"desired", "set", "--selector", "site=hydro", "--file", "site.yaml"}, reader);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->method, "PUT");
  EXPECT_EQ(set->path, "/api/v1/desired/selectors/site%3Dhydro");
  EXPECT_EQ(set->body, R"j({"streams":{"temps":"CREATE STREAM temps (v DOUBLE)"}})j");
  auto missing = plan({"desired", "set", "--node", "p", "--file", "nope.yaml"}, reader);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().exit_code, kExitFailed);
  EXPECT_EQ(missing.error().message, "nope.yaml: cannot open");

  EXPECT_EQ(plan({"desired", "get"})->path, "/api/v1/desired");
  EXPECT_EQ(plan({"desired", "get"})->output, Output::DesiredList);
  EXPECT_EQ(plan({"desired", "get", "--node", "p1"})->path, "/api/v1/desired/nodes/p1");
  EXPECT_EQ(plan({"desired", "delete", "--node", "p1"})->method, "DELETE");
  EXPECT_EQ(plan({"records", "p1", "temps", "--from-seq", "10", "--limit", "5"})->path,
            "/api/v1/nodes/p1/streams/temps/records?from_seq=10&limit=5");
  EXPECT_EQ(plan({"alarms", "--node", "p1"})->path, "/api/v1/alarms?node=p1");
  auto token = plan({"token", "create", "grafana", "--role", "viewer"});
  ASSERT_TRUE(token);
  EXPECT_EQ(token->body, R"({"name":"grafana","role":"viewer"})");
  EXPECT_EQ(plan({"token", "delete", "abcd1234"})->path, "/api/v1/tokens/abcd1234");
  EXPECT_EQ(plan({"audit", "--limit", "20"})->path, "/api/v1/audit?limit=20");
}

TEST(CtlDoc, YamlScalarsAreTypedAndJsonIsAccepted) {
  auto y = parse_doc_text("devices:\n  b1:\n    port: 502\n    on: true\n    name: '7'\n", "f");
  ASSERT_TRUE(y) << y.error().message;
  const Value* b1 = y->find("devices")->find("b1");
  EXPECT_EQ(b1->find("port")->as_int(), 502);
  EXPECT_TRUE(b1->find("on")->is_true());
  EXPECT_EQ(b1->find("name")->as_string(), "7");
  auto j = parse_doc_text(R"( {"rules": {}} )", "f.json");
  ASSERT_TRUE(j);
  EXPECT_TRUE(j->find("rules")->is_object());
  auto bad = parse_doc_text("a: [1,\n", "bad.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("bad.yaml:", 0), 0u) << bad.error().message;
  EXPECT_FALSE(parse_doc_text("{\"a\":", "x.json"));
}

TEST(CtlFormat, TablesAlignColumns) {
  EXPECT_EQ(format_table({"ID", "STATE"}, {{"pump-1", "active"}, {"m", "pending"}}),
            "ID      STATE\n"
            "pump-1  active\n"
            "m       pending\n");
  EXPECT_EQ(format_table({"A", "B"}, {}), "A  B\n");
}

TEST(CtlFormat, DurationsAgesAndSizes) {
  EXPECT_EQ(format_duration_ms(850), "850ms");
  EXPECT_EQ(format_duration_ms(42'000), "42s");
  EXPECT_EQ(format_duration_ms(185'000), "3m05s");
  EXPECT_EQ(format_duration_ms(7'800'000), "2h10m");
  EXPECT_EQ(format_duration_ms(356'400'000), "4d3h");
  EXPECT_EQ(format_ago(0, 1000), "never");
  EXPECT_EQ(format_ago(10'000, 22'000), "12s ago");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(3 * 1024 * 1024 + 200 * 1024), "3.2 MiB");
}

TEST(CtlFormat, PrettyJsonIndents) {
  auto v = parse_json(R"({"a":[1,{"b":null}],"c":{},"d":"x"})");
  ASSERT_TRUE(v);
  EXPECT_EQ(pretty_json(*v),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {},\n"
            "  \"d\": \"x\"\n}\n");
}

TEST(CtlFormat, NodeStatusShowsBacklogDrainAndDesired) {
  auto node = parse_json(R"({
    "id": "pump-1", "site": "hydro", "labels": {"site": "hydro"}, "state": "active",
    "online": true, "last_seen_ms": 95000, "desired_version": 4, "applied_version": 3,
    "status": {"version": "0.1.0", "cpu_percent": 12.5, "rss_bytes": 1048576,
               "disk": {"path": "/d", "total_bytes": 4194304, "free_bytes": 2097152},
               "streams": [{"stream": "temps", "backlog_records": 1200, "backlog_bytes": 2048,
                            "oldest_age_ms": 65000, "drain_rate": 40.0, "eta_s": 30.0},
                           {"stream": "alarms", "backlog_records": 0, "backlog_bytes": 0,
                            "oldest_age_ms": 0, "drain_rate": 0, "eta_s": null}]},
    "report": {"version": 3, "failed": [{"item": "devices.b1", "error": "bad port"}]}})");
  ASSERT_TRUE(node);
  const std::string out = format_node_status(*node, 100'000);
  EXPECT_NE(out.find("state:          active, online"), std::string::npos) << out;
  EXPECT_NE(out.find("last seen:      5s ago"), std::string::npos) << out;
  EXPECT_NE(out.find("cpu:            12.5%"), std::string::npos) << out;
  EXPECT_NE(out.find("memory:         1.0 MiB resident"), std::string::npos) << out;
  EXPECT_NE(out.find("disk:           2.0 MiB free of 4.0 MiB"), std::string::npos) << out;
  EXPECT_NE(out.find("version 4, applied 3 (pending)"), std::string::npos) << out;
  EXPECT_NE(out.find("  temps   1200     2.0 KiB  1m05s   40.0/s  30s"), std::string::npos) << out;
  EXPECT_NE(out.find("  alarms  0        0 B      -       0.0/s   -"), std::string::npos) << out;
  EXPECT_NE(out.find("devices.b1: bad port"), std::string::npos) << out;
}

TEST(CtlFormat, RendersRepliesPerCommand) {
  auto created = parse_json(R"({"id":"p1","token":"vgt1.p1.s.c","expires_at_ms":3600000})");
  ASSERT_TRUE(created);
  EXPECT_EQ(render_reply(Output::NodeCreated, *created, 0),
            "enrolment token for node p1 (shown once; expires in 1h00m):\nvgt1.p1.s.c\n");
  auto changed = parse_json(R"({"scope":"selector:site=hydro","revision":2,"nodes":["a","b"]})");
  ASSERT_TRUE(changed);
  EXPECT_EQ(render_reply(Output::DesiredChanged, *changed, 0),
            "selector:site=hydro revision 2; nodes changed: a, b\n");
  auto list = parse_json(R"({"nodes":[{"id":"p1","state":"pending","online":false,"site":"",
      "labels":{},"version":null,"desired_version":0,"applied_version":null,"last_seen_ms":0}]})");
  ASSERT_TRUE(list);
  const std::string table = render_reply(Output::NodeList, *list, 0);
  EXPECT_NE(table.find("p1  pending  no      -     -       -        0/-              never"),
            std::string::npos)
      << table;
}

}  // namespace
}  // namespace verge::cmd::ctl
