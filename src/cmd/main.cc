// verge: the single binary. Subcommands are thin; the work happens in the modules.

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "cmd/cloud.h"
#include "cmd/ctl.h"
#include "cmd/edge.h"
#include "cmd/passwd.h"
#include "cmd/rule_test.h"
#include "cmd/sim.h"
#include "cmd/sim_edges.h"
#include "core/config.h"
#include "core/log.h"

#ifndef VERGE_VERSION
#define VERGE_VERSION "dev"
#endif

namespace {

std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("GCC ") + __VERSION__;
#else
  return "unknown";
#endif
}

bool sanitized() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

int print_version() {
  std::printf("verge %s\n", VERGE_VERSION);
  std::printf("  compiler: %s, C++ %ld\n", compiler().c_str(), static_cast<long>(__cplusplus));
#ifdef NDEBUG
  const char* assertions = "off";
#else
  const char* assertions = "on";
#endif
  std::printf("  build:    assertions %s, sanitizers %s\n", assertions, sanitized() ? "on" : "off");
  std::printf("  openssl:  %s (built against %s)\n", OpenSSL_version(OPENSSL_VERSION),
              OPENSSL_VERSION_TEXT);
  return 0;
}

const char* group_of(std::string_view key) {
  if (key.ends_with("-listen")) return "Listeners";
  if (key.starts_with("tls-")) return "TLS";
  if (key.starts_with("max-") || key == "sys-interval") return "Limits";
  if (key == "allow-anonymous" || key == "password-file" || key == "acl-file") {
    return "Access control";
  }
  return "General";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Verge: one lightweight binary for cloud-edge-device computing.\n"
      "Run 'verge edge --help' for the edge node's settings.",
      "verge"};
  app.require_subcommand(0, 1);
  app.fallthrough(false);

  auto* version = app.add_subcommand("version", "Print the version and build information");

  // verge edge / verge cloud: every setting is a --<key> flag; values go through the same
  // validator as YAML.
  auto* edge = app.add_subcommand(
      "edge",
      "Run an edge node (MQTT broker, /metrics and /healthz) until SIGINT or SIGTERM.\n"
      "Settings come from --config FILE first, then from flags (flags win).");
  auto* cloud = app.add_subcommand(
      "cloud",
      "Run the hub that edge nodes enrol with and sync to, until SIGINT or SIGTERM.\n"
      "Settings come from --config FILE first, then from flags (flags win).");
  const auto& settings = verge::edge_settings();
  struct NodeFlags {
    std::string config_file;
    std::vector<std::string> values;
    std::vector<CLI::Option*> options;
  };
  auto add_node_flags = [&](CLI::App* cmd, NodeFlags& f) {
    cmd->add_option("--config", f.config_file, "YAML file of settings (keys are the flag names)")
        ->option_text("FILE")
        ->group("General");
    f.values.resize(settings.size());
    f.options.resize(settings.size(), nullptr);
    for (size_t i = 0; i < settings.size(); ++i) {
      f.options[i] = cmd->add_option("--" + std::string(settings[i].key), f.values[i],
                                     std::string(settings[i].help))
                         ->option_text("VALUE")
                         ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
                         ->group(group_of(settings[i].key));
    }
  };
  NodeFlags edge_flags, cloud_flags;
  add_node_flags(edge, edge_flags);
  add_node_flags(cloud, cloud_flags);
  // Settings from the YAML file, then the flags; false after printing the error.
  auto load_config = [&](const char* name, NodeFlags& f, verge::EdgeConfig& cfg) {
    if (!f.config_file.empty()) {
      auto r = verge::apply_yaml_file(f.config_file, cfg);
      if (!r) {
        std::fprintf(stderr, "verge %s: %s\n", name, r.error().message.c_str());
        return false;
      }
    }
    for (size_t i = 0; i < settings.size(); ++i) {
      if (f.options[i]->count() == 0) continue;
      auto r = verge::apply_setting(settings[i].key, f.values[i], cfg);
      if (!r) {
        std::fprintf(stderr, "verge %s: %s\n", name, r.error().message.c_str());
        return false;
      }
    }
    return true;
  };

  // verge ctl ...: the REST client parses its own arguments.
  auto* ctl = app.add_subcommand("ctl", "Manage a hub over its REST API (verge ctl --help)");
  ctl->prefix_command();
  ctl->set_help_flag();  // its --help is its own

  // verge passwd FILE USER
  verge::cmd::PasswdOptions pw;
  auto* passwd = app.add_subcommand("passwd", "Add, update or delete a user in a password file");
  passwd->add_option("FILE", pw.file, "password file")->required();
  passwd->add_option("USER", pw.user, "user name")->required();
  passwd->add_flag("-c,--create", pw.create, "create a new file (overwrites an existing one)");
  passwd->add_flag("-D,--delete", pw.remove, "delete USER");
  passwd->add_flag("--password-stdin", pw.password_stdin,
                   "read the password from the first line of stdin");

  // verge rule test --sql ... --input events.jsonl
  verge::cmd::RuleTestOptions rt;
  auto* rule = app.add_subcommand("rule", "Work with rules of the rule engine");
  rule->require_subcommand(1);
  auto* rule_test = rule->add_subcommand("test", "Run a rule offline over recorded events");
  rule_test->add_option("--sql", rt.sql, "the rule (SELECT ...)");
  rule_test->add_option("--sql-file", rt.sql_file, "a file holding the rule")->option_text("FILE");
  rule_test->add_option("--define", rt.defines, "CREATE STREAM/TABLE statement (repeatable)");
  rule_test->add_option("--input", rt.input, "events as JSON lines, - for stdin")
      ->option_text("FILE");
  rule_test->add_option("--step-ms", rt.step_ms, "time between bare payload lines (default 1)");
  rule_test->add_option("--end-ms", rt.end_ms, "time the run ends at (default: the last event)");

  // verge sim modbus --devices N --points M ...
  verge::cmd::SimModbusOptions sim_opts;
  auto* sim = app.add_subcommand("sim", "Simulate devices (for tests, demos and benchmarks)");
  sim->require_subcommand(1);
  auto* sim_modbus =
      sim->add_subcommand("modbus", "Serve simulated Modbus TCP devices until SIGINT or SIGTERM");
  sim_modbus->add_option("--devices", sim_opts.devices, "devices, one listener each (default 1)");
  sim_modbus->add_option("--points", sim_opts.points, "points per device (default 100)");
  sim_modbus->add_option("--listen", sim_opts.listen, "address to listen on (default 127.0.0.1)");
  sim_modbus->add_option("--port", sim_opts.port,
                         "first device's port, the next ones follow; 0: free ports (default 5020)");
  sim_modbus
      ->add_option("--ports-file", sim_opts.ports_file,
                   "write {\"ports\":[...]} here once every listener is bound")
      ->option_text("FILE");
  sim_modbus
      ->add_option("--config-out", sim_opts.config_out,
                   "write a node config (profiles: and devices:) polling the devices here")
      ->option_text("FILE");
  sim_modbus->add_option("--poll", sim_opts.poll, "poll interval in that config (default 1s)");
  sim_modbus->add_option("--threads", sim_opts.threads, "event loop threads (default 1)");
  sim_modbus->add_option("--latency-ms", sim_opts.latency_ms,
                         "delay every reply by this many milliseconds (default 0)");
  auto* sim_edges = sim->add_subcommand(
      "edges", "Simulate many edge nodes against a hub (verge sim edges --help)");
  sim_edges->prefix_command();
  sim_edges->set_help_flag();  // its --help is its own

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  if (version->parsed()) return print_version();

  if (edge->parsed()) {
    verge::EdgeConfig cfg;
    if (!load_config("edge", edge_flags, cfg)) return 2;
    verge::set_log_level(cfg.log_level);
    return verge::cmd::run_edge(cfg);
  }
  if (cloud->parsed()) {
    verge::EdgeConfig cfg = verge::cmd::cloud_defaults();
    if (!load_config("cloud", cloud_flags, cfg)) return 2;
    verge::set_log_level(cfg.log_level);
    return verge::cmd::run_cloud(cfg);
  }
  if (ctl->parsed()) return verge::cmd::run_ctl(ctl->remaining());
  if (sim_edges->parsed()) return verge::cmd::run_sim_edges(sim_edges->remaining());

  if (passwd->parsed()) return verge::cmd::run_passwd(pw);
  if (rule_test->parsed()) return verge::cmd::run_rule_test(rt);
  if (sim_modbus->parsed()) return verge::cmd::run_sim_modbus(sim_opts);

  std::fputs(app.help().c_str(), stdout);
  return 0;
}
