// DeviceManager's private state, shared by manager.cc (profiles, devices, lifecycle, documents)
// and manager_commands.cc (desired values, rule writes, ingest, the deadline ticker).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "devices/device.h"
#include "devices/device_store.h"
#include "devices/manager.h"

namespace verge::devices {

// Finished commands kept in meta.db: a week, and at most the newest 1,000 per device.
inline constexpr int64_t kKeepCommandsMs = 7 * 86'400'000LL;
inline constexpr int64_t kKeepCommandsPerDevice = 1000;
inline constexpr int64_t kPruneEveryMs = 3'600'000;

struct DeviceManager::Impl {
  struct ProfileEntry {
    std::shared_ptr<const Profile> profile;
    bool from_config = false;
  };
  struct DeviceEntry {
    std::shared_ptr<Device> device;
    bool from_config = false;
    // The newest spec (under mu): a replace posted earlier may not have run yet, so the device's
    // own spec() can be older.
    std::shared_ptr<const DeviceSpec> spec;
  };
  // The ids that exist, shared with removal tasks that may run after the manager is gone: a
  // deleted device's late removal must not clear the status of a new device of the same id.
  struct LiveIds {
    std::mutex mu;
    std::set<std::string, std::less<>> ids;
  };

  DeviceManagerOptions options;
  const AdapterRegistry* adapters = nullptr;
  std::unique_ptr<DeviceStore> store;
  DeviceServices services;

  mutable std::mutex mu;  // profiles, devices, started
  std::map<std::string, ProfileEntry, std::less<>> profiles;
  std::map<std::string, DeviceEntry, std::less<>> devices;
  std::shared_ptr<LiveIds> live = std::make_shared<LiveIds>();
  size_t next_loop = 0;
  bool loaded = false;   // start() read the stored devices and commands
  bool started = false;  // adapters are started (new devices start at once)
  bool stopped = false;
  std::atomic<int64_t> next_command_id{1};
  uint64_t desired_subscription = 0;

  // Waiters of set_desired calls with a deadline; the ticker answers them when it passes.
  std::mutex waiters_mu;
  std::vector<std::weak_ptr<Waiter>> waiters;

  std::thread ticker;
  std::mutex ticker_mu;
  std::condition_variable ticker_cv;
  bool ticker_stop = false;

  std::shared_ptr<Device> find_device(std::string_view id) const {
    std::lock_guard lock(mu);
    auto it = devices.find(id);
    return it == devices.end() ? nullptr : it->second.device;
  }
  void run_ticker();
  void load_stored_devices();
  void load_open_commands();
  void on_desired_set(std::string_view topic, std::string_view payload);
};

}  // namespace verge::devices
