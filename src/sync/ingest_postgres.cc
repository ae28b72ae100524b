#include "sync/ingest_postgres.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "store/postgres.h"
#include "sync/ingest_counters.h"
#include "sync/ingest_pg_writer.h"
#include "sync/ingest_record.h"

namespace verge::sync {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS uplink_records (
  node text NOT NULL,
  stream text NOT NULL,
  seq bigint NOT NULL,
  ts_ms bigint NOT NULL,
  payload bytea NOT NULL,
  PRIMARY KEY (node, stream, seq)
);
CREATE TABLE IF NOT EXISTS uplink_cursors (
  node text NOT NULL,
  stream text NOT NULL,
  next_seq bigint NOT NULL,
  PRIMARY KEY (node, stream)
);
)sql";

using StreamKey = std::pair<std::string, std::string>;

// bytea in text output: "\x" then two hex digits per byte.
Result<std::string> unhex_bytea(const std::string& text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) {
    return unexpected(Error{"postgres: unexpected bytea text"});
  }
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 2 - 1);
  for (size_t i = 2; i < text.size(); i += 2) {
    const int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return unexpected(Error{"postgres: bad hex in bytea"});
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

int64_t to_i64(const std::optional<std::string>& v) {
  return v ? std::strtoll(v->c_str(), nullptr, 10) : 0;
}

struct Job {
  std::string node, stream;
  DecodedBatch batch;
  IngestStore::StoreDone done;
};

class PostgresIngestStore final : public IngestStore {
 public:
  PostgresIngestStore(std::unique_ptr<store::Postgres> reader,
                      std::unique_ptr<ingest::PgWriter> writer)
      : reader_(std::move(reader)), writer_(std::move(writer)) {}

  ~PostgresIngestStore() override {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  Result<void> start() {
    auto rows = reader_->query("SELECT node, stream, next_seq FROM uplink_cursors");
    if (!rows) return unexpected(rows.error());
    for (const auto& row : rows->rows) {
      if (!row[0] || !row[1]) continue;
      next_[{*row[0], *row[1]}] = static_cast<uint64_t>(to_i64(row[2]));
    }
    counters_->streams.store(next_.size());
    thread_ = std::thread([this] { work(); });
    return {};
  }

  void store(std::string_view node, std::string_view stream, DecodedBatch batch,
             StoreDone done) override {
    {
      std::lock_guard lk(mu_);
      ++pending_;
      jobs_.push_back(
          Job{std::string(node), std::string(stream), std::move(batch), std::move(done)});
    }
    cv_.notify_one();
  }

  uint64_t next_seq(std::string_view node, std::string_view stream) const override {
    std::lock_guard lk(mu_);
    auto it = next_.find(StreamKey{node, stream});
    return it == next_.end() ? 0 : it->second;
  }

  Result<std::vector<StoredRecord>> query(const RecordQuery& q) const override {
    std::vector<StoredRecord> out;
    if (q.limit == 0) return out;
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    std::lock_guard lk(read_mu_);
    if (!reader_->ensure_connected()) return unexpected(Error{"postgres: not connected"});
    auto rows = reader_->query(
        "SELECT seq, ts_ms, payload FROM uplink_records WHERE node = $1 AND stream = $2 "
        "AND seq >= $3 AND ts_ms >= $4 AND ts_ms <= $5 ORDER BY seq LIMIT $6",
        {q.node, q.stream, std::to_string(std::min(q.from_seq, kMax)), std::to_string(q.from_ms),
         std::to_string(q.to_ms), std::to_string(std::min<uint64_t>(q.limit, kMax))});
    if (!rows) return unexpected(rows.error());
    out.reserve(rows->rows.size());
    for (const auto& row : rows->rows) {
      auto payload = unhex_bytea(row[2].value_or(""));
      if (!payload) return unexpected(payload.error());
      out.push_back(StoredRecord{q.node, q.stream, static_cast<uint64_t>(to_i64(row[0])),
                                 to_i64(row[1]), std::move(*payload)});
    }
    return out;
  }

  std::vector<std::pair<std::string, uint64_t>> streams(std::string_view node) const override {
    std::vector<std::pair<std::string, uint64_t>> out;
    std::lock_guard lk(mu_);
    for (auto it = next_.lower_bound(StreamKey{node, ""});
         it != next_.end() && it->first.first == node; ++it) {
      if (it->second > 0) out.emplace_back(it->first.second, it->second);
    }
    return out;
  }

  IngestStats stats() const override { return counters_->snapshot(); }

  void register_metrics(metrics::Registry& registry) override {
    ingest::register_ingest_metrics(registry, counters_);
  }

  void flush() override {
    std::unique_lock lk(mu_);
    idle_cv_.wait(lk, [&] { return pending_ == 0; });
  }

 private:
  void work() {
    std::unique_lock lk(mu_);
    while (true) {
      cv_.wait(lk, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and everything accepted was stored
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      lk.unlock();
      run(job);
      lk.lock();
      if (--pending_ == 0) idle_cv_.notify_all();
    }
  }

  void run(Job& job) {
    Result<StoreOutcome> r = unexpected(Error{"ingest store: empty node or stream name"});
    uint64_t bytes = 0;
    if (!job.node.empty() && !job.stream.empty()) {
      r = writer_->store(job.node, job.stream, job.batch, bytes);
    }
    auto& c = *counters_;
    if (r) {
      {
        std::lock_guard lk(mu_);
        auto [it, created] = next_.try_emplace(StreamKey{job.node, job.stream}, 0);
        it->second = std::max(it->second, r->next_seq);
        if (created) c.streams.fetch_add(1, std::memory_order_relaxed);
      }
      if (r->stored > 0 || r->gap > 0) c.batches.fetch_add(1, std::memory_order_relaxed);
      c.records.fetch_add(r->stored, std::memory_order_relaxed);
      c.duplicates.fetch_add(r->duplicates, std::memory_order_relaxed);
      c.gaps.fetch_add(r->gap, std::memory_order_relaxed);
      if (r->refused_ahead) c.refused_ahead.fetch_add(1, std::memory_order_relaxed);
      c.bytes.fetch_add(bytes, std::memory_order_relaxed);
    } else {
      c.errors.fetch_add(1, std::memory_order_relaxed);
      log_warn("ingest store: batch not stored",
               {{"node", job.node}, {"stream", job.stream}, {"error", r.error().message}});
    }
    job.done(std::move(r));
  }

  std::unique_ptr<store::Postgres> reader_;
  mutable std::mutex read_mu_;                // the reader connection is not thread-safe
  std::unique_ptr<ingest::PgWriter> writer_;  // the store thread's
  std::shared_ptr<ingest::Counters> counters_ = std::make_shared<ingest::Counters>();

  mutable std::mutex mu_;
  std::map<StreamKey, uint64_t, std::less<>> next_;  // committed cursors
  std::deque<Job> jobs_;
  size_t pending_ = 0;
  bool stop_ = false;
  std::condition_variable cv_, idle_cv_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<IngestStore>> open_postgres_ingest(const IngestOptions& options) {
  auto reader = store::Postgres::connect(options.storage);
  if (!reader) return unexpected(reader.error());
  if (auto r = (*reader)->exec(kSchema); !r) return unexpected(r.error());
  auto writer = ingest::PgWriter::connect(options.storage);
  if (!writer) return unexpected(writer.error());
  auto s = std::make_unique<PostgresIngestStore>(std::move(*reader), std::move(*writer));
  if (auto r = s->start(); !r) return unexpected(r.error());
  return std::unique_ptr<IngestStore>(std::move(s));
}

}  // namespace verge::sync
