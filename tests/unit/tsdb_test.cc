#include "store/tsdb.h"

#include "store/faulty_fs.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

namespace verge::store {
namespace {

constexpr int64_t kT0 = 1'700'006'400'000;  // 2023-11-15T00:00:00Z
constexpr int64_t kMin = 60'000;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tsdb-test-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (p != nullptr) path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The reference: a map from timestamp to the last value written there.
using Ref = std::map<int64_t, double>;

void expect_range(const Tsdb& db, const std::string& name, const Ref& ref, int64_t from,
                  int64_t to) {
  auto got = db.range(name, from, to);
  ASSERT_TRUE(got) << got.error().message;
  std::vector<int64_t> ts;
  std::vector<double> vs;
  for (auto it = ref.lower_bound(from); it != ref.end() && it->first < to; ++it) {
    ts.push_back(it->first);
    vs.push_back(it->second);
  }
  ASSERT_EQ(got->ts, ts) << from << ".." << to;
  ASSERT_EQ(got->floats, vs);
}

double ref_agg(const std::vector<std::pair<int64_t, double>>& pts, Agg agg) {
  double sum = 0, mn = INFINITY, mx = -INFINITY;
  for (auto [t, v] : pts) {
    sum += v;
    mn = std::min(mn, v);
    mx = std::max(mx, v);
  }
  switch (agg) {
    case Agg::Avg:
      return sum / static_cast<double>(pts.size());
    case Agg::Min:
      return mn;
    case Agg::Max:
      return mx;
    case Agg::Sum:
      return sum;
    case Agg::Count:
      return static_cast<double>(pts.size());
    case Agg::First:
      return pts.front().second;
    case Agg::Last:
      return pts.back().second;
  }
  return 0;
}

void expect_downsample(const Tsdb& db, const std::string& name, const Ref& ref, int64_t from,
                       int64_t to, int64_t step) {
  std::map<int64_t, std::vector<std::pair<int64_t, double>>> buckets;
  for (auto it = ref.lower_bound(from); it != ref.end() && it->first < to; ++it) {
    buckets[it->first - ((it->first % step) + step) % step].push_back(*it);
  }
  for (Agg agg : {Agg::Avg, Agg::Min, Agg::Max, Agg::Sum, Agg::Count, Agg::First, Agg::Last}) {
    auto got = db.downsample(name, from, to, step, agg);
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_EQ(got->size(), buckets.size()) << agg_name(agg);
    size_t k = 0;
    for (const auto& [start, pts] : buckets) {
      const Bucket& b = (*got)[k++];
      EXPECT_EQ(b.start_ms, start);
      EXPECT_EQ(b.count, pts.size());
      EXPECT_NEAR(b.value, ref_agg(pts, agg), 1e-9 * (1 + std::fabs(ref_agg(pts, agg))))
          << agg_name(agg) << " bucket " << start;
    }
  }
}

// Random points at ~1 s with jitter, some late (within the window) and some rewritten.
Ref fill_random(Tsdb& db, SeriesId id, uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  Ref ref;
  int64_t t = kT0;
  double v = 20;
  for (int i = 0; i < n; ++i) {
    t += 1000 + static_cast<int64_t>(rng() % 5);
    int64_t ts = t;
    if (rng() % 10 == 0) ts -= static_cast<int64_t>(rng() % 200'000);       // late, in window
    if (rng() % 50 == 0 && !ref.empty()) ts = std::prev(ref.end())->first;  // rewrite
    v = std::round((v + static_cast<double>(static_cast<int>(rng() % 3) - 1) * 0.1) * 10) / 10;
    const double val = rng() % 7 == 0 ? static_cast<double>(rng() % 1000) / 7 : v;
    auto r = db.append(id, ts, val);
    EXPECT_TRUE(r);
    EXPECT_EQ(*r, 1u);
    ref[ts] = val;
  }
  return ref;
}

TsdbOptions small_chunks() {
  TsdbOptions o;
  o.chunk_points = 120;
  return o;
}

TEST(Tsdb, QueriesMatchABruteForceReference) {
  auto db = Tsdb::in_memory(small_chunks());
  auto id = db->series("pump-1/temperature", ValueType::Float);
  ASSERT_TRUE(id);
  const Ref ref = fill_random(*db, *id, 1, 5000);
  EXPECT_GT(db->stats().chunks_sealed, 30u);
  std::mt19937_64 rng(2);
  const int64_t span = std::prev(ref.end())->first - kT0;
  expect_range(*db, "pump-1/temperature", ref, INT64_MIN, INT64_MAX);
  for (int i = 0; i < 40; ++i) {
    const int64_t a = kT0 + static_cast<int64_t>(rng() % static_cast<uint64_t>(span));
    const int64_t b = a + static_cast<int64_t>(rng() % 900'000);
    expect_range(*db, "pump-1/temperature", ref, a, b);
    if (i % 4 == 0) {
      expect_downsample(*db, "pump-1/temperature", ref, a, b,
                        1 + static_cast<int64_t>(rng() % 120'000));
    }
  }
  expect_downsample(*db, "pump-1/temperature", ref, INT64_MIN, INT64_MAX, kMin);
  auto last = db->latest("pump-1/temperature");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->first, std::prev(ref.end())->first);
  EXPECT_EQ(std::get<double>(last->second), std::prev(ref.end())->second);
}

TEST(Tsdb, OutOfOrderBeyondTheWindowIsRejectedAndCounted) {
  TsdbOptions o;
  o.out_of_order_ms = 5 * kMin;
  auto db = Tsdb::in_memory(o);
  auto id = *db->series("a", ValueType::Float);
  EXPECT_EQ(*db->append(id, kT0, 1), 1u);
  EXPECT_EQ(*db->append(id, kT0 - 5 * kMin, 2), 1u);      // at the edge: accepted
  EXPECT_EQ(*db->append(id, kT0 - 5 * kMin - 1, 3), 0u);  // beyond
  Sample bad{id + 1000, kT0, 1, 0, {}};
  EXPECT_EQ(*db->append({&bad, 1}), 0u);
  const TsdbStats st = db->stats();
  EXPECT_EQ(st.points_appended, 2u);
  EXPECT_EQ(st.points_too_old, 1u);
  EXPECT_EQ(st.points_bad_series, 1u);
  auto r = db->range("a", INT64_MIN, INT64_MAX);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ts, (std::vector<int64_t>{kT0 - 5 * kMin, kT0}));
  EXPECT_EQ(r->floats, (std::vector<double>{2, 1}));
}

TEST(Tsdb, ExtremeTimestamps) {
  TsdbOptions o;
  o.chunk_points = 2;
  auto db = Tsdb::in_memory(o);
  auto id = *db->series("x", ValueType::Int);
  const int64_t lo = INT64_MIN, hi = INT64_MAX;
  EXPECT_EQ(*db->append(std::vector<Sample>{{id, lo, 0, 1, {}}, {id, lo + 1, 0, 2, {}}}), 2u);
  EXPECT_EQ(*db->append(id, hi, 3.0), 0u);  // reserved: ranges are half-open
  EXPECT_EQ(db->stats().points_bad_timestamp, 1u);
  EXPECT_EQ(*db->append(id, hi - 1, 3.0), 1u);  // an int series reads Sample::i (0 here)
  EXPECT_EQ(*db->append(id, lo + 2, 4.0), 0u);  // far beyond the window
  auto r = db->range("x", lo, hi);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ts, (std::vector<int64_t>{lo, lo + 1, hi - 1}));
  EXPECT_EQ(db->latest("x")->first, hi - 1);
  auto d = db->downsample("x", lo, hi, 1000, Agg::Count);  // the first bucket clamps to INT64_MIN
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ(d->front().start_ms, INT64_MIN);
  EXPECT_EQ(d->back().value, 1);
  EXPECT_EQ(d->front().value, 2);
}

TEST(Tsdb, EveryValueType) {
  auto db = Tsdb::in_memory(small_chunks());
  auto i = *db->series("plc/count", ValueType::Int);
  auto b = *db->series("plc/running", ValueType::Bool, "states");
  auto s = *db->series("plc/mode", ValueType::String, "states");
  EXPECT_FALSE(db->series("plc/count", ValueType::Float));  // the type is fixed
  EXPECT_FALSE(db->series("bad name", ValueType::Float));
  EXPECT_FALSE(db->series("x", ValueType::Float, "../etc"));
  std::vector<Sample> batch;
  const char* modes[] = {"auto", "manual", "off"};
  for (int k = 0; k < 1000; ++k) {
    batch.push_back(Sample{i, kT0 + k * 1000, 0, 100 + k * 3, {}});
    batch.push_back(Sample{b, kT0 + k * 1000, 0, k / 7 % 2, {}});
    batch.push_back(Sample{s, kT0 + k * 1000, 0, 0, modes[k / 100 % 3]});
  }
  ASSERT_EQ(*db->append(batch), batch.size());
  auto ri = db->range("plc/count", kT0 + 10'000, kT0 + 13'000);
  ASSERT_TRUE(ri);
  EXPECT_EQ(ri->ints, (std::vector<int64_t>{130, 133, 136}));
  auto rs = db->range("plc/mode", kT0 + 99'000, kT0 + 101'000);
  ASSERT_TRUE(rs);
  EXPECT_EQ(rs->strings, (std::vector<std::string>{"auto", "manual"}));
  EXPECT_EQ(std::get<bool>(db->latest("plc/running")->second), 999 / 7 % 2 == 1);
  EXPECT_EQ(std::get<std::string>(db->latest("plc/mode")->second), "auto");  // 999 / 100 % 3 == 0
  EXPECT_EQ(std::get<int64_t>(db->latest("plc/count")->second), 100 + 999 * 3);
  auto sum = db->downsample("plc/count", kT0, kT0 + 10'000, 10'000, Agg::Sum);
  ASSERT_TRUE(sum);
  ASSERT_EQ(sum->size(), 1u);
  EXPECT_EQ(sum->front().value, 10 * 100 + 3 * 45);
  EXPECT_FALSE(db->downsample("plc/mode", kT0, kT0 + 1000, 1000, Agg::Count));
  EXPECT_FALSE(db->range("nope", 0, 1));
  EXPECT_FALSE(db->latest("nope"));
  auto list = db->list();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].name, "plc/count");
  EXPECT_EQ(list[0].points, 1000u);
  EXPECT_EQ(list[0].first_ts, kT0);
  EXPECT_EQ(list[1].group, "states");
}

TEST(Tsdb, ConcurrentIngestFromSeveralThreads) {
  auto db = Tsdb::in_memory(small_chunks());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&db, t] {
      std::vector<SeriesId> ids;
      for (int k = 0; k < 8; ++k) {
        ids.push_back(
            *db->series("t" + std::to_string(t) + "/s" + std::to_string(k), ValueType::Float));
      }
      for (int k = 0; k < 2000; ++k) {
        std::vector<Sample> batch;
        for (SeriesId id : ids) batch.push_back(Sample{id, kT0 + k, double(k), 0, {}});
        EXPECT_EQ(*db->append(batch), ids.size());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(db->stats().points_appended, 4u * 8 * 2000);
  for (const SeriesInfo& s : db->list()) EXPECT_EQ(s.points, 2000u) << s.name;
}

TEST(Tsdb, RetentionPerGroup) {
  TsdbOptions o = small_chunks();
  o.groups.push_back(GroupPolicy{"short", 3600'000, 0});
  auto db = Tsdb::in_memory(o);
  auto a = *db->series("a", ValueType::Float, "short");
  auto b = *db->series("b", ValueType::Float);  // default group: kept forever
  for (int k = 0; k < 7200; ++k) {
    ASSERT_TRUE(db->append(a, kT0 + k * 1000, k));
    ASSERT_TRUE(db->append(b, kT0 + k * 1000, k));
  }
  ASSERT_TRUE(db->maintain(kT0 + 7200'000));  // keeps the last hour of "short"
  auto ra = db->range("a", INT64_MIN, INT64_MAX);
  ASSERT_TRUE(ra);
  ASSERT_EQ(ra->ts.size(), 3600u);
  EXPECT_EQ(ra->ts.front(), kT0 + 3600'000);
  EXPECT_EQ(db->range("b", INT64_MIN, INT64_MAX)->ts.size(), 7200u);
  EXPECT_GT(db->stats().points_expired, 3000u);
  // Points older than the retention cutoff are refused from now on.
  EXPECT_EQ(*db->append(a, kT0 + 7200'000 - 1, 1.0), 1u);
  EXPECT_EQ(*db->append(a, kT0, 1.0), 0u);
}

TEST(Tsdb, OldDataIsRolledUpAndStillAggregates) {
  TsdbOptions o = small_chunks();
  o.downsample_after_ms = 3600'000;
  auto db = Tsdb::in_memory(o);
  auto id = *db->series("s", ValueType::Float);
  Ref ref;
  std::mt19937_64 rng(9);
  for (int k = 0; k < 4 * 3600; ++k) {
    const double v = static_cast<double>(rng() % 1000) / 10;
    ASSERT_TRUE(db->append(id, kT0 + k * 1000, v));
    ref[kT0 + k * 1000] = v;
  }
  const int64_t now = kT0 + 4 * 3600'000;
  ASSERT_TRUE(db->maintain(now));
  EXPECT_GT(db->stats().points_rolled_up, 2 * 3600u);
  // Aggregates at a step that is a multiple of the rollup step are exact.
  expect_downsample(*db, "s", ref, INT64_MIN, INT64_MAX, 5 * kMin);
  // A raw range over old data returns one averaged point per minute.
  auto r = db->range("s", kT0, kT0 + 10 * kMin);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->ts.size(), 10u);
  double s0 = 0;
  for (int k = 0; k < 60; ++k) s0 += ref[kT0 + k * 1000];
  EXPECT_NEAR(r->floats[0], s0 / 60, 1e-9);
  // Recent data is raw.
  expect_range(*db, "s", ref, now - 1800'000, INT64_MAX);
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  return out;
}

TEST(TsdbDurable, ReopenAfterCloseKeepsEverything) {
  TempDir dir;
  Ref ref;
  {
    auto db = Tsdb::open(dir.path(), small_chunks());
    ASSERT_TRUE(db) << db.error().message;
    auto id = *(*db)->series("dev/p", ValueType::Float, "g1");
    ref = fill_random(**db, id, 5, 3000);
    auto s = *(*db)->series("dev/mode", ValueType::String);
    ASSERT_TRUE((*db)->append(std::vector<Sample>{Sample{s, kT0, 0, 0, "on"}}));
    ASSERT_TRUE((*db)->maintain(kT0));  // checkpoint: drops WAL segments that are sealed
    // Days later (no retention set): idle heads are sealed and cold chunks leave memory; queries
    // read them back from the chunk files.
    ASSERT_TRUE((*db)->maintain(kT0 + 10 * 86'400'000));
    EXPECT_EQ((*db)->stats().head_points, 0u);
    expect_range(**db, "dev/p", ref, INT64_MIN, INT64_MAX);
  }
  auto db = Tsdb::open(dir.path(), small_chunks());
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_GT((*db)->stats().chunk_files_loaded, 0u);
  expect_range(**db, "dev/p", ref, INT64_MIN, INT64_MAX);
  expect_downsample(**db, "dev/p", ref, INT64_MIN, INT64_MAX, 10 * kMin);
  EXPECT_EQ(std::get<std::string>((*db)->latest("dev/mode")->second), "on");
  auto list = (*db)->list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].group, "default");
  EXPECT_EQ(list[1].group, "g1");
  // And once more, after points appended since the reopen.
  ASSERT_TRUE((*db)->append(*(*db)->find("dev/p"), kT0 + 10'000'000, 1.5));
  ref[kT0 + 10'000'000] = 1.5;
  db->reset();
  auto again = Tsdb::open(dir.path(), small_chunks());
  ASSERT_TRUE(again);
  expect_range(**again, "dev/p", ref, INT64_MIN, INT64_MAX);
}

TEST(TsdbDurable, CrashWithoutCloseLosesNothingFlushed) {
  TempDir dir;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child writes, flushes the WAL and dies without destructors (as kill -9 would).
    auto db = Tsdb::open(dir.path(), small_chunks());
    if (!db) _exit(2);
    auto id = *(*db)->series("dev/p", ValueType::Float);
    fill_random(**db, id, 11, 2000);
    if (!(*db)->flush()) _exit(3);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  // The same points as the child wrote, from an in-memory twin.
  auto twin = Tsdb::in_memory(small_chunks());
  const Ref ref = fill_random(*twin, *twin->series("dev/p", ValueType::Float), 11, 2000);
  // A torn entry at the end of a chunk file is cut on open.
  for (const std::string& f : files_under(dir.path() + "/chunks")) {
    std::ofstream(f, std::ios::app) << "torn";
  }
  std::ofstream(dir.path() + "/series.cat", std::ios::app) << "torn catalog entry";
  auto db = Tsdb::open(dir.path(), small_chunks());
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_GT((*db)->stats().wal_records_replayed, 0u);
  expect_range(**db, "dev/p", ref, INT64_MIN, INT64_MAX);
}

TEST(TsdbDurable, RolledUpAndExpiredDataStaysSoAfterReopen) {
  TempDir dir;
  TsdbOptions o = small_chunks();
  o.downsample_after_ms = 2 * 86'400'000;
  o.retention_ms = 5 * 86'400'000;
  Ref ref;
  const int64_t now = kT0 + 7 * 86'400'000;
  {
    auto db = Tsdb::open(dir.path(), o);
    ASSERT_TRUE(db) << db.error().message;
    auto id = *(*db)->series("s", ValueType::Float);
    for (int64_t t = kT0; t < now; t += 60'000) {
      ASSERT_TRUE((*db)->append(id, t, static_cast<double>(t / 60'000 % 100)));
      ref[t] = static_cast<double>(t / 60'000 % 100);
    }
    ASSERT_TRUE((*db)->maintain(now));
  }
  auto db = Tsdb::open(dir.path(), o);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE((*db)->maintain(now));
  Ref kept;
  for (auto [t, v] : ref) {
    if (t >= now - o.retention_ms) kept[t] = v;
  }
  // One point per minute: a rollup bucket holds exactly the raw point.
  expect_range(**db, "s", kept, INT64_MIN, INT64_MAX);
  expect_downsample(**db, "s", kept, INT64_MIN, INT64_MAX, 3600'000);
  // Files of days past the retention are gone; raw files of rolled-up days too.
  for (const std::string& f : files_under(dir.path() + "/chunks")) {
    const std::string day = std::filesystem::path(f).stem().string().substr(0, 8);
    EXPECT_GE(day, "20231117") << f;
  }
}

TEST(TsdbDurable, InjectedFaultsThenPowerLoss) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {  // 30 seeds pass; 8 keep the test short
    TempDir dir;
    FaultyFilesystem fs(real_filesystem(), FaultOptions{seed});
    TsdbOptions o = small_chunks();
    o.fs = &fs;
    o.wal_durability = Durability::Batch;
    std::set<std::pair<int64_t, double>> written;  // every point ever offered
    Ref durable;  // points appended and flushed after the faults stopped
    {
      auto db = Tsdb::open(dir.path(), o);
      ASSERT_TRUE(db) << db.error().message;
      auto id = *(*db)->series("dev/p", ValueType::Float);
      FaultOptions faults{seed};
      faults.write_eio = 0.02;
      faults.short_write = 0.02;
      faults.torn_write = 0.02;
      faults.sync_eio = 0.02;
      fs.set_options(faults);
      std::mt19937_64 rng(seed);
      for (int b = 0; b < 50; ++b) {
        std::vector<Sample> batch;
        for (int k = 0; k < 40; ++k) {
          const int64_t ts = kT0 + (b * 40 + k) * 1000;
          const double v = static_cast<double>(rng() % 1000);
          batch.push_back(Sample{id, ts, v, 0, {}});
          written.emplace(ts, v);
        }
        (void)(*db)->append(batch);  // may fail: then nothing of it is stored
        if (b % 10 == 9) (void)(*db)->maintain(kT0);
      }
      (void)(*db)->flush();
      fs.set_options(FaultOptions{seed});  // no more faults
      // Whatever the faults did, the store takes new points and makes them durable.
      for (int k = 0; k < 300; ++k) {
        const int64_t ts = kT0 + 10'000'000 + k * 1000;
        auto r = (*db)->append(id, ts, k);
        if (r && *r == 1) durable[ts] = k;
        written.emplace(ts, k);
      }
      ASSERT_TRUE((*db)->flush());
      fs.crash();  // power loss: unsynced bytes are gone, the open store is dead
      fs.restart();
      db->reset();  // its files died with the crash: the destructor writes nothing
    }
    auto db = Tsdb::open(dir.path(), o);
    ASSERT_TRUE(db) << "seed " << seed << ": " << db.error().message;
    auto all = (*db)->range("dev/p", INT64_MIN, INT64_MAX);
    ASSERT_TRUE(all) << all.error().message;
    for (size_t k = 0; k < all->ts.size(); ++k) {
      EXPECT_TRUE(written.count({all->ts[k], all->floats[k]})) << "phantom point " << all->ts[k];
    }
    SCOPED_TRACE("seed " + std::to_string(seed));
    expect_range(**db, "dev/p", durable, kT0 + 10'000'000, INT64_MAX);
  }
}

}  // namespace
}  // namespace verge::store
