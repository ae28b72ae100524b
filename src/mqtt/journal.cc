#include "mqtt/journal.h"

#include <algorithm>
#include <ctime>
#include <optional>

#include "core/log.h"
#include "mqtt/journal_codec.h"

namespace verge::mqtt {

namespace {

int64_t wall_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

store::Durability to_store(JournalDurability d) {
  switch (d) {
    case JournalDurability::Interval:
      return store::Durability::Interval;
    case JournalDurability::None:
      return store::Durability::None;
    case JournalDurability::Batch:
      break;
  }
  return store::Durability::Batch;
}

}  // namespace

Result<std::unique_ptr<Journal>> Journal::open(const std::string& dir, JournalDurability durability,
                                               uint64_t max_record_bytes, store::Filesystem* fs) {
  store::LogOptions opts;
  opts.fs = fs;
  opts.durability = to_store(durability);
  // The journal is compacted by snapshots (Worker::compact_journal_if_big), never by retention:
  // a cap here would silently lose sessions. Segments are small, so a snapshot frees space soon,
  // but always hold a group of appends (a group is cut at a quarter segment, and a record is at
  // most one packet plus its header).
  const uint64_t record = max_record_bytes + 4096;
  opts.segment_bytes = std::max<uint64_t>(16ull << 20, 4 * record);
  auto log = store::SegmentLog::open(dir, opts);
  if (!log) return unexpected(log.error());
  return std::unique_ptr<Journal>(new Journal(std::move(*log), opts.segment_bytes / 4));
}

void Journal::schedule() {
  if (scheduled_ || loop_ == nullptr) return;
  scheduled_ = true;
  loop_->after_batch([this] { commit(); });
}

void Journal::commit() { commit_then({}); }

Result<uint64_t> Journal::write_reset_snapshot(
    const std::function<void(Journal&)>& write_snapshot) {
  auto offset = log_->roll();
  if (!offset) return unexpected(offset.error());
  put([](std::string& b) { encode_reset(b); });
  write_snapshot(*this);
  return *offset;
}

void Journal::commit_then(std::function<void(bool stored)> on_durable) {
  scheduled_ = false;
  std::optional<uint64_t> repaired_at;
  if (snapshot_writer_ && needs_snapshot_.exchange(false)) {
    // A batch failed. What is buffered is superseded by a snapshot of memory, which already has
    // the effects of the lost records; the tickets held stay with it.
    buf_.clear();
    ends_.clear();
    auto at = write_reset_snapshot(snapshot_writer_);
    if (at) {
      repaired_at = *at;
      log_warn("journal rewritten as a snapshot after a failed write", {{"records", ends_.size()}});
    } else {
      needs_snapshot_.store(true);  // try again with the next batch
    }
  }
  if (ends_.empty()) {
    tickets_.clear();  // held over no change (e.g. an UNSUBSCRIBE of nothing): nothing to wait for
    if (on_durable) on_durable(true);
    return;
  }
  // The log takes at most a segment per append: cut the records into groups. Only the last group
  // carries the tickets; the log fails every record queued after a failed one, so the last
  // group's result stands for all of them.
  const int64_t now = wall_ms();
  auto tickets = std::make_shared<std::vector<TicketRef>>(std::move(tickets_));
  tickets_.clear();
  std::vector<std::string_view> records;
  size_t begin = 0;
  size_t group_begin = 0;
  for (size_t i = 0; i < ends_.size(); ++i) {
    records.emplace_back(buf_.data() + begin, ends_[i] - begin);
    begin = ends_[i];
    const bool last = i + 1 == ends_.size();
    if (!last && ends_[i] - group_begin < group_bytes_) continue;
    group_begin = ends_[i];
    {
      std::lock_guard lock(done_mutex_);
      ++in_flight_;
    }
    store::AppendDone done;
    if (last) {
      done = [this, tickets, on_durable](const store::AppendResult& r) {
        if (r.error) {
          failures_.fetch_add(1, std::memory_order_relaxed);
          needs_snapshot_.store(true);
          log_error("journal write failed: acknowledgements report the failure",
                    {{"records", r.count}, {"error", r.error->message}});
          for (const TicketRef& t : *tickets) t->fail();
        }
        tickets->clear();  // the last holders post their acknowledgements from here
        if (on_durable) on_durable(!r.error);
        batch_done();
      };
    } else {
      done = [this](const store::AppendResult& r) {
        if (r.error) {
          failures_.fetch_add(1, std::memory_order_relaxed);
          needs_snapshot_.store(true);
        }
        batch_done();
      };
    }
    auto appended = log_->append(records, now, std::move(done));
    records.clear();
    if (!appended) {
      batch_done();
      failures_.fetch_add(1, std::memory_order_relaxed);
      needs_snapshot_.store(true);
      log_error("journal refused records: acknowledgements report the failure",
                {{"error", appended.error().message}});
      for (const TicketRef& t : *tickets) t->fail();
      if (last && on_durable) on_durable(false);
    }
  }
  buf_.clear();
  ends_.clear();
  if (repaired_at) drop_after_durable(*repaired_at);
}

void Journal::batch_done() {
  std::lock_guard lock(done_mutex_);
  if (--in_flight_ == 0) all_done_.notify_all();
}

Result<void> Journal::flush() {
  const uint64_t failures_before = failures_.load();
  commit();
  auto r = log_->flush();
  // The log's flush returns once the bytes are synced; the callbacks that fail or release the
  // tickets may still be running on its writer thread.
  {
    std::unique_lock lock(done_mutex_);
    all_done_.wait(lock, [this] { return in_flight_ == 0; });
  }
  if (!r) return r;
  if (failures_.load() != failures_before) {
    return unexpected(Error{"journal: a write failed (see the log above)"});
  }
  return {};
}

void Journal::drop_after_durable(uint64_t offset) {
  // On the loop, after the batch: flush() syncs the snapshot (interval/none durability have not
  // yet) and waits for its callbacks; only a snapshot that was stored replaces the past.
  const uint64_t failures_at = failures_.load();
  auto drop = [this, offset, failures_at] {
    auto synced = flush();
    if (!synced || failures_.load() != failures_at) {
      log_warn("journal kept its old segments: the snapshot that replaces them failed");
      return;
    }
    auto r = log_->drop_before(offset);
    if (!r) log_warn("journal compaction kept old segments", {{"error", r.error().message}});
  };
  if (loop_ == nullptr) {
    drop();
  } else {
    loop_->post(drop);
  }
}

Result<uint64_t> Journal::compact(const std::function<void(Journal&)>& write_snapshot) {
  commit();
  const size_t before = buf_.size();
  auto offset = write_reset_snapshot(write_snapshot);
  if (!offset) return unexpected(offset.error());
  const uint64_t snapshot_bytes = buf_.size() - before;
  if (loop_ == nullptr) {
    auto flushed = flush();
    if (!flushed) return unexpected(flushed.error());  // the old segments stay
    auto dropped = log_->drop_before(*offset);
    if (!dropped) return unexpected(dropped.error());
    return snapshot_bytes;
  }
  commit();
  drop_after_durable(*offset);
  return snapshot_bytes;
}

}  // namespace verge::mqtt
