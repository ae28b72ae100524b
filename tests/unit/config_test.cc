#include "core/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>

namespace verge {
namespace {

std::string apply_error(std::string_view yaml, EdgeConfig& cfg) {
  auto r = apply_yaml_text(yaml, "cfg.yaml", cfg);
  EXPECT_FALSE(r.has_value()) << "expected an error for:\n" << yaml;
  return r ? std::string() : r.error().message;
}

TEST(Config, DefaultsAreSensible) {
  EdgeConfig cfg;
  EXPECT_EQ(cfg.mqtt_listen, (ListenAddress{"0.0.0.0", 1883}));
  EXPECT_EQ(cfg.http_listen, (ListenAddress{"0.0.0.0", 8080}));
  EXPECT_FALSE(cfg.mqtts_listen.has_value());
  EXPECT_EQ(cfg.limits.max_inflight, 128);
}

TEST(Config, YamlSetsEveryKindOfValue) {
  EdgeConfig cfg;
  auto r = apply_yaml_text(R"(# edge node
mqtt-listen: 127.0.0.1:1884
mqtts-listen: ":8883"
ws-listen: "[::1]:9001"
wss-listen: off
http-listen: "off"
data-dir: /var/lib/verge
persistence: false
durability: interval
log-level: debug
tls-cert: /etc/verge/cert.pem
tls-key: /etc/verge/key.pem
tls-ca: /etc/verge/ca.pem
tls-require-client-cert: yes
tls-cert-identity: on
allow-anonymous: false
password-file: /etc/verge/passwd
acl-file: /etc/verge/acl
threads: 2
max-connections: 500
max-inflight: 32
max-queued-messages: 0
max-packet-size: 65536
max-outbound-bytes: 2048
max-connect-rate: 0
max-publish-rate: 100
max-topic-alias: 10
max-session-expiry: 3600
max-keepalive: 120
sys-interval: 0
)",
                           "cfg.yaml", cfg);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(cfg.mqtt_listen, (ListenAddress{"127.0.0.1", 1884}));
  EXPECT_EQ(cfg.mqtts_listen, (ListenAddress{"0.0.0.0", 8883}));
  EXPECT_EQ(cfg.ws_listen, (ListenAddress{"::1", 9001}));
  EXPECT_FALSE(cfg.wss_listen.has_value());
  EXPECT_FALSE(cfg.http_listen.has_value());
  EXPECT_EQ(cfg.data_dir, "/var/lib/verge");
  EXPECT_FALSE(cfg.persistence);
  EXPECT_EQ(cfg.durability, JournalDurability::Interval);
  EXPECT_EQ(cfg.log_level, LogLevel::Debug);
  EXPECT_EQ(cfg.tls.cert_file, "/etc/verge/cert.pem");
  EXPECT_EQ(cfg.tls.key_file, "/etc/verge/key.pem");
  EXPECT_EQ(cfg.tls.ca_file, "/etc/verge/ca.pem");
  EXPECT_TRUE(cfg.tls.require_client_cert);
  EXPECT_TRUE(cfg.tls.identity_from_cert);
  EXPECT_EQ(cfg.allow_anonymous, std::optional<bool>(false));
  EXPECT_EQ(cfg.password_file, "/etc/verge/passwd");
  EXPECT_EQ(cfg.acl_file, "/etc/verge/acl");
  EXPECT_EQ(cfg.threads, 2u);
  EXPECT_EQ(cfg.limits.max_connections, 500u);
  EXPECT_EQ(cfg.limits.max_inflight, 32);
  EXPECT_EQ(cfg.limits.max_queued_messages, 0u);
  EXPECT_EQ(cfg.limits.max_packet_size, 65536u);
  EXPECT_EQ(cfg.limits.max_outbound_bytes, 2048u);
  EXPECT_EQ(cfg.limits.max_connect_rate, 0u);
  EXPECT_EQ(cfg.limits.max_publish_rate, 100u);
  EXPECT_EQ(cfg.limits.max_topic_alias, 10);
  EXPECT_EQ(cfg.limits.max_session_expiry, 3600u);
  EXPECT_EQ(cfg.limits.max_keepalive, 120);
  EXPECT_EQ(cfg.limits.sys_interval, 0u);
}

TEST(Config, UnknownKeyNamesFileLineAndKey) {
  EdgeConfig cfg;
  EXPECT_EQ(apply_error("# comment\n\nlog-level: info\n\nthreads: 1\n\nmqtt-listn: :1883\n", cfg),
            "cfg.yaml:7: unknown key 'mqtt-listn'");
}

TEST(Config, BadValueNamesLineKeyAndRange) {
  EdgeConfig cfg;
  EXPECT_EQ(apply_error("threads: 1\n\nmax-inflight: abc\n", cfg),
            "cfg.yaml:3: max-inflight: expected an integer 1..65535, got 'abc'");
  EXPECT_EQ(apply_error("max-inflight: 0\n", cfg),
            "cfg.yaml:1: max-inflight: expected an integer 1..65535, got '0'");
  EXPECT_EQ(apply_error("max-inflight: 65536\n", cfg),
            "cfg.yaml:1: max-inflight: expected an integer 1..65535, got '65536'");
  EXPECT_EQ(apply_error("max-packet-size: 15\n", cfg),
            "cfg.yaml:1: max-packet-size: expected an integer 16..268435455, got '15'");
  EXPECT_EQ(apply_error("max-packet-size: 268435456\n", cfg),
            "cfg.yaml:1: max-packet-size: expected an integer 16..268435455, got '268435456'");
  EXPECT_EQ(apply_error("max-connections: -1\n", cfg),
            "cfg.yaml:1: max-connections: expected an integer 1..10000000, got '-1'");
  EXPECT_EQ(apply_error("max-session-expiry: 99999999999999999999999\n", cfg),
            "cfg.yaml:1: max-session-expiry: expected an integer 0..4294967295, got "
            "'99999999999999999999999'");
  EXPECT_EQ(apply_error("allow-anonymous: maybe\n", cfg),
            "cfg.yaml:1: allow-anonymous: expected true or false, got 'maybe'");
  EXPECT_EQ(apply_error("log-level: loud\n", cfg),
            "cfg.yaml:1: log-level: expected one of trace, debug, info, warn, error, off, got "
            "'loud'");
  EXPECT_EQ(apply_error("mqtt-listen: 1883\n", cfg),
            "cfg.yaml:1: mqtt-listen: expected HOST:PORT, [IPV6]:PORT, :PORT or off, got '1883'");
  EXPECT_EQ(apply_error("data-dir: ''\n", cfg), "cfg.yaml:1: data-dir: expected a path, got ''");
  EXPECT_EQ(apply_error("durability: always\n", cfg),
            "cfg.yaml:1: durability: expected batch, interval or none, got 'always'");
  EXPECT_EQ(apply_error("threads:\n", cfg), "cfg.yaml:1: threads: missing value");
  EXPECT_EQ(apply_error("threads: [1, 2]\n", cfg), "cfg.yaml:1: threads: expected a single value");
  std::string v6 = apply_error("threads: 1\nmqtt-listen: [::1]:1883\n", cfg);
  EXPECT_EQ(v6.rfind("cfg.yaml:2: invalid YAML", 0), 0u) << v6;
  EXPECT_NE(v6.find("quote IPv6 addresses"), std::string::npos) << v6;
}

TEST(Config, ErrorsLeaveConfigUntouched) {
  EdgeConfig cfg;
  EdgeConfig before = cfg;
  apply_error("threads: 3\nmax-inflight: 10\nbogus: 1\n", cfg);
  EXPECT_EQ(cfg, before);
}

TEST(Config, StructureAndSyntaxErrors) {
  EdgeConfig cfg;
  EXPECT_EQ(apply_error("- a\n- b\n", cfg).rfind("cfg.yaml:1: expected a map of settings", 0), 0u);
  EXPECT_EQ(apply_error("threads: 1\nthreads: 2\n", cfg), "cfg.yaml:2: duplicate key 'threads'");
  std::string syntax = apply_error("threads: 1\nlog-level: [info\n", cfg);
  EXPECT_EQ(syntax.rfind("cfg.yaml:", 0), 0u) << syntax;
  EXPECT_NE(syntax.find("invalid YAML"), std::string::npos) << syntax;
  std::string tab = apply_error("threads: 1\n\tbad: x: y\n", cfg);
  EXPECT_EQ(tab.rfind("cfg.yaml:2: invalid YAML", 0), 0u) << tab;
  // An empty document sets nothing and is fine.
  EXPECT_TRUE(apply_yaml_text("# nothing yet\n", "cfg.yaml", cfg).has_value());
}

TEST(Config, UnreadableFile) {
  EdgeConfig cfg;
  auto r = apply_yaml_file("/nonexistent/x.yaml", cfg);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "cannot read config file '/nonexistent/x.yaml': No such file or directory");
  auto d = apply_yaml_file("/", cfg);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().message, "cannot read config file '/': Is a directory");
}

