#include "devices/command.h"

#include <array>
#include <utility>

namespace verge::devices {

namespace {

constexpr std::array<const char*, 7> kStatusNames = {"queued",  "sent",    "applied",   "failed",
                                                     "timeout", "expired", "superseded"};

Value result_of(const Command& cmd) {
  ValueObject o;
  o.emplace_back("point", cmd.point);
  o.emplace_back("command", cmd.id);
  o.emplace_back("status", command_status_name(cmd.status));
  if (!cmd.error.empty()) o.emplace_back("error", cmd.error);
  return o;
}

}  // namespace

const char* command_status_name(CommandStatus s) { return kStatusNames[static_cast<size_t>(s)]; }

std::optional<CommandStatus> parse_command_status(std::string_view s) {
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    if (s == kStatusNames[i]) return static_cast<CommandStatus>(i);
  }
  return std::nullopt;
}

Value Command::to_value() const {
  ValueObject o;
  o.emplace_back("command", id);
  o.emplace_back("point", point);
  o.emplace_back("value", value);
  o.emplace_back("status", command_status_name(status));
  if (!error.empty()) o.emplace_back("error", error);
  o.emplace_back("source", source);
  o.emplace_back("created_ms", created_ms);
  o.emplace_back("expires_ms", expires_ms);
  o.emplace_back("updated_ms", updated_ms);
  return o;
}

Waiter::Waiter(size_t commands, int64_t deadline_ms, Done done)
    : results_(commands),
      final_(commands, false),
      remaining_(commands),
      deadline_ms_(deadline_ms),
      done_(std::move(done)) {}

void Waiter::set(size_t slot, const Command& cmd) {
  std::unique_lock lock(mu_);
  // Once final, a slot keeps its result: a late 'sent' or 'queued' must not overwrite 'applied'.
  if (slot >= results_.size() || final_[slot]) return;
  results_[slot] = result_of(cmd);
  if (is_final(cmd.status) && !final_[slot]) {
    final_[slot] = true;
    --remaining_;
  }
  if (remaining_ == 0) answer(lock);
}

bool Waiter::expire(int64_t now_ms) {
  std::unique_lock lock(mu_);
  if (answered_) return true;
  if (deadline_ms_ < 0 || now_ms < deadline_ms_) return false;
  answer(lock);
  return true;
}

void Waiter::answer(std::unique_lock<std::mutex>& lock) {
  if (answered_) return;
  answered_ = true;
  Done done = std::move(done_);
  Value results = ValueArray(results_);
  lock.unlock();
  if (done) done(std::move(results));
}

}  // namespace verge::devices
