// Behaviour every Registry backend must show (SQLite: tests/unit/registry_test.cc, PostgreSQL:
// tests/pg/registry_pg_test.cc). A backend opens the same storage again after the previous
// registry was destroyed; VERGE_REGISTRY_SCENARIOS(Suite, Backend) instantiates every scenario.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "sync/registry.h"

namespace verge::sync::testing {

class RegistryBackend {
 public:
  virtual ~RegistryBackend() = default;
  // Opens the backend's storage (again, after the previous registry was destroyed).
  virtual std::unique_ptr<Registry> open() = 0;
  // False when the backend cannot run here (no PostgreSQL server): the scenario is skipped.
  virtual bool ready() const { return true; }
  virtual std::string why_not() const { return {}; }
};

inline constexpr int64_t kT0 = 1'700'000'000'000;
inline constexpr int64_t kDay = 24LL * 3600 * 1000;

inline Value registry_json(std::string_view text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.has_value()) << text;
  return v ? *v : Value();
}

inline DesiredScope selector_scope(std::string text) {
  return DesiredScope{DesiredScope::Kind::Selector, std::move(text)};
}
inline DesiredScope node_scope(std::string id) {
  return DesiredScope{DesiredScope::Kind::Node, std::move(id)};
}

// The item `kind`.`name` of a node's effective document (null when absent).
inline Value effective_item(const Registry& r, std::string_view node, std::string_view kind,
                            std::string_view name) {
  const Value doc = r.effective_desired(node);
  const Value* section = doc.find(kind);
  const Value* item = section ? section->find(name) : nullptr;
  return item ? *item : Value();
}

inline int64_t version_of(const Registry& r, std::string_view node) {
  auto n = r.node(node);
  EXPECT_TRUE(n.has_value()) << node;
  return n ? n->desired_version : -1;
}

inline void scenario_node_lifecycle(RegistryBackend& backend) {
  auto r = backend.open();
  ASSERT_TRUE(r);
  auto token = r->create_node("pump-1", "hydro", {{"site", "hydro"}}, kT0);
  ASSERT_TRUE(token.has_value()) << token.error().message;
  auto n = r->node("pump-1");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->state, NodeState::Pending);
  EXPECT_EQ(n->site, "hydro");
  EXPECT_EQ(n->created_ms, kT0);
  EXPECT_FALSE(r->node_active("pump-1"));

  EXPECT_TRUE(r->enrol_token_valid("pump-1", *token, kT0 + 1));
  EXPECT_FALSE(r->enrol_token_valid("pump-1", *token + "x", kT0 + 1));
  EXPECT_FALSE(r->enrol_token_valid("pump-2", *token, kT0 + 1));
  auto wrong = r->consume_enrol_token("pump-1", "not-the-secret", kT0 + 1);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().message, "unknown token");

  ASSERT_TRUE(r->consume_enrol_token("pump-1", *token, kT0 + 2).has_value());
  auto again = r->consume_enrol_token("pump-1", *token, kT0 + 3);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().message, "token already used");
  EXPECT_FALSE(r->enrol_token_valid("pump-1", *token, kT0 + 3));

  ASSERT_TRUE(r->set_enrolled("pump-1", "0a1b", kT0 + 365 * kDay, kT0 + 4).has_value());
  EXPECT_TRUE(r->node_active("pump-1"));
  n = r->node("pump-1");
  EXPECT_EQ(n->state, NodeState::Active);
  EXPECT_EQ(n->enrolled_ms, kT0 + 4);
  EXPECT_EQ(n->cert_serial, "0a1b");
  auto exists = r->create_node("pump-1", "hydro", {}, kT0 + 5);
  ASSERT_FALSE(exists.has_value());
  EXPECT_EQ(exists.error().message, "node 'pump-1' exists (active)");

  // Expiry, with a fake now: valid one ms before the TTL ends, expired at its end.
  auto late = r->create_node("pump-2", "hydro", {}, kT0);
  ASSERT_TRUE(late.has_value());
  EXPECT_TRUE(r->enrol_token_valid("pump-2", *late, kT0 + kDay - 1));
  auto expired = r->consume_enrol_token("pump-2", *late, kT0 + kDay);
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().message, "token expired");

  // A new token for a pending node replaces the old one.
  auto fresh = r->create_node("pump-2", "hydro", {}, kT0 + kDay);
  ASSERT_TRUE(fresh.has_value());
  EXPECT_NE(*fresh, *late);
  EXPECT_FALSE(r->enrol_token_valid("pump-2", *late, kT0 + kDay + 1));
  EXPECT_TRUE(r->enrol_token_valid("pump-2", *fresh, kT0 + kDay + 1));

  // Revoked: not active, its token refused, and it cannot enrol again.
  ASSERT_TRUE(r->revoke_node("pump-1", kT0 + 6).has_value());
  EXPECT_FALSE(r->node_active("pump-1"));
  EXPECT_EQ(r->node("pump-1")->state, NodeState::Revoked);
  EXPECT_FALSE(r->set_enrolled("pump-1", "ff", kT0 + kDay, kT0 + 7).has_value());
  ASSERT_TRUE(r->revoke_node("pump-2", kT0 + 6).has_value());
  EXPECT_FALSE(r->enrol_token_valid("pump-2", *fresh, kT0 + kDay + 1));
  EXPECT_FALSE(r->create_node("pump-2", "hydro", {}, kT0 + 8).has_value());

  ASSERT_TRUE(r->delete_node("pump-1").has_value());
  EXPECT_FALSE(r->node("pump-1").has_value());
  EXPECT_FALSE(r->node_active("pump-1"));
  EXPECT_FALSE(r->delete_node("pump-1").has_value());
  EXPECT_FALSE(r->revoke_node("nope", kT0).has_value());

  // Bad input from outside: clear errors, nothing stored.
  EXPECT_FALSE(r->create_node("bad id", "", {}, kT0).has_value());
  EXPECT_FALSE(r->create_node("", "", {}, kT0).has_value());
  EXPECT_FALSE(r->create_node("x", "", {{"bad key!", "v"}}, kT0).has_value());
  EXPECT_FALSE(r->create_node("x", "", {{"k", "bad value"}}, kT0).has_value());
  EXPECT_FALSE(r->node("x").has_value());
  EXPECT_EQ(r->nodes({}).size(), 1u);
}

