// DeviceManager: profiles and devices (YAML and REST, persisted in meta.db), their lifecycle on
// the loops, and the documents REST shows. Commands and ingest are in manager_commands.cc.
#include "devices/manager.h"

#include <chrono>
#include <future>

#include "core/clock.h"
#include "core/log.h"
#include "devices/manager_impl.h"
#include "devices/profile.h"
#include "net/loop_group.h"
#include "rules/bus.h"

namespace verge::devices {

namespace {

using Impl = DeviceManager::Impl;

Unexpected<DeviceError> err(DeviceErrorCode code, std::string msg) {
  return unexpected(DeviceError{code, std::move(msg)});
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// The document as given plus what the node adds.
Value with_members(const Value& source, ValueObject extra) {
  ValueObject o;
  if (source.is_object()) o = source.as_object();
  for (auto& m : extra) o.push_back(std::move(m));
  return o;
}

DeviceResult<void> put_profile_impl(Impl& m, const Value& doc, bool from_config, bool persist) {
  auto parsed = parse_profile(doc, *m.adapters);
  if (!parsed) return err(DeviceErrorCode::Invalid, parsed.error().message);
  auto profile = std::make_shared<const Profile>(std::move(*parsed));
  const AdapterFactory& factory = *m.adapters->find(profile->protocol);
  std::vector<std::shared_ptr<Device>> users;
  std::vector<std::shared_ptr<const DeviceSpec>> user_specs;
  {
    std::lock_guard lock(m.mu);
    auto it = m.profiles.find(profile->name);
    if (it != m.profiles.end() && it->second.from_config && !from_config) {
      return err(DeviceErrorCode::ReadOnly,
                 "profile " + quoted(profile->name) + " is declared in the node's configuration");
    }
    for (const auto& [id, entry] : m.devices) {
      const auto& spec = entry.spec;
      if (spec->profile != profile->name) continue;
      if (auto r = check_device_against(*spec, *profile); !r) {
        return err(DeviceErrorCode::Conflict, "device " + quoted(id) + ": " + r.error().message);
      }
      if (auto r = factory.check_connection(spec->connection); !r) {
        return err(DeviceErrorCode::Conflict,
                   "device " + quoted(id) + ": connection: " + r.error().message);
      }
      users.push_back(entry.device);
      user_specs.push_back(entry.spec);
    }
    if (persist && !from_config && m.store) {
      if (auto r = m.store->put_profile(profile->name, doc.to_json()); !r) {
        return err(DeviceErrorCode::Internal, "cannot store the profile: " + r.error().message);
      }
    }
    m.profiles[profile->name] = Impl::ProfileEntry{profile, from_config};
    // A device whose profile changed restarts with it, with its newest spec. Posted under mu, so
    // the replaces of one device reach its loop in the order of the puts.
    for (size_t i = 0; i < users.size(); ++i) users[i]->replace(factory, user_specs[i], profile);
  }
  return {};
}

DeviceResult<void> put_device_impl(Impl& m, const Value& doc, bool from_config, bool persist) {
  std::lock_guard lock(m.mu);
  auto parsed = parse_device(
      doc,
      [&m](std::string_view name) -> const Profile* {
        auto it = m.profiles.find(name);
        return it == m.profiles.end() ? nullptr : it->second.profile.get();
      },
      *m.adapters);
  if (!parsed) return err(DeviceErrorCode::Invalid, parsed.error().message);
  auto spec = std::make_shared<const DeviceSpec>(std::move(*parsed));
  auto profile = m.profiles.find(spec->profile)->second.profile;
  const AdapterFactory& factory = *m.adapters->find(profile->protocol);
  auto it = m.devices.find(spec->id);
  if (it != m.devices.end() && it->second.from_config && !from_config) {
    return err(DeviceErrorCode::ReadOnly,
               "device " + quoted(spec->id) + " is declared in the node's configuration");
  }
  if (m.options.loops == nullptr || m.options.loops->size() == 0) {
    return err(DeviceErrorCode::Internal, "no event loops for devices");
  }
  if (persist && !from_config && m.store) {
    if (auto r = m.store->put_device(spec->id, doc.to_json()); !r) {
      return err(DeviceErrorCode::Internal, "cannot store the device: " + r.error().message);
    }
  }
  if (it != m.devices.end()) {
    it->second.from_config = from_config;
    it->second.spec = spec;
    it->second.device->replace(factory, spec, profile);
    return {};
  }
  net::EventLoop& loop = m.options.loops->loop(m.next_loop++ % m.options.loops->size());
  auto device = std::make_shared<Device>(m.services, loop, factory, spec, profile);
  m.devices.emplace(spec->id, Impl::DeviceEntry{device, from_config, spec});
  {
    std::lock_guard live(m.live->mu);
    m.live->ids.insert(spec->id);
  }
  if (m.started && !m.stopped) device->start();
  return {};
}

}  // namespace

Result<std::unique_ptr<DeviceManager>> DeviceManager::create(DeviceManagerOptions options) {
  std::unique_ptr<DeviceManager> manager(new DeviceManager());
  manager->impl_ = std::make_unique<Impl>();
  Impl& m = *manager->impl_;
  m.options = std::move(options);
  m.adapters = m.options.adapters != nullptr ? m.options.adapters : &builtin_adapters();
  m.services.bus = m.options.bus;
  m.services.tsdb = m.options.tsdb;
  m.services.write_timeout_ms = m.options.write_timeout_ms;
  if (!m.options.meta_path.empty()) {
    auto store = DeviceStore::open(m.options.meta_path);
    if (!store) return unexpected(Error{"device store: " + store.error().message});
    m.store = std::move(*store);
    m.services.store = m.store.get();
    auto max_id = m.store->max_command_id();
    if (!max_id) return unexpected(Error{"device store: " + max_id.error().message});
    m.next_command_id = *max_id + 1;
    // The table keeps a week of finished commands (and at most 1,000 per device).
    if (auto r = m.store->prune_commands(wall_ms() - kKeepCommandsMs, kKeepCommandsPerDevice); !r) {
      log_warn("cannot prune old device commands", {{"error", r.error().message}});
    }
    auto stored = m.store->profiles();
    if (!stored) return unexpected(Error{"device store: " + stored.error().message});
    for (const auto& [name, json] : *stored) {
      auto doc = parse_json(json);
      auto r = doc ? put_profile_impl(m, *doc, false, false)
                   : DeviceResult<void>(err(DeviceErrorCode::Invalid, doc.error().message));
      if (!r) {
        log_error("stored device profile not loaded",
                  {{"profile", name}, {"error", r.error().message}});
      }
    }
  }
  m.ticker = std::thread([&m] { m.run_ticker(); });
  if (m.options.bus != nullptr) {
    m.desired_subscription = m.options.bus->subscribe(
        "verge/devices/+/desired/set", [&m](std::string_view topic, std::string_view payload) {
          m.on_desired_set(topic, payload);
        });
  }
  return manager;
}

DeviceManager::~DeviceManager() {
  if (impl_) stop();
}

void Impl::load_stored_devices() {
  if (!store) return;
  auto stored = store->devices();
  if (!stored) {
    log_error("cannot read stored devices", {{"error", stored.error().message}});
    return;
  }
  for (const auto& [id, json] : *stored) {
    if (find_device(id)) continue;  // the configuration declares it: that one wins
    auto doc = parse_json(json);
    auto r = doc ? put_device_impl(*this, *doc, false, false)
                 : DeviceResult<void>(err(DeviceErrorCode::Invalid, doc.error().message));
    if (!r) log_error("stored device not loaded", {{"device", id}, {"error", r.error().message}});
  }
}

void DeviceManager::start() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    if (m.loaded || m.stopped) return;
    m.loaded = true;  // once: a second start() must not queue the stored commands again
  }
  m.load_stored_devices();
  m.load_open_commands();
  std::lock_guard lock(m.mu);
  if (m.stopped) return;
  m.started = true;
  for (auto& [id, entry] : m.devices) entry.device->start();
  log_info("devices started", {{"profiles", m.profiles.size()}, {"devices", m.devices.size()}});
}

