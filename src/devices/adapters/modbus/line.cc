#include "devices/adapters/modbus/line.h"

#include <time.h>

#include <algorithm>
#include <random>

#include "core/log.h"
#include "devices/adapters/modbus/loop_timers.h"
#include "devices/adapters/modbus/modbus_counters.h"

namespace verge::devices::modbus {

namespace {

constexpr int64_t kFirstBackoffMs = 100;

}  // namespace

int64_t monotonic_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

Line::Line(net::EventLoop& loop, LineOptions options) : loop_(loop), options_(std::move(options)) {}

Line::~Line() = default;

void Line::shutdown() {
  *alive_ = false;
  if (state_ != State::Closed) close();
  state_ = State::Closed;
  if (timers_) {
    for (auto id : {timeout_timer_, reopen_timer_, gap_timer_}) {
      if (id != 0) timers_->cancel(id);
    }
  }
  timeout_timer_ = reopen_timer_ = gap_timer_ = 0;
  timers_.reset();
  slots_.clear();
  waiting_.clear();
  in_flight_ = nullptr;
  orphan_.reset();
  notices_.clear();
}

Line::Slot* Line::find(LinkUser* user) const {
  for (const auto& s : slots_) {
    if (s->user == user) return s.get();
  }
  return nullptr;
}

const Request* Line::in_flight_request() const {
  return in_flight_ != nullptr ? &in_flight_->req : nullptr;
}

uint8_t Line::in_flight_unit() const { return in_flight_ != nullptr ? in_flight_->unit : 0; }

void Line::attach(LinkUser* user) {
  // Created here, on the loop thread (a line may be constructed elsewhere).
  if (!timers_) timers_ = loop_timers(loop_);
  auto slot = std::make_unique<Slot>();
  slot->user = user;
  slots_.push_back(std::move(slot));
  if (state_ == State::Closed) {
    start_open();
  } else if (state_ != State::Opening) {
    notices_.push_back({user, true});
    notify_soon();
  }
}

void Line::detach(LinkUser* user) {
  auto it =
      std::find_if(slots_.begin(), slots_.end(), [user](const auto& s) { return s->user == user; });
  if (it == slots_.end()) return;
  Slot* slot = it->get();
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), slot), waiting_.end());
  std::erase_if(notices_, [user](const Notice& n) { return n.user == user; });
  if (slot == in_flight_) {
    slot->user = nullptr;  // its answer (or timeout) still occupies the wire
    orphan_ = std::move(*it);
  }
  slots_.erase(it);
  if (slots_.empty()) {
    if (state_ != State::Closed) close();
    state_ = State::Closed;
    if (timeout_timer_ != 0) timers_->cancel(timeout_timer_);
    if (reopen_timer_ != 0) timers_->cancel(reopen_timer_);
    if (gap_timer_ != 0) timers_->cancel(gap_timer_);
    timeout_timer_ = reopen_timer_ = gap_timer_ = 0;
    in_flight_ = nullptr;
    orphan_.reset();
    failures_ = 0;
  }
}

void Line::send(LinkUser* user, uint8_t unit, const Request& req, bool urgent) {
  Slot* slot = find(user);
  if (slot == nullptr || slot->queued || slot == in_flight_) return;  // contract broken: ignore
  slot->unit = unit;
  slot->req = req;
  if (state_ == State::Down) {
    notices_.push_back({user, false});
    notify_soon();
    return;
  }
  slot->queued = true;
  if (urgent) {
    waiting_.push_front(slot);
  } else {
    waiting_.push_back(slot);
  }
  pump();
}

void Line::notify_soon() {
  if (notice_scheduled_) return;
  notice_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  loop_.next_iteration([this, alive] {
    if (alive.expired() || !*alive.lock()) return;
    flush_notices();
  });
}

void Line::flush_notices() {
  notice_scheduled_ = false;
  std::vector<Notice> notices;
  notices.swap(notices_);
  for (const Notice& n : notices) {
    Slot* slot = find(n.user);
    if (slot == nullptr) continue;  // detached meanwhile
    if (n.state_only) {
      if (state_ == State::Up) n.user->on_link_state(true, "");
      if (state_ == State::Down) n.user->on_link_state(false, down_reason_);
      continue;
    }
    if (state_ == State::Down) {
      ExchangeResult r;
      r.status = ExchangeStatus::Offline;
      r.reason = down_reason_;
      n.user->on_exchange(r);
    } else if (!slot->queued && slot != in_flight_) {
      slot->queued = true;  // came back up meanwhile: send it after all
      waiting_.push_back(slot);
    }
  }
  pump();
}

void Line::start_open() {
  // Never inside a user's call: a transport may open (or fail) at once.
  state_ = State::Opening;
  if (open_scheduled_) return;
  open_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  loop_.next_iteration([this, alive] {
    if (alive.expired() || !*alive.lock()) return;
    open_scheduled_ = false;
    if (state_ == State::Opening) open();
  });
}

void Line::opened() {
  if (state_ != State::Opening) return;
  state_ = State::Up;
  if (opened_once_) modbus_counters().reconnects.inc();
  opened_once_ = true;
  answered_since_open_ = false;
  down_reason_.clear();
  // Copy: a user may detach from inside its callback.
  std::vector<LinkUser*> users;
  for (const auto& s : slots_) users.push_back(s->user);
  for (LinkUser* u : users) {
    if (find(u) != nullptr) u->on_link_state(true, "");
  }
  pump();
}

