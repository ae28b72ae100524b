// The figures of a `verge sim edges` run: the progress line printed every second and the final
// JSON report (docs/sync-sim.md explains each field).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/value.h"

namespace verge::sim {

// Counters summed over every node at one moment.
struct ProgressSample {
  double t_s = 0;  // seconds since the simulator started
  uint64_t nodes_connected = 0, records_produced = 0, records_acked = 0, backlog_left = 0;
  uint64_t bytes_sent = 0;
};

// "t=12s nodes 9800/10000 produced 101000/s acked 498000/s backlog 1200000 sent 6.1 MB/s"
std::string progress_line(const ProgressSample& prev, const ProgressSample& now, uint64_t nodes);

// Nearest-rank percentile (p in [0, 100]) of `values`; 0 for none. Sorts a copy.
double percentile(std::vector<double> values, double p);

struct DesiredReport {
  bool requested = false;
  std::string error;              // the PUT failed: why
  uint64_t nodes = 0;             // nodes expected to receive it
  uint64_t delivered = 0;         // nodes that received a newer version in time
  std::vector<double> latencies;  // seconds from the PUT to each node's receipt
};

struct EdgesReport {
  uint64_t nodes = 0, nodes_connected = 0, enrolled = 0, enrol_failed = 0;
  double enrol_seconds = 0;  // start until every node connected (or the connect phase ended)
  double run_seconds = 0;    // the measured phase (--duration)
  uint64_t records_produced = 0, records_acked = 0;
  uint64_t backlog_total = 0, backlog_left = 0;
  std::optional<double> drain_seconds;  // until every node's backlog was acknowledged
  uint64_t batches_sent = 0, bytes_sent = 0, resends = 0, acks = 0;
  uint64_t reconnects = 0, rebases = 0;
  DesiredReport desired;
};

// {"nodes","nodes_connected","enrolled","enrol_failed","enrol_seconds","run_seconds",
//  "records_produced","records_acked","ack_rate","backlog_total","backlog_left","drain_seconds",
//  "batches_sent","bytes_sent","resends","acks","reconnects","rebases",
//  "desired":{...} (when requested)}
Value report_value(const EdgesReport& r);

}  // namespace verge::sim