void DeviceManager::stop() {
  Impl& m = *impl_;
  std::vector<std::shared_ptr<Device>> devices;
  {
    std::lock_guard lock(m.mu);
    if (m.stopped) return;
    m.stopped = true;
    // Never started: no adapter exists (and the loops may never run).
    if (m.started) {
      for (auto& [id, entry] : m.devices) devices.push_back(entry.device);
    }
  }
  if (m.options.bus != nullptr && m.desired_subscription != 0) {
    m.options.bus->unsubscribe(m.desired_subscription);
  }
  {
    std::lock_guard lock(m.ticker_mu);
    m.ticker_stop = true;
  }
  m.ticker_cv.notify_all();
  if (m.ticker.joinable()) m.ticker.join();
  // Adapters stop on their loop threads; when the loops do not run (any more), here.
  std::vector<std::future<void>> stopping;
  for (auto& d : devices) {
    auto done = std::make_shared<std::promise<void>>();
    stopping.push_back(done->get_future());
    d->loop().post([d, done] {
      d->stop_adapter();
      done->set_value();
    });
  }
  // No fallback to stopping here: the adapters may still run on their loops. Waits, naming the
  // devices not yet stopped every 2 s.
  for (;;) {
    std::string waiting;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (size_t i = 0; i < devices.size(); ++i) {
      if (stopping[i].wait_until(deadline) == std::future_status::ready) continue;
      waiting += (waiting.empty() ? "" : ", ") + devices[i]->id();
    }
    if (waiting.empty()) break;
    log_warn("devices: waiting for adapters to stop", {{"devices", waiting}});
    std::vector<std::shared_ptr<Device>> still;
    std::vector<std::future<void>> still_stopping;
    for (size_t i = 0; i < devices.size(); ++i) {
      if (stopping[i].wait_for(std::chrono::seconds(0)) == std::future_status::ready) continue;
      still.push_back(devices[i]);
      still_stopping.push_back(std::move(stopping[i]));
    }
    devices = std::move(still);
    stopping = std::move(still_stopping);
  }
}