TEST(Config, FileErrorsUseThePath) {
  char path[] = "/tmp/verge-config-test-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  {
    std::ofstream out(path);
    out << "threads: 2\nmax-inflight: 7\nmax-keepalive: x\n";
  }
  EdgeConfig cfg;
  auto r = apply_yaml_file(path, cfg);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            std::string(path) + ":3: max-keepalive: expected an integer 0..65535, got 'x'");
  {
    std::ofstream out(path);
    out << "threads: 2\n";
  }
  ASSERT_TRUE(apply_yaml_file(path, cfg).has_value());
  EXPECT_EQ(cfg.threads, 2u);
  ::unlink(path);
}

TEST(Config, FlagsOverrideYamlThroughTheSameValidator) {
  EdgeConfig cfg;
  ASSERT_TRUE(apply_yaml_text("max-inflight: 10\nmqtt-listen: :1883\n", "cfg.yaml", cfg));
  ASSERT_TRUE(apply_setting("max-inflight", "20", cfg));
  EXPECT_EQ(cfg.limits.max_inflight, 20);
  EXPECT_EQ(cfg.mqtt_listen, (ListenAddress{"0.0.0.0", 1883}));
  auto bad = apply_setting("max-inflight", "abc", cfg);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "max-inflight: expected an integer 1..65535, got 'abc'");
  auto unknown = apply_setting("mqtt-listn", ":1", cfg);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().message, "unknown key 'mqtt-listn'");
  EXPECT_EQ(cfg.limits.max_inflight, 20);
}

