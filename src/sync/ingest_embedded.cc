#include "sync/ingest_embedded.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "core/clock.h"
#include "core/log.h"
#include "store/segment_log.h"
#include "sync/ingest_counters.h"
#include "sync/ingest_dedup_file.h"
#include "sync/ingest_record.h"

namespace verge::sync {
namespace {

// Streams are keyed "node\0stream": MQTT topic levels cannot hold NUL, and one ordered map gives
// streams(node) as a prefix range.
std::string stream_key(std::string_view node, std::string_view stream) {
  std::string k;
  k.reserve(node.size() + 1 + stream.size());
  k.append(node).push_back('\0');
  k.append(stream);
  return k;
}

// Where the slices of one stream are in the log. `batches` = 1: exactly the slice at log_offset;
// more (after merging): the stream's slices from log_offset up to the next entry's offset.
struct IndexEntry {
  uint64_t first_seq = 0, log_offset = 0;
  uint64_t batches = 1;
};

struct Item {
  DecodedBatch batch;
  IngestStore::StoreDone done;
};

// One append per stream at a time: a batch is judged against what is durable, so a failed write
// needs no rollback and a later batch of the stream can never land after a hole. Group commit
// still gathers the batches of all streams into one fsync.
struct StreamState {
  std::string node, stream;
  uint64_t next_seq = 0;  // every record below is stored and synced
  bool busy = false;      // an item of this stream is being judged or written
  std::deque<Item> queue;
  std::vector<IndexEntry> index;
};

class EmbeddedIngestStore final : public IngestStore {
 public:
  EmbeddedIngestStore(std::string dir, store::Filesystem& fs, EmbeddedIngestKnobs knobs)
      : dir_(std::move(dir)), fs_(fs), knobs_(knobs) {}

  ~EmbeddedIngestStore() override {
    if (!log_) return;  // start() failed
    flush();
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    worker_cv_.notify_all();
    if (worker_.joinable()) worker_.join();
    if (auto r = checkpoint(); !r) {
      log_warn("ingest store: dedup checkpoint at close failed", {{"error", r.error().message}});
    }
  }

  Result<void> start(const IngestOptions& options) {
    store::LogOptions lo;
    lo.durability = store::Durability::Batch;
    lo.compress = false;  // JSON payloads would shrink, but the ingest rate matters more here
    lo.segment_bytes = knobs_.segment_bytes;
    lo.max_bytes = options.max_bytes;
    lo.max_age_ms = static_cast<uint64_t>(std::max<int64_t>(options.max_age_ms, 0));
    lo.drop_policy = store::DropPolicy::DropOldest;
    lo.fs = &fs_;
    // The log keeps a folder of its own (it refuses files it does not know, like `dedup`).
    auto log = store::SegmentLog::open(dir_ + "/log", lo);
    if (!log) return unexpected(Error{"ingest store: " + log.error().message});
    log_ = std::move(*log);
    if (auto r = rebuild(); !r) return r;
    worker_ = std::thread([this] { work(); });
    return {};
  }

  void store(std::string_view node, std::string_view stream, DecodedBatch batch,
             StoreDone done) override {
    if (node.empty() || stream.empty()) {
      counters_->errors.fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard lk(mu_);
        ++pending_;
      }
      deliver(std::move(done), unexpected(Error{"ingest store: empty node or stream name"}), true);
      return;
    }
    Item item{std::move(batch), std::move(done)};
    std::unique_lock lk(mu_);
    StreamState& s = stream_state(node, stream);
    ++pending_;
    if (s.busy) {
      s.queue.push_back(std::move(item));
      return;
    }
    s.busy = true;
    lk.unlock();
    drive(s, std::move(item), true);
  }

  uint64_t next_seq(std::string_view node, std::string_view stream) const override {
    std::lock_guard lk(mu_);
    auto it = streams_.find(stream_key(node, stream));
    return it == streams_.end() ? 0 : it->second.next_seq;
  }

