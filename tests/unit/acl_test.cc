#include "mqtt/acl.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace verge::mqtt {
namespace {

Acl parse_ok(std::string_view text) {
  auto r = Acl::parse(text, "acl.conf");
  EXPECT_TRUE(r.has_value()) << (r.has_value() ? "" : r.error().message);
  return r.has_value() ? std::move(r).value() : Acl{};
}

std::string parse_error(std::string_view text) {
  auto r = Acl::parse(text, "acl.conf");
  return r.has_value() ? "<parsed>" : r.error().message;
}

const AclSubject kAnon{"", false, "anon-1"};
const AclSubject kAlice{"alice", true, "c-alice"};
const AclSubject kBob{"bob", true, "c-bob"};

TEST(Acl, EmptyAclDeniesEverything) {
  Acl acl = parse_ok("# nothing\n\n");
  EXPECT_EQ(acl.size(), 0u);
  EXPECT_FALSE(acl.may_publish(kAlice, "a"));
  EXPECT_FALSE(acl.may_subscribe(kAlice, "a").allowed);
  EXPECT_FALSE(acl.may_receive(kAlice, "a"));
}

TEST(Acl, SubjectAny) {
  Acl acl = parse_ok("allow publish any public/#\n");
  EXPECT_EQ(acl.size(), 1u);
  EXPECT_TRUE(acl.may_publish(kAnon, "public/x"));
  EXPECT_TRUE(acl.may_publish(kAlice, "public"));
  EXPECT_FALSE(acl.may_publish(kAlice, "private/x"));
  // The action is publish only.
  EXPECT_FALSE(acl.may_subscribe(kAlice, "public/x").allowed);
}

TEST(Acl, SubjectAnonymousAndAuthenticated) {
  Acl acl = parse_ok(
      "allow subscribe anonymous lobby/#\n"
      "allow all authenticated house/#\n");
  EXPECT_TRUE(acl.may_subscribe(kAnon, "lobby/+").allowed);
  EXPECT_FALSE(acl.may_subscribe(kAlice, "lobby/+").allowed);
  EXPECT_FALSE(acl.may_subscribe(kAnon, "house/#").allowed);
  EXPECT_TRUE(acl.may_subscribe(kAlice, "house/#").allowed);
  EXPECT_TRUE(acl.may_publish(kAlice, "house/door"));
  EXPECT_FALSE(acl.may_publish(kAnon, "house/door"));
  EXPECT_FALSE(acl.may_publish(kAnon, "lobby/x"));  // subscribe only
}

TEST(Acl, SubjectUserRequiresAuthentication) {
  Acl acl = parse_ok("allow all user:alice alice-stuff/#\n");
  EXPECT_TRUE(acl.may_publish(kAlice, "alice-stuff/1"));
  EXPECT_FALSE(acl.may_publish(kBob, "alice-stuff/1"));
  // An anonymous client that merely claims the name gets nothing.
  EXPECT_FALSE(acl.may_publish(AclSubject{"alice", false, "x"}, "alice-stuff/1"));
}

TEST(Acl, SubjectClient) {
  Acl acl = parse_ok("allow publish client:gw-7 gateways/7/#\n");
  EXPECT_TRUE(acl.may_publish(AclSubject{"", false, "gw-7"}, "gateways/7/up"));
  EXPECT_TRUE(acl.may_publish(AclSubject{"alice", true, "gw-7"}, "gateways/7/up"));
  EXPECT_FALSE(acl.may_publish(AclSubject{"gw-7", true, "gw-8"}, "gateways/7/up"));
}

TEST(Acl, FirstMatchWins) {
  Acl acl = parse_ok(
      "deny publish any a/secret\n"
      "allow publish any a/#\n"
      "deny publish any a/open\n");
  EXPECT_FALSE(acl.may_publish(kAlice, "a/secret"));
  EXPECT_TRUE(acl.may_publish(kAlice, "a/open"));
  EXPECT_TRUE(acl.may_publish(kAlice, "a/b/c"));
  EXPECT_FALSE(acl.may_publish(kAlice, "b"));

  Acl reversed = parse_ok(
      "allow publish any a/#\n"
      "deny publish any a/secret\n");
  EXPECT_TRUE(reversed.may_publish(kAlice, "a/secret"));
}

TEST(Acl, UsernameSubstitution) {
  Acl acl = parse_ok("allow all authenticated users/%u/#\n");
  EXPECT_TRUE(acl.may_publish(kAlice, "users/alice/inbox"));
  EXPECT_FALSE(acl.may_publish(kAlice, "users/bob/inbox"));
  EXPECT_TRUE(acl.may_publish(kBob, "users/bob/inbox"));
  EXPECT_TRUE(acl.may_subscribe(kBob, "users/bob/#").allowed);
  EXPECT_FALSE(acl.may_subscribe(kBob, "users/+/inbox").allowed);
  EXPECT_FALSE(acl.may_subscribe(kBob, "users/#").allowed);
}

TEST(Acl, UsernameIsNotSubstitutedForAnonymousClients) {
  Acl acl = parse_ok("allow publish any users/%u/#\n");
  EXPECT_FALSE(acl.may_publish(AclSubject{"alice", false, "x"}, "users/alice/inbox"));
  EXPECT_FALSE(acl.may_publish(AclSubject{"", false, "x"}, "users//inbox"));
}

TEST(Acl, ClientIdSubstitution) {
  Acl acl = parse_ok("allow all any devices/%c/#\n");
  const AclSubject c1{"", false, "c1"};
  EXPECT_TRUE(acl.may_publish(c1, "devices/c1/temp"));
  EXPECT_FALSE(acl.may_publish(c1, "devices/c2/temp"));
  auto own = acl.may_subscribe(c1, "devices/c1/+");
  EXPECT_TRUE(own.allowed);
  EXPECT_FALSE(own.needs_delivery_check);
  EXPECT_FALSE(acl.may_subscribe(c1, "devices/+/temp").allowed);
  EXPECT_FALSE(acl.may_subscribe(c1, "devices/c2/temp").allowed);
  EXPECT_FALSE(acl.may_subscribe(c1, "devices/#").allowed);
  EXPECT_FALSE(acl.may_subscribe(c1, "#").allowed);
}

TEST(Acl, SubstitutionInsideALevelAndBothPlaceholders) {
  Acl acl = parse_ok("allow publish authenticated site/%u-%c/log\n");
  EXPECT_TRUE(acl.may_publish(kAlice, "site/alice-c-alice/log"));
  EXPECT_FALSE(acl.may_publish(kAlice, "site/alice-other/log"));
}

TEST(Acl, HostileValuesDoNotWidenAccess) {
  Acl acl = parse_ok(
      "allow all authenticated users/%u/#\n"
      "allow all any devices/%c\n"
      "allow all authenticated %u/#\n");
  for (std::string_view evil : {"+", "#", "a/b", "a+", "x#", "../x", "$SYS"}) {
    const AclSubject u{evil, true, "ok-client"};
    SCOPED_TRACE(std::string(evil));
    EXPECT_FALSE(acl.may_subscribe(u, "users/#").allowed);
    EXPECT_FALSE(acl.may_subscribe(u, "users/+/#").allowed);
    EXPECT_FALSE(acl.may_publish(u, "users/victim/inbox"));
    EXPECT_FALSE(acl.may_subscribe(u, "#").allowed);
    EXPECT_FALSE(acl.may_receive(u, "users/victim/inbox"));
    EXPECT_FALSE(acl.may_publish(u, "$SYS/broker/x"));
    EXPECT_FALSE(acl.may_subscribe(u, "$SYS/#").allowed);
    const AclSubject c{"", false, evil};
    EXPECT_FALSE(acl.may_subscribe(c, "devices/+").allowed);
    EXPECT_FALSE(acl.may_subscribe(c, "devices/#").allowed);
    EXPECT_FALSE(acl.may_publish(c, "devices/victim"));
  }
  // A '/' in a username would otherwise reach another user's tree: users/a/b/# ⊂ users/a/#.
  EXPECT_FALSE(acl.may_publish(AclSubject{"alice/..", true, "z"}, "users/alice/../x"));
  // An empty client id never matches "devices/" either.
  EXPECT_FALSE(acl.may_publish(AclSubject{"", false, ""}, "devices/"));
  // Sanity: a normal user still gets access.
  EXPECT_TRUE(acl.may_subscribe(AclSubject{"eve", true, "z"}, "users/eve/#").allowed);
}

TEST(Acl, SubscribeCoverageVersusIntersection) {
  Acl acl = parse_ok(
      "deny subscribe any secret/#\n"
      "allow subscribe any #\n");
  auto all = acl.may_subscribe(kAlice, "#");
  EXPECT_TRUE(all.allowed);
  EXPECT_TRUE(all.needs_delivery_check);
  EXPECT_FALSE(acl.may_receive(kAlice, "secret/x"));
  EXPECT_FALSE(acl.may_receive(kAlice, "secret"));
  EXPECT_TRUE(acl.may_receive(kAlice, "public/x"));

  auto plain = acl.may_subscribe(kAlice, "public/+");
  EXPECT_TRUE(plain.allowed);
  EXPECT_FALSE(plain.needs_delivery_check);

  auto wild = acl.may_subscribe(kAlice, "+/x");  // intersects secret/# at secret/x
  EXPECT_TRUE(wild.allowed);
  EXPECT_TRUE(wild.needs_delivery_check);

  auto secret = acl.may_subscribe(kAlice, "secret/+");
  EXPECT_FALSE(secret.allowed);
  EXPECT_FALSE(acl.may_subscribe(kAlice, "secret/#").allowed);
}

TEST(Acl, AllowThatOnlyIntersectsDoesNotGrant) {
  Acl acl = parse_ok("allow subscribe any a/b\n");
  EXPECT_FALSE(acl.may_subscribe(kAlice, "a/+").allowed);
  EXPECT_TRUE(acl.may_subscribe(kAlice, "a/b").allowed);
}

TEST(Acl, DenyAfterTheDecidingRuleIsIgnored) {
  Acl acl = parse_ok(
      "allow subscribe any #\n"
      "deny subscribe any secret/#\n");
  auto d = acl.may_subscribe(kAlice, "#");
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.needs_delivery_check);
  EXPECT_TRUE(acl.may_receive(kAlice, "secret/x"));
}

