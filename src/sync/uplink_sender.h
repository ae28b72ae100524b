// The uplink sender: reads each uplink stream's segment log from its durable cursor "hub", cuts
// batches, hands them to a transport (the MQTT client to the hub, or a fake in tests), and
// commits the cursor as the hub acknowledges. It is the edge's half of "exactly once": records
// are resent from the last acknowledged sequence after a reconnect or an ack timeout (the hub
// drops what it already stored), and the cursor moves only past what the hub acknowledged.
// Records skipped here (dropped by retention before they were sent, quarantined) are declared to
// the hub with the batch flag "gap before" on the batch after them, sent once nothing before it
// is in flight; the hub refuses any other batch that starts above its next sequence.
//
// Not thread-safe except stats(): the owner calls everything else from one thread (loop 0).
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/value.h"
#include "store/segment_log.h"
#include "sync/edge_agent.h"

namespace verge::sync {

// Where batches go. `ready()` is false while disconnected or while the link's queue is full
// (back-pressure: batches stay in the log, not in memory).
class UplinkTransport {
 public:
  virtual ~UplinkTransport() = default;
  virtual bool ready() const = 0;
  virtual void send(const std::string& stream, uint64_t first_seq, uint64_t count,
                    std::string batch) = 0;
};

struct UplinkStreamStats {
  std::string stream;
  int priority = 100;
  uint64_t next_offset = 0;      // of the log: the next record appended gets this seq
  uint64_t acked = 0;            // committed cursor: every record below is stored at the hub
  uint64_t backlog_records = 0;  // next_offset - acked
  uint64_t backlog_bytes = 0;    // estimated from the log's average record size
  int64_t oldest_age_ms = 0;     // age of the oldest unacknowledged record (0: none)
  uint64_t records_sent = 0, batches_sent = 0, records_acked = 0, records_resent = 0;
  uint64_t quarantined = 0, dropped = 0;
  uint64_t bytes_produced = 0;  // payload bytes appended to the log since it was opened
  uint64_t bytes_sent = 0;      // encoded batch bytes handed to the transport
  uint64_t inflight_batches = 0;
  double drain_rate = 0;  // records acknowledged per second over the last 10 s
  double eta_s = -1;      // backlog / drain rate; -1: not draining
  Value to_value() const;
};

class UplinkSender {
 public:
  // `quarantine_path`: the JSON-lines file quarantined records are appended to.
  UplinkSender(UplinkSendOptions options, UplinkTransport& transport, std::string quarantine_path);
  ~UplinkSender();

  // Starts serving `log` as stream `name` from its cursor "hub" (again: no effect).
  void add_stream(const std::string& name, store::SegmentLog* log);
  bool has_stream(std::string_view name) const;

  // Sends what the windows, priorities and linger allow. `now_ms`: a monotonic clock.
  void pump(uint64_t now_ms);
  // Periodic (every few tens of ms): cursor commits, ack timeouts, drain-rate samples, linger.
  void tick(uint64_t now_ms);
  // The hub stored every record of `stream` below `next`.
  void on_ack(std::string_view stream, uint64_t next, uint64_t now_ms);
  // The link went down: every unacknowledged batch is sent again once it is back.
  void on_disconnected();
  // Commits every acknowledged cursor now (before stop).
  void flush_commits(uint64_t now_ms);

  // Thread-safe. `wall_ms`: the wall clock (records carry wall-clock timestamps).
  std::vector<UplinkStreamStats> stats(int64_t wall_ms) const;

  // Commit at most this often per stream (fsync), unless kCommitEveryAcks acks accumulate.
  static constexpr uint64_t kCommitIntervalMs = 100;
  static constexpr uint32_t kCommitEveryAcks = 64;

 private:
  struct Stream;
  void fill_and_send(Stream& s, uint64_t now_ms);
  bool fill(Stream& s, uint64_t now_ms);  // true: the batch must go now
  void send_building(Stream& s, uint64_t now_ms);
  void rewind(Stream& s);
  void maybe_commit(Stream& s, uint64_t now_ms, bool force);
  void quarantine(Stream& s, const store::LogRecord& r, std::string_view reason);
  bool has_unsent(const Stream& s) const;

  UplinkSendOptions options_;
  UplinkTransport& transport_;
  std::string quarantine_path_;
  mutable std::mutex mu_;  // guards streams_ against stats() from other threads
  std::map<std::string, std::unique_ptr<Stream>, std::less<>> streams_;
};

}  // namespace verge::sync
