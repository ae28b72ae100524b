// DeviceManager: desired values and the command queue, rule writes, ingest, metrics, and the
// ticker that times out writes, expires queued commands and answers waiters.
#include <chrono>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "devices/manager.h"
#include "devices/manager_impl.h"
#include "devices/point_value.h"
#include "rules/bus.h"

namespace verge::devices {

namespace {

using Impl = DeviceManager::Impl;

Unexpected<DeviceError> err(DeviceErrorCode code, std::string msg) {
  return unexpected(DeviceError{code, std::move(msg)});
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

constexpr size_t kMaxIngestErrors = 20;

DeviceResult<void> set_desired_impl(Impl& m, std::string_view id, const Value& values,
                                    int64_t ttl_ms, int64_t wait_ms, std::string_view source,
                                    DeviceManager::DesiredDone done) {
  auto device = m.find_device(id);
  if (!device) return err(DeviceErrorCode::NotFound, "no device " + quoted(id));
  if (!values.is_object() || values.as_object().empty()) {
    return err(DeviceErrorCode::Invalid, "values: expected an object of point: value");
  }
  if (values.as_object().size() > 1000) {
    return err(DeviceErrorCode::Invalid, "values: more than 1000 points");
  }
  if (ttl_ms <= 0) ttl_ms = m.options.default_command_ttl_ms;
  auto index = device->index();
  const int64_t now = wall_ms();
  std::vector<std::shared_ptr<Command>> cmds;
  for (const auto& [point, value] : values.as_object()) {
    uint32_t i = 0;
    const PointSpec* spec = index->find(point, i);
    if (spec == nullptr) {
      return err(
          DeviceErrorCode::Invalid,
          "point " + quoted(point) + ": no such point in profile " + quoted(index->profile->name));
    }
    if (spec->access == Access::Read) {
      return err(DeviceErrorCode::Invalid, "point " + quoted(point) + ": read-only (access r)");
    }
    auto raw = engineering_to_raw(*spec, index->cal(i), value);
    if (!raw)
      return err(DeviceErrorCode::Invalid, "point " + quoted(point) + ": " + raw.error().message);
    auto cmd = std::make_shared<Command>();
    cmd->device = std::string(id);
    cmd->point = point;
    cmd->point_index = i;
    cmd->value = value;
    cmd->raw = std::move(*raw);
    cmd->source = std::string(source);
    cmd->created_ms = cmd->updated_ms = now;
    cmd->expires_ms = now + ttl_ms;
    cmds.push_back(std::move(cmd));
  }
  auto waiter =
      std::make_shared<Waiter>(cmds.size(), wait_ms < 0 ? -1 : now + wait_ms, std::move(done));
  for (size_t slot = 0; slot < cmds.size(); ++slot) {
    auto& cmd = cmds[slot];
    cmd->id = m.next_command_id.fetch_add(1);
    cmd->waiter = waiter;
    cmd->waiter_slot = slot;
  }
  // One transaction: a failure leaves none of the call's commands queued for a later start.
  // Synced only when they will wait (device offline): a write that goes out at once must not
  // wait for a disk flush (p99 of fdatasync here: ~27 ms, the write's whole budget is 20 ms).
  if (m.store) {
    if (auto r = m.store->insert_commands(cmds, !device->online()); !r) {
      return err(DeviceErrorCode::Internal, "cannot store the command: " + r.error().message);
    }
  }
  if (wait_ms > 0) {
    std::lock_guard lock(m.waiters_mu);
    m.waiters.push_back(waiter);
  }
  for (auto& cmd : cmds) device->enqueue(cmd);
  if (wait_ms == 0) waiter->expire(now);
  return {};
}

}  // namespace

DeviceResult<void> DeviceManager::set_desired(std::string_view id, const Value& values,
                                              int64_t ttl_ms, int64_t wait_ms, DesiredDone done) {
  auto r = set_desired_impl(*impl_, id, values, ttl_ms, wait_ms, "rest", std::move(done));
  if (!r) impl_->services.counters.desired_rejected.fetch_add(1, std::memory_order_relaxed);
  return r;
}

void DeviceManager::write(rules::DeviceWrite cmd, Done done) {
  ValueObject values;
  values.emplace_back(cmd.point, std::move(cmd.value));
  // No wait limit: the answer comes when the command is final (applied, failed, timed out, or
  // expired after its TTL while the device is unreachable).
  auto shared_done = std::make_shared<Done>(std::move(done));
  auto r =
      set_desired_impl(*impl_, cmd.device, Value(std::move(values)), cmd.ttl_ms, -1, "rule",
                       [shared_done](Value results) {
                         const Value* first = results.at(0);
                         const Value* status = first ? first->find("status") : nullptr;
                         if (status && status->is_string() && status->as_string() == "applied") {
                           (*shared_done)({});
                           return;
                         }
                         const Value* error = first ? first->find("error") : nullptr;
                         std::string why = status && status->is_string() ? status->as_string()
                                                                         : std::string("failed");
                         if (error && error->is_string()) why += ": " + error->as_string();
                         (*shared_done)(unexpected(Error{std::move(why)}));
                       });
  if (!r) {
    impl_->services.counters.desired_rejected.fetch_add(1, std::memory_order_relaxed);
    (*shared_done)(unexpected(Error{r.error().message}));
  }
}

void Impl::on_desired_set(std::string_view topic, std::string_view payload) {
  // verge/devices/<id>/desired/set
  constexpr std::string_view kPrefix = "verge/devices/";
  constexpr std::string_view kSuffix = "/desired/set";
  if (!topic.starts_with(kPrefix) || !topic.ends_with(kSuffix)) return;
  const std::string_view id =
      topic.substr(kPrefix.size(), topic.size() - kPrefix.size() - kSuffix.size());
  auto doc = parse_json(payload);
  DeviceResult<void> r = doc ? set_desired_impl(*this, id, *doc, 0, -1, "mqtt", nullptr)
                             : DeviceResult<void>(err(DeviceErrorCode::Invalid,
                                                      "invalid JSON: " + doc.error().message));
  if (r) return;
  services.counters.desired_rejected.fetch_add(1, std::memory_order_relaxed);
  log_warn("desired value refused", {{"device", std::string(id)}, {"error", r.error().message}});
  if (services.bus != nullptr && r.error().code != DeviceErrorCode::NotFound) {
    ValueObject o;
    o.emplace_back("device", std::string(id));
    o.emplace_back("status", "rejected");
    o.emplace_back("error", r.error().message);
    services.bus->publish("verge/devices/" + std::string(id) + "/commands",
                          Value(std::move(o)).to_json(), 0, false);
  }
}

void Impl::load_open_commands() {
  if (!store) return;
  std::vector<std::shared_ptr<Device>> all;
  {
    std::lock_guard lock(mu);
    for (auto& [id, entry] : devices) all.push_back(entry.device);
  }
  for (auto& d : all) {
    auto recent = store->recent_commands(d->id(), 50);
    if (!recent) {
      log_warn("cannot read a device's commands",
               {{"device", d->id()}, {"error", recent.error().message}});
      continue;
    }
    d->seed_history(std::vector<Command>(recent->rbegin(), recent->rend()));
  }
  auto open = store->open_commands();
  if (!open) {
    log_error("cannot read queued device commands", {{"error", open.error().message}});
    return;
  }
  const int64_t now = wall_ms();
  size_t queued = 0;
  for (auto& c : *open) {
    auto cmd = std::make_shared<Command>(std::move(c));
    auto device = find_device(cmd->device);
    std::string why;
    if (!device) {
      why = "device no longer exists";
    } else {
      auto index = device->index();
      uint32_t i = 0;
      const PointSpec* spec = index->find(cmd->point, i);
      if (spec == nullptr || spec->access == Access::Read) {
        why = "point no longer writable";
      } else if (auto raw = engineering_to_raw(*spec, index->cal(i), cmd->value); !raw) {
        why = raw.error().message;
      } else {
        cmd->point_index = i;
        cmd->raw = std::move(*raw);
      }
    }
    if (why.empty() && now >= cmd->expires_ms) {
      cmd->status = CommandStatus::Expired;
      why = "device unreachable until the TTL passed";
    } else if (!why.empty()) {
      cmd->status = CommandStatus::Failed;
    }
    if (!why.empty()) {
      cmd->error = why;
      cmd->updated_ms = now;
      if (auto r = store->update_command(*cmd); !r) {
        log_warn("cannot store a command's result", {{"error", r.error().message}});
      }
      continue;
    }
    cmd->status = CommandStatus::Queued;
    device->enqueue(cmd);
    ++queued;
  }
  if (queued > 0) log_info("device commands reloaded", {{"queued", queued}});
}

void Impl::run_ticker() {
  std::unique_lock lock(ticker_mu);
  // create() pruned at start; then hourly, here rather than on a loop thread (it writes meta.db).
  int64_t next_prune = wall_ms() + kPruneEveryMs;
  while (!ticker_stop) {
    ticker_cv.wait_for(lock, std::chrono::milliseconds(20));
    if (ticker_stop) break;
    lock.unlock();
    const int64_t now = wall_ms();
    if (now >= next_prune && store) {
      next_prune = now + kPruneEveryMs;
      if (auto r = store->prune_commands(now - kKeepCommandsMs, kKeepCommandsPerDevice); !r) {
        log_warn("cannot prune old device commands", {{"error", r.error().message}});
      }
    }
    std::vector<std::shared_ptr<Device>> busy;
    {
      std::lock_guard devices_lock(mu);
      for (auto& [id, entry] : devices) {
        if (entry.device->has_commands()) busy.push_back(entry.device);
      }
    }
    for (auto& d : busy) d->check_deadlines(now);
    std::vector<std::shared_ptr<Waiter>> due;
    {
      std::lock_guard waiters_lock(waiters_mu);
      std::erase_if(waiters, [&](const std::weak_ptr<Waiter>& w) {
        auto sp = w.lock();
        if (!sp) return true;
        if (sp->deadline_ms() >= 0 && now >= sp->deadline_ms()) {
          due.push_back(std::move(sp));
          return true;
        }
        return false;
      });
    }
    for (auto& w : due) w->expire(now);  // outside the lock: the answer may take a while
    lock.lock();
  }
}

IngestResult DeviceManager::ingest(std::string_view protocol,
                                   std::span<const NamedReading> readings) {
  Impl& m = *impl_;
  IngestResult result;
  auto reject = [&](std::string why) {
    ++result.rejected;
    if (result.errors.size() < kMaxIngestErrors) result.errors.push_back(std::move(why));
  };
  thread_local std::vector<Reading> batch;
  std::shared_ptr<Device> device;
  std::shared_ptr<const Device::PointIndex> index;
  std::string_view device_id;
  bool device_ok = false;
  auto flush = [&] {
    if (device && !batch.empty()) device->on_readings(batch);
    batch.clear();
  };
  const int64_t now = wall_ms();
  for (const NamedReading& nr : readings) {
    if (!device || nr.device != device_id) {
      flush();
      device_id = nr.device;
      device = m.find_device(nr.device);
      device_ok = false;
      if (!device) {
        reject("device " + quoted(nr.device) + ": unknown device");
        continue;
      }
      index = device->index();
      if (index->profile->protocol != protocol) {
        reject("device " + quoted(nr.device) + ": its protocol is " +
               quoted(index->profile->protocol) + ", not " + quoted(protocol));
        continue;
      }
      device_ok = true;
    } else if (!device_ok) {
      reject("device " + quoted(nr.device) + ": refused (see the first error)");
      continue;
    }
    uint32_t i = 0;
    const PointSpec* spec = index->find(nr.point, i);
    if (spec == nullptr) {
      reject("device " + quoted(nr.device) + ": unknown point " + quoted(nr.point));
      continue;
    }
    Reading r;
    r.point = i;
    r.ts_ms = nr.ts_ms != 0 ? nr.ts_ms : now;
    r.quality = nr.quality;
    r.reason = nr.reason;
    if (!nr.value.is_null() || nr.quality == Quality::Good) {
      auto v = to_point_type(*spec, nr.value);
      if (!v) {
        reject("device " + quoted(nr.device) + " point " + quoted(nr.point) + ": " +
               v.error().message);
        continue;
      }
      r.value = std::move(*v);
    }
    batch.push_back(std::move(r));
    ++result.accepted;
  }
  flush();
  if (result.rejected > 0) {
    m.services.counters.ingest_rejected.fetch_add(result.rejected, std::memory_order_relaxed);
  }
  return result;
}

void DeviceManager::register_metrics(metrics::Registry& registry) {
  Impl& m = *impl_;
  registry.add_collector([&m](metrics::Exposition& e) {
    const auto& c = m.services.counters;
    auto n = [](const std::atomic<uint64_t>& a) {
      return static_cast<double>(a.load(std::memory_order_relaxed));
    };
    e.counter("verge_device_points_total", "Point readings received from devices", {}, n(c.points));
    e.counter("verge_device_points_reported_total",
              "Point readings published (after report-on-change and deadband)", {}, n(c.reported));
    e.counter("verge_device_messages_total", "Data messages published on verge/devices/+/data", {},
              n(c.messages));
    e.counter("verge_device_polls_total", "Poll cycles of polling adapters", {}, n(c.polls));
    e.counter("verge_device_poll_errors_total", "Requests of poll cycles that failed", {},
              n(c.poll_errors));
    static constexpr const char* kResults[] = {"applied", "failed", "timeout", "expired",
                                               "superseded"};
    for (size_t i = 0; i < 5; ++i) {
      e.counter("verge_device_writes_total", "Commands (desired values) by final result",
                {{"result", kResults[i]}}, n(c.writes[i]));
    }
    e.counter("verge_device_desired_rejected_total", "Desired values refused (validation)", {},
              n(c.desired_rejected));
    e.counter("verge_device_ingest_rejected_total", "Pushed readings refused", {},
              n(c.ingest_rejected));
    e.counter("verge_device_history_errors_total", "Readings the time-series store refused", {},
              n(c.history_errors));
    size_t online = 0, total = 0, queued = 0;
    {
      std::lock_guard lock(m.mu);
      for (const auto& [id, entry] : m.devices) {
        ++total;
        if (entry.device->online()) ++online;
        if (entry.device->has_commands()) ++queued;
      }
    }
    e.gauge("verge_devices", "Devices declared", {}, static_cast<double>(total));
    e.gauge("verge_devices_online", "Devices online", {}, static_cast<double>(online));
    e.gauge("verge_devices_with_commands", "Devices with queued or unanswered commands", {},
            static_cast<double>(queued));
  });
}

}  // namespace verge::devices