DeviceResult<void> DeviceManager::put_profile(const Value& doc, bool from_config) {
  return put_profile_impl(*impl_, doc, from_config, true);
}

DeviceResult<void> DeviceManager::delete_profile(std::string_view name, bool from_config) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  auto it = m.profiles.find(name);
  if (it == m.profiles.end()) {
    return err(DeviceErrorCode::NotFound, "no profile " + quoted(name));
  }
  if (it->second.from_config && !from_config) {
    return err(DeviceErrorCode::ReadOnly,
               "profile " + quoted(name) + " is declared in the node's configuration");
  }
  std::string users;
  for (const auto& [id, entry] : m.devices) {
    if (entry.spec->profile != name) continue;
    users += (users.empty() ? "" : ", ") + id;
  }
  if (!users.empty()) {
    return err(DeviceErrorCode::Conflict,
               "profile " + quoted(name) + " is used by device(s) " + users);
  }
  if (m.store) {
    if (auto r = m.store->delete_profile(name); !r) {
      return err(DeviceErrorCode::Internal, "cannot delete the profile: " + r.error().message);
    }
  }
  m.profiles.erase(it);
  return {};
}

DeviceResult<void> DeviceManager::put_device(const Value& doc, bool from_config) {
  return put_device_impl(*impl_, doc, from_config, true);
}

DeviceResult<void> DeviceManager::delete_device(std::string_view id, bool from_config) {
  Impl& m = *impl_;
  std::shared_ptr<Device> device;
  {
    std::lock_guard lock(m.mu);
    auto it = m.devices.find(id);
    if (it == m.devices.end()) return err(DeviceErrorCode::NotFound, "no device " + quoted(id));
    if (it->second.from_config && !from_config) {
      return err(DeviceErrorCode::ReadOnly,
                 "device " + quoted(id) + " is declared in the node's configuration");
    }
    if (m.store) {
      if (auto r = m.store->delete_device(id); !r) {
        return err(DeviceErrorCode::Internal, "cannot delete the device: " + r.error().message);
      }
    }
    device = it->second.device;
    m.devices.erase(it);
    std::lock_guard live(m.live->mu);
    m.live->ids.erase(device->id());
  }
  device->loop().post([device, live = m.live] {
    device->stop_adapter();
    // Under live->mu: a device created again with this id meanwhile keeps its status.
    std::lock_guard lock(live->mu);
    device->removed(!live->ids.count(device->id()));
  });
  return {};
}

Value DeviceManager::list_profiles() const {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  ValueArray out;
  for (const auto& [name, entry] : m.profiles) {
    out.push_back(with_members(entry.profile->source, {{"from_config", entry.from_config}}));
  }
  return out;
}

std::optional<Value> DeviceManager::profile(std::string_view name) const {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  auto it = m.profiles.find(name);
  if (it == m.profiles.end()) return std::nullopt;
  return with_members(it->second.profile->source, {{"from_config", it->second.from_config}});
}

namespace {

Value device_document(const Impl::DeviceEntry& entry) {
  auto spec = entry.device->spec();
  return with_members(spec->source, {{"protocol", entry.device->profile()->protocol},
                                     {"from_config", entry.from_config},
                                     {"status", entry.device->status_json()}});
}

}  // namespace

Value DeviceManager::list_devices() const {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  ValueArray out;
  for (const auto& [id, entry] : m.devices) out.push_back(device_document(entry));
  return out;
}

std::optional<Value> DeviceManager::device(std::string_view id) const {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  auto it = m.devices.find(id);
  if (it == m.devices.end()) return std::nullopt;
  return device_document(it->second);
}

std::optional<Value> DeviceManager::twin(std::string_view id) const {
  auto d = impl_->find_device(id);
  if (!d) return std::nullopt;
  return d->twin_json();
}

std::optional<Value> DeviceManager::commands(std::string_view id) const {
  auto d = impl_->find_device(id);
  if (!d) return std::nullopt;
  return d->commands_json();
}

}  // namespace verge::devices
