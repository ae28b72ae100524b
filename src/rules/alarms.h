// Alarms: raised and cleared by rules, acknowledged by operators (R-ALM-1). At most one active
// alarm per dedup key: raising an active key updates it (count, last row) instead of opening a
// second one. Every transition is stored in the metadata store (table `alarms`) and published on
// the bus as JSON on `verge/alarms/<key>` (retained, QoS 1, so a client that subscribes later sees
// the current state). A key that flaps (raise/clear transitions above a threshold within a
// period) is marked flapping and its notifications are held until it is stable again.
//
// Rate of writes: opening, clearing and acknowledging are written (and published) at once.
// Raising an already active key (dedup) updates it in memory; the update is written and
// published at most once per second per key (at once when the last write is older, otherwise
// by flush() or the next transition), so a rule firing on every row does not fsync per row.
// Flapping: a key with flap_transitions raise/clear transitions within flap_window_ms is
// flapping; the transition that made it so is published with "flapping": true, later ones are
// stored but not published until at most flap_transitions / 2 remain within the window, when the
// current state is published with "flapping": false. See docs/rules/actions.md.
//
// Storage: the service opens its own connection to the metadata store's file (on first use),
// used only under its mutex, so it may share meta.db with the store's owner on another thread
// (WAL: one writer at a time, the other waits up to the busy timeout).
//
// Thread-safe (internally locked): rules call it on the engine thread, REST on loop threads.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/value.h"

namespace verge::store {
class MetadataStore;
}

namespace verge::rules {

class Bus;

enum class Severity : uint8_t { Critical, Major, Minor, Warning, Info };
std::string_view severity_name(Severity s);
std::optional<Severity> parse_severity(std::string_view s);

struct Alarm {
  int64_t id = 0;
  std::string key;
  std::string rule;
  Severity severity = Severity::Major;
  std::string message;
  bool active = true;
  bool acked = false;
  std::string acked_by;
  int64_t count = 1;
  bool flapping = false;
  Value details;  // the last row
  int64_t raised_at_ms = 0, updated_at_ms = 0, cleared_at_ms = 0, acked_at_ms = 0;

  Value to_value() const;  // the JSON published and returned by the API
};

struct AlarmFilter {
  std::optional<bool> active;  // only active (true) or only cleared (false)
  std::optional<Severity> severity_at_least;
  std::string key_prefix;
  size_t limit = 100;
};

struct AlarmOptions {
  int flap_transitions = 6;         // this many raise/clear transitions ...
  int64_t flap_window_ms = 60'000;  // ... within this period mark the key flapping
};

class AlarmService {
 public:
  // `meta` must outlive the service; `bus` may be null (nothing is published).
  AlarmService(store::MetadataStore& meta, Bus* bus, AlarmOptions options = {});
  ~AlarmService();

  // Raises or updates the active alarm of `key`.
  Result<Alarm> raise(std::string_view key, std::string_view rule, Severity severity,
                      std::string_view message, const Value& details, int64_t now_ms);
  // Clears the active alarm of `key`; false when none was active.
  Result<bool> clear(std::string_view key, std::string_view rule, int64_t now_ms);
  // Acknowledges alarm `id` (active or cleared); an error when it does not exist.
  Result<Alarm> ack(int64_t id, std::string_view by, int64_t now_ms);

  Result<std::optional<Alarm>> get(int64_t id) const;
  Result<std::vector<Alarm>> list(const AlarmFilter& filter) const;

  // Writes and publishes the updates of active alarms held back by the once-per-second limit,
  // and ends the flapping of keys that became stable by `now_ms`. True while a later call has
  // work left (keys still flapping). The alarm action calls it a second after its raises and
  // clears, and again while it returns true; get() and list() also write held updates first.
  bool flush(int64_t now_ms);

  uint64_t raised_total() const;   // alarms opened (a raise of an active key is an update)
  uint64_t cleared_total() const;  // active alarms cleared

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace verge::rules
