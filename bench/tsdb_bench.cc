// verge_tsdb_bench: the time-series store's ingest rate (1 and 2 threads, in memory and with the
// WAL), bytes per point for a realistic sensor series (0.1-resolution random walk every second)
// and for a noisy one (random doubles), and range and downsample query latency over one day of
// data (86,400 points at 1 s). The same day goes into SQLite (table (series, ts, value), WAL,
// 1000 rows per transaction) as a reference measured in the same run.
//
//   verge_tsdb_bench [--dir D] [--points N] [--series S] [--no-sqlite]
//
// Prints plain lines for docs/benchmarks.md ("Storage: time series"); exits non-zero on errors.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "store/tsdb.h"

namespace {

using Clock = std::chrono::steady_clock;
using verge::store::Agg;
using verge::store::Sample;
using verge::store::SeriesId;
using verge::store::Tsdb;
using verge::store::TsdbOptions;
using verge::store::ValueType;

constexpr int64_t kT0 = 1'700'006'400'000;  // 2023-11-15T00:00:00Z
constexpr int kDay = 86'400;

struct Args {
  std::string dir;
  uint64_t points = 20'000'000;  // per ingest run
  int series = 1000;
  bool sqlite = true;
};

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "verge_tsdb_bench: %s\n", what.c_str());
  std::exit(1);
}

// A temperature sensor: every second, 30% of the time a step of +-0.1 (0.1 resolution).
std::vector<double> realistic(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> v(static_cast<size_t>(n));
  int64_t tenths = 215;
  for (double& x : v) {
    const uint64_t r = rng() % 100;
    if (r < 15) --tenths;
    if (r >= 85) ++tenths;
    x = static_cast<double>(tenths) / 10;  // as parsed from "21.5"
  }
  return v;
}

std::vector<double> noisy(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 100);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = u(rng);
  return v;
}

// Appends `points` points spread over `ids`, one point per series per batch row (a gateway
// polling every series each second), in batches of `batch` samples. Returns points/s.
double ingest(Tsdb& db, const std::vector<SeriesId>& ids, uint64_t points, size_t batch) {
  const std::vector<double> vals = realistic(4096, ids.front());
  std::vector<Sample> buf;
  buf.reserve(batch);
  uint64_t done = 0;
  int64_t second = 0;
  const auto t0 = Clock::now();
  while (done < points) {
    for (SeriesId id : ids) {
      buf.push_back(
          Sample{id, kT0 + second * 1000, vals[static_cast<size_t>(second) % 4096], 0, {}});
      if (buf.size() == batch) {
        auto r = db.append(buf);
        if (!r || *r != buf.size()) die("ingest: points refused");
        done += buf.size();
        buf.clear();
      }
    }
    ++second;
  }
  return static_cast<double>(done) / secs(Clock::now() - t0);
}

std::vector<SeriesId> make_series(Tsdb& db, int first, int n) {
  std::vector<SeriesId> ids;
  for (int k = first; k < first + n; ++k) {
    auto id = db.series("site/dev-" + std::to_string(k) + "/temperature", ValueType::Float);
    if (!id) die(id.error().message);
    ids.push_back(*id);
  }
  return ids;
}

void ingest_runs(const Args& a) {
  {
    auto db = Tsdb::in_memory({});
    const auto ids = make_series(*db, 0, a.series);
    std::printf("ingest, in memory, 1 thread, %d series, batches of 1000: %.2f M points/s\n",
                a.series, ingest(*db, ids, a.points, 1000) / 1e6);
  }
  {
    auto db = Tsdb::in_memory({});
    const auto ids = make_series(*db, 0, 1);
    std::printf("ingest, in memory, 1 thread, 1 series, batches of 1000: %.2f M points/s\n",
                ingest(*db, ids, a.points, 1000) / 1e6);
  }
  {
    auto db = Tsdb::in_memory({});
    const auto ids = make_series(*db, 0, 1);
    std::printf("ingest, in memory, 1 thread, 1 series, one point per call: %.2f M points/s\n",
                ingest(*db, ids, a.points / 4, 1) / 1e6);
  }
  {
    auto db = Tsdb::in_memory({});
    const auto ids0 = make_series(*db, 0, a.series / 2);
    const auto ids1 = make_series(*db, a.series / 2, a.series / 2);
    double r0 = 0, r1 = 0;
    const auto t0 = Clock::now();
    std::thread th([&] { r0 = ingest(*db, ids0, a.points / 2, 1000); });
    r1 = ingest(*db, ids1, a.points / 2, 1000);
    th.join();
    const double wall = secs(Clock::now() - t0);
    std::printf(
        "ingest, in memory, 2 threads, %d series, batches of 1000: %.2f M points/s total "
        "(%.2f + %.2f per thread)\n",
        a.series, static_cast<double>(a.points) / wall / 1e6, r0 / 1e6, r1 / 1e6);
  }
  {
    const std::string dir = a.dir + "/ingest";
    auto db = Tsdb::open(dir, {});
    if (!db) die(db.error().message);
    const auto ids = make_series(**db, 0, a.series);
    const auto t0 = Clock::now();
    const double rate = ingest(**db, ids, a.points, 1000);
    if (!(*db)->flush()) die("flush");
    const double with_flush = static_cast<double>(a.points) / secs(Clock::now() - t0);
    std::printf(
        "ingest, WAL (interval durability) + chunk files, 1 thread, %d series, batches of 1000: "
        "%.2f M points/s (%.2f M/s including the final WAL flush)\n",
        a.series, rate / 1e6, with_flush / 1e6);
    db->reset();
    std::filesystem::remove_all(dir);
  }
}