TEST(Config, BooleanSpellings) {
  EdgeConfig cfg;
  for (const char* t : {"true", "yes", "on", "True", "YES"}) {
    cfg.tls.require_client_cert = false;
    ASSERT_TRUE(apply_setting("tls-require-client-cert", t, cfg)) << t;
    EXPECT_TRUE(cfg.tls.require_client_cert) << t;
  }
  for (const char* f : {"false", "no", "off", "False"}) {
    cfg.tls.require_client_cert = true;
    ASSERT_TRUE(apply_setting("tls-require-client-cert", f, cfg)) << f;
    EXPECT_FALSE(cfg.tls.require_client_cert) << f;
  }
  EXPECT_FALSE(apply_setting("tls-require-client-cert", "1", cfg).has_value());
}

TEST(Config, ListenAddressForms) {
  auto ok = [](std::string_view text) {
    auto r = parse_listen_address(text);
    EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().message);
    return r ? *r : std::nullopt;
  };
  EXPECT_EQ(ok("127.0.0.1:1883"), (ListenAddress{"127.0.0.1", 1883}));
  EXPECT_EQ(ok("0.0.0.0:0"), (ListenAddress{"0.0.0.0", 0}));
  EXPECT_EQ(ok(":8080"), (ListenAddress{"0.0.0.0", 8080}));
  EXPECT_EQ(ok("[::1]:1883"), (ListenAddress{"::1", 1883}));
  EXPECT_EQ(ok("[::]:65535"), (ListenAddress{"::", 65535}));
  EXPECT_EQ(ok("localhost:1883"), (ListenAddress{"127.0.0.1", 1883}));
  EXPECT_EQ(ok("off"), std::nullopt);
  for (std::string_view bad : {"", "1883", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
                               "127.0.0.1:-1", "::1:1883", "[::1]1883", "[::1]:", "[1.2.3.4]:1",
                               "[::1", "host name:1", "999.1.1.1:1", "127.0.0.1:80x"}) {
    EXPECT_FALSE(parse_listen_address(bad).has_value()) << "accepted '" << bad << "'";
  }
  EXPECT_EQ(to_string(ListenAddress{"::1", 1883}), "[::1]:1883");
  EXPECT_EQ(to_string(ListenAddress{"127.0.0.1", 80}), "127.0.0.1:80");
}

