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
  // Called once the device is removed: queued commands fail and, unless a device of the same id
  // exists again, its retained status is cleared.
  void removed(bool clear_status = true);

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

  // What every device of one profile shares (built once per Profile object, not per device):
  // the points by name and the profile's own calibration.
  struct ProfilePoints {
    std::shared_ptr<const Profile> profile;
    std::unordered_map<std::string_view, uint32_t> by_name;  // views into profile's names
    std::shared_ptr<const std::vector<Calibration>> calibration;
    std::shared_ptr<const std::vector<int8_t>> decimals;  // calibration_decimals per point
  };
  static std::shared_ptr<const ProfilePoints> profile_points(
      const std::shared_ptr<const Profile>& profile);

  // The points by name, for ingest and commands: one snapshot per batch (no lock per point).
  struct PointIndex {
    std::shared_ptr<const Profile> profile;
    std::shared_ptr<const DeviceSpec> spec;
    std::shared_ptr<const ProfilePoints> shared;
    // The profile's (shared) unless the device overrides a point's calibration.
    std::shared_ptr<const std::vector<Calibration>> calibration;
    std::shared_ptr<const std::vector<int8_t>> decimals;
    const Calibration& cal(uint32_t i) const { return (*calibration)[i]; }
    const PointSpec* find(std::string_view name, uint32_t& index) const {
      auto it = shared->by_name.find(name);
      if (it == shared->by_name.end()) return nullptr;
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
  // Compact (40 bytes; 200 devices x 1,000 points): the latest value as a tagged scalar (a
  // string lives in strings_), the last reported number only as a double (for bools and strings
  // any change of the latest is a change), reasons as indexes into reasons_.
  struct PointState {
    union {
      double f;
      int64_t i;
    } latest{.i = 0};
    double reported_num = 0;  // what was last published, if a number
    int64_t ts_ms = 0;
    int32_t series = -1;  // tsdb series id; -1 unknown, -2 could not be created
    uint32_t reason = 0;  // index into reasons_ (0: none)
    uint32_t reported_reason = 0;
    Value::Type kind = Value::Type::Null;  // of the latest: Null, Bool, Int, Float or String
    Quality quality = Quality::Good;
    Quality reported_quality = Quality::Good;
    bool seen : 1 = false;
    bool has_reported : 1 = false;
    bool reported_is_num : 1 = false;
  };
  static_assert(sizeof(PointState) <= 64, "one per point of every device: keep it compact");
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
  bool should_report(uint32_t index, const PointSpec& p, const Value& v, Quality q,
                     uint32_t reason) const;
  Value latest_locked(uint32_t index) const;
  void set_latest_locked(uint32_t index, Value v);
  uint32_t intern_reason_locked(std::string_view reason);
  int64_t series_locked(uint32_t index);
  void publish_status_locked(std::string& topic, std::string& payload);
  void pump();  // loop thread: dispatch the next queued command when online
  void write_done(int64_t command, Result<void> r);
  // `done` gets a copy of the finished command made under mu_: after_finish (outside the lock)
  // reads only that, while other threads may change the command itself.
  void finish_locked(const std::shared_ptr<Command>& cmd, CommandStatus status, std::string error,
                     std::vector<Command>& done);
  void after_finish(const std::vector<Command>& done);
  // The write in flight back to the queue's front as queued (persisted by after_requeue).
  void requeue_inflight_locked(std::vector<Command>& requeued);
  void after_requeue(const std::vector<Command>& requeued);
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
  std::shared_ptr<const PointIndex> index_;
  std::vector<PointState> points_;
  std::unordered_map<uint32_t, std::string> strings_;  // latest values of string points
  // Interned reasons: [0] is "" (none); rebuilt from the ones in use when it grows too large.
  std::deque<std::string> reasons_;  // a deque: reason_ids_ views stay valid as it grows
  std::unordered_map<std::string_view, uint32_t> reason_ids_;
  std::vector<Desired> desired_;
  bool online_ = false;
  bool status_published_ = false;  // the first link report is published even if offline
  bool adapter_live_ = false;      // an adapter that can write is running
  bool requeue_writes_ = false;    // stopping or replacing: a failed write goes back to queued
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