TEST(Acl, DeliveryCheckOnlyForRulesOfThisSubject) {
  Acl acl = parse_ok(
      "deny subscribe user:bob secret/#\n"
      "allow subscribe any #\n");
  auto a = acl.may_subscribe(kAlice, "#");
  EXPECT_TRUE(a.allowed);
  EXPECT_FALSE(a.needs_delivery_check);
  auto b = acl.may_subscribe(kBob, "#");
  EXPECT_TRUE(b.allowed);
  EXPECT_TRUE(b.needs_delivery_check);
  EXPECT_TRUE(acl.may_receive(kAlice, "secret/x"));
  EXPECT_FALSE(acl.may_receive(kBob, "secret/x"));
}

TEST(Acl, SharedSubscriptionsAreCheckedByTheirInnerFilter) {
  Acl acl = parse_ok(
      "allow subscribe any jobs/#\n"
      "allow subscribe any devices/%c/#\n");
  const AclSubject c1{"", false, "c1"};
  EXPECT_TRUE(acl.may_subscribe(c1, "$share/workers/jobs/+").allowed);
  EXPECT_FALSE(acl.may_subscribe(c1, "$share/workers/other/+").allowed);
  EXPECT_TRUE(acl.may_subscribe(c1, "$share/g/devices/c1/#").allowed);
  EXPECT_FALSE(acl.may_subscribe(c1, "$share/g/devices/c2/#").allowed);
  EXPECT_FALSE(acl.may_subscribe(c1, "$share/g+/jobs/x").allowed);  // invalid group
  EXPECT_FALSE(acl.may_subscribe(c1, "$share/g").allowed);          // no inner filter
}