TEST(Config, TimeSeriesDurations) {
  EdgeConfig cfg;
  ASSERT_TRUE(apply_setting("tsdb-retention", "90d", cfg));
  EXPECT_EQ(cfg.tsdb_retention_ms, 90 * 86'400'000ll);
  ASSERT_TRUE(apply_setting("tsdb-downsample-after", "36h", cfg));
  EXPECT_EQ(cfg.tsdb_downsample_after_ms, 36 * 3'600'000ll);
  ASSERT_TRUE(apply_setting("tsdb-retention", "off", cfg));
  EXPECT_EQ(cfg.tsdb_retention_ms, 0);
  for (const char* bad : {"", "d", "5", "-1d", "1.5h", "10w", "0m", "40000d"}) {
    auto r = apply_setting("tsdb-retention", bad, cfg);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message.rfind("tsdb-retention: expected a duration", 0), 0u) << bad;
  }
}

TEST(Config, StreamsAndRulesFromYaml) {
  EdgeConfig cfg;
  auto r = apply_yaml_text(R"(
streams:
  - CREATE STREAM s () WITH (DATASOURCE="sensors/#")
rules:
  - id: hot
    sql: SELECT * FROM s WHERE temp > 30
    actions:
      - publish: {topic: "alerts/{{deviceId}}", qos: 1, retain: false}
    options: {max_groups: 100, lateness_ms: 2.5, note: ~, code: "007"}
)",
                           "cfg.yaml", cfg);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(cfg.streams.size(), 1u);
  EXPECT_EQ(cfg.streams[0], R"(CREATE STREAM s () WITH (DATASOURCE="sensors/#"))");
  ASSERT_EQ(cfg.rules.size(), 1u);
  const Value& rule = cfg.rules[0];
  EXPECT_EQ(rule.find("id")->as_string(), "hot");
  const Value& publish = *rule.find("actions")->at(0)->find("publish");
  EXPECT_EQ(publish.find("qos")->as_int(), 1);
  EXPECT_FALSE(publish.find("retain")->as_bool());
  const Value& options = *rule.find("options");
  EXPECT_EQ(options.find("max_groups")->as_int(), 100);
  EXPECT_DOUBLE_EQ(options.find("lateness_ms")->as_float(), 2.5);
  EXPECT_TRUE(options.find("note")->is_null());
  EXPECT_EQ(options.find("code")->as_string(), "007");  // quoted: stays a string
}

TEST(Config, ProfilesAndDevicesFromYaml) {
  EdgeConfig cfg;
  auto r = apply_yaml_text(R"(
coap-listen: 127.0.0.1:5683
profiles:
  - name: boiler
    protocol: modbus-tcp
    poll: 1s
    points:
      - {name: temp, address: "holding:0", type: float32, order: ABCD, scale: 0.1}
devices:
  - id: boiler-1
    profile: boiler
    connection: {host: 127.0.0.1, port: 5020, unit: 1, timeout: 1s}
    calibration: {temp: {scale: 0.1, offset: -1.5}}
)",
                           "node.yaml", cfg);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(cfg.coap_listen.has_value());
  EXPECT_EQ(to_string(*cfg.coap_listen), "127.0.0.1:5683");
  ASSERT_EQ(cfg.profiles.size(), 1u);
  EXPECT_EQ(cfg.profiles[0].find("name")->as_string(), "boiler");
  const Value& point = *cfg.profiles[0].find("points")->at(0);
  EXPECT_EQ(point.find("address")->as_string(), "holding:0");
  EXPECT_DOUBLE_EQ(point.find("scale")->as_float(), 0.1);
  ASSERT_EQ(cfg.devices.size(), 1u);
  EXPECT_EQ(cfg.devices[0].find("connection")->find("port")->as_int(), 5020);
  EXPECT_DOUBLE_EQ(cfg.devices[0].find("calibration")->find("temp")->find("offset")->as_float(),
                   -1.5);
  EdgeConfig defaults;
  EXPECT_FALSE(defaults.coap_listen.has_value());  // off unless asked for
}

