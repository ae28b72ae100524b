#include "mqtt/journal.h"

#include <ctime>

#include "core/log.h"

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
                                               store::Filesystem* fs) {
  store::LogOptions opts;
  opts.fs = fs;
  opts.durability = to_store(durability);
  // The journal is compacted by snapshots (Worker::compact_journal), never by retention: a cap
  // here would silently lose sessions. Small segments let a snapshot free space soon.
  opts.segment_bytes = 16ull << 20;
  auto log = store::SegmentLog::open(dir, opts);
  if (!log) return unexpected(log.error());
  return std::unique_ptr<Journal>(new Journal(std::move(*log)));
}

void Journal::schedule() {
  if (scheduled_ || loop_ == nullptr) return;
  scheduled_ = true;
  loop_->after_batch([this] { commit(); });
}

void Journal::commit() { commit_then({}); }

void Journal::commit_then(std::function<void(bool stored)> on_durable) {
  scheduled_ = false;
  if (ends_.empty()) {
    tickets_.clear();  // held over no change (e.g. an UNSUBSCRIBE of nothing): nothing to wait for
    if (on_durable) on_durable(true);
    return;
  }
  std::vector<std::string_view> records;
  records.reserve(ends_.size());
  size_t begin = 0;
  for (size_t end : ends_) {
    records.emplace_back(buf_.data() + begin, end - begin);
    begin = end;
  }
  auto tickets = std::make_shared<std::vector<TicketRef>>(std::move(tickets_));
  tickets_.clear();
  {
    std::lock_guard lock(done_mutex_);
    ++in_flight_;
  }
  auto appended =
      log_->append(records, wall_ms(), [this, tickets, on_durable](const store::AppendResult& r) {
        if (r.error) {
          failures_.fetch_add(1, std::memory_order_relaxed);
          log_error("journal write failed: acknowledgements report the failure",
                    {{"records", r.count}, {"error", r.error->message}});
          for (const TicketRef& t : *tickets) t->fail();
        }
        tickets->clear();  // the last holders post their acknowledgements from here
        if (on_durable) on_durable(!r.error);
        batch_done();
      });
  if (!appended) {
    batch_done();
    failures_.fetch_add(1, std::memory_order_relaxed);
    log_error("journal refused records: acknowledgements report the failure",
              {{"records", records.size()}, {"error", appended.error().message}});
    for (const TicketRef& t : *tickets) t->fail();
    if (on_durable) on_durable(false);
  }
  buf_.clear();
  ends_.clear();
}

void Journal::batch_done() {
  std::lock_guard lock(done_mutex_);
  if (--in_flight_ == 0) all_done_.notify_all();
}

Result<void> Journal::flush() {
  commit();
  auto r = log_->flush();
  // The log's flush returns once the bytes are synced; the callbacks that fail or release the
  // tickets may still be running on its writer thread.
  std::unique_lock lock(done_mutex_);
  all_done_.wait(lock, [this] { return in_flight_ == 0; });
  return r;
}

Result<void> Journal::compact(const std::function<void(Journal&)>& write_snapshot) {
  commit();
  auto offset = log_->roll();
  if (!offset) return unexpected(offset.error());
  write_snapshot(*this);
  if (loop_ == nullptr) {
    auto flushed = flush();
    if (!flushed) return flushed;
    return log_->drop_before(*offset);
  }
  // The old segments go only once the snapshot that replaces them is durable.
  commit_then([this, loop = loop_, at = *offset](bool stored) {
    if (!stored) return;
    loop->post([this, at] {
      auto r = log_->drop_before(at);
      if (!r) log_warn("journal compaction kept old segments", {{"error", r.error().message}});
    });
  });
  return {};
}

}  // namespace verge::mqtt
