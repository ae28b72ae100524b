// Commands: one desired value for one point, from REST, MQTT (desired/set) or a rule, and the
// waiter that answers the call that made them once they are final (or its wait passed).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/value.h"

namespace verge::devices {

// Queued (waiting for the device), Sent (written, no answer yet); the rest are final.
enum class CommandStatus : uint8_t { Queued, Sent, Applied, Failed, Timeout, Expired, Superseded };
const char* command_status_name(CommandStatus s);  // "queued", "sent", "applied", ...
std::optional<CommandStatus> parse_command_status(std::string_view s);
inline bool is_final(CommandStatus s) { return s >= CommandStatus::Applied; }

class Waiter;

struct Command {
  int64_t id = 0;
  std::string device;
  std::string point;
  uint32_t point_index = 0;
  Value value;  // as requested (engineering units)
  Value raw;    // of the point's type, calibration undone
  CommandStatus status = CommandStatus::Queued;
  std::string error;
  std::string source;  // "rest", "mqtt", "rule"
  int64_t created_ms = 0;
  int64_t expires_ms = 0;   // a queued command expires then
  int64_t updated_ms = 0;   // last status change
  int64_t deadline_ms = 0;  // Sent: the write times out then
  std::shared_ptr<Waiter> waiter;
  size_t waiter_slot = 0;

  // {"command", "point", "value", "status", "error"?, "created_ms", "updated_ms"}
  Value to_value() const;
};

// Collects the results of one set_desired call and answers once: when every command is final,
// or at the deadline with what is known then. Thread-safe.
class Waiter {
 public:
  using Done = std::function<void(Value results)>;
  Waiter(size_t commands, int64_t deadline_ms, Done done);

  // A status change of the command in `slot`: a copy made under the device lock (the command
  // itself changes on other threads). Ignored once the slot is final.
  void set(size_t slot, const Command& cmd);
  // At the deadline: answers with the current statuses. True when answered now or before.
  bool expire(int64_t now_ms);
  int64_t deadline_ms() const { return deadline_ms_; }

 private:
  void answer(std::unique_lock<std::mutex>& lock);

  std::mutex mu_;
  std::vector<Value> results_;  // one {point, command, status, error?} per command
  std::vector<bool> final_;
  size_t remaining_;
  int64_t deadline_ms_;  // < 0: no deadline
  Done done_;
  bool answered_ = false;
};

}  // namespace verge::devices
