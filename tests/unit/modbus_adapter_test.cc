// The Modbus TCP adapter (ModbusClient over a TcpLine) on a real loop against an in-test server
// (modbus_test_server.h): reads of each type, batching, exceptions, timeouts and retries,
// reconnects, writes and their priority, overruns and stop().
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "devices/adapters/builtin.h"
#include "devices/adapters/modbus/client.h"
#include "devices/adapters/modbus/modbus_counters.h"
#include "devices/adapters/modbus/settings.h"
#include "modbus_test_server.h"
#include "modbus_test_sink.h"
#include "net/loop_group.h"

namespace verge::devices::modbus {
namespace {

using testing::Clock;
using testing::FakeSink;
using testing::json;
using testing::point;
using testing::TestModbusServer;

// One device's adapter on a one-loop group.
class Rig {
 public:
  Rig(std::vector<PointSpec> points, const std::string& connection, int64_t poll_ms = 1000,
      bool start_now = true)
      : loops_(1) {
    profile_.name = "p";
    profile_.protocol = "modbus-tcp";
    profile_.poll_ms = poll_ms;
    profile_.points = std::move(points);
    device_.id = "dev-1";
    device_.profile = "p";
    device_.connection = json(connection);
    const AdapterFactory* f = builtin_adapters().find("modbus-tcp");
    EXPECT_NE(f, nullptr);
    EXPECT_TRUE(f->check_connection(device_.connection));
    for (const PointSpec& p : profile_.points) {
      auto ok = f->check_point(p);
      EXPECT_TRUE(ok) << p.name << ": " << ok.error().message;
    }
    loops_.start();
    AdapterContext ctx;
    ctx.device = &device_;
    ctx.profile = &profile_;
    ctx.loop = &loops_.loop(0);
    ctx.sink = &sink;
    adapter_ = f->create(ctx);
    if (start_now) start();
  }
  ~Rig() {
    on_loop([&] {
      adapter_->stop();
      adapter_.reset();
    });
    loops_.stop();
  }

