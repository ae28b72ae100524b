// verge_store_bench: the segment log's append throughput and append-to-ack latency for each
// durability setting (100-byte records, several producer threads), write amplification, the
// same records inserted into SQLite (WAL, synchronous=FULL, same batch size) as a reference
// peer, and the open (recovery) time of a 1 GiB log whose writer was killed while writing
// (with its recovery checkpoints, after a clean close, and without checkpoints).
//
//   verge_store_bench [--dir D] [--seconds S] [--threads N] [--window W] [--record-bytes B]
//                     [--recovery-mib M] [--modes batch,interval,none] [--no-sqlite]
//
// Prints plain lines (one figure per line) for docs/benchmarks.md; exits non-zero on errors.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "store/segment_log.h"

namespace {

using Clock = std::chrono::steady_clock;
using verge::store::AppendResult;
using verge::store::Durability;
using verge::store::LogOptions;
using verge::store::SegmentLog;

struct Args {
  std::string dir;
  double seconds = 3;
  int threads = 4;
  int window = 4096;  // records in flight per producer
  size_t record_bytes = 100;
  uint64_t recovery_mib = 1024;
  std::string modes = "batch,interval,none";
  bool sqlite = true;
};

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string make_payload(uint64_t i, size_t n) {
  std::string s(n, 'x');
  for (size_t k = 0; k < n; ++k) s[k] = static_cast<char>('a' + (i * 31 + k * 7) % 26);
  return s;
}

struct Throughput {
  double records_per_s = 0, mb_per_s = 0, p50_us = 0, p99_us = 0, max_us = 0;
  double write_amp = 0, records_per_sync = 0;
  uint64_t records = 0, syncs = 0;
};

double percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

bool run_log(const Args& a, Durability d, const std::string& dir, Throughput& out) {
  LogOptions o;
  o.durability = d;
  o.interval_ms = 1000;
  auto opened = SegmentLog::open(dir, o);
  if (!opened) {
    std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
    return false;
  }
  auto& log = **opened;
  std::vector<uint32_t> lat_us;  // touched by the writer thread only (callbacks run there)
  lat_us.reserve(8u << 20);
  std::atomic<bool> stop{false}, failed{false};
  std::atomic<uint64_t> acked{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> producers;
  for (int p = 0; p < a.threads; ++p) {
    producers.emplace_back([&, p] {
      std::counting_semaphore<1 << 20> room(a.window);
      const std::string payload = make_payload(static_cast<uint64_t>(p), a.record_bytes);
      const std::string_view v = payload;
      while (!stop.load(std::memory_order_relaxed)) {
        room.acquire();
        const auto start = Clock::now();
        auto r = log.append({&v, 1}, 0, [&, start](const AppendResult& res) {
          if (res.error) failed = true;
          const auto us =
              std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
          if (lat_us.size() < lat_us.capacity())
            lat_us.push_back(static_cast<uint32_t>(us.count()));
          acked.fetch_add(1, std::memory_order_relaxed);
          room.release();
        });
        if (!r) {
          failed = true;
          room.release();
          break;
        }
      }
      for (int k = 0; k < a.window; ++k) room.acquire();  // wait for our in-flight records
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(a.seconds));
  stop = true;
  for (auto& t : producers) t.join();
  const double elapsed = secs(Clock::now() - t0);
  const auto s = log.stats();
  out.records = acked.load();
  out.records_per_s = static_cast<double>(out.records) / elapsed;
  out.mb_per_s = out.records_per_s * static_cast<double>(a.record_bytes) / 1e6;
  out.p50_us = percentile(lat_us, 0.50);
  out.p99_us = percentile(lat_us, 0.99);
  out.max_us = percentile(lat_us, 1.0);
  out.write_amp = static_cast<double>(s.bytes_written) /
                  static_cast<double>(std::max<uint64_t>(1, s.payload_bytes_appended));
  out.syncs = s.syncs;
  out.records_per_sync = s.syncs ? static_cast<double>(s.records_appended) / s.syncs : 0;
  return !failed;
}

bool run_sqlite(const Args& a, const std::string& path, size_t batch, double& rps) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return false;
  const char* setup =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
      "CREATE TABLE log(offset INTEGER PRIMARY KEY, ts INTEGER, payload BLOB);";
  if (sqlite3_exec(db, setup, nullptr, nullptr, nullptr) != SQLITE_OK) return false;
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO log VALUES(?,?,?)", -1, &ins, nullptr);
  const std::string payload = make_payload(1, a.record_bytes);
  uint64_t n = 0;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(a.seconds);
  while (Clock::now() < end) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (size_t i = 0; i < batch; ++i, ++n) {
      sqlite3_bind_int64(ins, 1, static_cast<sqlite3_int64>(n));
      sqlite3_bind_int64(ins, 2, 0);
      sqlite3_bind_blob(ins, 3, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
      if (sqlite3_step(ins) != SQLITE_DONE) return false;
      sqlite3_reset(ins);
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return false;
  }
  rps = static_cast<double>(n) / secs(Clock::now() - t0);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return true;
}

// A child fills a log to `mib` MiB and keeps writing; the parent kills it with SIGKILL, so the
// last segment may end in a torn batch. Then the parent measures open().
bool run_recovery(const Args& a, const std::string& dir) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    // Batch durability, as a producer that needs its acknowledgements would run it: the
    // recovery checkpoints then follow the synced data.
    auto log = SegmentLog::open(dir, LogOptions{});
    if (!log) _exit(2);
    std::vector<std::string> recs;
    for (int i = 0; i < 1000; ++i) {
      recs.push_back(make_payload(static_cast<uint64_t>(i), a.record_bytes));
    }
    std::vector<std::string_view> views(recs.begin(), recs.end());
    std::counting_semaphore<64> room(64);  // calls of 1,000 records in flight
    bool told = false;
    for (;;) {
      room.acquire();
      if (!(*log)->append(views, 0, [&](const AppendResult&) { room.release(); })) _exit(3);
      if (!told && (*log)->stats().disk_bytes >= (a.recovery_mib << 20)) {
        told = true;
        (void)!write(fds[1], "x", 1);
      }
    }
  }
  close(fds[1]);
  char c;
  if (read(fds[0], &c, 1) != 1) return false;
  // Kill while the last segment is nearly full (the worst case for recovery: the whole last
  // segment is scanned), then tear its tail as a power cut would: half a batch, then zeros.
  const auto last_segment = [&] {
    std::string last;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() == ".seg" && e.path().string() > last) last = e.path().string();
    }
    return last;
  };
  for (int i = 0; i < 2000; ++i) {
    std::error_code ec;
    if (std::filesystem::file_size(last_segment(), ec) >= (56u << 20)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  const std::string last = last_segment();
  {
    std::string torn(3000, '\0');
    for (size_t i = 0; i < 1500; ++i) torn[i] = static_cast<char>('a' + i % 26);
    torn[0] = 'V';  // looks like the start of a batch header
    FILE* f = std::fopen(last.c_str(), "ab");
    if (f == nullptr) return false;
    std::fwrite(torn.data(), 1, torn.size(), f);
    std::fclose(f);
  }
  const uint64_t last_bytes = std::filesystem::file_size(last);
  uint64_t bytes = 0, segs = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    bytes += e.file_size();
    ++segs;
  }
  const auto t0 = Clock::now();
  auto log = SegmentLog::open(dir, LogOptions{});
  const double open_s = secs(Clock::now() - t0);
  if (!log) {
    std::fprintf(stderr, "recovery open: %s\n", log.error().message.c_str());
    return false;
  }
  const auto s = (*log)->stats();
  std::printf("recovery: log_bytes=%" PRIu64 " segments=%" PRIu64 " records=%" PRIu64
              " last_segment_bytes=%" PRIu64 " scanned_bytes=%" PRIu64
              " open_ms=%.1f cut_bytes=%" PRIu64 "\n",
              bytes, segs, s.next_offset - s.first_offset, last_bytes, s.recovery_scanned_bytes,
              open_s * 1e3, s.recovered_bytes_cut);
  log->reset();
  // After a clean close the last recovery checkpoint is at the end: nothing to scan.
  const auto t2 = Clock::now();
  log = SegmentLog::open(dir, LogOptions{});
  if (!log) return false;
  std::printf("recovery: clean_reopen_ms=%.1f scanned_bytes=%" PRIu64 "\n",
              secs(Clock::now() - t2) * 1e3, (*log)->stats().recovery_scanned_bytes);
  // Without checkpoints (a log written before a checkpoint, or a damaged checkpoint file) the
  // whole last segment is scanned: the bound is segment_bytes.
  log->reset();
  std::filesystem::remove(dir + "/checkpoint");
  const auto t3 = Clock::now();
  log = SegmentLog::open(dir, LogOptions{});
  if (!log) return false;
  std::printf("recovery: no_checkpoint_open_ms=%.1f scanned_bytes=%" PRIu64 "\n",
              secs(Clock::now() - t3) * 1e3, (*log)->stats().recovery_scanned_bytes);
  // The first read of an old segment scans it once to build its index (lazy).
  const auto t1 = Clock::now();
  uint64_t seen = 0;
  auto r = (*log)->read(s.first_offset + (s.next_offset - s.first_offset) / 3, 1000,
                        [&](const verge::store::LogRecord&) { return ++seen > 0; });
  std::printf("recovery: first_read_of_old_segment_ms=%.1f records=%" PRIu64 " ok=%d\n",
              secs(Clock::now() - t1) * 1e3, seen, r ? 1 : 0);
  return r.has_value();
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (k == "--dir")
      a.dir = v, ++i;
    else if (k == "--seconds")
      a.seconds = std::atof(v), ++i;
    else if (k == "--threads")
      a.threads = std::atoi(v), ++i;
    else if (k == "--window")
      a.window = std::atoi(v), ++i;
    else if (k == "--record-bytes")
      a.record_bytes = static_cast<size_t>(std::atol(v)), ++i;
    else if (k == "--recovery-mib")
      a.recovery_mib = static_cast<uint64_t>(std::atoll(v)), ++i;
    else if (k == "--modes")
      a.modes = v, ++i;
    else if (k == "--no-sqlite")
      a.sqlite = false;
    else {
      std::fprintf(stderr, "usage: see the comment at the top of bench/store_bench.cc\n");
      return 2;
    }
  }
  verge::set_log_level(verge::LogLevel::Warn);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // our lines and the log's (stderr) in order
  std::string base = a.dir;
  if (base.empty()) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "verge-store-bench.XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return 1;
    base = tmpl;
  }
  std::printf("store bench: dir=%s threads=%d window=%d record_bytes=%zu seconds=%.1f\n",
              base.c_str(), a.threads, a.window, a.record_bytes, a.seconds);
  bool ok = true;
  double batch_rps = 0, batch_size = 0;
  const struct {
    const char* name;
    Durability d;
  } modes[] = {
      {"batch", Durability::Batch}, {"interval", Durability::Interval}, {"none", Durability::None}};
  for (const auto& m : modes) {
    if (a.modes.find(m.name) == std::string::npos) continue;
    Throughput t;
    const std::string dir = base + "/log-" + m.name;
    if (!run_log(a, m.d, dir, t)) {
      std::fprintf(stderr, "%s: failed\n", m.name);
      ok = false;
    }
    std::printf(
        "log %-8s records/s=%.0f MB/s=%.1f ack_p50_us=%.0f ack_p99_us=%.0f "
        "ack_max_us=%.0f syncs=%" PRIu64 " records/sync=%.0f write_amp=%.3f\n",
        m.name, t.records_per_s, t.mb_per_s, t.p50_us, t.p99_us, t.max_us, t.syncs,
        t.records_per_sync, t.write_amp);
    if (m.d == Durability::Batch) {
      batch_rps = t.records_per_s;
      batch_size = t.records_per_sync;
    }
    std::filesystem::remove_all(dir);
  }
  if (a.sqlite && batch_rps > 0) {
    double rps = 0;
    const size_t batch = static_cast<size_t>(std::max(1.0, batch_size));
    const std::string path = base + "/sqlite.db";
    if (run_sqlite(a, path, batch, rps)) {
      std::printf("sqlite WAL synchronous=FULL batch=%zu records/s=%.0f log_batch/sqlite=%.2f\n",
                  batch, rps, batch_rps / rps);
    } else {
      std::fprintf(stderr, "sqlite: failed\n");
      ok = false;
    }
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
  }
  if (a.recovery_mib > 0) {
    const std::string dir = base + "/log-recovery";
    ok = run_recovery(a, dir) && ok;
    std::filesystem::remove_all(dir);
  }
  if (a.dir.empty()) std::filesystem::remove_all(base);
  return ok ? 0 : 1;
}
