// Applies desired-state documents (sync/desired.h) to a node's device and rule managers: only the
// items that changed, in dependency order. Items from the hub are applied as configuration items
// (read-only over the node's REST API, like YAML items). An item that fails keeps what ran before
// (its previous spec, or nothing) and is reported with the error; the others are applied.
//
// The applied state is persisted atomically (<dir>/applied.json, write + fsync + rename) after each
// apply, so a restart without the hub applies exactly what ran before.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "core/value.h"

namespace verge::rules {
class RuleManager;
}
namespace verge::devices {
class DeviceManager;
}

namespace verge::sync {

struct ApplyReport {
  int64_t version = 0;
  std::vector<std::string> applied;  // "devices/boiler-1" (put or deleted)
  size_t unchanged = 0;
  struct Failure {
    std::string item, error;
  };
  std::vector<Failure> failed;
  Value to_value() const;  // {"version","applied":[...],"unchanged":N,"failed":[{"item","error"}]}
};

class DesiredApplier {
 public:
  // `dir`: where applied.json lives. Either manager may be null (its kinds then fail).
  DesiredApplier(std::string dir, devices::DeviceManager* devices, rules::RuleManager* rules);

  // Loads applied.json (none: an empty state) and applies all of it. Errors: unreadable file.
  Result<ApplyReport> restore();
  // Applies the difference between the running state and `doc`, then persists.
  Result<ApplyReport> apply(const Value& doc);
  int64_t applied_version() const;
  const Value& applied() const { return applied_; }

 private:
  std::string dir_;
  devices::DeviceManager* devices_;
  rules::RuleManager* rules_;
  Value applied_;  // the document as it runs: failed items hold their previous spec
};

}  // namespace verge::sync