inline void scenario_selector_parsing(RegistryBackend& backend) {
  auto sel = parse_selector(" zone = a , site=hydro");
  ASSERT_TRUE(sel.has_value()) << sel.error().message;
  EXPECT_EQ(*sel, (Labels{{"site", "hydro"}, {"zone", "a"}}));
  ASSERT_TRUE(parse_selector("").has_value());
  EXPECT_TRUE(parse_selector("")->empty());
  EXPECT_TRUE(selector_matches({}, {{"a", "b"}}));
  EXPECT_TRUE(selector_matches({{"a", "b"}}, {{"a", "b"}, {"c", "d"}}));
  EXPECT_FALSE(selector_matches({{"a", "b"}}, {{"a", "c"}}));
  EXPECT_FALSE(selector_matches({{"a", "b"}}, {}));

  struct Bad {
    const char* text;
    const char* names;  // the part the error must name
  };
  for (const Bad& b : {Bad{"site", "\"site\" is not key=value"}, Bad{"a=1,,b=2", "\"\""},
                       Bad{"=1", "bad key"}, Bad{"a=", "bad value"}, Bad{"a=1,a=2", "twice"},
                       Bad{"a b=1", "\"a b\""}, Bad{"a=x y", "\"x y\""}}) {
    auto r = parse_selector(b.text);
    ASSERT_FALSE(r.has_value()) << b.text;
    EXPECT_NE(r.error().message.find(b.names), std::string::npos)
        << b.text << ": " << r.error().message;
  }

  // Scopes are stored normalised: one document per selector however it was written.
  auto r = backend.open();
  ASSERT_TRUE(r);
  const Value doc = registry_json(R"({"streams":{"s":"CREATE STREAM s"}})");
  ASSERT_TRUE(r->put_desired(selector_scope("zone=a, site=hydro"), doc, kT0).has_value());
  ASSERT_TRUE(r->put_desired(selector_scope("site=hydro,zone=a"), doc, kT0 + 1).has_value());
  auto docs = r->desired_docs();
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].scope.value, "site=hydro,zone=a");
  EXPECT_EQ(docs[0].scope.key(), "selector:site=hydro,zone=a");
  EXPECT_EQ(docs[0].revision, 2);
  EXPECT_FALSE(r->put_desired(selector_scope("site"), doc, kT0).has_value());
}