void Line::failed(std::string reason, bool may_reopen_quietly) {
  if (state_ == State::Closed || state_ == State::Down) return;
  if (may_reopen_quietly && state_ == State::Up && answered_since_open_ && in_flight_ == nullptr &&
      waiting_.empty() && reopen_after_error()) {
    // A working connection dropped while idle (devices close idle clients): reopen quietly; only
    // a failed reopen is news. A device that drops every connection unanswered gets no such
    // pass, so it cannot make us reconnect in a tight loop.
    log_debug("modbus connection closed while idle, reopening",
              {{"line", options_.name}, {"reason", reason}});
    close();
    start_open();
    return;
  }
  close();
  state_ = State::Down;
  if (failures_ == 0 || down_reason_ != reason) {
    log_warn("modbus link down", {{"line", options_.name}, {"reason", reason}});
  }
  down_reason_ = std::move(reason);
  ++failures_;
  schedule_reopen();
  fail_all(down_reason_);
}

void Line::fail_all(std::string_view reason) {
  if (timeout_timer_ != 0) timers_->cancel(timeout_timer_);
  timeout_timer_ = 0;
  std::vector<LinkUser*> to_fail;
  if (in_flight_ != nullptr && in_flight_->user != nullptr) to_fail.push_back(in_flight_->user);
  in_flight_ = nullptr;
  orphan_.reset();
  for (Slot* s : waiting_) {
    s->queued = false;
    to_fail.push_back(s->user);
  }
  waiting_.clear();
  const std::string why(reason);  // the callbacks may change down_reason_
  ExchangeResult r;
  r.status = ExchangeStatus::Offline;
  r.reason = why;
  for (LinkUser* u : to_fail) {
    if (find(u) != nullptr) u->on_exchange(r);
  }
  std::vector<LinkUser*> users;
  for (const auto& s : slots_) users.push_back(s->user);
  for (LinkUser* u : users) {
    if (find(u) != nullptr) u->on_link_state(false, why);
  }
}

int64_t Line::backoff_ms() {
  const unsigned shift = std::min(failures_ > 0 ? failures_ - 1 : 0u, 20u);
  const int64_t base =
      std::min(kFirstBackoffMs << shift, std::max<int64_t>(options_.backoff_max_ms, 1));
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(base) * jitter(rng)));
}

void Line::schedule_reopen() {
  if (reopen_timer_ != 0) timers_->cancel(reopen_timer_);
  reopen_timer_ = timers_->after(static_cast<uint64_t>(backoff_ms()), [this] {
    reopen_timer_ = 0;
    if (state_ == State::Down) start_open();
  });
}

void Line::pump() {
  if (state_ != State::Up || in_flight_ != nullptr || waiting_.empty() || gap_timer_ != 0) return;
  const int64_t now = monotonic_us();
  if (now < quiet_until_us_) {
    const auto wait_ms = static_cast<uint64_t>((quiet_until_us_ - now + 999) / 1000);
    gap_timer_ = timers_->after(wait_ms > 0 ? wait_ms - 1 : 0, [this] {
      gap_timer_ = 0;
      pump();
    });
    return;
  }
  Slot* slot = waiting_.front();
  waiting_.pop_front();
  slot->queued = false;
  in_flight_ = slot;
  pdu_.clear();
  encode_request(slot->req, pdu_);
  if (auto sent = transmit(slot->unit, pdu_); !sent) {
    // Never inside the caller's send(): the loss is reported from the next iteration.
    std::weak_ptr<bool> alive = alive_;
    loop_.next_iteration([this, alive, why = sent.error().message] {
      if (!alive.expired() && *alive.lock()) failed(why);
    });
    return;
  }
  timeout_timer_ = timers_->after(static_cast<uint64_t>(options_.timeout_ms), [this] {
    timeout_timer_ = 0;
    error_exchange(ExchangeStatus::Timeout, "timeout");
  });
}

void Line::answered(std::string_view pdu) {
  if (in_flight_ == nullptr) return;
  auto decoded = decode_response(pdu, in_flight_->req);
  if (!decoded) return malformed("malformed response: " + decoded.error().message);
  failures_ = 0;
  answered_since_open_ = true;
  ExchangeResult r;
  r.status = ExchangeStatus::Answered;
  r.response = &*decoded;
  finish(r);
}

void Line::malformed(std::string reason) {
  error_exchange(ExchangeStatus::Malformed, std::move(reason));
}

void Line::error_exchange(ExchangeStatus status, std::string reason) {
  if (in_flight_ == nullptr) return;
  if (reopen_after_error() && state_ == State::Up) {
    // Bytes of this exchange may still come and would be taken for the next answer.
    close();
    state_ = State::Opening;  // what the user sends from its callback waits for the reopen
    ExchangeResult r;
    r.status = status;
    r.reason = reason;
    finish(r);
    if (state_ == State::Opening) start_open();
    return;
  }
  ExchangeResult r;
  r.status = status;
  r.reason = reason;
  finish(r);
}

void Line::finish(const ExchangeResult& result) {
  if (timeout_timer_ != 0) timers_->cancel(timeout_timer_);
  timeout_timer_ = 0;
  Slot* slot = in_flight_;
  in_flight_ = nullptr;
  orphan_.reset();
  const int64_t gap = gap_us();
  if (gap > 0) quiet_until_us_ = monotonic_us() + gap;
  LinkUser* user = slot != nullptr && find(slot->user) == slot ? slot->user : nullptr;
  if (user != nullptr) user->on_exchange(result);
  pump();
}

}  // namespace verge::devices::modbus