  void start() {
    on_loop([&] { adapter_->start(); });
  }
  void on_loop(std::function<void()> fn) {
    std::promise<void> done;
    loops_.loop(0).post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
  ModbusClient::Stats stats() {
    ModbusClient::Stats s;
    on_loop([&] { s = static_cast<ModbusClient*>(adapter_.get())->stats(); });
    return s;
  }
  // Writes from the loop; the result arrives later (`result` is set under the sink's wait).
  std::shared_ptr<std::optional<Result<void>>> write(uint32_t index, Value raw) {
    auto out = std::make_shared<std::optional<Result<void>>>();
    on_loop([&] {
      adapter_->write(index, raw,
                      [this, out](Result<void> r) { sink.locked([&] { *out = std::move(r); }); });
    });
    return out;
  }

  FakeSink sink;
  Adapter& adapter() { return *adapter_; }

 private:
  net::LoopGroup loops_;
  Profile profile_;
  DeviceSpec device_;
  std::unique_ptr<Adapter> adapter_;
};

std::string conn(const TestModbusServer& s, const std::string& extra = "") {
  return R"({"host":"127.0.0.1","port":)" + std::to_string(s.port()) + extra + "}";
}

const Reading* find(const std::vector<Reading>& rs, uint32_t point) {
  for (const Reading& r : rs) {
    if (r.point == point) return &r;
  }
  return nullptr;
}

TEST(ModbusAdapter, ReadsEveryType) {
  TestModbusServer server;
  {
    std::lock_guard lock(server.mu);
    server.holding[0] = 0xFFFE;  // int16 -2
    server.holding[1] = 65000;   // uint16
    server.holding[2] = 0xFFFE;  // int32 -100000 = 0xFFFE7960
    server.holding[3] = 0x7960;
    server.holding[4] = 0x0001;  // uint32 70000 = 0x00011170
    server.holding[5] = 0x1170;
    for (int i = 0; i < 4; ++i) server.holding[6 + i] = 0;  // int64 -> 5000000000 = 0x12A05F200
    server.holding[7] = 0x0001;
    server.holding[8] = 0x2A05;
    server.holding[9] = 0xF200;
    float f = 21.5F;  // float32, ABCD
    uint32_t fb = 0;
    std::memcpy(&fb, &f, 4);
    server.holding[10] = static_cast<uint16_t>(fb >> 16);
    server.holding[11] = static_cast<uint16_t>(fb);
    server.holding[12] = static_cast<uint16_t>(fb);  // float32, CDAB (word swap)
    server.holding[13] = static_cast<uint16_t>(fb >> 16);
    double d = -1234.5;
    uint64_t db = 0;
    std::memcpy(&db, &d, 8);
    for (int i = 0; i < 4; ++i) server.holding[14 + i] = static_cast<uint16_t>(db >> (48 - 16 * i));
    server.holding[18] = ('h' << 8) | 'i';  // string "hi!"
    server.holding[19] = '!' << 8;
    server.holding[20] = 0x0008;  // bit 3 set
    server.input[5] = 1234;
    server.coils[7] = 1;
    server.discrete[9] = 1;
  }
  std::vector<PointSpec> pts = {
      point("i16", "holding:0", DataType::Int16),     point("u16", "holding:1", DataType::Uint16),
      point("i32", "holding:2", DataType::Int32),     point("u32", "holding:4", DataType::Uint32),
      point("i64", "holding:6", DataType::Int64),     point("f32", "holding:10", DataType::Float32),
      point("f32w", "holding:12", DataType::Float32), point("f64", "holding:14", DataType::Float64),
      point("s", "holding:18", DataType::String),     point("bit", "holding:20.3", DataType::Bool),
      point("in", "input:5", DataType::Uint16),       point("coil", "coil:7", DataType::Bool),
      point("di", "discrete:9", DataType::Bool),      point("classic", "40002", DataType::Uint16),
  };
  pts[6].word_swap = true;
  pts[8].length = 4;
  Rig rig(pts, conn(server));
  ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.cycles_.empty(); }));
  const std::vector<Reading> rs = rig.sink.cycles()[0];
  ASSERT_EQ(rs.size(), pts.size());
  for (const Reading& r : rs) EXPECT_EQ(r.quality, Quality::Good) << pts[r.point].name;
  EXPECT_EQ(find(rs, 0)->value, Value(-2));
  EXPECT_EQ(find(rs, 1)->value, Value(65000));
  EXPECT_EQ(find(rs, 2)->value, Value(-100000));
  EXPECT_EQ(find(rs, 3)->value, Value(70000));
  EXPECT_EQ(find(rs, 4)->value, Value(int64_t{5000000000}));
  EXPECT_EQ(find(rs, 5)->value, Value(21.5));
  EXPECT_EQ(find(rs, 6)->value, Value(21.5));
  EXPECT_EQ(find(rs, 7)->value, Value(-1234.5));
  EXPECT_EQ(find(rs, 8)->value, Value("hi!"));
  EXPECT_EQ(find(rs, 9)->value, Value(true));
  EXPECT_EQ(find(rs, 10)->value, Value(1234));
  EXPECT_EQ(find(rs, 11)->value, Value(true));
  EXPECT_EQ(find(rs, 12)->value, Value(true));
  EXPECT_EQ(find(rs, 13)->value, Value(65000));
  EXPECT_GT(find(rs, 0)->ts_ms, 1'700'000'000'000);
  auto links = rig.sink.links();
  ASSERT_FALSE(links.empty());
  EXPECT_TRUE(links[0].first);
  // Four tables, each contiguous: one request per table.
  EXPECT_EQ(server.count(kReadHoldingRegisters), 1u);
  EXPECT_EQ(server.count(kReadInputRegisters), 1u);
  EXPECT_EQ(server.count(kReadCoils), 1u);
  EXPECT_EQ(server.count(kReadDiscreteInputs), 1u);
}