  Result<std::vector<StoredRecord>> query(const RecordQuery& q) const override {
    std::vector<StoredRecord> out;
    if (q.limit == 0) return out;
    std::vector<IndexEntry> entries;
    {
      std::lock_guard lk(mu_);
      auto it = streams_.find(stream_key(q.node, q.stream));
      if (it == streams_.end()) return out;
      const auto& idx = it->second.index;
      auto pos =
          std::upper_bound(idx.begin(), idx.end(), q.from_seq,
                           [](uint64_t seq, const IndexEntry& e) { return seq < e.first_seq; });
      if (pos != idx.begin()) --pos;
      entries.assign(pos, idx.end());
    }
    const uint64_t log_end = log_->stats().next_offset;
    Result<void> bad = {};
    for (size_t i = 0; i < entries.size() && out.size() < q.limit; ++i) {
      const IndexEntry& e = entries[i];
      const uint64_t until = i + 1 < entries.size() ? entries[i + 1].log_offset : log_end;
      const size_t max = e.batches == 1 ? 1 : static_cast<size_t>(until - e.log_offset);
      auto r = log_->read(e.log_offset, max, [&](const store::LogRecord& rec) {
        if (rec.offset >= until) return false;
        if (e.batches == 1 && rec.offset != e.log_offset) return false;  // dropped by retention
        if (auto r2 = collect(rec.payload, q, out); !r2) {
          bad = r2;
          return false;
        }
        return out.size() < q.limit;
      });
      if (!r) return unexpected(Error{"ingest store: query: " + r.error().message});
      if (!bad) return unexpected(bad.error());
    }
    return out;
  }

  std::vector<std::pair<std::string, uint64_t>> streams(std::string_view node) const override {
    std::vector<std::pair<std::string, uint64_t>> out;
    std::string prefix(node);
    prefix.push_back('\0');
    std::lock_guard lk(mu_);
    for (auto it = streams_.lower_bound(prefix);
         it != streams_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      if (it->second.next_seq == 0) continue;
      out.emplace_back(it->first.substr(prefix.size()), it->second.next_seq);
    }
    return out;
  }

  IngestStats stats() const override { return counters_->snapshot(); }

  void register_metrics(metrics::Registry& registry) override {
    ingest::register_ingest_metrics(registry, counters_);
    log_->register_metrics(registry, "hub_ingest");
  }

  void flush() override {
    if (auto r = log_->flush(); !r) {
      log_warn("ingest store: flush failed", {{"error", r.error().message}});
    }
    std::unique_lock lk(mu_);
    idle_cv_.wait(lk, [&] { return pending_ == 0; });
  }

 private:
  // Judges and writes the items of a stream the caller made busy, until one waits for its write
  // (its callback continues) or the queue is empty (busy is released).
  void drive(StreamState& s, Item item, bool caller_thread) {
    while (true) {
      const std::span<const DecodedRecord> records(item.batch.records);
      const uint64_t first = item.batch.first_seq, end = first + records.size();
      uint64_t next;
      {
        std::lock_guard lk(mu_);
        next = s.next_seq;  // only the busy owner (us) changes it
      }
      StoreOutcome out;
      if (end <= next) {  // nothing new (an empty batch above next_seq records a gap)
        out.duplicates = records.size();
        out.next_seq = next;
        counters_->duplicates.fetch_add(out.duplicates, std::memory_order_relaxed);
        deliver(std::move(item.done), out, caller_thread);
      } else if (first > next && !item.batch.gap_before) {
        // Ahead of next_seq without the node saying the records before it are gone: a batch
        // before it was lost or not stored. Storing this one would skip those records for good;
        // the unchanged ack makes the node resend from next_seq.
        out.next_seq = next;
        out.refused_ahead = true;
        counters_->refused_ahead.fetch_add(1, std::memory_order_relaxed);
        deliver(std::move(item.done), out, caller_thread);
      } else {
        const uint64_t skip = next > first ? next - first : 0;
        out.duplicates = skip;
        out.gap = first > next ? first - next : 0;
        out.stored = records.size() - skip;
        out.next_seq = end;
        std::string slice;
        ingest::encode_slice(s.node, s.stream, first + skip, records.subspan(skip), slice);
        const std::string_view view(slice);
        auto done = std::make_shared<StoreDone>(std::move(item.done));
        auto off = log_->append({&view, 1}, wall_ms(),
                                [this, st = &s, out, first_stored = first + skip,
                                 bytes = slice.size(), done](const store::AppendResult& r) {
                                  on_appended(*st, out, first_stored, bytes, std::move(*done), r);
                                });
        if (off) return;
        counters_->errors.fetch_add(1, std::memory_order_relaxed);
        deliver(std::move(*done), unexpected(Error{"ingest store: " + off.error().message}),
                caller_thread);
      }
      std::lock_guard lk(mu_);
      if (s.queue.empty()) {
        s.busy = false;
        return;
      }
      item = std::move(s.queue.front());
      s.queue.pop_front();
    }
  }

