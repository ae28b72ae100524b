// Keyed state with a bound: GROUP BY groups and analytic partitions. Least recently used
// entries are evicted once the bound is reached, so a stream of ever-new keys cannot grow the
// state. Lookups take a span of values, so probing needs no key copy.
#pragma once

#include <cstddef>
#include <list>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/value.h"

namespace verge::rules {

inline size_t hash_key(std::span<const Value> values) {
  size_t h = 0x9e3779b97f4a7c15ULL;
  for (const auto& v : values) h = (h ^ v.hash()) * 0x100000001b3ULL;
  return h;
}

template <class V>
class LruTable {
 public:
  struct Entry {
    std::vector<Value> key;
    size_t hash = 0;
    V value;
  };

  explicit LruTable(size_t max_entries) : max_(max_entries == 0 ? 1 : max_entries) {}
  LruTable(LruTable&&) noexcept = default;
  LruTable& operator=(LruTable&&) noexcept = default;

  // The entry for `key`, made most recent; nullptr when absent.
  V* find(std::span<const Value> key, size_t hash) {
    auto it = index_.find(Probe{key, hash});
    if (it == index_.end()) return nullptr;
    list_.splice(list_.begin(), list_, it->second);
    return &it->second->value;
  }

  // Inserts a new entry (the key must be absent). Returns true when the least recently used
  // entry had to be evicted to make room.
  bool insert(std::span<const Value> key, size_t hash, V value, V** out) {
    bool evicted = false;
    if (list_.size() >= max_) {
      auto last = std::prev(list_.end());
      index_.erase(Probe{last->key, last->hash});
      list_.erase(last);
      evicted = true;
    }
    list_.push_front(Entry{std::vector<Value>(key.begin(), key.end()), hash, std::move(value)});
    index_.emplace(Probe{list_.front().key, hash}, list_.begin());
    *out = &list_.front().value;
    return evicted;
  }

  size_t size() const { return list_.size(); }
  bool empty() const { return list_.empty(); }
  void clear() {
    index_.clear();
    list_.clear();
  }
  std::list<Entry>& entries() { return list_; }
  const std::list<Entry>& entries() const { return list_; }

 private:
  // Points at the key stored in the list entry, or at a caller's probe.
  struct Probe {
    std::span<const Value> key;
    size_t hash;
  };
  struct Hash {
    size_t operator()(const Probe& p) const { return p.hash; }
  };
  struct Eq {
    bool operator()(const Probe& a, const Probe& b) const {
      if (a.hash != b.hash || a.key.size() != b.key.size()) return false;
      for (size_t i = 0; i < a.key.size(); ++i) {
        if (!(a.key[i] == b.key[i])) return false;
      }
      return true;
    }
  };

  size_t max_;
  std::list<Entry> list_;  // most recently used first
  std::unordered_map<Probe, typename std::list<Entry>::iterator, Hash, Eq> index_;
};

}  // namespace verge::rules