std::vector<PointSpec> registers(int n, const std::string& table = "holding") {
  std::vector<PointSpec> pts;
  for (int i = 0; i < n; ++i) {
    pts.push_back(
        point("r" + std::to_string(i), table + ":" + std::to_string(i), DataType::Uint16));
  }
  return pts;
}

TEST(ModbusAdapter, BatchesContiguousRegisters) {
  for (auto [n, expected] : {std::pair{100, 1u}, std::pair{125, 1u}, std::pair{300, 3u}}) {
    TestModbusServer server;
    Rig rig(registers(n), conn(server));
    ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.cycles_.empty(); }));
    EXPECT_EQ(rig.sink.cycles()[0].size(), static_cast<size_t>(n));
    EXPECT_EQ(server.count(kReadHoldingRegisters), expected) << n << " registers";
  }
}

TEST(ModbusAdapter, SeparateTablesAndLimitsGiveSeparateRequests) {
  TestModbusServer server;
  std::vector<PointSpec> pts = registers(10);
  for (PointSpec& p : registers(10, "input")) pts.push_back(p);
  Rig rig(pts, conn(server, R"(,"max_registers":4)"));
  ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.cycles_.empty(); }));
  EXPECT_EQ(rig.sink.cycles()[0].size(), 20u);
  EXPECT_EQ(server.count(kReadHoldingRegisters), 3u);  // 4 + 4 + 2
  EXPECT_EQ(server.count(kReadInputRegisters), 3u);
}

TEST(ModbusAdapter, ExceptionMarksThatRequestsPointsBad) {
  TestModbusServer server;
  server.limit = 100;
  std::vector<PointSpec> pts = {point("ok", "holding:1", DataType::Uint16),
                                point("gone", "holding:500", DataType::Uint16)};
  Rig rig(pts, conn(server));
  ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.cycles_.empty(); }));
  const auto rs = rig.sink.cycles()[0];
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(find(rs, 0)->quality, Quality::Good);
  EXPECT_EQ(find(rs, 1)->quality, Quality::Bad);
  EXPECT_EQ(find(rs, 1)->reason, "exception 2: illegal data address");
  EXPECT_TRUE(rig.sink.wait([&] { return rig.sink.failed_ == 1; }));
  EXPECT_TRUE(rig.sink.links()[0].first);  // an exception is an answer: the device is online
  EXPECT_EQ(rig.stats().exceptions, 1u);
}

TEST(ModbusAdapter, TimeoutRetriesThenBadAndOffline) {
  TestModbusServer server;
  server.silent = true;
  Rig rig(registers(3), conn(server, R"(,"timeout":100,"retries":2)"), 60'000);
  ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.cycles_.empty(); }));
  const auto rs = rig.sink.cycles()[0];
  ASSERT_EQ(rs.size(), 3u);
  for (const Reading& r : rs) {
    EXPECT_EQ(r.quality, Quality::Bad);
    EXPECT_EQ(r.reason, "timeout");
  }
  EXPECT_EQ(server.count(kReadHoldingRegisters), 3u);  // the first try and two retries
  EXPECT_GE(server.connections.load(), 3);  // a timeout closes the connection (stale bytes)
  auto links = rig.sink.links();
  ASSERT_FALSE(links.empty());
  EXPECT_FALSE(links.back().first);
  EXPECT_EQ(links.back().second, "timeout after 3 tries");
  EXPECT_EQ(rig.stats().timeouts, 3u);
  EXPECT_EQ(rig.stats().retries, 2u);
}

