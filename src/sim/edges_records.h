// What a simulated edge node sends (`verge sim edges`): telemetry records that are never stored.
// Record i of a node is a pure function of (i, the node's timeline), so a node keeps only
// counters (produced, sent, acknowledged) and re-creates a record when it must send it again
// (after a reconnect or an ack timeout): 10,000 nodes with large backlogs cost no memory.
//
// Timeline of a node: records 0 .. backlog-1 are an outage backlog, stamped as if produced at
// the live rate before the start; live record backlog + j is due j / rate seconds after the start.
#pragma once

#include <cstdint>
#include <string>

namespace verge::sim {

struct RecordTimeline {
  int64_t start_ms = 0;  // wall time when live production starts
  uint64_t backlog = 0;  // records waiting at the start
  double rate = 1;       // live records per second (for this node)
  uint32_t devices = 1;  // records cycle over d0 .. d<devices-1>
};

// Records that exist `elapsed_ms` after the start: the backlog plus the live records due.
uint64_t records_due(const RecordTimeline& t, int64_t elapsed_ms);
// The timestamp of record `i`.
int64_t record_ts(const RecordTimeline& t, uint64_t i);
// The JSON text of record `i`, e.g. {"device":"d3","ts":1700000000000,"temp":21.5}.
// The reading varies smoothly with i, so batches compress like real telemetry.
std::string make_record(const RecordTimeline& t, uint64_t i);

}  // namespace verge::sim