  // Runs `done` now (on a store thread) or hands it to the store thread (on a caller's thread).
  void deliver(StoreDone done, Result<StoreOutcome> result, bool caller_thread) {
    if (caller_thread) {
      {
        std::lock_guard lk(mu_);
        queue_.push_back([done = std::move(done), result = std::move(result)]() mutable {
          done(std::move(result));
        });
      }
      worker_cv_.notify_one();
      return;
    }
    done(std::move(result));
    std::lock_guard lk(mu_);
    if (--pending_ == 0) idle_cv_.notify_all();
  }

  // On the log's writer thread, in log order.
  void on_appended(StreamState& s, const StoreOutcome& out, uint64_t first_stored, size_t bytes,
                   StoreDone done, const store::AppendResult& r) {
    if (!r.error) {
      std::lock_guard lk(mu_);
      s.next_seq = out.next_seq;
      durable_log_next_ = std::max(durable_log_next_, r.first_offset + r.count);
      if (out.stored > 0) add_index(s, IndexEntry{first_stored, r.first_offset, 1});
      auto& c = *counters_;
      c.batches.fetch_add(1, std::memory_order_relaxed);
      c.records.fetch_add(out.stored, std::memory_order_relaxed);
      c.gaps.fetch_add(out.gap, std::memory_order_relaxed);
      c.bytes.fetch_add(bytes, std::memory_order_relaxed);
      c.duplicates.fetch_add(out.duplicates, std::memory_order_relaxed);
    } else {
      counters_->errors.fetch_add(1, std::memory_order_relaxed);
    }
    // Failed: next_seq stays at what is durable; the node resends.
    deliver(std::move(done),
            r.error ? Result<StoreOutcome>(unexpected(Error{"ingest store: " + r.error->message}))
                    : Result<StoreOutcome>(out),
            false);
    Item item;
    {
      std::lock_guard lk(mu_);
      if (s.queue.empty()) {
        s.busy = false;
        return;
      }
      item = std::move(s.queue.front());
      s.queue.pop_front();
    }
    drive(s, std::move(item), false);
  }

  // Caller holds mu_. Past the cap, neighbouring entries are merged pairwise (a query then scans
  // the log between them).
  void add_index(StreamState& s, IndexEntry e) {
    s.index.push_back(e);
    if (s.index.size() <= knobs_.max_index_entries) return;
    std::vector<IndexEntry> merged;
    merged.reserve(s.index.size() / 2 + 1);
    for (size_t i = 0; i < s.index.size(); i += 2) {
      IndexEntry m = s.index[i];
      if (i + 1 < s.index.size()) m.batches += s.index[i + 1].batches;
      merged.push_back(m);
    }
    s.index = std::move(merged);
  }

  static Result<void> collect(std::string_view slice, const RecordQuery& q,
                              std::vector<StoredRecord>& out) {
    auto h = ingest::decode_slice_header(slice);
    if (!h) return unexpected(h.error());
    if (h->node != q.node || h->stream != q.stream) return {};
    if (h->first_seq + h->count <= q.from_seq) return {};
    if (h->max_ts < q.from_ms || h->min_ts > q.to_ms) return {};
    return ingest::for_each_record(slice, *h, [&](uint64_t seq, int64_t ts, std::string_view p) {
      if (seq >= q.from_seq && ts >= q.from_ms && ts <= q.to_ms) {
        out.push_back(StoredRecord{q.node, q.stream, seq, ts, std::string(p)});
      }
      return out.size() < q.limit;
    });
  }

  // Caller holds mu_ (or is open()).
  StreamState& stream_state(std::string_view node, std::string_view stream) {
    auto [it, created] = streams_.try_emplace(stream_key(node, stream));
    if (created) {
      it->second.node = node;
      it->second.stream = stream;
      counters_->streams.fetch_add(1, std::memory_order_relaxed);
    }
    return it->second;
  }