TEST(ModbusAdapter, OneCycleDeliversEveryRequestsReadingsInPlanOrder) {
  TestModbusServer server;
  server.limit = 100;
  server.holding[3] = 33;
  // Three requests (4 + 4 + 2 registers) and a fourth that answers an exception.
  std::vector<PointSpec> pts = registers(10);
  pts.push_back(point("gone", "holding:500", DataType::Uint16));
  Rig rig(pts, conn(server, R"(,"max_registers":4)"), 60'000);
  ASSERT_TRUE(rig.sink.wait([&] { return rig.sink.polls_ == 1; }));
  const auto cycles = rig.sink.cycles();
  ASSERT_EQ(cycles.size(), 1u);  // one on_readings for the whole cycle
  ASSERT_EQ(cycles[0].size(), 11u);
  for (uint32_t i = 0; i < 11; ++i) EXPECT_EQ(cycles[0][i].point, i);
  EXPECT_EQ(cycles[0][3].value, Value(33));
  EXPECT_EQ(cycles[0][10].quality, Quality::Bad);
  EXPECT_EQ(cycles[0][10].reason, "exception 2: illegal data address");
}

TEST(ModbusAdapter, UnsolicitedBytesWhileIdleAreDroppedAndCounted) {
  TestModbusServer server;
  server.holding[0] = 5;
  Rig rig(registers(1), conn(server), 60'000);
  ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.cycles_.empty(); }));
  const uint64_t before = modbus_counters().unsolicited_bytes.value();
  server.garbage = 300;  // nothing in flight: a poll comes only in a minute
  ASSERT_TRUE(
      rig.sink.wait([&] { return modbus_counters().unsolicited_bytes.value() >= before + 300; }));
  // Not taken for the next answer, and the connection stays.
  auto w = rig.write(0, Value(6));
  ASSERT_TRUE(rig.sink.wait([&] { return w->has_value(); }));
  EXPECT_TRUE(**w);
  EXPECT_EQ(server.connections.load(), 1);
  EXPECT_EQ(rig.sink.links().size(), 1u);
}

TEST(ModbusAdapter, AFloodOfUnsolicitedBytesClosesTheConnection) {
  TestModbusServer server;
  Rig rig(registers(1), conn(server), 60'000);
  ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.cycles_.empty(); }));
  server.garbage = 4096;
  ASSERT_TRUE(
      rig.sink.wait([&] { return rig.sink.links_.size() >= 2 && !rig.sink.links_[1].first; }));
  EXPECT_NE(rig.sink.links()[1].second.find("no request in flight"), std::string::npos);
  ASSERT_TRUE(rig.sink.wait([&] { return server.connections.load() >= 2; }));  // reopened
}

TEST(ModbusAdapter, AnswersWithUnitZeroOr255AreAccepted) {
  for (int unit : {0, 255}) {
    TestModbusServer server;
    server.holding[0] = 42;
    server.answer_unit = unit;
    Rig rig(registers(1), conn(server, R"(,"unit":7)"), 60'000);
    ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.cycles_.empty(); }));
    EXPECT_EQ(rig.sink.cycles()[0][0].quality, Quality::Good) << unit;
    EXPECT_EQ(rig.sink.cycles()[0][0].value, Value(42)) << unit;
  }
}

TEST(ModbusAdapter, AnswersWithAnotherUnitAreMismatched) {
  TestModbusServer server;
  server.answer_unit = 9;
  Rig rig(registers(1), conn(server, R"(,"unit":7,"retries":0)"), 60'000);
  ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.cycles_.empty(); }));
  const Reading r = rig.sink.cycles()[0][0];
  EXPECT_EQ(r.quality, Quality::Bad);
  EXPECT_NE(r.reason.find("mismatched response"), std::string::npos) << r.reason;
  EXPECT_EQ(rig.stats().malformed, 1u);
}

TEST(ModbusAdapter, CountersAreExportedOnMetrics) {
  metrics::Registry registry;
  register_modbus_metrics(registry);
  modbus_counters().reconnects.inc();
  const std::string body = registry.render();
  for (const char* name : {"verge_modbus_poll_overruns_total", "verge_modbus_timeouts_total",
                           "verge_modbus_exceptions_total", "verge_modbus_malformed_total",
                           "verge_modbus_retries_total", "verge_modbus_reconnects_total",
                           "verge_modbus_unsolicited_bytes_total"}) {
    EXPECT_NE(body.find(name), std::string::npos) << name;
  }
}