TEST(Acl, InvalidRequestedFiltersAreDenied) {
  Acl acl = parse_ok("allow subscribe any #\n");
  EXPECT_FALSE(acl.may_subscribe(kAlice, "a/#/b").allowed);
  EXPECT_FALSE(acl.may_subscribe(kAlice, "a+").allowed);
  EXPECT_FALSE(acl.may_subscribe(kAlice, "").allowed);
}

TEST(Acl, DollarTopicsNeedExplicitRules) {
  Acl acl = parse_ok(
      "allow all any #\n"
      "allow subscribe user:admin $SYS/#\n");
  EXPECT_FALSE(acl.may_publish(kAlice, "$SYS/broker/uptime"));
  EXPECT_FALSE(acl.may_subscribe(kAlice, "$SYS/#").allowed);
  EXPECT_TRUE(acl.may_subscribe(AclSubject{"admin", true, "a"}, "$SYS/#").allowed);
}

TEST(Acl, CommentsWhitespaceAndCrLf) {
  Acl acl = parse_ok(
      "  # indented comment\r\n"
      "\r\n"
      "allow\tpublish   any  \tsensors/room 1/temp  \r\n");
  EXPECT_EQ(acl.size(), 1u);
  EXPECT_TRUE(acl.may_publish(kAlice, "sensors/room 1/temp"));
}

