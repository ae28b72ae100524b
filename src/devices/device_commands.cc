// Device: the command queue (desired values written through the adapter, in order, one at a
// time; queued while offline until their TTL).
#include <chrono>

#include "core/clock.h"
#include "core/log.h"
#include "devices/device.h"
#include "devices/device_store.h"
#include "net/event_loop.h"
#include "rules/bus.h"

namespace verge::devices {

namespace {

constexpr size_t kRecent = 50;

}  // namespace

void Device::enqueue(std::shared_ptr<Command> cmd) {
  std::vector<Command> done;
  Command snapshot;
  {
    std::lock_guard lock(mu_);
    for (auto& old : queue_) {
      if (old->point == cmd->point) {
        finish_locked(old, CommandStatus::Superseded,
                      "superseded by command " + std::to_string(cmd->id), done);
      }
    }
    std::erase_if(queue_, [](const auto& c) { return is_final(c->status); });
    queue_.push_back(cmd);
    note_desired_locked(*cmd);
    snapshot = *cmd;
  }
  after_finish(done);
  if (snapshot.waiter) snapshot.waiter->set(snapshot.waiter_slot, snapshot);
  auto self = shared_from_this();
  loop_.post([self] { self->pump(); });
}

void Device::seed_history(const std::vector<Command>& finished) {
  std::lock_guard lock(mu_);
  for (const auto& c : finished) {
    if (!is_final(c.status)) continue;
    auto cmd = std::make_shared<Command>(c);
    note_desired_locked(*cmd);
    recent_.push_back(std::move(cmd));
    if (recent_.size() > kRecent) recent_.pop_front();
  }
}

bool Device::has_commands() const {
  std::lock_guard lock(mu_);
  return inflight_ != nullptr || !queue_.empty();
}

void Device::pump() {
  std::shared_ptr<Command> cmd;
  Command snapshot;
  {
    std::lock_guard lock(mu_);
    if (!online_ || !adapter_live_ || inflight_ || queue_.empty()) return;
    cmd = queue_.front();
    queue_.pop_front();
    inflight_ = cmd;
    cmd->status = CommandStatus::Sent;
    cmd->updated_ms = wall_ms();
    cmd->deadline_ms = cmd->updated_ms + services_.write_timeout_ms;
    note_desired_locked(*cmd);
    snapshot = *cmd;
  }
  if (snapshot.waiter) snapshot.waiter->set(snapshot.waiter_slot, snapshot);
  std::lock_guard life(life_mu_);
  if (!adapter_) {
    write_done(snapshot.id, unexpected(Error{"adapter stopped"}));
    return;
  }
  auto self = shared_from_this();
  adapter_->write(snapshot.point_index, snapshot.raw,
                  [self, id = snapshot.id](Result<void> r) { self->write_done(id, std::move(r)); });
}

void Device::write_done(int64_t command, Result<void> r) {
  std::vector<Command> done, requeued;
  {
    std::lock_guard lock(mu_);
    if (!inflight_ || inflight_->id != command) return;  // timed out before
    if (!r && requeue_writes_) {
      // Cut short by our own stop or replace, not refused by the device: retried later.
      requeue_inflight_locked(requeued);
    } else if (r) {
      finish_locked(inflight_, CommandStatus::Applied, "", done);
    } else {
      finish_locked(inflight_, CommandStatus::Failed, r.error().message, done);
    }
    inflight_.reset();
  }
  after_requeue(requeued);
  after_finish(done);
  // Not pump() directly: the adapter may call `done` from inside write().
  auto self = shared_from_this();
  loop_.post([self] { self->pump(); });
}

void Device::check_deadlines(int64_t now_ms) {
  std::vector<Command> done;
  bool timed_out = false;
  {
    std::lock_guard lock(mu_);
    if (inflight_ && now_ms >= inflight_->deadline_ms) {
      finish_locked(
          inflight_, CommandStatus::Timeout,
          "no answer from the device within " + std::to_string(services_.write_timeout_ms) + " ms",
          done);
      inflight_.reset();
      timed_out = true;
    }
    for (auto& cmd : queue_) {
      if (now_ms >= cmd->expires_ms) {
        finish_locked(cmd, CommandStatus::Expired, "device unreachable until the TTL passed", done);
      }
    }
    std::erase_if(queue_, [](const auto& c) { return is_final(c->status); });
  }
  after_finish(done);
  if (timed_out) {
    auto self = shared_from_this();
    loop_.post([self] { self->pump(); });
  }
}

void Device::note_desired_locked(const Command& cmd) {
  for (auto& d : desired_) {
    if (d.point != cmd.point) continue;
    // An older command finishing late must not overwrite a newer desired value.
    if (d.command > cmd.id) return;
    d = Desired{cmd.point, cmd.value, cmd.id, cmd.status, cmd.error, cmd.updated_ms};
    return;
  }
  desired_.push_back(Desired{cmd.point, cmd.value, cmd.id, cmd.status, cmd.error, cmd.updated_ms});
}

void Device::finish_locked(const std::shared_ptr<Command>& cmd, CommandStatus status,
                           std::string error, std::vector<Command>& done) {
  cmd->status = status;
  cmd->error = std::move(error);
  cmd->updated_ms = wall_ms();
  note_desired_locked(*cmd);
  recent_.push_back(cmd);
  if (recent_.size() > kRecent) recent_.pop_front();
  done.push_back(*cmd);
}

void Device::after_finish(const std::vector<Command>& done) {
  for (const auto& c : done) {
    const Command* cmd = &c;
    const size_t slot =
        static_cast<size_t>(cmd->status) - static_cast<size_t>(CommandStatus::Applied);
    services_.counters.writes[slot].fetch_add(1, std::memory_order_relaxed);
    if (services_.store != nullptr) {
      if (auto r = services_.store->update_command(*cmd); !r) {
        log_warn("cannot store a command's result",
                 {{"device", id_}, {"command", cmd->id}, {"error", r.error().message}});
      }
    }
    if (services_.bus != nullptr) {
      ValueObject o;
      o.emplace_back("device", id_);
      o.emplace_back("command", cmd->id);
      o.emplace_back("point", cmd->point);
      o.emplace_back("value", cmd->value);
      o.emplace_back("status", command_status_name(cmd->status));
      if (!cmd->error.empty()) o.emplace_back("error", cmd->error);
      o.emplace_back("source", cmd->source);
      o.emplace_back("ts", cmd->updated_ms);
      services_.bus->publish(commands_topic_, Value(std::move(o)).to_json(), 0, false);
    }
    if (cmd->waiter) cmd->waiter->set(cmd->waiter_slot, *cmd);
  }
}

}  // namespace verge::devices
