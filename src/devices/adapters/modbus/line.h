// What TCP and RTU transports have in common: one request on the wire at a time, a queue of
// users waiting their turn (one device on TCP, every unit on a serial line), the response
// timeout, decoding and checking the answer, and reopening the transport with jittered
// exponential back-off. Subclasses only open, frame, write and read.
//
// Loop thread only. A subclass must call shutdown() in its destructor.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "devices/adapters/modbus/link.h"
#include "devices/adapters/modbus/pdu.h"
#include "net/event_loop.h"
#include "net/timer_queue.h"

namespace verge::devices::modbus {

struct LineOptions {
  int64_t timeout_ms = 1000;        // per request, from the write to the complete answer
  int64_t backoff_max_ms = 30'000;  // reopen delays double from 100 ms up to this
  std::string name;                 // for logs: "127.0.0.1:502", "/dev/ttyUSB0"
};

class Line {
 public:
  Line(net::EventLoop& loop, LineOptions options);
  virtual ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;

  // The first user opens the transport; the last one closes it.
  void attach(LinkUser* user);
  void detach(LinkUser* user);
  void send(LinkUser* user, uint8_t unit, const Request& req, bool urgent);

  const LineOptions& options() const { return options_; }
  net::EventLoop& loop() { return loop_; }

 protected:
  // Starts opening the transport; the subclass then calls opened() or failed().
  virtual void open() = 0;
  // Closes the transport now; no opened()/failed()/answered() may follow for it.
  virtual void close() = 0;
  // Frames `pdu` for `unit` and writes it. An error means the transport is lost.
  virtual Result<void> transmit(uint8_t unit, std::string_view pdu) = 0;
  // True when bytes of an abandoned exchange may still arrive and only a new connection gets
  // rid of them (TCP). A serial line instead drops what it holds before each request.
  virtual bool reopen_after_error() const = 0;
  // Silence the wire needs between an answer and the next request (RTU: 3.5 characters).
  virtual int64_t gap_us() const { return 0; }

  void opened();
  // The open failed or the transport was lost. `may_reopen_quietly` false: the device misbehaved,
  // so the reopen waits for the back-off even after a working, idle connection.
  void failed(std::string reason, bool may_reopen_quietly = true);
  // A complete frame for the request in flight (the subclass checked framing, unit and id).
  void answered(std::string_view pdu);
  void malformed(std::string reason);

  bool in_flight() const { return in_flight_ != nullptr; }
  const Request* in_flight_request() const;
  uint8_t in_flight_unit() const;
  net::TimerQueue& timers() { return *timers_; }
  // Closes and cancels everything; users get no further callback.
  void shutdown();

 private:
  enum class State : uint8_t { Closed, Opening, Up, Down };
  struct Slot {
    LinkUser* user = nullptr;  // null once detached (an abandoned request still in flight)
    uint8_t unit = 0;
    bool queued = false;
    Request req;
  };

  Slot* find(LinkUser* user) const;
  void pump();
  void finish(const ExchangeResult& result);
  void error_exchange(ExchangeStatus status, std::string reason);
  void fail_all(std::string_view reason);
  void schedule_reopen();
  void start_open();
  void notify_soon();
  void flush_notices();
  int64_t backoff_ms();

  net::EventLoop& loop_;
  LineOptions options_;
  std::shared_ptr<net::TimerQueue> timers_;  // the loop's (loop_timers.h)
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  State state_ = State::Closed;
  std::string down_reason_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::deque<Slot*> waiting_;
  Slot* in_flight_ = nullptr;
  std::unique_ptr<Slot> orphan_;  // the detached user's request still on the wire
  std::string pdu_;               // reused encode buffer
  net::TimerQueue::Id timeout_timer_ = 0;
  net::TimerQueue::Id reopen_timer_ = 0;
  net::TimerQueue::Id gap_timer_ = 0;
  int64_t quiet_until_us_ = 0;  // the wire must stay silent until then (monotonic)
  unsigned failures_ = 0;       // consecutive open failures and losses, for the back-off
  bool answered_since_open_ = false;
  bool opened_once_ = false;  // a later open is a reconnect (counted)
  // Users to tell something outside their own call: state on attach, Offline on send while down.
  struct Notice {
    LinkUser* user;
    bool state_only;
  };
  std::vector<Notice> notices_;
  bool notice_scheduled_ = false;
  bool open_scheduled_ = false;
};

int64_t monotonic_us();

}  // namespace verge::devices::modbus
