#include "devices/adapters/modbus/client.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <span>

#include "core/clock.h"
#include "core/log.h"
#include "devices/adapters/modbus/line.h"
#include "devices/adapters/modbus/loop_timers.h"
#include "devices/adapters/modbus/modbus_counters.h"
#include "net/event_loop.h"

namespace verge::devices::modbus {

ModbusClient::ModbusClient(const AdapterContext& ctx, ClientOptions options,
                           std::unique_ptr<Link> link)
    : ctx_(ctx), options_(options), link_(std::move(link)) {
  build_groups();
}

ModbusClient::~ModbusClient() { stop(); }

void ModbusClient::build_groups() {
  const auto& points = ctx_.profile->points;
  addrs_.resize(points.size());
  spans_.resize(points.size());
  valid_.assign(points.size(), false);
  std::map<int64_t, std::vector<uint32_t>> by_interval;
  for (uint32_t i = 0; i < points.size(); ++i) {
    const PointSpec& p = points[i];
    auto addr = parse_address(p.address);
    if (!addr || !check_point(p, *addr)) {
      // The factory checked every point; a profile that changed under us is skipped, not polled.
      log_warn("modbus point skipped", {{"device", ctx_.device->id}, {"point", p.name}});
      continue;
    }
    addrs_[i] = *addr;
    spans_[i] = span_of(p, *addr);
    valid_[i] = true;
    if (p.access == Access::Write) continue;
    int64_t interval = p.poll_ms > 0              ? p.poll_ms
                       : ctx_.device->poll_ms > 0 ? ctx_.device->poll_ms
                                                  : ctx_.profile->poll_ms;
    if (interval <= 0) interval = 1000;
    by_interval[interval].push_back(i);
  }
  size_t max_requests = 0;
  for (auto& [interval, due] : by_interval) {
    Group g;
    g.interval_ms = interval;
    g.plan = plan_reads(points, addrs_, due, options_.limits);
    g.requests.reserve(g.plan.size());
    for (const PlannedRead& r : g.plan) {
      g.requests.push_back(read_request(r.table, r.address, r.count));
    }
    g.answers.resize(g.plan.size());
    max_requests += g.plan.size();
    groups_.push_back(std::move(g));
  }
  polls_.reserve(max_requests + 1);
}

void ModbusClient::start() {
  if (started_ || stopped_) return;
  started_ = true;
  timers_ = loop_timers(*ctx_.loop);
  link_->attach(this);
  // The first poll goes out at once; later ones keep a phase of their own within the interval
  // (from the device id), so that hundreds of devices started together do not all poll in the
  // same millisecond: a loop busy with one burst of responses would delay writes by tens of ms.
  const uint64_t now = ctx_.loop->now_ms();
  const size_t id_hash = std::hash<std::string>{}(ctx_.device->id);
  for (Group& g : groups_) {
    const auto interval = static_cast<uint64_t>(g.interval_ms);
    const uint64_t phase = interval > 0 ? id_hash % interval : 0;
    g.next_ms = now + phase >= interval ? now + phase - interval : now;
    schedule(g, 0);
  }
}

void ModbusClient::schedule(Group& g, uint64_t delay_ms) {
  const auto index = static_cast<uint32_t>(&g - groups_.data());
  g.timer = timers_->after(delay_ms, [this, index] { tick(index); });
}

void ModbusClient::tick(uint32_t group) {
  Group& g = groups_[group];
  // Next tick on the interval's grid; ticks missed while the loop was busy are dropped.
  const uint64_t now = ctx_.loop->now_ms();
  g.next_ms += static_cast<uint64_t>(g.interval_ms);
  if (g.next_ms <= now) g.next_ms = now + static_cast<uint64_t>(g.interval_ms);
  schedule(g, g.next_ms - now);

  if (g.running) {
    ++stats_.overruns;
    modbus_counters().overruns.inc();
    const auto t = static_cast<int64_t>(now);
    if (t - last_overrun_log_ms_ >= 60'000) {
      last_overrun_log_ms_ = t;
      log_warn("modbus poll overrun: the previous cycle still runs, tick skipped",
               {{"device", ctx_.device->id},
                {"interval_ms", g.interval_ms},
                {"overruns", stats_.overruns}});
    }
    return;
  }
  if (link_state_ == LinkState::Down || g.plan.empty())
    return;  // offline: reopening is the link's job
  ++stats_.cycles;
  g.running = true;
  g.probed = false;
  for (Answer& a : g.answers) a.outcome = Outcome::None;
  g.outstanding = static_cast<uint32_t>(g.plan.size());
  g.sent = 0;
  g.failed = 0;
  g.started_us = monotonic_us();
  // Drop what was taken already (groups of other intervals may keep the queue from ever
  // running empty); the capacity stays.
  if (polls_head_ > 0 && polls_head_ * 2 >= polls_.size()) {
    polls_.erase(polls_.begin(), polls_.begin() + static_cast<std::ptrdiff_t>(polls_head_));
    polls_head_ = 0;
  }
  for (uint32_t i = 0; i < g.plan.size(); ++i) polls_.push_back(PollJob{group, i, 0});
  pump();
}

bool ModbusClient::next_poll(PollJob& job) {
  while (polls_head_ < polls_.size()) {
    job = polls_[polls_head_++];
    Group& g = groups_[job.group];
    if (!unresponsive_) return true;
    // A device that stopped answering gets one probe per cycle, not a timeout per request
    // (on a shared serial line the others would wait for every one of them).
    if (!g.probed) {
      g.probed = true;
      return true;
    }
    ++g.failed;
    finish_poll(g);
    if (stopped_) return false;
  }
  return false;
}

void ModbusClient::pump() {
  if (stopped_ || in_flight_ != InFlight::None || link_state_ != LinkState::Up) return;
  if (!writes_.empty()) {
    write_in_flight_ = std::move(writes_.front());
    writes_.pop_front();
    in_flight_ = InFlight::Write;
    ++stats_.requests;
    link_->send(options_.unit, write_in_flight_.req, true);
    return;
  }
  PollJob job;
  if (!next_poll(job)) return;
  poll_in_flight_ = job;
  in_flight_ = InFlight::Poll;
  ++stats_.requests;
  Group& g = groups_[job.group];
  ++g.sent;
  link_->send(options_.unit, g.requests[job.read], false);
}

void ModbusClient::on_link_state(bool up, std::string_view reason) {
  if (stopped_) return;
  if (up) {
    link_state_ = LinkState::Up;
    pump();
    return;
  }
  link_state_ = LinkState::Down;
  link_reason_.assign(reason);
  fail_queued(link_reason_);
  if (!stopped_) mark_offline(link_reason_);
}

void ModbusClient::on_exchange(const ExchangeResult& result) {
  if (stopped_) return;
  ModbusCounters& counters = modbus_counters();
  if (result.status == ExchangeStatus::Timeout) {
    ++stats_.timeouts;
    counters.timeouts.inc();
  }
  if (result.status == ExchangeStatus::Malformed) {
    ++stats_.malformed;
    counters.malformed.inc();
  }
  if (result.status == ExchangeStatus::Answered) {
    unresponsive_ = false;
    if (result.response->exception != 0) {
      ++stats_.exceptions;
      counters.exceptions.inc();
    }
    mark_online();
    if (stopped_) return;  // the sink stopped us: stop() completed a write in flight
  }
  const InFlight kind = in_flight_;
  in_flight_ = InFlight::None;
  if (kind == InFlight::Write) {
    write_done(std::move(write_in_flight_), result);
  } else if (kind == InFlight::Poll) {
    const PollJob job = poll_in_flight_;
    if (poll_done(job, result) && !stopped_) {
      // The next request (a queued write first) goes on the wire before the cycle's readings
      // are decoded and handed to the sink, so a write never waits for a cycle's delivery.
      pump();
      if (!stopped_) finish_poll(groups_[job.group]);
    }
  }
  pump();
}

bool ModbusClient::poll_done(PollJob job, const ExchangeResult& result) {
  Group& g = groups_[job.group];
  Answer& a = g.answers[job.read];
  switch (result.status) {
    case ExchangeStatus::Answered:
      a.ts_ms = wall_ms();
      if (result.response->exception != 0) {
        ++g.failed;
        a.outcome = Outcome::Exception;
        a.exception = result.response->exception;
      } else {
        a.outcome = Outcome::Ok;
        a.registers.assign(result.response->registers.begin(), result.response->registers.end());
        a.bits.assign(result.response->bits.begin(), result.response->bits.end());
      }
      break;
    case ExchangeStatus::Timeout:
    case ExchangeStatus::Malformed:
      if (!unresponsive_ && job.attempts < options_.retries) {
        ++job.attempts;  // again, ahead of the rest of the queue
        ++stats_.retries;
        modbus_counters().retries.inc();
        if (polls_head_ > 0) {
          polls_[--polls_head_] = job;
        } else {
          polls_.insert(polls_.begin(), job);
        }
        return false;
      }
      ++g.failed;
      if (result.status == ExchangeStatus::Malformed) {
        a.outcome = Outcome::Malformed;
        a.ts_ms = wall_ms();
        a.reason.assign(result.reason);
        break;
      }
      if (!unresponsive_) {
        a.outcome = Outcome::Timeout;
        a.ts_ms = wall_ms();
        unresponsive_ = true;
        for (Group& other : groups_) other.probed = true;  // the rest of the cycles: skipped
        mark_offline("timeout after " + std::to_string(job.attempts + 1) + " tries");
        if (stopped_) return false;
      }
      break;
    case ExchangeStatus::Offline:
      ++g.failed;  // not reported: the device is offline
      break;
  }
  return true;
}

void ModbusClient::decode(const Group& g, std::vector<Reading>& out) const {
  const auto& points = ctx_.profile->points;
  for (size_t i = 0; i < g.plan.size(); ++i) {
    const Answer& a = g.answers[i];
    if (a.outcome == Outcome::None) continue;
    const PlannedRead& read = g.plan[i];
    const bool bits = is_bit_table(read.table);
    std::string bad;  // the reason of every point of a failed read
    if (a.outcome == Outcome::Exception) bad = exception_text(a.exception);
    if (a.outcome == Outcome::Timeout) bad = "timeout";
    if (a.outcome == Outcome::Malformed) bad = a.reason;
    for (const PlannedRead::Slot& slot : read.slots) {
      Reading& r = out.emplace_back();
      r.point = slot.point;
      r.ts_ms = a.ts_ms;
      if (a.outcome != Outcome::Ok) {
        r.quality = Quality::Bad;
        r.reason = bad;
        continue;
      }
      const uint16_t span = spans_[slot.point];
      if (bits) {
        if (slot.offset < a.bits.size()) {
          r.value = a.bits[slot.offset] != 0;
          continue;
        }
      } else if (static_cast<size_t>(slot.offset) + span <= a.registers.size()) {
        r.value =
            decode_registers(points[slot.point], addrs_[slot.point],
                             std::span<const uint16_t>(a.registers.data() + slot.offset, span));
        continue;
      }
      r.quality = Quality::Bad;  // decode_response checks counts; this guards a short answer
      r.reason = "short response";
    }
  }
}

void ModbusClient::finish_poll(Group& g) {
  if (g.outstanding == 0 || --g.outstanding > 0) return;
  g.running = false;
  // One scratch vector per loop thread, reused by every client on it; a sink that ends another
  // cycle from inside on_readings (none does today) gets a vector of its own.
  thread_local std::vector<Reading> scratch;
  thread_local bool scratch_busy = false;
  std::vector<Reading> nested;
  const bool own = !scratch_busy;
  std::vector<Reading>& readings = own ? scratch : nested;
  readings.clear();
  decode(g, readings);
  if (!readings.empty()) {
    if (own) scratch_busy = true;
    ctx_.sink->on_readings(readings);
    if (own) {
      scratch_busy = false;
      readings.clear();  // values (strings) go now; the buffer stays for the next cycle
    }
    if (stopped_) return;
  }
  if (g.sent > 0) ctx_.sink->on_poll(monotonic_us() - g.started_us, g.sent, g.failed);
}

void ModbusClient::write_done(WriteJob job, const ExchangeResult& result) {
  switch (result.status) {
    case ExchangeStatus::Answered:
      if (result.response->exception != 0) {
        job.done(unexpected(Error{exception_text(result.response->exception)}));
      } else {
        job.done({});
      }
      return;
    case ExchangeStatus::Timeout:
    case ExchangeStatus::Malformed:
      if (!unresponsive_ && job.attempts < options_.retries) {
        ++job.attempts;
        ++stats_.retries;
        modbus_counters().retries.inc();
        writes_.push_front(std::move(job));
        return;
      }
      job.done(unexpected(Error{result.status == ExchangeStatus::Timeout
                                    ? "timeout after " + std::to_string(job.attempts + 1) + " tries"
                                    : std::string(result.reason)}));
      return;
    case ExchangeStatus::Offline:
      job.done(unexpected(Error{"device offline: " + std::string(result.reason)}));
      return;
  }
}

void ModbusClient::fail_queued(std::string_view reason) {
  while (!writes_.empty()) {
    WriteJob job = std::move(writes_.front());
    writes_.pop_front();
    job.done(unexpected(Error{"device offline: " + std::string(reason)}));
    if (stopped_) return;
  }
  while (polls_head_ < polls_.size()) {
    Group& g = groups_[polls_[polls_head_++].group];
    ++g.failed;
    finish_poll(g);
    if (stopped_) return;
  }
}

Result<Request> ModbusClient::write_request(uint32_t point, const Value& raw) const {
  const auto& points = ctx_.profile->points;
  if (point >= points.size() || !valid_[point]) {
    return unexpected(Error{"no such point: " + std::to_string(point)});
  }
  const PointSpec& p = points[point];
  const PointAddress& a = addrs_[point];
  if (a.table == Table::Coil) {
    if (!raw.is_bool() && !raw.is_int()) {
      return unexpected(Error{p.name + ": a coil takes true or false"});
    }
    const uint8_t bit = raw.is_bool() ? raw.as_bool() : raw.as_int() != 0;
    return write_coils_request(a.offset, std::span<const uint8_t>(&bit, 1),
                               options_.force_multiple_write);
  }
  if (a.table != Table::HoldingRegister) {
    return unexpected(Error{p.name + ": " + table_name(a.table) + " points are read-only"});
  }
  if (a.bit >= 0) {
    return unexpected(Error{p.name + ": writing one bit of a holding register is not supported"});
  }
  auto regs = encode_registers(p, raw);
  if (!regs) return unexpected(Error{p.name + ": " + regs.error().message});
  return write_registers_request(a.offset, *regs, options_.force_multiple_write);
}

void ModbusClient::write(uint32_t point, const Value& raw, WriteDone done) {
  if (stopped_) return done(unexpected(Error{"adapter stopped"}));
  auto req = write_request(point, raw);
  if (!req) return fail_write_soon(std::move(done), req.error().message);
  if (link_state_ == LinkState::Down) {
    return fail_write_soon(std::move(done), "device offline: " + link_reason_);
  }
  writes_.push_back(WriteJob{std::move(*req), std::move(done), 0});
  pump();
}

void ModbusClient::fail_write_soon(WriteDone done, std::string message) {
  // Never from inside write(): the caller may hold state it is changing.
  deferred_.emplace_back(std::move(done), std::move(message));
  if (deferred_scheduled_) return;
  deferred_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  ctx_.loop->next_iteration([this, alive] {
    if (!alive.expired()) flush_deferred();
  });
}

void ModbusClient::flush_deferred() {
  deferred_scheduled_ = false;
  auto deferred = std::move(deferred_);
  deferred_.clear();
  for (auto& [done, message] : deferred) done(unexpected(Error{std::move(message)}));
}

void ModbusClient::mark_online() {
  if (reported_ == Reported::Online) return;
  reported_ = Reported::Online;
  ctx_.sink->on_link(true, "");
}

void ModbusClient::mark_offline(std::string_view reason) {
  if (reported_ == Reported::Offline) return;
  reported_ = Reported::Offline;
  ctx_.sink->on_link(false, reason);
}

void ModbusClient::stop() {
  if (stopped_) return;
  stopped_ = true;
  *alive_ = false;
  alive_.reset();
  if (started_) link_->detach();
  for (Group& g : groups_) {
    if (timers_ && g.timer != 0) timers_->cancel(g.timer);
    g.timer = 0;
  }
  timers_.reset();
  std::vector<WriteDone> pending;
  if (in_flight_ == InFlight::Write) pending.push_back(std::move(write_in_flight_.done));
  in_flight_ = InFlight::None;
  for (WriteJob& w : writes_) pending.push_back(std::move(w.done));
  writes_.clear();
  polls_.clear();
  polls_head_ = 0;
  for (WriteDone& done : pending) done(unexpected(Error{"adapter stopped"}));
  flush_deferred();
}

}  // namespace verge::devices::modbus
