#include "mqtt/retained_store.h"

#include "mqtt/topic.h"

namespace verge::mqtt {

namespace {
bool expired(const Message& m, uint64_t now_ms) {
  return m.expiry_at_ms() != 0 && now_ms >= m.expiry_at_ms();
}
}  // namespace

void RetainedStore::set(std::string_view topic, MessageRef msg) {
  std::lock_guard lock(mutex_);
  if (msg->payload().empty()) {
    by_topic_.erase(std::string(topic));
    return;
  }
  by_topic_[std::string(topic)] = std::move(msg);
}

void RetainedStore::match(std::string_view filter, uint64_t now_ms, std::vector<MessageRef>& out) {
  std::lock_guard lock(mutex_);
  if (filter.find_first_of("+#") == std::string_view::npos) {
    auto it = by_topic_.find(std::string(filter));
    if (it == by_topic_.end()) return;
    if (expired(*it->second, now_ms)) {
      by_topic_.erase(it);
      return;
    }
    out.push_back(it->second);
    return;
  }
  for (auto it = by_topic_.begin(); it != by_topic_.end();) {
    if (expired(*it->second, now_ms)) {
      it = by_topic_.erase(it);
      continue;
    }
    if (topic_matches(filter, it->first)) out.push_back(it->second);
    ++it;
  }
}

MessageRef RetainedStore::get(std::string_view topic) const {
  std::lock_guard lock(mutex_);
  auto it = by_topic_.find(std::string(topic));
  return it == by_topic_.end() ? nullptr : it->second;
}

size_t RetainedStore::size() const {
  std::lock_guard lock(mutex_);
  return by_topic_.size();
}

}  // namespace verge::mqtt