  // The dedup checkpoint, then one scan of the log for the index (and next_seq of what came after
  // the checkpoint).
  Result<void> rebuild() {
    auto cp = ingest::load_dedup(fs_, dir_);
    if (!cp) return unexpected(Error{"ingest store: " + cp.error().message});
    for (const auto& [k, next] : cp->next_seq) {
      stream_state(k.first, k.second).next_seq = next;
    }
    const auto t0 = std::chrono::steady_clock::now();
    uint64_t pos = log_->stats().first_offset, bad = 0;
    while (true) {
      auto r = log_->read(pos, 65536, [&](const store::LogRecord& rec) {
        auto h = ingest::decode_slice_header(rec.payload);
        if (!h) {
          ++bad;
          return true;
        }
        auto& s = stream_state(h->node, h->stream);
        s.next_seq = std::max(s.next_seq, h->first_seq + h->count);
        if (h->count > 0) add_index(s, IndexEntry{h->first_seq, rec.offset, 1});
        return true;
      });
      if (!r) return unexpected(Error{"ingest store: scanning the log: " + r.error().message});
      if (*r == pos) break;
      pos = *r;
    }
    durable_log_next_ = pos;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    log_info("ingest store: opened", {{"dir", dir_},
                                      {"streams", streams_.size()},
                                      {"log_records", pos},
                                      {"scan_ms", ms},
                                      {"undecodable", bad}});
    return {};
  }

  // Also forgets index entries of slices retention deleted.
  Result<void> checkpoint() {
    ingest::DedupCheckpoint cp;
    const uint64_t first = log_->stats().first_offset;
    {
      std::lock_guard lk(mu_);
      for (auto& [k, s] : streams_) {
        std::erase_if(s.index,
                      [&](const IndexEntry& e) { return e.log_offset < first && e.batches == 1; });
      }
      cp.log_offset = durable_log_next_;
      for (const auto& [k, s] : streams_) {
        if (s.next_seq != 0) cp.next_seq.emplace(std::pair{s.node, s.stream}, s.next_seq);
      }
    }
    return ingest::save_dedup(fs_, dir_, cp);
  }

  // The store thread: runs `done` of batches answered without a write, and checkpoints.
  void work() {
    auto next_cp =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(knobs_.checkpoint_interval_ms);
    std::unique_lock lk(mu_);
    while (!stop_) {
      worker_cv_.wait_until(lk, next_cp, [&] { return stop_ || !queue_.empty(); });
      while (!queue_.empty()) {
        auto fn = std::move(queue_.front());
        queue_.pop_front();
        lk.unlock();
        fn();
        lk.lock();
        if (--pending_ == 0) idle_cv_.notify_all();
      }
      if (std::chrono::steady_clock::now() >= next_cp) {
        lk.unlock();
        if (auto r = checkpoint(); !r) {
          log_warn("ingest store: dedup checkpoint failed", {{"error", r.error().message}});
        }
        lk.lock();
        next_cp = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(knobs_.checkpoint_interval_ms);
      }
    }
  }

  const std::string dir_;
  store::Filesystem& fs_;
  const EmbeddedIngestKnobs knobs_;
  std::unique_ptr<store::SegmentLog> log_;
  std::shared_ptr<ingest::Counters> counters_ = std::make_shared<ingest::Counters>();

  mutable std::mutex mu_;
  std::map<std::string, StreamState, std::less<>> streams_;
  uint64_t durable_log_next_ = 0;
  size_t pending_ = 0;  // `done` calls not yet made
  std::condition_variable idle_cv_, worker_cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace

Result<std::unique_ptr<IngestStore>> open_embedded_ingest(const IngestOptions& options,
                                                          const EmbeddedIngestKnobs& knobs) {
  if (options.data_dir.empty()) return unexpected(Error{"ingest store: no data directory"});
  store::Filesystem& fs = knobs.fs != nullptr ? *knobs.fs : store::real_filesystem();
  auto s = std::make_unique<EmbeddedIngestStore>(options.data_dir + "/ingest", fs, knobs);
  if (auto r = s->start(options); !r) return unexpected(r.error());
  return std::unique_ptr<IngestStore>(std::move(s));
}

}  // namespace verge::sync