TEST(Acl, ParseErrorsNameTheLine) {
  EXPECT_EQ(parse_error("# c\nallow publish any a\n\nallow pub any a/b\n"),
            "acl.conf:4: unknown action 'pub' (expected publish, subscribe or all)");
  EXPECT_EQ(parse_error("permit publish any a\n"),
            "acl.conf:1: unknown permission 'permit' (expected allow or deny)");
  EXPECT_EQ(parse_error("allow publish everyone a\n"),
            "acl.conf:1: unknown subject 'everyone' (expected any, anonymous, authenticated, "
            "user:NAME or client:ID)");
  EXPECT_EQ(parse_error("allow publish user: a\n"), "acl.conf:1: empty name in subject 'user:'");
  EXPECT_EQ(parse_error("\nallow publish any\n"),
            "acl.conf:2: expected '<allow|deny> <publish|subscribe|all> <subject> "
            "<topic-filter>'");
  EXPECT_EQ(parse_error("allow publish any a/#/b\n"), "acl.conf:1: invalid topic filter 'a/#/b'");
  EXPECT_EQ(parse_error("allow publish any a/%u+\n"), "acl.conf:1: invalid topic filter 'a/%u+'");
  EXPECT_EQ(parse_error("allow publish any a/# # comment\n"),
            "acl.conf:1: invalid topic filter 'a/# # comment'");
  EXPECT_NE(parse_error("allow subscribe any $share/g/a/#\n").find("acl.conf:1: shared"),
            std::string::npos);
}

// The example from docs/security.md behaves as documented there.
TEST(Acl, DocumentedExample) {
  Acl acl = parse_ok(
      "# The back-end (authenticated as user \"backend\") may do anything under devices/.\n"
      "allow all       user:backend   devices/#\n"
      "allow publish   authenticated  devices/%c/telemetry/#\n"
      "allow subscribe authenticated  devices/%c/commands/#\n"
      "allow all       authenticated  users/%u/#\n"
      "deny  subscribe user:grafana   devices/+/commands/#\n"
      "allow subscribe user:grafana   devices/#\n"
      "allow subscribe user:admin     $SYS/#\n"
      "allow all       anonymous      sandbox/#\n");
  EXPECT_EQ(acl.size(), 8u);
  const AclSubject pump{"pump-user", true, "pump-7"};
  EXPECT_TRUE(acl.may_publish(pump, "devices/pump-7/telemetry/pressure"));
  EXPECT_FALSE(acl.may_publish(pump, "devices/pump-8/telemetry/pressure"));
  EXPECT_TRUE(acl.may_subscribe(pump, "devices/pump-7/commands/#").allowed);
  EXPECT_FALSE(acl.may_subscribe(pump, "devices/+/commands/#").allowed);
  EXPECT_FALSE(acl.may_subscribe(pump, "#").allowed);
  EXPECT_FALSE(acl.may_publish(AclSubject{"u", true, "#"}, "devices/#/telemetry/x"));

  const AclSubject grafana{"grafana", true, "g1"};
  auto g = acl.may_subscribe(grafana, "devices/#");
  EXPECT_TRUE(g.allowed);
  EXPECT_TRUE(g.needs_delivery_check);
  EXPECT_TRUE(acl.may_receive(grafana, "devices/pump-7/telemetry/pressure"));
  EXPECT_FALSE(acl.may_receive(grafana, "devices/pump-7/commands/stop"));
  EXPECT_FALSE(acl.may_publish(grafana, "devices/pump-7/telemetry/pressure"));

  EXPECT_TRUE(acl.may_subscribe(AclSubject{"admin", true, "a"}, "$SYS/#").allowed);
  EXPECT_FALSE(acl.may_subscribe(grafana, "$SYS/#").allowed);
  EXPECT_TRUE(acl.may_publish(kAnon, "sandbox/x"));
  EXPECT_FALSE(acl.may_publish(kAnon, "devices/anon-1/telemetry/x"));
  EXPECT_TRUE(acl.may_subscribe(AclSubject{"backend", true, "b"}, "devices/#").allowed);
}

TEST(Acl, LoadFromFile) {
  std::string path = ::testing::TempDir() + "verge_acl_test.conf";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("allow all any devices/%c/#\nbogus line here x\n", f);
  std::fclose(f);
  auto bad = Acl::load(path);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, path + ":2: unknown permission 'bogus' (expected allow or deny)");

  f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("allow all any devices/%c/#\n", f);
  std::fclose(f);
  auto good = Acl::load(path);
  ASSERT_TRUE(good.has_value()) << good.error().message;
  EXPECT_EQ(good->size(), 1u);
  EXPECT_TRUE(good->may_publish(AclSubject{"", false, "d"}, "devices/d/x"));
  ::unlink(path.c_str());

  auto missing = Acl::load(path);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message,
            "cannot read ACL file '" + path + "': No such file or directory");
}

}  // namespace
}  // namespace verge::mqtt
