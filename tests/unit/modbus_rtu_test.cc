// The Modbus RTU adapter over a pseudo-terminal: the test plays the devices on the master side
// (RTU frames with CRC, several units on one line), the adapters open the slave side. Devices on
// different loops share the line; requests never overlap, the 3.5-character silence holds, a dead
// unit does not stall the others, a second serial format on the same path is refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "devices/adapters/builtin.h"
#include "devices/adapters/modbus/frame.h"
#include "modbus_test_sink.h"
#include "net/loop_group.h"

namespace verge::devices::modbus {
namespace {

using testing::Clock;
using testing::FakeSink;
using testing::json;
using testing::point;

// Units on the master side of a pty: holding registers per unit, answers after `delay_ms`.
class TestRtuLine {
 public:
  TestRtuLine() {
    EXPECT_EQ(openpty(&master_, &slave_, nullptr, nullptr, nullptr), 0);
    path_ = ttyname(slave_);
    termios tio{};
    tcgetattr(master_, &tio);
    cfmakeraw(&tio);
    tcsetattr(master_, TCSANOW, &tio);
    fcntl(master_, F_SETFL, fcntl(master_, F_GETFL) | O_NONBLOCK);
    thread_ = std::thread([this] { run(); });
  }
  ~TestRtuLine() {
    stop_ = true;
    thread_.join();
    close(master_);
    close(slave_);
  }
  const std::string& path() const { return path_; }

  std::mutex mu;
  std::map<uint8_t, std::vector<uint16_t>> holding;  // unit -> registers; others are silent
  std::map<uint8_t, int> requests;                   // per unit
  int overlaps = 0;         // a request arrived while one was being answered
  int64_t min_gap_us = -1;  // from an answer to the next request's first byte
  std::atomic<int> delay_ms{0};

 private:
  void run() {
    std::string in;
    Clock::time_point answered{};
    bool have_answered = false;
    while (!stop_) {
      pollfd p{master_, POLLIN, 0};
      if (poll(&p, 1, 10) <= 0) continue;
      char buf[512];
      const ssize_t n = read(master_, buf, sizeof buf);
      if (n <= 0) continue;
      if (in.empty() && have_answered) {
        const auto gap =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - answered).count();
        std::lock_guard lock(mu);
        if (min_gap_us < 0 || gap < min_gap_us) min_gap_us = gap;
      }
      in.append(buf, static_cast<size_t>(n));
      auto frame = parse_rtu_request(in);
      if (!frame) {
        in.clear();
        continue;
      }
      if (!frame->has_value()) continue;
      const RtuFrame f = **frame;
      auto req = decode_request(f.pdu);
      in.erase(0, f.size);
      if (!req) continue;
      std::string pdu;
      {
        std::lock_guard lock(mu);
        ++requests[f.unit];
        auto it = holding.find(f.unit);
        if (it == holding.end()) continue;  // no such unit: silence, as on a real line
        answer(*req, it->second, pdu);
      }
      if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      pollfd again{master_, POLLIN, 0};
      if (poll(&again, 1, 0) > 0) {
        std::lock_guard lock(mu);
        ++overlaps;
      }
      std::string out;
      frame_rtu(f.unit, pdu, out);
      // Before the write: the adapter cannot have the answer earlier, and a thread preempted
      // after the write must not shrink the measured gap.
      answered = Clock::now();
      [[maybe_unused]] auto w = write(master_, out.data(), out.size());
      have_answered = true;
    }
  }

  static void answer(const Request& req, std::vector<uint16_t>& regs, std::string& pdu) {
    Response r;
    r.function = req.function;
    if (req.function == kReadHoldingRegisters) {
      if (req.address + req.count > regs.size()) {
        r.exception = 2;
      } else {
        r.registers.assign(regs.begin() + req.address, regs.begin() + req.address + req.count);
      }
    } else if (req.function == kWriteSingleRegister || req.function == kWriteMultipleRegisters) {
      for (size_t i = 0; i < req.registers.size(); ++i) regs[req.address + i] = req.registers[i];
    } else {
      r.exception = 1;
    }
    encode_response(req, r, pdu);
  }