inline void scenario_effective_desired_merge(RegistryBackend& backend) {
  auto r = backend.open();
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->create_node("n1", "hydro", {{"site", "hydro"}, {"zone", "a"}}, kT0));
  ASSERT_TRUE(r->create_node("n2", "hydro", {{"site", "hydro"}, {"zone", "b"}}, kT0));
  ASSERT_TRUE(r->create_node("n3", "solar", {{"site", "solar"}}, kT0));
  EXPECT_EQ(version_of(*r, "n1"), 0);
  EXPECT_EQ(*r->effective_desired("n1").find("version"), Value(0));

  auto changed = r->put_desired(
      selector_scope("site=hydro"),
      registry_json(R"({"devices":{"d1":{"v":1}},"rules":{"r1":{"sql":"SELECT 1"}}})"), kT0);
  ASSERT_TRUE(changed.has_value()) << changed.error().message;
  EXPECT_EQ(*changed, (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(version_of(*r, "n1"), 1);
  EXPECT_EQ(version_of(*r, "n2"), 1);
  EXPECT_EQ(version_of(*r, "n3"), 0);

  // A later selector document's item replaces the earlier's of the same name; others stay.
  changed = r->put_desired(selector_scope("zone=a"), registry_json(R"({"devices":{"d1":{"v":2}}})"),
                           kT0 + 1);
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(*changed, std::vector<std::string>{"n1"});
  EXPECT_EQ(effective_item(*r, "n1", "devices", "d1"), registry_json(R"({"v":2})"));
  EXPECT_EQ(effective_item(*r, "n1", "rules", "r1"), registry_json(R"({"sql":"SELECT 1"})"));
  EXPECT_EQ(effective_item(*r, "n2", "devices", "d1"), registry_json(R"({"v":1})"));
  EXPECT_EQ(version_of(*r, "n1"), 2);

  // Merge order is the scopes' creation order: updating the older document does not make it win,
  // so n1's effective document is unchanged and only n2 is reported.
  changed = r->put_desired(
      selector_scope("site=hydro"),
      registry_json(R"({"devices":{"d1":{"v":3}},"rules":{"r1":{"sql":"SELECT 1"}}})"), kT0 + 2);
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(*changed, std::vector<std::string>{"n2"});
  EXPECT_EQ(effective_item(*r, "n1", "devices", "d1"), registry_json(R"({"v":2})"));
  EXPECT_EQ(effective_item(*r, "n2", "devices", "d1"), registry_json(R"({"v":3})"));
  EXPECT_EQ(version_of(*r, "n1"), 2);
  EXPECT_EQ(version_of(*r, "n2"), 2);

  // The same content again: a new revision, but no node's document changed.
  changed = r->put_desired(
      selector_scope("site=hydro"),
      registry_json(R"({"rules":{"r1":{"sql":"SELECT 1"}},"devices":{"d1":{"v":3}}})"), kT0 + 3);
  ASSERT_TRUE(changed.has_value());
  EXPECT_TRUE(changed->empty());

  // The node's own document comes last, whatever its age.
  changed =
      r->put_desired(node_scope("n2"), registry_json(R"({"devices":{"d1":{"v":9}}})"), kT0 + 4);
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(*changed, std::vector<std::string>{"n2"});
  EXPECT_EQ(effective_item(*r, "n2", "devices", "d1"), registry_json(R"({"v":9})"));
  EXPECT_EQ(*r->effective_desired("n2").find("version"), Value(3));

  // Deleting a document falls back to the others.
  changed = r->delete_desired(selector_scope("zone=a"));
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(*changed, std::vector<std::string>{"n1"});
  EXPECT_EQ(effective_item(*r, "n1", "devices", "d1"), registry_json(R"({"v":3})"));
  EXPECT_EQ(version_of(*r, "n1"), 3);
  EXPECT_EQ(version_of(*r, "n3"), 0);

  // Errors: nothing changes.
  EXPECT_FALSE(r->delete_desired(selector_scope("zone=a")).has_value());
  EXPECT_FALSE(r->put_desired(node_scope("ghost"), registry_json("{}"), kT0).has_value());
  auto bad = r->put_desired(selector_scope("site=hydro"), registry_json(R"({"devices":{"d1":5}})"),
                            kT0 + 5);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("devices.d1"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(r->put_desired(selector_scope("site=hydro"), registry_json(R"({"widgets":{}})"), kT0)
                   .has_value());
  EXPECT_EQ(effective_item(*r, "n2", "devices", "d1"), registry_json(R"({"v":9})"));
  EXPECT_TRUE(r->effective_desired("ghost").is_null());

  // A node created under an existing selector starts with its document, at version 1.
  ASSERT_TRUE(r->create_node("n4", "hydro", {{"site", "hydro"}}, kT0 + 6));
  EXPECT_EQ(version_of(*r, "n4"), 1);
  EXPECT_EQ(effective_item(*r, "n4", "devices", "d1"), registry_json(R"({"v":3})"));
}

inline void scenario_relabel(RegistryBackend& backend) {
  auto r = backend.open();
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->create_node("n1", "solar", {{"site", "solar"}}, kT0));
  ASSERT_TRUE(r->put_desired(selector_scope("site=hydro"),
                             registry_json(R"({"rules":{"r1":{"sql":"SELECT 1"}}})"), kT0));
  EXPECT_EQ(version_of(*r, "n1"), 0);

  auto changed = r->relabel("n1", "hydro", {{"site", "hydro"}});
  ASSERT_TRUE(changed.has_value());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(version_of(*r, "n1"), 1);
  EXPECT_EQ(r->node("n1")->site, "hydro");
  EXPECT_FALSE(effective_item(*r, "n1", "rules", "r1").is_null());

  // A label no selector looks at: the document and its version stay.
  changed = r->relabel("n1", "hydro", {{"site", "hydro"}, {"rack", "7"}});
  ASSERT_TRUE(changed.has_value());
  EXPECT_FALSE(*changed);
  EXPECT_EQ(version_of(*r, "n1"), 1);
  EXPECT_EQ(r->node("n1")->labels.at("rack"), "7");

  ASSERT_TRUE(r->set_labels("n1", "solar", {{"site", "solar"}}).has_value());
  EXPECT_EQ(version_of(*r, "n1"), 2);
  EXPECT_TRUE(effective_item(*r, "n1", "rules", "r1").is_null());
  EXPECT_EQ(r->nodes({{"site", "solar"}}).size(), 1u);
  EXPECT_TRUE(r->nodes({{"site", "hydro"}}).empty());

  EXPECT_FALSE(r->relabel("ghost", "", {}).has_value());
  EXPECT_FALSE(r->relabel("n1", "", {{"k", "bad value"}}).has_value());
  EXPECT_EQ(r->node("n1")->labels, (Labels{{"site", "solar"}}));
}

inline void scenario_api_tokens(RegistryBackend& backend) {
  auto r = backend.open();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_api_tokens());
  auto token = r->create_api_token("ops", Role::Operator, kT0);
  ASSERT_TRUE(token.has_value()) << token.error().message;
  ASSERT_TRUE(token->starts_with("vat1_"));
  EXPECT_TRUE(r->has_api_tokens());

  auto entry = r->check_api_token(*token);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->name, "ops");
  EXPECT_EQ(entry->role, Role::Operator);
  EXPECT_EQ(entry->id, token->substr(5, 8));
  EXPECT_EQ(entry->created_ms, kT0);

  std::string forged = *token;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(r->check_api_token(forged).has_value());
  EXPECT_FALSE(r->check_api_token("").has_value());
  EXPECT_FALSE(r->check_api_token("vat1_").has_value());
  EXPECT_FALSE(r->check_api_token("garbage").has_value());
  EXPECT_FALSE(r->create_api_token("", Role::Admin, kT0).has_value());

  auto admin = r->create_api_token("root", Role::Admin, kT0 + 1);
  ASSERT_TRUE(admin.has_value());
  EXPECT_EQ(r->api_tokens().size(), 2u);
  ASSERT_TRUE(r->delete_api_token(entry->id).has_value());
  EXPECT_FALSE(r->check_api_token(*token).has_value());
  EXPECT_TRUE(r->check_api_token(*admin).has_value());
  auto unknown = r->delete_api_token(entry->id);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find(entry->id), std::string::npos);
  EXPECT_EQ(r->api_tokens().size(), 1u);

  EXPECT_EQ(parse_role("admin"), Role::Admin);
  EXPECT_FALSE(parse_role("root").has_value());
}

