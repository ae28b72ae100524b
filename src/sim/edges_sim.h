// `verge sim edges`: many simulated edge nodes against one hub, to measure what the hub takes
// (docs/sync-sim.md). Phases: every node gets its credentials and connects (paced); then, for
// `duration_ms`, every node produces records (its backlog first, then live ones) and sends them;
// optionally the simulator changes the nodes' desired state over REST and measures how long it
// takes to reach every node. Ends with a report (sim/edges_report.h).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "core/result.h"
#include "sim/edges_report.h"

namespace verge::sim {

struct EdgesOptions {
  std::string hub;  // HOST:PORT of the hub's edge listener
  std::string api;  // http://HOST:PORT of the hub's REST API
  std::string api_token;
  uint32_t count = 1;    // nodes
  uint32_t devices = 1;  // per node
  double rate = 10;      // records/s per node, all devices together
  std::string prefix = "sim";
  unsigned threads = 2;
  uint64_t backlog = 0;  // records waiting per node at the start
  int64_t duration_ms = 30000;
  std::string state_dir = "verge-sim-edges";
  size_t batch = 2000;
  size_t window = 4;
  uint64_t linger_ms = 200;
  uint64_t ack_timeout_ms = 30000;  // no ack progress this long: the window is sent again
  size_t enrol_parallel = 200;  // enrolments and first connections in flight, all loops together
  size_t http_parallel = 8;     // REST requests in flight, all loops together
  int64_t connect_timeout_ms = 600000;  // the connect phase ends after this even if nodes lack
  bool desired_change = false;
};

// Checks the options; errors name the flag.
Result<void> check_edges_options(const EdgesOptions& o);
// "host:port" or "[v6]:port".
Result<std::pair<std::string, uint16_t>> parse_host_port(std::string_view text);

// Runs the simulation; `stop_requested` is polled (a signal ends the run early, with a report).
// Progress lines go to `progress` once a second.
Result<EdgesReport> run_edges(const EdgesOptions& o, const std::function<bool()>& stop_requested,
                              std::FILE* progress);

}  // namespace verge::sim
