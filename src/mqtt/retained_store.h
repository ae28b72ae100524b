// Retained messages by topic (spec 3.3.1.3), shared by all loops behind a mutex. Sending them to
// a new subscription is the only read path, so a plain map suffices: exact filters are one
// lookup, wildcard filters scan.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mqtt/message.h"

namespace verge::mqtt {

class RetainedStore {
 public:
  // An empty payload deletes the topic's retained message.
  void set(std::string_view topic, MessageRef msg);
  // Appends the unexpired retained messages matching `filter`.
  void match(std::string_view filter, uint64_t now_ms, std::vector<MessageRef>& out);
  size_t size() const;
  // The retained message of `topic` (null if none).
  MessageRef get(std::string_view topic) const;
  // Calls fn(topic, message) for every retained message (under the lock: keep fn short).
  template <class F>
  void for_each(F&& fn) const {
    std::lock_guard lock(mutex_);
    for (const auto& [topic, msg] : by_topic_) fn(topic, msg);
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, MessageRef> by_topic_;  // guarded by mutex_
};

}  // namespace verge::mqtt