inline void scenario_audit_order(RegistryBackend& backend) {
  auto r = backend.open();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->audit_log(0, 10).empty());
  ASSERT_TRUE(r->audit("ops", "node.create", "node:a", registry_json(R"({"site":"x"})"), kT0));
  ASSERT_TRUE(r->audit("ops", "node.revoke", "node:a", Value(), kT0 + 1));
  ASSERT_TRUE(r->audit("root", "token.create", "token:abc", Value(), kT0 + 2));
  auto all = r->audit_log(0, 10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].action, "node.create");
  EXPECT_EQ(all[1].action, "node.revoke");
  EXPECT_EQ(all[2].action, "token.create");
  EXPECT_LT(all[0].id, all[1].id);
  EXPECT_LT(all[1].id, all[2].id);
  EXPECT_EQ(all[0].who, "ops");
  EXPECT_EQ(all[0].target, "node:a");
  EXPECT_EQ(all[0].ts_ms, kT0);
  EXPECT_EQ(all[0].detail, registry_json(R"({"site":"x"})"));
  auto page = r->audit_log(all[0].id, 1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, all[1].id);
  EXPECT_TRUE(r->audit_log(all[2].id, 10).empty());
  EXPECT_EQ(r->audit_log(0, SIZE_MAX).size(), 3u);
}