TEST(ModbusAdapter, ReconnectsAfterTheServerClosesAndComesBackOnline) {
  TestModbusServer server;
  server.holding[0] = 7;
  Rig rig(registers(1), conn(server, R"(,"retries":0)"), 50);
  ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.cycles_.empty(); }));
  server.close_next = 1;
  ASSERT_TRUE(
      rig.sink.wait([&] { return rig.sink.links_.size() >= 2 && !rig.sink.links_[1].first; }));
  EXPECT_EQ(rig.sink.links()[1].second, "connection closed by the device");
  ASSERT_TRUE(rig.sink.wait([&] { return rig.sink.links_.size() >= 3; }));
  EXPECT_TRUE(rig.sink.links()[2].first);
  const size_t before = rig.sink.cycle_count();
  ASSERT_TRUE(rig.sink.wait([&] { return rig.sink.cycles_.size() >= before + 2; }));
  EXPECT_EQ(rig.sink.cycles().back()[0].value, Value(7));
  EXPECT_EQ(server.connections.load(), 2);
}

TEST(ModbusAdapter, AnIdleConnectionClosedByTheDeviceIsReopenedQuietly) {
  TestModbusServer server;
  server.holding[0] = 3;
  Rig rig(registers(1), conn(server), 300);
  ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.cycles_.empty(); }));
  server.drop_clients = true;  // between two polls, as devices drop idle clients
  ASSERT_TRUE(rig.sink.wait([&] { return server.connections.load() >= 2; }));
  const size_t before = rig.sink.cycle_count();
  ASSERT_TRUE(rig.sink.wait([&] { return rig.sink.cycles_.size() >= before + 2; }));
  EXPECT_EQ(rig.sink.cycles().back()[0].value, Value(3));
  const auto links = rig.sink.links();
  ASSERT_EQ(links.size(), 1u);  // online once, never offline
  EXPECT_TRUE(links[0].first);
}

TEST(ModbusAdapter, ConnectFailureReportsOfflineAndWritesFailAtOnce) {
  int port = 0;
  {
    TestModbusServer gone;  // a port nobody listens on once it is closed
    port = gone.port();
  }
  std::vector<PointSpec> pts = registers(1);
  pts[0].access = Access::ReadWrite;
  Rig rig(pts, R"({"host":"127.0.0.1","port":)" + std::to_string(port) + "}");
  ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.links_.empty(); }));
  EXPECT_FALSE(rig.sink.links()[0].first);
  EXPECT_EQ(rig.sink.links()[0].second, "connect: Connection refused");
  auto w = rig.write(0, Value(1));
  ASSERT_TRUE(rig.sink.wait([&] { return w->has_value(); }));
  ASSERT_FALSE(**w);
  EXPECT_EQ((*w)->error().message, "device offline: connect: Connection refused");
}

TEST(ModbusAdapter, WritesRoundTrip) {
  TestModbusServer server;
  std::vector<PointSpec> pts = {
      point("sp", "holding:10", DataType::Int16), point("f", "holding:20", DataType::Float32),
      point("on", "coil:3", DataType::Bool), point("ro", "input:1", DataType::Uint16)};
  for (int i = 0; i < 3; ++i) pts[static_cast<size_t>(i)].access = Access::ReadWrite;
  Rig rig(pts, conn(server), 60'000);
  ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.cycles_.empty(); }));
  auto a = rig.write(0, Value(-55));
  auto b = rig.write(1, Value(2.5));
  auto c = rig.write(2, Value(true));
  ASSERT_TRUE(rig.sink.wait([&] { return a->has_value() && b->has_value() && c->has_value(); }));
  EXPECT_TRUE(**a) << (*a)->error().message;
  EXPECT_TRUE(**b) << (*b)->error().message;
  EXPECT_TRUE(**c) << (*c)->error().message;
  {
    std::lock_guard lock(server.mu);
    EXPECT_EQ(server.holding[10], 0xFFC9);
    EXPECT_EQ(server.holding[20], 0x4020);  // 2.5f = 0x40200000
    EXPECT_EQ(server.holding[21], 0);
    EXPECT_EQ(server.coils[3], 1);
  }
  EXPECT_EQ(server.count(kWriteSingleRegister), 1u);
  EXPECT_EQ(server.count(kWriteMultipleRegisters), 1u);
  EXPECT_EQ(server.count(kWriteSingleCoil), 1u);
  // Refused before anything is sent: read-only table, out of range.
  auto ro = rig.write(3, Value(1));
  auto big = rig.write(0, Value(70000));
  ASSERT_TRUE(rig.sink.wait([&] { return ro->has_value() && big->has_value(); }));
  EXPECT_FALSE(**ro);
  EXPECT_FALSE(**big);
  // An exception answer fails the write with its text.
  server.limit = 5;
  auto ex = rig.write(0, Value(1));
  ASSERT_TRUE(rig.sink.wait([&] { return ex->has_value(); }));
  ASSERT_FALSE(**ex);
  EXPECT_EQ((*ex)->error().message, "exception 2: illegal data address");
}