uint64_t dir_bytes(const std::string& dir) {
  uint64_t n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

// One day of one series: bytes per point in chunks and in the chunk files on disk.
void bytes_per_point(const Args& a, const char* label, const std::vector<double>& v) {
  const std::string dir = a.dir + "/bpp";
  std::filesystem::remove_all(dir);
  auto db = Tsdb::open(dir, {});
  if (!db) die(db.error().message);
  auto id = (*db)->series("site/dev/temperature", ValueType::Float);
  std::vector<Sample> buf;
  for (int k = 0; k < kDay; ++k) buf.push_back(Sample{*id, kT0 + k * 1000LL, v[k], 0, {}});
  if (!(*db)->append(buf)) die("append");
  if (!(*db)->seal_all() || !(*db)->checkpoint()) die("seal");
  const double chunk = static_cast<double>((*db)->stats().chunk_bytes) / kDay;
  const double files = static_cast<double>(dir_bytes(dir + "/chunks")) / kDay;
  std::printf("bytes/point, %s, 86,400 points: %.3f in chunks, %.3f in chunk files\n", label, chunk,
              files);
  db->reset();
  std::filesystem::remove_all(dir);
}

template <class F>
double median_us(int reps, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    f();
    t.push_back(secs(Clock::now() - t0) * 1e6);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void queries() {
  auto db = Tsdb::in_memory({});
  auto id = *db->series("site/dev/temperature", ValueType::Float);
  const auto v = realistic(kDay, 3);
  std::vector<Sample> buf;
  for (int k = 0; k < kDay; ++k) buf.push_back(Sample{id, kT0 + k * 1000LL, v[k], 0, {}});
  if (!db->append(buf)) die("append");
  const std::string name = "site/dev/temperature";
  const int64_t end = kT0 + kDay * 1000LL;
  size_t sink = 0;
  auto q = [&](const char* what, auto&& f) {
    std::printf("query, %s: median %.0f us (of 21)\n", what, median_us(21, f));
  };
  q("raw range, whole day (86,400 points)", [&] { sink += db->range(name, kT0, end)->ts.size(); });
  q("raw range, 1 hour (3,600 points)",
    [&] { sink += db->range(name, kT0 + 12 * 3'600'000, kT0 + 13 * 3'600'000)->ts.size(); });
  q("downsample whole day, step 1m, avg (1,440 buckets)",
    [&] { sink += db->downsample(name, kT0, end, 60'000, Agg::Avg)->size(); });
  q("downsample whole day, step 1h, max (24 buckets)",
    [&] { sink += db->downsample(name, kT0, end, 3'600'000, Agg::Max)->size(); });
  q("latest value", [&] { sink += db->latest(name).has_value(); });
  if (sink == 0) die("queries returned nothing");
}

// The same day in a durable store after its chunks went cold: queries read the chunk files
// (from the page cache: they were just written).
void cold_queries(const Args& a) {
  const std::string dir = a.dir + "/cold";
  auto db = Tsdb::open(dir, {});
  if (!db) die(db.error().message);
  auto id = *(*db)->series("site/dev/temperature", ValueType::Float);
  const auto v = realistic(kDay, 3);
  std::vector<Sample> buf;
  for (int k = 0; k < kDay; ++k) buf.push_back(Sample{id, kT0 + k * 1000LL, v[k], 0, {}});
  if (!(*db)->append(buf) || !(*db)->maintain(kT0 + 3LL * kDay * 1000)) die("cold setup");
  const std::string name = "site/dev/temperature";
  const int64_t end = kT0 + kDay * 1000LL;
  size_t sink = 0;
  std::printf("query, raw range, whole day, chunks read from files: median %.0f us (of 21)\n",
              median_us(21, [&] { sink += (*db)->range(name, kT0, end)->ts.size(); }));
  std::printf(
      "query, downsample whole day, step 1m, avg, chunks read from files: median %.0f us (of "
      "21)\n",
      median_us(21, [&] { sink += (*db)->downsample(name, kT0, end, 60'000, Agg::Avg)->size(); }));
  if (sink == 0) die("cold queries returned nothing");
  db->reset();
  std::filesystem::remove_all(dir);
}

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    die(std::string("sqlite ") + what + ": " + sqlite3_errmsg(db));
  }
}

// The reference: the same realistic day for `nseries` series, in SQLite.
void sqlite_reference(const Args& a, int nseries, double tsdb_ingest) {
  const std::string dir = a.dir + "/sqlite";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/ts.db";
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  check(sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE points (series INTEGER, ts INTEGER, value REAL,"
                     " PRIMARY KEY (series, ts)) WITHOUT ROWID;",
                     nullptr, nullptr, nullptr),
        db, "schema");
  sqlite3_stmt* ins = nullptr;
  check(sqlite3_prepare_v2(db, "INSERT INTO points VALUES (?, ?, ?)", -1, &ins, nullptr), db,
        "prepare");
  const auto v = realistic(kDay, 3);
  uint64_t rows = 0;
  const auto t0 = Clock::now();
  for (int k = 0; k < kDay; ++k) {
    for (int s = 0; s < nseries; ++s) {
      if (rows % 1000 == 0)
        check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
      sqlite3_bind_int(ins, 1, s);
      sqlite3_bind_int64(ins, 2, kT0 + k * 1000LL);
      sqlite3_bind_double(ins, 3, v[static_cast<size_t>(k)]);
      check(sqlite3_step(ins), db, "insert");
      sqlite3_reset(ins);
      if (++rows % 1000 == 0)
        check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    }
  }
  if (rows % 1000 != 0) check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  const double rate = static_cast<double>(rows) / secs(Clock::now() - t0);
  sqlite3_finalize(ins);
  check(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), db,
        "checkpoint");
  const double bpp = static_cast<double>(dir_bytes(dir)) / static_cast<double>(rows);

  sqlite3_stmt* range = nullptr;
  check(
      sqlite3_prepare_v2(db, "SELECT ts, value FROM points WHERE series = 0 AND ts >= ? AND ts < ?",
                         -1, &range, nullptr),
      db, "prepare");
  const double range_us = median_us(21, [&] {
    sqlite3_bind_int64(range, 1, kT0);
    sqlite3_bind_int64(range, 2, kT0 + kDay * 1000LL);
    while (sqlite3_step(range) == SQLITE_ROW) {
    }
    sqlite3_reset(range);
  });
  sqlite3_stmt* down = nullptr;
  check(sqlite3_prepare_v2(db,
                           "SELECT ts / 60000, avg(value) FROM points WHERE series = 0 AND ts >= ? "
                           "AND ts < ? GROUP BY ts / 60000",
                           -1, &down, nullptr),
        db, "prepare");
  const double down_us = median_us(21, [&] {
    sqlite3_bind_int64(down, 1, kT0);
    sqlite3_bind_int64(down, 2, kT0 + kDay * 1000LL);
    while (sqlite3_step(down) == SQLITE_ROW) {
    }
    sqlite3_reset(down);
  });
  sqlite3_finalize(range);
  sqlite3_finalize(down);
  sqlite3_close(db);
  std::printf(
      "sqlite reference (WAL, synchronous=NORMAL, (series, ts) primary key, 1000 rows per "
      "transaction, %d series x 86,400 points): ingest %.2f M points/s, %.2f bytes/point, "
      "range whole day %.0f us, downsample 1m avg %.0f us\n",
      nseries, rate / 1e6, bpp, range_us, down_us);
  std::printf("ratio tsdb/sqlite: ingest x%.1f\n", tsdb_ingest / rate);
  std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + arg);
      return argv[++i];
    };
    if (arg == "--dir") {
      a.dir = next();
    } else if (arg == "--points") {
      a.points = std::stoull(next());
    } else if (arg == "--series") {
      a.series = std::stoi(next());
    } else if (arg == "--no-sqlite") {
      a.sqlite = false;
    } else {
      die("unknown argument " + arg);
    }
  }
  verge::set_log_level(verge::LogLevel::Warn);
  if (a.dir.empty()) a.dir = (std::filesystem::temp_directory_path() / "verge-tsdb-bench").string();
  std::filesystem::remove_all(a.dir);
  std::filesystem::create_directories(a.dir);

  ingest_runs(a);
  bytes_per_point(a, "realistic (0.1-resolution random walk, 1 s)", realistic(kDay, 3));
  bytes_per_point(a, "noisy (random doubles, 1 s)", noisy(kDay, 4));
  {
    // The same realistic series with one non-decimal value per chunk, which forces the Gorilla
    // XOR encoding: what the decimal encoding saves.
    auto v = realistic(kDay, 3);
    for (size_t k = 0; k < v.size(); k += 1024) v[k] += 1.0 / 3;
    bytes_per_point(a, "realistic, XOR encoding forced", v);
  }
  queries();
  cold_queries(a);
  if (a.sqlite) {
    // Same shape as the tsdb's single-thread ingest of 10 series for the ratio.
    auto db = Tsdb::in_memory({});
    const auto ids = make_series(*db, 0, 10);
    const double tsdb_rate = ingest(*db, ids, 10ull * kDay, 1000);
    std::printf("ingest, in memory, 1 thread, 10 series x 86,400 points: %.2f M points/s\n",
                tsdb_rate / 1e6);
    sqlite_reference(a, 10, tsdb_rate);
  }
  std::filesystem::remove_all(a.dir);
  return 0;
}