inline void scenario_alarms_and_live_status(RegistryBackend& backend) {
  auto r = backend.open();
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->create_node("n1", "", {}, kT0));
  ASSERT_TRUE(r->create_node("n2", "", {}, kT0));
  ASSERT_TRUE(r->upsert_alarm("n1", "hot", registry_json(R"({"state":"active"})"), kT0));
  ASSERT_TRUE(r->upsert_alarm("n1", "hot", registry_json(R"({"state":"cleared"})"), kT0 + 1));
  ASSERT_TRUE(r->upsert_alarm("n2", "cold", registry_json(R"({"state":"active"})"), kT0 + 2));
  auto n1 = r->alarms("n1");
  ASSERT_EQ(n1.size(), 1u);
  EXPECT_EQ(n1[0].doc, registry_json(R"({"state":"cleared"})"));
  EXPECT_EQ(n1[0].updated_ms, kT0 + 1);
  EXPECT_EQ(r->alarms("").size(), 2u);
  EXPECT_FALSE(r->upsert_alarm("", "k", Value(), kT0).has_value());

  // Heartbeats: online until offline_after_ms (default 90 s) passes without one.
  r->heartbeat("n1", registry_json(R"({"uptime":5})"), kT0);
  r->heartbeat("ghost", Value(), kT0);  // unknown: ignored
  r->set_devices("n1", registry_json(R"([{"id":"d1"}])"));
  r->set_report("n1", registry_json(R"({"ok":true})"));
  auto n = r->node("n1");
  EXPECT_TRUE(n->online);
  EXPECT_EQ(n->last_seen_ms, kT0);
  EXPECT_EQ(n->status, registry_json(R"({"uptime":5})"));
  EXPECT_EQ(n->devices, registry_json(R"([{"id":"d1"}])"));
  EXPECT_EQ(r->expire_heartbeats(kT0 + 90'000), 0u);
  EXPECT_TRUE(r->node("n1")->online);

  metrics::Registry reg;
  r->register_metrics(reg);
  const std::string text = reg.render();
  EXPECT_NE(text.find("verge_hub_nodes{state=\"pending\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("verge_hub_nodes_online 1"), std::string::npos) << text;
  EXPECT_NE(text.find("verge_hub_api_tokens 0"), std::string::npos) << text;

  EXPECT_EQ(r->expire_heartbeats(kT0 + 90'001), 1u);
  EXPECT_FALSE(r->node("n1")->online);
  r->heartbeat("n2", Value(), kT0);
  r->set_offline("n2");
  EXPECT_FALSE(r->node("n2")->online);

  // Deleting a node takes its alarms with it.
  ASSERT_TRUE(r->delete_node("n2"));
  EXPECT_TRUE(r->alarms("n2").empty());
}

inline void scenario_reopen_restores_durable_state(RegistryBackend& backend) {
  std::string enrolled_token, pending_token, api_token;
  {
    auto r = backend.open();
    ASSERT_TRUE(r);
    auto t = r->create_node("n1", "hydro", {{"site", "hydro"}, {"zone", "a"}}, kT0);
    ASSERT_TRUE(t);
    enrolled_token = *t;
    ASSERT_TRUE(r->consume_enrol_token("n1", *t, kT0 + 1));
    ASSERT_TRUE(r->set_enrolled("n1", "beef", kT0 + kDay, kT0 + 2));
    auto p = r->create_node("n2", "hydro", {{"site", "hydro"}}, kT0);
    ASSERT_TRUE(p);
    pending_token = *p;
    ASSERT_TRUE(r->create_node("n3", "", {}, kT0));
    ASSERT_TRUE(r->revoke_node("n3", kT0 + 3));
    ASSERT_TRUE(r->put_desired(selector_scope("site=hydro"),
                               registry_json(R"({"devices":{"d1":{"v":1}}})"), kT0 + 4));
    ASSERT_TRUE(r->put_desired(selector_scope("zone=a"),
                               registry_json(R"({"devices":{"d1":{"v":2}}})"), kT0 + 5));
    ASSERT_TRUE(r->put_desired(selector_scope("site=hydro"),
                               registry_json(R"({"devices":{"d1":{"v":3}},"streams":{"s":"x"}})"),
                               kT0 + 6));
    ASSERT_TRUE(r->put_desired(node_scope("n1"), registry_json(R"({"rules":{"r":{}}})"), kT0 + 7));
    auto a = r->create_api_token("ops", Role::Admin, kT0);
    ASSERT_TRUE(a);
    api_token = *a;
    ASSERT_TRUE(r->audit("ops", "node.create", "node:n1", Value(), kT0));
    ASSERT_TRUE(r->upsert_alarm("n1", "hot", registry_json(R"({"sev":"major"})"), kT0 + 8));
    r->heartbeat("n1", registry_json(R"({"up":1})"), kT0 + 9);
    ASSERT_EQ(version_of(*r, "n1"), 4);
    ASSERT_EQ(version_of(*r, "n2"), 2);
  }
  auto r = backend.open();
  ASSERT_TRUE(r);
  auto n1 = r->node("n1");
  ASSERT_TRUE(n1.has_value());
  EXPECT_EQ(n1->state, NodeState::Active);
  EXPECT_EQ(n1->site, "hydro");
  EXPECT_EQ(n1->labels, (Labels{{"site", "hydro"}, {"zone", "a"}}));
  EXPECT_EQ(n1->cert_serial, "beef");
  EXPECT_EQ(n1->cert_not_after_ms, kT0 + kDay);
  EXPECT_EQ(n1->enrolled_ms, kT0 + 2);
  EXPECT_EQ(n1->desired_version, 4);
  // Live status is not durable: it comes back with the next heartbeat.
  EXPECT_FALSE(n1->online);
  EXPECT_TRUE(n1->status.is_null());
  EXPECT_TRUE(r->node_active("n1"));
  EXPECT_EQ(r->node("n2")->state, NodeState::Pending);
  EXPECT_EQ(r->node("n2")->desired_version, 2);
  EXPECT_EQ(r->node("n3")->state, NodeState::Revoked);
  EXPECT_TRUE(r->enrol_token_valid("n2", pending_token, kT0 + 10));

  // Desired documents with their revisions and merge order (zone=a still beats site=hydro).
  auto docs = r->desired_docs();
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].scope.key(), "selector:site=hydro");
  EXPECT_EQ(docs[0].revision, 2);
  EXPECT_EQ(docs[1].scope.key(), "selector:zone=a");
  EXPECT_EQ(docs[2].scope.key(), "node:n1");
  EXPECT_EQ(docs[2].updated_ms, kT0 + 7);
  EXPECT_EQ(r->effective_desired("n1"),
            registry_json(R"({"version":4,"profiles":{},"devices":{"d1":{"v":2}},)"
                          R"("streams":{"s":"x"},"rules":{"r":{}}})"));
  // Versions keep counting from the stored value.
  auto changed = r->put_desired(selector_scope("zone=a"), registry_json("{}"), kT0 + 11);
  ASSERT_TRUE(changed);
  EXPECT_EQ(*changed, std::vector<std::string>{"n1"});
  EXPECT_EQ(version_of(*r, "n1"), 5);
  // A scope created after the restart merges after the older ones.
  ASSERT_TRUE(r->put_desired(selector_scope("zone=a,site=hydro"),
                             registry_json(R"({"devices":{"d1":{"v":7}}})"), kT0 + 12));
  EXPECT_EQ(effective_item(*r, "n1", "devices", "d1"), registry_json(R"({"v":7})"));

  auto token = r->check_api_token(api_token);
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->role, Role::Admin);
  auto log = r->audit_log(0, 10);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].action, "node.create");
  auto alarms = r->alarms("n1");
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].doc, registry_json(R"({"sev":"major"})"));

  // A consumed token stays consumed, a deleted node stays deleted.
  EXPECT_FALSE(r->enrol_token_valid("n1", enrolled_token, kT0 + 10));
  ASSERT_TRUE(r->delete_node("n3"));
  r.reset();
  auto again = backend.open();
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->node("n3").has_value());
  EXPECT_EQ(again->nodes({}).size(), 2u);
}