TEST(Config, ProfilesAndDevicesNeedMaps) {
  EdgeConfig cfg;
  auto p = apply_yaml_text("profiles:\n  - boiler\n", "cfg.yaml", cfg);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message,
            "cfg.yaml:2: profiles[0]: expected a profile (a map with name, protocol, points)");
  auto d = apply_yaml_text("devices: {id: x}\n", "cfg.yaml", cfg);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "cfg.yaml:1: devices: expected a list");
}

TEST(Config, StructuredKeysNeedLists) {
  EdgeConfig cfg;
  auto r = apply_yaml_text("threads: 2\nrules: {id: x}\n", "cfg.yaml", cfg);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "cfg.yaml:2: rules: expected a list");
  auto s = apply_yaml_text("streams:\n  - {a: 1}\n", "cfg.yaml", cfg);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message,
            "cfg.yaml:2: streams[0]: expected a CREATE STREAM or CREATE TABLE statement");
  EXPECT_EQ(cfg.threads, 0u);  // all or nothing
}

TEST(Config, SyncSettings) {
  EdgeConfig c;
  ASSERT_TRUE(apply_setting("hub", "hub.example:8883", c));
  EXPECT_EQ(c.sync.hub, "hub.example:8883");
  auto bad = apply_setting("hub", "hub.example", c);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("expected HOST:PORT"), std::string::npos);
  EXPECT_FALSE(apply_setting("hub", "h:0", c));
  ASSERT_TRUE(apply_setting("storage", "postgres://u@127.0.0.1/verge", c));
  EXPECT_EQ(c.sync.storage, "postgres://u@127.0.0.1/verge");
  EXPECT_FALSE(apply_setting("storage", "mysql://x", c));
  ASSERT_TRUE(apply_setting("server-names", "hub.local,10.0.0.5", c));
  EXPECT_EQ(c.sync.server_names, (std::vector<std::string>{"hub.local", "10.0.0.5"}));
  EXPECT_FALSE(apply_setting("heartbeat", "10ms", c));
  ASSERT_TRUE(apply_setting("heartbeat", "2s", c));
  EXPECT_EQ(c.sync.heartbeat_ms, 2000);
  ASSERT_TRUE(apply_setting("heartbeat", "250ms", c));
  EXPECT_EQ(c.sync.heartbeat_ms, 250);
}

TEST(Config, EverySettingIsListedOnceAndAccepted) {
  const std::set<std::string_view> expected = {"mqtt-listen",
                                               "mqtts-listen",
                                               "ws-listen",
                                               "wss-listen",
                                               "http-listen",
                                               "coap-listen",
                                               "data-dir",
                                               "persistence",
                                               "durability",
                                               "tsdb-retention",
                                               "tsdb-downsample-after",
                                               "log-level",
                                               "hub",
                                               "token",
                                               "uplink-samples",
                                               "uplink-alarms",
                                               "heartbeat",
                                               "storage",
                                               "server-names",
                                               "admin-token-file",
                                               "tls-cert",
                                               "tls-key",
                                               "tls-ca",
                                               "tls-require-client-cert",
                                               "tls-cert-identity",
                                               "allow-anonymous",
                                               "password-file",
                                               "acl-file",
                                               "threads",
                                               "max-connections",
                                               "max-inflight",
                                               "max-queued-messages",
                                               "max-packet-size",
                                               "max-outbound-bytes",
                                               "max-connect-rate",
                                               "max-publish-rate",
                                               "max-topic-alias",
                                               "max-session-expiry",
                                               "max-keepalive",
                                               "sys-interval"};
  std::set<std::string_view> listed;
  for (const auto& s : edge_settings()) {
    EXPECT_TRUE(listed.insert(s.key).second) << "duplicate " << s.key;
    EXPECT_FALSE(s.help.empty()) << s.key;
    EdgeConfig scratch;
    auto r = apply_setting(s.key, "definitely not valid", scratch);
    if (!r) {
      EXPECT_EQ(r.error().message.rfind(std::string(s.key) + ": ", 0), 0u) << s.key;
    }
  }
  EXPECT_EQ(listed, expected);
}

}  // namespace
}  // namespace verge
