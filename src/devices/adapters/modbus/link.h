// The seam between a Modbus device's request scheduler (client.h) and the wire it talks over:
// a TCP connection of its own, or its share of a serial line (RTU). The client decides what to
// ask and when; the link carries one request at a time, times it out, frames and checks the
// answer, and (re)opens the transport.
#pragma once

#include <cstdint>
#include <string_view>

#include "devices/adapters/modbus/pdu.h"

namespace verge::devices::modbus {

enum class ExchangeStatus : uint8_t {
  Answered,   // `response` holds the decoded answer (possibly an exception)
  Timeout,    // no complete answer within the timeout
  Malformed,  // bytes that are not the answer to the request (reason says what)
  Offline,    // the transport is down (reason says why); nothing was sent
};

struct ExchangeResult {
  ExchangeStatus status = ExchangeStatus::Answered;
  const Response* response = nullptr;  // Answered only
  std::string_view reason;             // empty for Answered
};

// What a link calls back. Always on the user's loop thread, never from inside a call the user
// made into the link (so the user may send again from a callback).
class LinkUser {
 public:
  // The transport went up (requests can go out) or down (every request fails at once with
  // Offline until it is up again; the link reopens it with back-off by itself).
  virtual void on_link_state(bool up, std::string_view reason) = 0;
  // The outcome of the one request the user has outstanding.
  virtual void on_exchange(const ExchangeResult& result) = 0;

 protected:
  ~LinkUser() = default;
};

// The client's handle on its transport. Loop thread of the client only.
class Link {
 public:
  virtual ~Link() = default;
  // Starts the transport (if it is not running for other users) and reports its state.
  virtual void attach(LinkUser* user) = 0;
  // No callback reaches the user once this returns; an outstanding request is abandoned.
  virtual void detach() = 0;
  // One request at a time per user: the next send only after its on_exchange. `urgent` (writes)
  // goes ahead of other users' queued requests on a shared line.
  virtual void send(uint8_t unit, const Request& req, bool urgent) = 0;
};

}  // namespace verge::devices::modbus