TEST(ModbusAdapter, ForceMultipleWriteUsesFunction16) {
  TestModbusServer server;
  std::vector<PointSpec> pts = {point("sp", "holding:10", DataType::Int16)};
  pts[0].access = Access::Write;  // write-only: never polled
  Rig rig(pts, conn(server, R"(,"force_multiple_write":true)"));
  auto a = rig.write(0, Value(5));
  ASSERT_TRUE(rig.sink.wait([&] { return a->has_value(); }));
  EXPECT_TRUE(**a);
  EXPECT_EQ(server.count(kWriteMultipleRegisters), 1u);
  EXPECT_EQ(server.count(kReadHoldingRegisters), 0u);
}

TEST(ModbusAdapter, WriteGoesAheadOfQueuedPolls) {
  TestModbusServer server;
  server.delay_ms = 20;
  std::vector<PointSpec> pts = registers(10);
  pts.push_back(point("sp", "holding:100", DataType::Uint16));
  pts.back().access = Access::Write;
  // One register per request: a cycle of ten requests, 200 ms at 20 ms each.
  Rig rig(pts, conn(server, R"(,"max_registers":1)"), 60'000);
  ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.links_.empty(); }));  // first answer
  const auto t0 = Clock::now();
  auto w = rig.write(10, Value(9));
  ASSERT_TRUE(rig.sink.wait([&] { return w->has_value(); }));
  const auto took = Clock::now() - t0;
  EXPECT_TRUE(**w);
  EXPECT_LT(took, std::chrono::milliseconds(150));  // not behind the remaining reads
  const auto seen = server.seen();
  size_t write_at = 0;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (seen[i].function == kWriteSingleRegister) write_at = i;
  }
  EXPECT_GE(write_at, 1u);
  EXPECT_LE(write_at, 2u);  // behind the one in flight (and at most one more racing the post)
  ASSERT_TRUE(rig.sink.wait([&] { return !rig.sink.cycles_.empty(); }));
  EXPECT_EQ(rig.sink.cycles()[0].size(), 10u);
}

