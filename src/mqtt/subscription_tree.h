// The subscriptions of every session on the node, as a tree of topic levels. Shared by all
// loops: subscribe/unsubscribe take the write lock, matching a PUBLISH takes the read lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace verge::mqtt {

// One session's subscription to one filter.
struct Subscription {
  uint64_t session = 0;          // session key; its top 16 bits are the loop that owns the session
  uint32_t subscription_id = 0;  // 0 = none
  uint8_t qos = 0;
  bool no_local = false;
  bool retain_as_published = false;
  bool acl_check = false;  // every message must pass the ACL before delivery
  bool durable = false;    // the session is persistent: QoS 1/2 messages wait for its journal
};

class SubscriptionTree {
 public:
  SubscriptionTree();
  ~SubscriptionTree();
  SubscriptionTree(const SubscriptionTree&) = delete;
  SubscriptionTree& operator=(const SubscriptionTree&) = delete;

  // Adds or replaces the session's subscription to `filter` ("$share/g/f" for shared ones).
  // Returns true when the session had no subscription to that filter before.
  bool subscribe(std::string_view filter, const Subscription& sub);
  // Returns true when a subscription was removed.
  bool unsubscribe(std::string_view filter, uint64_t session);

  // Appends every subscription matching `topic`; one member per shared group (round robin).
  void match(std::string_view topic, std::vector<Subscription>& out) const;

  size_t size() const { return count_.load(std::memory_order_relaxed); }

 private:
  struct Node;
  struct SharedGroup;
  mutable std::shared_mutex mutex_;
  std::unique_ptr<Node> root_;  // guarded by mutex_
  std::atomic<size_t> count_{0};
};

}  // namespace verge::mqtt
