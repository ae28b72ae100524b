// One worker's journal: the records of the persistent sessions it owns and of the retained topics
// that hash to it, on a store::SegmentLog. Records are encoded during a loop batch and appended in
// one group after it; tickets of the messages in that group are released once it is durable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/result.h"
#include "mqtt/ack_ticket.h"
#include "net/event_loop.h"
#include "store/segment_log.h"

namespace verge::mqtt {

class Journal {
 public:
  // `max_record_bytes`: the largest record (about the largest MQTT packet); segments are sized
  // so that one always fits. `fs` null = the real filesystem (tests inject faults).
  static Result<std::unique_ptr<Journal>> open(const std::string& dir, JournalDurability durability,
                                               uint64_t max_record_bytes = 1 << 20,
                                               store::Filesystem* fs = nullptr);

  // Writes the owner's whole state (put()s). Used to repair the journal after a failed batch:
  // the records of that batch are gone but memory has their effects, so later records could
  // refer to state the journal never got. Without one, a failed batch only fails its tickets.
  void set_snapshot_writer(std::function<void(Journal&)> writer) {
    snapshot_writer_ = std::move(writer);
  }

  // Until attached, records are only buffered (start-up, on the main thread): call commit().
  // Detached again (null) for the final snapshot at shutdown.
  void attach(net::EventLoop* loop) { loop_ = loop; }
  ~Journal() { commit(); }
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Appends one record: `encode` appends its bytes to the string it is given. `hold` (may be
  // null) is released only when the record is durable, or failed if it cannot be stored.
  template <class Encode>
  void put(Encode&& encode, const TicketRef* hold = nullptr) {
    encode(buf_);
    ends_.push_back(buf_.size());
    if (hold != nullptr && *hold) tickets_.push_back(*hold);
    schedule();
  }

  // Holds `ticket` until the records put so far are durable.
  void hold(TicketRef ticket) {
    tickets_.push_back(std::move(ticket));
    schedule();
  }

  // Hands the buffered records to the log (after each loop batch, or explicitly).
  void commit();
  // commit(), then `on_durable(stored)` on the log's writer thread once the group is durable.
  void commit_then(std::function<void(bool stored)> on_durable);
  // commit() and wait until everything is durable; an error if any batch failed meanwhile.
  Result<void> flush();

  // Rewrites the journal as `write_snapshot` (which put()s the live state, behind a Reset
  // record) and drops everything before it once the snapshot is durable: the journal stays
  // proportional to the live state. Returns the snapshot's size in bytes.
  Result<uint64_t> compact(const std::function<void(Journal&)>& write_snapshot);

  store::SegmentLog& log() { return *log_; }
  uint64_t disk_bytes() const { return log_->stats().disk_bytes; }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  Journal(std::unique_ptr<store::SegmentLog> log, uint64_t group_bytes)
      : log_(std::move(log)), group_bytes_(group_bytes) {}
  void schedule();
  void batch_done();
  // Puts a Reset record and the snapshot after a segment roll; returns the roll offset.
  Result<uint64_t> write_reset_snapshot(const std::function<void(Journal&)>& write_snapshot);
  void drop_after_durable(uint64_t offset);

  // Before log_: the log's writer thread uses these until the log is destroyed.
  std::atomic<uint64_t> failures_{0};
  std::mutex done_mutex_;
  std::condition_variable all_done_;
  uint64_t in_flight_ = 0;  // batches handed to the log whose callback has not finished
  std::atomic<bool> needs_snapshot_{false};  // a batch failed: the next commit repairs
  std::unique_ptr<store::SegmentLog> log_;
  uint64_t group_bytes_;  // records go to the log in appends of at most this size
  std::function<void(Journal&)> snapshot_writer_;
  net::EventLoop* loop_ = nullptr;
  std::string buf_;
  std::vector<size_t> ends_;
  std::vector<TicketRef> tickets_;
  bool scheduled_ = false;
};

}  // namespace verge::mqtt