TEST(ModbusAdapter, AWriteQueuedBehindACyclesLastReadIsSentBeforeItsReadingsAreDelivered) {
  TestModbusServer server;
  server.delay_ms = 100;
  std::vector<PointSpec> pts = registers(1);
  pts.push_back(point("sp", "holding:100", DataType::Uint16));
  pts.back().access = Access::Write;
  Rig rig(pts, conn(server), 60'000, false);
  std::atomic<int> writes_seen_in_delivery{-1};
  rig.sink.on_readings_hook = [&] {
    // On the adapter's loop: give the write 1 s to reach the server while the sink is busy.
    const auto deadline = Clock::now() + std::chrono::seconds(1);
    while (server.count(kWriteSingleRegister) == 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    writes_seen_in_delivery = static_cast<int>(server.count(kWriteSingleRegister));
  };
  rig.start();
  // The cycle's only read is on the wire (answered after 100 ms); the write queues behind it.
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (server.count(kReadHoldingRegisters) == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto w = rig.write(1, Value(4));
  ASSERT_TRUE(rig.sink.wait([&] { return w->has_value(); }));
  EXPECT_TRUE(**w);
  EXPECT_EQ(writes_seen_in_delivery.load(), 1);
}

TEST(ModbusAdapter, SlowCyclesSkipTicksInsteadOfPilingUp) {
  TestModbusServer server;
  server.delay_ms = 120;
  Rig rig(registers(1), conn(server), 50);
  ASSERT_TRUE(rig.sink.wait([&] { return rig.sink.cycles_.size() >= 4; }));
  const auto stats = rig.stats();
  EXPECT_GT(stats.overruns, 0u);
  // Never more than one request of the group waiting: requests track cycles.
  EXPECT_LE(server.count(kReadHoldingRegisters), stats.cycles + 1);
  EXPECT_LE(stats.cycles, 6u);
}

TEST(ModbusAdapter, PointsPollAtTheirOwnIntervals) {
  TestModbusServer server;
  std::vector<PointSpec> pts = {point("fast", "holding:0", DataType::Uint16),
                                point("slow", "holding:10", DataType::Uint16)};
  pts[0].poll_ms = 40;
  pts[1].poll_ms = 400;
  Rig rig(pts, conn(server));
  ASSERT_TRUE(rig.sink.wait([&] { return rig.sink.cycles_.size() >= 24; }));
  size_t fast = 0, slow = 0;
  for (const auto& s : server.seen()) {
    fast += s.address == 0;
    slow += s.address == 10;
  }
  EXPECT_GE(slow, 1u);
  EXPECT_GE(fast, 5 * slow);  // ten times as often, give or take a loaded machine
  for (const auto& cycle : rig.sink.cycles()) EXPECT_EQ(cycle.size(), 1u);  // one group each
}

TEST(ModbusAdapter, StopCompletesPendingWritesWithAnError) {
  TestModbusServer server;
  server.silent = true;
  std::vector<PointSpec> pts = {point("sp", "holding:1", DataType::Uint16)};
  pts[0].access = Access::Write;
  Rig rig(pts, conn(server, R"(,"timeout":5000)"));
  auto a = rig.write(0, Value(1));
  auto b = rig.write(0, Value(2));
  ASSERT_TRUE(rig.sink.wait([&] { return server.count(kWriteSingleRegister) == 1; }));
  EXPECT_FALSE(a->has_value());
  rig.on_loop([&] { rig.adapter().stop(); });
  ASSERT_TRUE(a->has_value());  // completed inside stop()
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*a)->error().message, "adapter stopped");
  EXPECT_EQ((*b)->error().message, "adapter stopped");
  const size_t links = rig.sink.links().size();
  auto c = rig.write(0, Value(3));  // after stop: fails at once
  ASSERT_TRUE(c->has_value());
  EXPECT_FALSE(**c);
  EXPECT_EQ(rig.sink.links().size(), links);  // no sink call after stop
}

TEST(ModbusAdapter, StopFromTheSinkCompletesTheWriteInFlight) {
  TestModbusServer server;
  std::vector<PointSpec> pts = {point("sp", "holding:1", DataType::Uint16)};
  pts[0].access = Access::Write;  // not polled: the write is the first exchange
  Rig rig(pts, conn(server), 1000, false);
  rig.sink.on_link_hook = [&](bool online) {
    if (online) rig.adapter().stop();  // the device came online: the sink stops the adapter
  };
  rig.start();
  auto w = rig.write(0, Value(5));
  ASSERT_TRUE(rig.sink.wait([&] { return w->has_value(); }));
  ASSERT_FALSE(**w);
  EXPECT_EQ((*w)->error().message, "adapter stopped");
  EXPECT_EQ(server.count(kWriteSingleRegister), 1u);
}

TEST(ModbusSettings, TcpKeysAreCheckedStrictly) {
  const AdapterFactory* f = builtin_adapters().find("modbus-tcp");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->polls());
  auto err = [&](const std::string& text) {
    auto r = f->check_connection(json(text));
    return r ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(err(R"({"host":"10.0.0.2"})"), "ok");
  EXPECT_EQ(err(R"({"host":"plc","port":5020,"unit":0,"timeout":"250ms","retries":0,)"
                R"("max_registers":60,"max_bits":100,"max_gap":10,"backoff_max":"5s",)"
                R"("force_multiple_write":true})"),
            "ok");
  EXPECT_EQ(err(R"({"port":502})"), "host: required");
  EXPECT_EQ(err(R"({"host":"h","port":0})"), "port: expected 1..65535");
  EXPECT_EQ(err(R"({"host":"h","port":"502"})"), "port: expected 1..65535");
  EXPECT_EQ(err(R"({"host":"h","unit":256})"), "unit: expected 0..255");
  EXPECT_EQ(err(R"({"host":"h","max_registers":126})"), "max_registers: expected 1..125");
  EXPECT_EQ(err(R"({"host":"h","max_bits":2001})"), "max_bits: expected 1..2000");
  EXPECT_EQ(err(R"({"host":"h","max_gap":101})"), "max_gap: expected 0..100");
  EXPECT_EQ(err(R"({"host":"h","retries":-1})"), "retries: expected 0..10");
  EXPECT_EQ(err(R"({"host":"h","force_multiple_write":1})"),
            "force_multiple_write: expected true or false");
  EXPECT_NE(err(R"({"host":"h","timeout":"soon"})").find("timeout: "), std::string::npos);
  EXPECT_EQ(err(R"({"host":"h","hots":"x"})").rfind("hots: unknown key", 0), 0u);
  EXPECT_EQ(err("[1]"), "expected an object");
}

TEST(ModbusSettings, RtuKeysAreCheckedStrictly) {
  const AdapterFactory* f = builtin_adapters().find("modbus-rtu");
  ASSERT_NE(f, nullptr);
  auto err = [&](const std::string& text) {
    auto r = f->check_connection(json(text));
    return r ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(err(R"({"port":"/dev/ttyUSB0"})"), "ok");
  EXPECT_EQ(err(R"({"port":"/dev/ttyS1","baud":19200,"parity":"E","data_bits":7,)"
                R"("stop_bits":2,"unit":247,"timeout":"2s","retries":1})"),
            "ok");
  EXPECT_EQ(err(R"({"baud":9600})"), "port: required (the serial device's path)");
  EXPECT_EQ(err(R"({"port":"/dev/x","baud":9601})").rfind("baud: expected 1200", 0), 0u);
  EXPECT_EQ(err(R"({"port":"/dev/x","parity":"X"})"), "parity: expected N, E or O");
  EXPECT_EQ(err(R"({"port":"/dev/x","data_bits":6})"), "data_bits: expected 7 or 8");
  EXPECT_EQ(err(R"({"port":"/dev/x","stop_bits":3})"), "stop_bits: expected 1 or 2");
  EXPECT_EQ(err(R"({"port":"/dev/x","unit":0})"), "unit: expected 1..247");
  EXPECT_EQ(err(R"({"port":"/dev/x","host":"h"})").rfind("host: unknown key", 0), 0u);
  auto s = parse_rtu_settings(json(R"({"port":"/dev/x","parity":"O","baud":38400})"));
  ASSERT_TRUE(s);
  EXPECT_EQ(describe(s->serial), "/dev/x 38400 8O1");
}

TEST(ModbusSettings, PointsAreCheckedByAddressAndType) {
  const AdapterFactory* f = builtin_adapters().find("modbus-tcp");
  ASSERT_NE(f, nullptr);
  auto err = [&](PointSpec p) {
    auto r = f->check_point(p);
    return r ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(err(point("a", "holding:0", DataType::Float32)), "ok");
  EXPECT_EQ(err(point("a", "holdng:0", DataType::Float32)).rfind("address: unknown table", 0), 0u);
  EXPECT_EQ(err(point("a", "coil:0", DataType::Float32)).rfind("type: ", 0), 0u);
  PointSpec w = point("a", "input:0", DataType::Int16);
  w.access = Access::ReadWrite;
  EXPECT_EQ(err(w).rfind("access: ", 0), 0u);
}

}  // namespace
}  // namespace verge::devices::modbus
