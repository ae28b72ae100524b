// verge_ingest_bench: the hub's embedded ingest store (src/sync/ingest_embedded.cc) in-process:
// 2,000-record batches of 100-byte records from 1,000 (node, stream) pairs, each pair's batches in
// order, a window of batches in flight (as from many node connections); prints records/s, then
// the time to open the store again (the scan that rebuilds the dedup table and index) per GiB.
//
//   verge_ingest_bench [--dir D] [--seconds S] [--pairs P] [--batch N] [--record-bytes B]
//                      [--window W] [--threads T] [--storage postgres://...]
//
// With --storage, the PostgreSQL store instead (no reopen figure; the tables should be empty).
//
// Prints plain lines (one figure per line); exits non-zero on errors.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "sync/ingest_embedded.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace verge;
using namespace verge::sync;

struct Args {
  std::string dir;
  double seconds = 5;
  size_t pairs = 1000, batch = 2000, record_bytes = 100;
  int window = 64;  // batches in flight, all producers together
  int threads = 2;
  std::string storage;
};

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

uint64_t dir_bytes(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

// A batch as the decoder would give it: a body that owns the payloads, views into it.
DecodedBatch make_batch(const std::string& body, size_t record_bytes, size_t count,
                        uint64_t first_seq) {
  DecodedBatch b;
  b.first_seq = first_seq;
  b.body = body;
  b.records.reserve(count);
  const std::string_view all(b.body);
  for (size_t i = 0; i < count; ++i) {
    b.records.push_back(DecodedRecord{first_seq + i,
                                      1'700'000'000'000 + static_cast<int64_t>(first_seq + i),
                                      all.substr(i * record_bytes, record_bytes)});
  }
  b.wire_bytes = b.body.size();
  return b;
}

int run(const Args& a) {
  std::string body;
  for (size_t i = 0; i < a.batch; ++i) {
    std::string rec = "{\"v\":" + std::to_string(i * 7919 % 100000) + ",\"q\":\"good\",\"p\":\"";
    rec.resize(a.record_bytes - 2, 'x');
    rec += "\"}";
    body += rec;
  }
  EmbeddedIngestKnobs knobs;
  knobs.checkpoint_interval_ms = 5000;
  IngestOptions o;
  o.data_dir = a.dir;
  o.storage = a.storage;
  auto opened = a.storage.empty() ? open_embedded_ingest(o, knobs) : IngestStore::open(o);
  if (!opened) {
    std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
    return 1;
  }
  auto store = std::move(*opened);

  std::counting_semaphore<1 << 20> window(a.window);
  std::atomic<uint64_t> acked_records{0}, errors{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> producers;
  const auto t0 = Clock::now();
  for (int t = 0; t < a.threads; ++t) {
    producers.emplace_back([&, t] {
      std::vector<uint64_t> next(a.pairs, 0);
      while (!stop.load(std::memory_order_relaxed)) {
        for (size_t p = static_cast<size_t>(t); p < a.pairs && !stop.load(); p += a.threads) {
          window.acquire();
          const std::string node = "node-" + std::to_string(p % 500);
          const std::string stream = "stream-" + std::to_string(p);
          store->store(node, stream, make_batch(body, a.record_bytes, a.batch, next[p]),
                       [&](Result<StoreOutcome> r) {
                         if (r) {
                           acked_records.fetch_add(r->stored, std::memory_order_relaxed);
                         } else {
                           errors.fetch_add(1);
                         }
                         window.release();
                       });
          next[p] += a.batch;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(a.seconds));
  stop = true;
  for (auto& p : producers) p.join();
  store->flush();
  const double elapsed = secs(Clock::now() - t0);
  const uint64_t n = acked_records.load();
  std::printf("ingest: %zu pairs, %zu-record batches of %zu bytes, window %d, %d producers\n",
              a.pairs, a.batch, a.record_bytes, a.window, a.threads);
  std::printf("ingest: stored %llu records in %.2f s: %.0f records/s, %.1f MB/s of payload\n",
              static_cast<unsigned long long>(n), elapsed, static_cast<double>(n) / elapsed,
              static_cast<double>(n * a.record_bytes) / elapsed / 1e6);
  std::printf("ingest: errors %llu\n", static_cast<unsigned long long>(errors.load()));

  store.reset();
  if (!a.storage.empty()) return errors.load() == 0 ? 0 : 1;
  const uint64_t bytes = dir_bytes(a.dir + "/ingest");
  const auto r0 = Clock::now();
  auto again = open_embedded_ingest(o, knobs);
  const double open_s = secs(Clock::now() - r0);
  if (!again) {
    std::fprintf(stderr, "reopen: %s\n", again.error().message.c_str());
    return 1;
  }
  const bool ok = (*again)->next_seq("node-0", "stream-0") > 0;
  std::printf("ingest: reopen of %.1f MiB: %.3f s (%.1f s per GiB)%s\n",
              static_cast<double>(bytes) / (1 << 20), open_s,
              open_s / (static_cast<double>(bytes) / (1 << 30)), ok ? "" : " NEXT_SEQ LOST");
  return errors.load() == 0 && ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir")
      a.dir = v;
    else if (k == "--seconds")
      a.seconds = std::stod(v);
    else if (k == "--pairs")
      a.pairs = std::stoul(v);
    else if (k == "--batch")
      a.batch = std::stoul(v);
    else if (k == "--record-bytes")
      a.record_bytes = std::max<size_t>(std::stoul(v), 32);
    else if (k == "--window")
      a.window = std::stoi(v);
    else if (k == "--threads")
      a.threads = std::stoi(v);
    else if (k == "--storage")
      a.storage = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  verge::set_log_level(verge::LogLevel::Warn);
  bool own_dir = false;
  if (a.dir.empty()) {
    a.dir = (std::filesystem::temp_directory_path() / "verge_ingest_bench").string();
    std::filesystem::remove_all(a.dir);
    own_dir = true;
  }
  const int rc = run(a);
  if (own_dir) std::filesystem::remove_all(a.dir);
  return rc;
}
