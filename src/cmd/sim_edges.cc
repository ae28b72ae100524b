// `verge sim edges`: the command line of the edge-node simulator (sim/edges_sim.h,
// docs/sync-sim.md).
#include "cmd/sim_edges.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <ctime>

#include "cmd/stop_signals.h"
#include "core/duration.h"
#include "core/log.h"
#include "sim/edges_sim.h"
#include "sim/modbus_config.h"

namespace verge::cmd {

namespace {

// Polls for SIGINT/SIGTERM (blocked by StopSignals) without waiting.
bool stop_signalled() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  timespec zero{0, 0};
  return sigtimedwait(&set, nullptr, &zero) > 0;
}

}  // namespace

int run_sim_edges(const std::vector<std::string>& args) {
  sim::EdgesOptions o;
  std::string duration = "30s", linger = "200ms", connect_timeout = "10m", ack_timeout = "30s";
  std::string report_file;
  // Warnings only by default: 10,000 nodes logging their enrolment would bury the progress.
  std::string log_level = "warn";
  CLI::App app{
      "Simulate many edge nodes against a hub: enrolment, heartbeats, uplink batches "
      "with backlogs, desired state (docs/sync-sim.md)",
      "verge sim edges"};
  app.add_option("--hub", o.hub, "The hub's edge listener, HOST:PORT (8883)")->required();
  app.add_option("--api", o.api, "The hub's REST API, http://HOST:PORT")->required();
  app.add_option("--api-token", o.api_token, "Bearer token of an operator")->required();
  app.add_option("--count", o.count, "Nodes to simulate")->capture_default_str();
  app.add_option("--devices", o.devices, "Devices per node")->capture_default_str();
  app.add_option("--rate", o.rate, "Records/s per node (all its devices together)")
      ->capture_default_str();
  app.add_option("--prefix", o.prefix, "Node ids are <prefix>-<i>; label sim=<prefix>")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "Event loops")->capture_default_str();
  app.add_option("--backlog", o.backlog, "Records waiting per node at the start (an outage)")
      ->capture_default_str();
  app.add_option("--duration", duration, "Length of the production phase")->capture_default_str();
  app.add_option("--state-dir", o.state_dir,
                 "Saved credentials per node (a second run skips enrolment)")
      ->capture_default_str();
  app.add_option("--report", report_file, "Also write the JSON report to this file");
  app.add_option("--batch", o.batch, "Records per uplink batch at most")->capture_default_str();
  app.add_option("--window", o.window, "Batches awaiting their ack per node")
      ->capture_default_str();
  app.add_option("--linger", linger, "How long a partial batch waits to fill")
      ->capture_default_str();
  app.add_option("--ack-timeout", ack_timeout,
                 "No ack for this long: the node sends its window again (a busy hub acks late)")
      ->capture_default_str();
  app.add_option("--enrol-parallel", o.enrol_parallel, "Enrolments and first connections in flight")
      ->capture_default_str();
  app.add_option("--http-parallel", o.http_parallel, "REST requests in flight")
      ->capture_default_str();
  app.add_option("--connect-timeout", connect_timeout,
                 "The connect phase ends after this even if some nodes are not connected")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  app.add_flag("--desired-change", o.desired_change,
               "PUT a desired document for sim=<prefix> and time its delivery to every node");
  try {
    // CLI11 takes a vector in reverse order (it pops arguments from the back).
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  auto parse_ms = [](const std::string& text, const char* flag) -> int64_t {
    auto ms = parse_duration_ms(text);
    if (!ms) {
      std::fprintf(stderr, "verge sim edges: %s: %s\n", flag, ms.error().message.c_str());
      return -1;
    }
    return *ms;
  };
  const auto level = parse_log_level(log_level);
  if (!level) {
    std::fprintf(stderr,
                 "verge sim edges: --log-level: expected trace, debug, info, warn, error or off\n");
    return 2;
  }
  set_log_level(*level);
  o.duration_ms = parse_ms(duration, "--duration");
  const int64_t linger_ms = parse_ms(linger, "--linger");
  o.connect_timeout_ms = parse_ms(connect_timeout, "--connect-timeout");
  const int64_t ack_timeout_ms = parse_ms(ack_timeout, "--ack-timeout");
  if (o.duration_ms < 0 || linger_ms < 0 || o.connect_timeout_ms < 0 || ack_timeout_ms < 0) {
    return 2;
  }
  o.ack_timeout_ms = static_cast<uint64_t>(ack_timeout_ms);
  o.linger_ms = static_cast<uint64_t>(linger_ms);
  if (auto ok = sim::check_edges_options(o); !ok) {
    std::fprintf(stderr, "verge sim edges: %s\n", ok.error().message.c_str());
    return 2;
  }

  StopSignals signals;  // before any thread starts: SIGINT/SIGTERM end the run with a report
  (void)signals;
  auto report = sim::run_edges(o, stop_signalled, stdout);
  if (!report) {
    std::fprintf(stderr, "verge sim edges: %s\n", report.error().message.c_str());
    return 1;
  }
  const std::string json = sim::report_value(*report).to_json();
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
  if (!report_file.empty()) {
    if (auto w = sim::write_file_atomically(report_file, json + "\n"); !w) {
      std::fprintf(stderr, "verge sim edges: --report: %s\n", w.error().message.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace verge::cmd