// Certificates: only the active node's current serial passes; re-enrolment of an active node
// (its enrolment reply was lost) gets a one-time token, and the new serial replaces the old one.
inline void scenario_reenrolment(RegistryBackend& backend) {
  auto r = backend.open();
  ASSERT_TRUE(r);
  auto first = r->create_node("pump-7", "hydro", {}, kT0);
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(r->node_cert_valid("pump-7", ""));
  auto pending = r->reissue_enrol_token("pump-7", kT0 + 1);
  ASSERT_FALSE(pending.has_value());
  EXPECT_EQ(pending.error().message, "node 'pump-7' is pending");
  EXPECT_FALSE(r->reissue_enrol_token("nope", kT0 + 1).has_value());

  ASSERT_TRUE(r->consume_enrol_token("pump-7", *first, kT0 + 2).has_value());
  ASSERT_TRUE(r->set_enrolled("pump-7", "4aaa", kT0 + kDay, kT0 + 3).has_value());
  EXPECT_TRUE(r->node_cert_valid("pump-7", "4aaa"));
  EXPECT_FALSE(r->node_cert_valid("pump-7", "4AAA"));
  EXPECT_FALSE(r->node_cert_valid("pump-7", "4bbb"));
  EXPECT_FALSE(r->node_cert_valid("pump-7", ""));
  EXPECT_FALSE(r->node_cert_valid("pump-8", "4aaa"));

  // The reply was lost: the used token stays used, a reissued one works exactly once.
  EXPECT_FALSE(r->consume_enrol_token("pump-7", *first, kT0 + 4).has_value());
  auto again = r->reissue_enrol_token("pump-7", kT0 + 4);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_NE(*again, *first);
  EXPECT_FALSE(r->enrol_token_valid("pump-7", *first, kT0 + 5));
  EXPECT_TRUE(r->enrol_token_valid("pump-7", *again, kT0 + 5));
  // Until the new certificate is recorded the node keeps working with its current one.
  EXPECT_TRUE(r->node_cert_valid("pump-7", "4aaa"));
  EXPECT_EQ(r->node("pump-7")->state, NodeState::Active);

  // The token survives a restart.
  r.reset();
  r = backend.open();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->enrol_token_valid("pump-7", *again, kT0 + 5));
  EXPECT_FALSE(r->enrol_token_valid("pump-7", *again, kT0 + 4 + kDay));  // its own TTL

  ASSERT_TRUE(r->consume_enrol_token("pump-7", *again, kT0 + 6).has_value());
  auto twice = r->consume_enrol_token("pump-7", *again, kT0 + 7);
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().message, "token already used");
  ASSERT_TRUE(r->set_enrolled("pump-7", "4bbb", kT0 + 2 * kDay, kT0 + 8).has_value());
  EXPECT_EQ(r->node("pump-7")->cert_serial, "4bbb");
  EXPECT_TRUE(r->node_cert_valid("pump-7", "4bbb"));
  EXPECT_FALSE(r->node_cert_valid("pump-7", "4aaa"));  // the old certificate is dead at once
  EXPECT_TRUE(r->node_active("pump-7"));

  r.reset();
  r = backend.open();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->node_cert_valid("pump-7", "4bbb"));
  EXPECT_FALSE(r->node_cert_valid("pump-7", "4aaa"));

  // Revoked: no certificate passes and no token is issued; deleted and created again: the old
  // serial does not come back.
  ASSERT_TRUE(r->revoke_node("pump-7", kT0 + 9).has_value());
  EXPECT_FALSE(r->node_cert_valid("pump-7", "4bbb"));
  auto revoked = r->reissue_enrol_token("pump-7", kT0 + 10);
  ASSERT_FALSE(revoked.has_value());
  EXPECT_EQ(revoked.error().message, "node 'pump-7' is revoked");
  ASSERT_TRUE(r->delete_node("pump-7").has_value());
  auto fresh = r->create_node("pump-7", "hydro", {}, kT0 + 11);
  ASSERT_TRUE(fresh.has_value());
  ASSERT_TRUE(r->consume_enrol_token("pump-7", *fresh, kT0 + 12).has_value());
  ASSERT_TRUE(r->set_enrolled("pump-7", "4ccc", kT0 + kDay, kT0 + 13).has_value());
  EXPECT_TRUE(r->node_cert_valid("pump-7", "4ccc"));
  EXPECT_FALSE(r->node_cert_valid("pump-7", "4bbb"));
  EXPECT_FALSE(r->node_cert_valid("pump-7", "4aaa"));
}

}  // namespace verge::sync::testing