  int master_ = -1;
  int slave_ = -1;
  std::string path_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Devices of one profile on a two-loop group; device i runs on loop i % 2.
class Rig {
 public:
  explicit Rig(int64_t poll_ms) : loops_(2) {
    profile_.name = "r";
    profile_.protocol = "modbus-rtu";
    profile_.poll_ms = poll_ms;
    profile_.points = {point("x", "holding:0", DataType::Uint16),
                       point("sp", "holding:10", DataType::Uint16)};
    profile_.points[1].access = Access::ReadWrite;
    loops_.start();
  }
  ~Rig() {
    for (size_t i = 0; i < devices_.size(); ++i) {
      on_loop(i, [&, i] { devices_[i]->adapter.reset(); });
    }
    loops_.stop();
  }

  // Adds and starts a device; returns its index.
  size_t add(const std::string& connection) {
    auto d = std::make_unique<Dev>();
    d->spec.id = "rtu-" + std::to_string(devices_.size());
    d->spec.connection = json(connection);
    const AdapterFactory* f = builtin_adapters().find("modbus-rtu");
    EXPECT_TRUE(f->check_connection(d->spec.connection));
    const size_t i = devices_.size();
    devices_.push_back(std::move(d));
    Dev& dev = *devices_.back();
    on_loop(i, [&, i] {
      AdapterContext ctx;
      ctx.device = &dev.spec;
      ctx.profile = &profile_;
      ctx.loop = &loops_.loop(i % 2);
      ctx.sink = &dev.sink;
      dev.adapter = f->create(ctx);
      dev.adapter->start();
    });
    return i;
  }
  FakeSink& sink(size_t i) { return devices_[i]->sink; }
  Adapter& adapter(size_t i) { return *devices_[i]->adapter; }
  void on_loop(size_t i, std::function<void()> fn) {
    std::promise<void> done;
    loops_.loop(i % 2).post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  struct Dev {
    DeviceSpec spec;
    FakeSink sink;
    std::unique_ptr<Adapter> adapter;
  };
  net::LoopGroup loops_;
  Profile profile_;
  std::vector<std::unique_ptr<Dev>> devices_;
};

std::string rtu(const TestRtuLine& line, int unit, const std::string& extra = "") {
  return R"({"port":")" + line.path() + R"(","baud":9600,"unit":)" + std::to_string(unit) + extra +
         "}";
}

TEST(ModbusRtu, UnitsOnOneLineTakeTurnsWithSilenceBetweenFrames) {
  TestRtuLine line;
  {
    std::lock_guard lock(line.mu);
    line.holding[1] = std::vector<uint16_t>(20, 0);
    line.holding[2] = std::vector<uint16_t>(20, 0);
    line.holding[1][0] = 101;
    line.holding[2][0] = 202;
  }
  line.delay_ms = 5;
  Rig rig(50);
  const size_t a = rig.add(rtu(line, 1));
  const size_t b = rig.add(rtu(line, 2));  // on the other loop
  for (size_t i : {a, b}) {
    ASSERT_TRUE(rig.sink(i).wait([&] { return rig.sink(i).cycles_.size() >= 5; })) << i;
  }
  EXPECT_EQ(rig.sink(a).cycles()[0][0].value, Value(101));
  EXPECT_EQ(rig.sink(b).cycles()[0][0].value, Value(202));
  EXPECT_TRUE(rig.sink(a).links()[0].first);
  std::lock_guard lock(line.mu);
  EXPECT_EQ(line.overlaps, 0);
  // 3.5 characters of 10 bits at 9600 baud: 3646 us.
  EXPECT_GE(line.min_gap_us, 3600);
  EXPECT_GE(line.requests[1], 5);
  EXPECT_GE(line.requests[2], 5);
}

TEST(ModbusRtu, WritesReachTheirUnit) {
  TestRtuLine line;
  {
    std::lock_guard lock(line.mu);
    line.holding[1] = std::vector<uint16_t>(20, 0);
    line.holding[2] = std::vector<uint16_t>(20, 0);
  }
  Rig rig(100);
  rig.add(rtu(line, 1));
  const size_t b = rig.add(rtu(line, 2));
  ASSERT_TRUE(rig.sink(b).wait([&] { return !rig.sink(b).cycles_.empty(); }));
  std::promise<Result<void>> result;
  rig.on_loop(b, [&] {
    rig.adapter(b).write(1, Value(77), [&](Result<void> r) { result.set_value(std::move(r)); });
  });
  auto fut = result.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(fut.get());
  std::lock_guard lock(line.mu);
  EXPECT_EQ(line.holding[2][10], 77);
  EXPECT_EQ(line.holding[1][10], 0);
}

TEST(ModbusRtu, ADeadUnitIsProbedOncePerCycleAndDoesNotStallTheLine) {
  TestRtuLine line;
  {
    std::lock_guard lock(line.mu);
    line.holding[1] = std::vector<uint16_t>(20, 7);
  }
  Rig rig(100);
  const size_t live = rig.add(rtu(line, 1, R"(,"timeout":"100ms","retries":2)"));
  const size_t dead = rig.add(rtu(line, 3, R"(,"timeout":"100ms","retries":2)"));
  ASSERT_TRUE(rig.sink(dead).wait([&] { return !rig.sink(dead).links_.empty(); }));
  EXPECT_EQ(rig.sink(dead).links()[0], std::make_pair(false, std::string("timeout after 3 tries")));
  const size_t before = rig.sink(live).cycle_count();
  const auto t0 = Clock::now();
  ASSERT_TRUE(rig.sink(live).wait([&] { return rig.sink(live).cycles_.size() >= before + 5; }));
  // Five 100 ms cycles of the live unit, each behind at most one 100 ms probe of the dead one.
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(2000));
  // The first cycle tries three times; later ones send one probe each, without retries (a
  // cycle's on_poll comes after its probe, so at most one probe is not counted yet).
  const uint32_t dead_cycles = rig.sink(dead).polls();
  std::lock_guard lock(line.mu);
  EXPECT_GE(dead_cycles, 2u);
  EXPECT_LE(line.requests[3], static_cast<int>(2 + dead_cycles + 1));
  EXPECT_GE(line.requests[3], static_cast<int>(2 + dead_cycles));
}

TEST(ModbusRtu, AnotherSerialFormatOnAnOpenLineIsRefused) {
  TestRtuLine line;
  {
    std::lock_guard lock(line.mu);
    line.holding[1] = std::vector<uint16_t>(20, 0);
  }
  Rig rig(100);
  const size_t a = rig.add(rtu(line, 1));
  ASSERT_TRUE(rig.sink(a).wait([&] { return !rig.sink(a).cycles_.empty(); }));
  const size_t b = rig.add(R"({"port":")" + line.path() + R"(","baud":19200,"unit":2})");
  ASSERT_TRUE(rig.sink(b).wait([&] { return !rig.sink(b).links_.empty(); }));
  EXPECT_EQ(rig.sink(b).links()[0].second, "port: " + line.path() + " is already open as " +
                                               line.path() + " 9600 8N1, not " + line.path() +
                                               " 19200 8N1");
}

TEST(ModbusRtu, AMissingSerialDeviceIsReportedOffline) {
  Rig rig(100);
  const size_t a = rig.add(R"({"port":"/dev/verge-no-such-tty","unit":1})");
  ASSERT_TRUE(rig.sink(a).wait([&] { return !rig.sink(a).links_.empty(); }));
  EXPECT_EQ(rig.sink(a).links()[0],
            std::make_pair(false, std::string("open /dev/verge-no-such-tty: No such file or "
                                              "directory")));
}

}  // namespace
}  // namespace verge::devices::modbus
