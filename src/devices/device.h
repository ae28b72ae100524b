// One device at run time: its adapter on its loop, the DeviceSink that receives what the adapter
// learns, the point pipeline (calibration, report on change and deadband, twin, one bus message
// per batch, history), its status, and its command queue. The manager owns the Devices; a
// Device's spec and profile may be replaced (restart) without losing its twin or queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/value.h"
#include "devices/adapter.h"
#include "devices/command.h"
#include "devices/types.h"

namespace verge::net {
class EventLoop;
}
namespace verge::store {
class Tsdb;
}

namespace verge::devices {

class DeviceStore;

// Counters of the whole device layer (rendered by DeviceManager::register_metrics).
struct DeviceCounters {
  std::atomic<uint64_t> points{0};       // readings received
  std::atomic<uint64_t> reported{0};     // readings published (after deadband / on change)
  std::atomic<uint64_t> messages{0};     // data messages published
  std::atomic<uint64_t> polls{0};        // poll cycles
  std::atomic<uint64_t> poll_errors{0};  // requests of poll cycles that failed
  std::atomic<uint64_t> history_errors{0};
  std::atomic<uint64_t> bad_readings{0};  // adapter bugs: a point index out of range
  std::atomic<uint64_t> ingest_rejected{0};
  std::atomic<uint64_t> desired_rejected{0};
  // writes by final status: applied, failed, timeout, expired, superseded
  std::atomic<uint64_t> writes[5] = {};
};

// What every Device shares (owned by the manager, outlives the devices).
struct DeviceServices {
  rules::Bus* bus = nullptr;
  store::Tsdb* tsdb = nullptr;
  DeviceStore* store = nullptr;  // null: nothing persisted
  int64_t write_timeout_ms = 5000;
  DeviceCounters counters;
};

class Device final : public DeviceSink, public std::enable_shared_from_this<Device> {
 public:
  Device(DeviceServices& services, net::EventLoop& loop, const AdapterFactory& factory,
         std::shared_ptr<const DeviceSpec> spec, std::shared_ptr<const Profile> profile);
  ~Device() override;

  const std::string& id() const { return id_; }
  net::EventLoop& loop() { return loop_; }
  std::shared_ptr<const DeviceSpec> spec() const;
  std::shared_ptr<const Profile> profile() const;

  // Lifecycle. start() posts the adapter's creation and start to the loop; stop_adapter() runs
  // on the loop (or anywhere once the loops stopped) and is idempotent; replace() restarts with
  // a new spec and profile (posted).
  void start();
  void stop_adapter();
  void replace(const AdapterFactory& factory, std::shared_ptr<const DeviceSpec> spec,
               std::shared_ptr<const Profile> profile);
  // Called once the device is removed: its retained status is cleared, queued commands fail.
  void removed();

  // DeviceSink (loop thread) — and ingest, from any thread.
  void on_readings(std::span<const Reading> readings) override;
  void on_link(bool online, std::string_view reason) override;
  void on_poll(int64_t latency_us, uint32_t requests, uint32_t failed) override;

  // Commands: `cmd` is validated and persisted; queued in order, a queued older one of the same
  // point is superseded. Dispatched when online. Thread-safe.
  void enqueue(std::shared_ptr<Command> cmd);
  // Timeouts of the write in flight and TTL expiry of queued commands (the manager's ticker).
  void check_deadlines(int64_t now_ms);
  // At start: the device's finished commands from meta.db (oldest first) fill the recent list
  // and the twin's desired section.
  void seed_history(const std::vector<Command>& finished);
  bool has_commands() const;

  // The points by name, for ingest and commands: one snapshot per batch (no lock per point).
  struct PointIndex {
    std::shared_ptr<const Profile> profile;
    std::shared_ptr<const DeviceSpec> spec;
    std::unordered_map<std::string_view, uint32_t> by_name;  // views into profile's names
    std::vector<Calibration> calibration;
    const PointSpec* find(std::string_view name, uint32_t& index) const {
      auto it = by_name.find(name);
      if (it == by_name.end()) return nullptr;
      index = it->second;
      return &profile->points[it->second];
    }
  };
  std::shared_ptr<const PointIndex> index() const;
  bool online() const;
  bool has_adapter() const;

  Value status_json() const;
  Value twin_json() const;
  Value commands_json() const;

 private:
  struct PointState {
    Value value;  // latest reading (calibrated)
    int64_t ts_ms = 0;
    Quality quality = Quality::Good;
    std::string reason;
    bool seen = false;
    // What was last published, for report-on-change and deadband.
    Value reported;
    Quality reported_quality = Quality::Good;
    std::string reported_reason;
    bool has_reported = false;
    int64_t series = -1;  // tsdb series id; -1 unknown, -2 could not be created
  };
  struct Desired {
    std::string point;
    Value value;
    int64_t command = 0;
    CommandStatus status = CommandStatus::Queued;
    std::string error;
    int64_t updated_ms = 0;
  };

  void configure_locked();  // state and calibration for the current profile
  void create_adapter();    // loop thread, under life_mu_
  bool should_report(const PointSpec& p, const PointState& st, const Value& v, Quality q,
                     std::string_view reason) const;
  int64_t series_locked(uint32_t index);
  void publish_status_locked(std::string& topic, std::string& payload);
  void pump();  // loop thread: dispatch the next queued command when online
  void write_done(int64_t command, Result<void> r);
  void finish_locked(const std::shared_ptr<Command>& cmd, CommandStatus status, std::string error,
                     std::vector<std::shared_ptr<Command>>& done);
  void after_finish(const std::vector<std::shared_ptr<Command>>& done);
  void note_desired_locked(const Command& cmd);

  DeviceServices& services_;
  net::EventLoop& loop_;
  const std::string id_;
  const std::string data_topic_, status_topic_, commands_topic_;

  // Adapter lifecycle, serialised (loop tasks, and stop from another thread after the loops).
  std::mutex life_mu_;
  const AdapterFactory* factory_;
  std::unique_ptr<Adapter> adapter_;
  bool stopped_ = false;
  // The spec and profile the adapter was created with (its context points into them).
  std::shared_ptr<const DeviceSpec> adapter_spec_;
  std::shared_ptr<const Profile> adapter_profile_;
  AdapterContext ctx_;

  // Everything below: under mu_ (one lock per batch of readings).
  mutable std::mutex mu_;
  std::shared_ptr<const DeviceSpec> spec_;
  std::shared_ptr<const Profile> profile_;
  std::vector<Calibration> calibration_;  // per point: the device's or the profile's
  std::shared_ptr<const PointIndex> index_;
  std::vector<PointState> points_;
  std::vector<Desired> desired_;
  bool online_ = false;
  bool status_published_ = false;  // the first link report is published even if offline
  bool adapter_live_ = false;      // an adapter that can write is running
  std::string reason_ = "not started";
  int64_t last_seen_ms_ = 0, since_ms_ = 0;
  uint64_t polls_ = 0, requests_ = 0, failed_ = 0, errors_ = 0;
  std::string last_error_;
  int64_t latency_last_us_ = 0, latency_max_us_ = 0;
  double latency_avg_us_ = 0;  // exponential moving average (weight 1/16 for a new poll)
  std::deque<std::shared_ptr<Command>> queue_;
  std::shared_ptr<Command> inflight_;
  std::deque<std::shared_ptr<Command>> recent_;  // final, newest last, at most 50
};

}  // namespace verge::devices