// Instantiates every shared scenario as a test of `Suite`, on a fresh `Backend` each.
#define VERGE_REGISTRY_SCENARIO(Suite, Backend, Name, fn)    \
  TEST(Suite, Name) {                                        \
    Backend backend;                                         \
    if (!backend.ready()) GTEST_FAIL() << backend.why_not(); \
    ::verge::sync::testing::fn(backend);                     \
  }
#define VERGE_REGISTRY_SCENARIOS(Suite, Backend)                                                   \
  VERGE_REGISTRY_SCENARIO(Suite, Backend, NodeLifecycle, scenario_node_lifecycle)                  \
  VERGE_REGISTRY_SCENARIO(Suite, Backend, Reenrolment, scenario_reenrolment)                       \
  VERGE_REGISTRY_SCENARIO(Suite, Backend, SelectorParsing, scenario_selector_parsing)              \
  VERGE_REGISTRY_SCENARIO(Suite, Backend, EffectiveDesiredMerge, scenario_effective_desired_merge) \
  VERGE_REGISTRY_SCENARIO(Suite, Backend, Relabel, scenario_relabel)                               \
  VERGE_REGISTRY_SCENARIO(Suite, Backend, ApiTokens, scenario_api_tokens)                          \
  VERGE_REGISTRY_SCENARIO(Suite, Backend, AuditOrder, scenario_audit_order)                        \
  VERGE_REGISTRY_SCENARIO(Suite, Backend, AlarmsAndLiveStatus, scenario_alarms_and_live_status)    \
  VERGE_REGISTRY_SCENARIO(Suite, Backend, ReopenRestoresDurableState,                              \
                          scenario_reopen_restores_durable_state)
