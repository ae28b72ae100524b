// The Modbus adapter of one device, for TCP and RTU alike: it polls the device's points in
// groups by poll interval (each group's read plan is computed once), keeps one request on the
// wire at a time with writes ahead of queued reads, retries timeouts, maps answers to Readings
// and tracks whether the device answers. The transport is behind a Link (tcp_line.h,
// rtu_line.h).
//
// Loop thread only (ctx.loop), apart from construction.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "devices/adapter.h"
#include "devices/adapters/modbus/link.h"
#include "devices/adapters/modbus/registers.h"
#include "net/timer_queue.h"

namespace verge::devices::modbus {

struct ClientOptions {
  uint8_t unit = 1;
  int retries = 2;  // further tries of a request that timed out or got a malformed answer
  PlanLimits limits;
  bool force_multiple_write = false;
};

class ModbusClient final : public Adapter, private LinkUser {
 public:
  ModbusClient(const AdapterContext& ctx, ClientOptions options, std::unique_ptr<Link> link);
  ~ModbusClient() override;

  void start() override;
  void stop() override;
  void write(uint32_t point, const Value& raw, WriteDone done) override;

  struct Stats {
    uint64_t cycles = 0;      // poll cycles started
    uint64_t overruns = 0;    // ticks skipped because the group's previous cycle still ran
    uint64_t requests = 0;    // requests sent (retries included)
    uint64_t timeouts = 0;    // exchanges that timed out
    uint64_t exceptions = 0;  // exception answers
    uint64_t malformed = 0;   // answers that were not the answer to the request
    uint64_t retries = 0;     // requests sent again after a timeout or a malformed answer
  };
  const Stats& stats() const { return stats_; }

 private:
  // The raw outcome of one planned read in the running cycle. Readings are made from these only
  // when the cycle ends (into a per-thread scratch vector), so between cycles a group holds a
  // few hundred bytes per request rather than a Reading per point.
  enum class Outcome : uint8_t { None, Ok, Exception, Timeout, Malformed };
  struct Answer {
    Outcome outcome = Outcome::None;  // None: no readings (offline, skipped while unresponsive)
    uint8_t exception = 0;
    int64_t ts_ms = 0;
    std::vector<uint16_t> registers;  // capacity reused from cycle to cycle
    std::vector<uint8_t> bits;
    std::string reason;  // Malformed only
  };
  struct Group {
    int64_t interval_ms = 0;
    std::vector<PlannedRead> plan;
    std::vector<Request> requests;  // plan[i] as a request, built once
    std::vector<Answer> answers;    // plan[i]'s in this cycle
    uint32_t outstanding = 0;       // plan entries not finished in this cycle
    uint32_t sent = 0;
    uint32_t failed = 0;
    int64_t started_us = 0;
    bool running = false;
    bool probed = false;  // the device is unresponsive and this cycle sent its one probe
    uint64_t next_ms = 0;
    net::TimerQueue::Id timer = 0;
  };
  struct PollJob {
    uint32_t group = 0;
    uint32_t read = 0;
    int attempts = 0;
  };
  struct WriteJob {
    Request req;
    WriteDone done;
    int attempts = 0;
  };
  enum class LinkState : uint8_t { Connecting, Up, Down };
  enum class Reported : uint8_t { None, Online, Offline };
  enum class InFlight : uint8_t { None, Poll, Write };

  void build_groups();
  void schedule(Group& g, uint64_t delay_ms);
  void tick(uint32_t group);
  void pump();
  bool next_poll(PollJob& job);
  void on_link_state(bool up, std::string_view reason) override;
  void on_exchange(const ExchangeResult& result) override;
  // True when the job's cycle is done with it (finish_poll is then the caller's).
  bool poll_done(PollJob job, const ExchangeResult& result);
  void write_done(WriteJob job, const ExchangeResult& result);
  void decode(const Group& g, std::vector<Reading>& out) const;
  void finish_poll(Group& g);
  void fail_queued(std::string_view reason);
  void fail_write_soon(WriteDone done, std::string message);
  void flush_deferred();
  void mark_online();
  void mark_offline(std::string_view reason);
  Result<Request> write_request(uint32_t point, const Value& raw) const;

  AdapterContext ctx_;
  ClientOptions options_;
  std::unique_ptr<Link> link_;
  std::shared_ptr<net::TimerQueue> timers_;  // the loop's (loop_timers.h)
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::vector<PointAddress> addrs_;  // per profile point
  std::vector<uint16_t> spans_;
  std::vector<bool> valid_;  // address parsed
  std::vector<Group> groups_;
  std::vector<PollJob> polls_;  // queue: [polls_head_, end)
  size_t polls_head_ = 0;
  std::deque<WriteJob> writes_;
  InFlight in_flight_ = InFlight::None;
  PollJob poll_in_flight_;
  WriteJob write_in_flight_;
  LinkState link_state_ = LinkState::Connecting;
  std::string link_reason_;
  Reported reported_ = Reported::None;
  bool unresponsive_ = false;  // the last request ran out of tries without an answer
  bool started_ = false;
  bool stopped_ = false;
  std::vector<std::pair<WriteDone, std::string>> deferred_;  // failed writes, reported soon
  bool deferred_scheduled_ = false;
  int64_t last_overrun_log_ms_ = -60'000;
  Stats stats_;
};

}  // namespace verge::devices::modbus
