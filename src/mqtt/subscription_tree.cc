#include "mqtt/subscription_tree.h"

#include <algorithm>
#include <mutex>

#include "mqtt/topic.h"

namespace verge::mqtt {

namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Splits a topic into levels without allocating for up to 32 levels.
class Levels {
 public:
  explicit Levels(std::string_view topic) {
    size_t start = 0;
    for (;;) {
      const size_t slash = topic.find('/', start);
      push(topic.substr(start,
                        slash == std::string_view::npos ? std::string_view::npos : slash - start));
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
  }
  size_t size() const { return n_; }
  std::string_view operator[](size_t i) const {
    return i < kInline ? inline_[i] : more_[i - kInline];
  }

 private:
  void push(std::string_view v) {
    if (n_ < kInline) {
      inline_[n_] = v;
    } else {
      more_.push_back(v);
    }
    ++n_;
  }
  static constexpr size_t kInline = 32;
  std::string_view inline_[kInline];
  std::vector<std::string_view> more_;
  size_t n_ = 0;
};

}  // namespace

struct SubscriptionTree::SharedGroup {
  std::string name;
  std::vector<Subscription> members;
  mutable std::atomic<uint32_t> next{0};
};

struct SubscriptionTree::Node {
  std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>> children;
  std::unique_ptr<Node> plus;  // '+' child
  std::unique_ptr<Node> hash;  // '#' child
  std::vector<Subscription> subs;
  std::vector<std::unique_ptr<SharedGroup>> groups;

  bool empty() const {
    return children.empty() && !plus && !hash && subs.empty() && groups.empty();
  }
  Node* child(std::string_view level, bool create) {
    std::unique_ptr<Node>* slot = nullptr;
    if (level == "+") {
      slot = &plus;
    } else if (level == "#") {
      slot = &hash;
    } else {
      auto it = children.find(level);
      if (it != children.end()) return it->second.get();
      if (!create) return nullptr;
      slot = &children.emplace(std::string(level), nullptr).first->second;
    }
    if (!*slot && create) *slot = std::make_unique<Node>();
    return slot->get();
  }
  void drop_child(std::string_view level) {
    if (level == "+") {
      plus.reset();
    } else if (level == "#") {
      hash.reset();
    } else {
      auto it = children.find(level);
      if (it != children.end()) children.erase(it);
    }
  }
};

SubscriptionTree::SubscriptionTree() : root_(std::make_unique<Node>()) {}
SubscriptionTree::~SubscriptionTree() = default;

bool SubscriptionTree::subscribe(std::string_view filter, const Subscription& sub) {
  std::string_view group;
  std::string_view inner = filter;
  const bool shared = split_shared(filter, group, inner);
  const Levels levels(inner);
  std::unique_lock lock(mutex_);
  Node* node = root_.get();
  for (size_t i = 0; i < levels.size(); ++i) node = node->child(levels[i], true);
  std::vector<Subscription>* list = &node->subs;
  if (shared) {
    auto it = std::find_if(node->groups.begin(), node->groups.end(),
                           [&](const auto& g) { return g->name == group; });
    if (it == node->groups.end()) {
      node->groups.push_back(std::make_unique<SharedGroup>());
      node->groups.back()->name = std::string(group);
      it = std::prev(node->groups.end());
    }
    list = &(*it)->members;
  }
  auto it = std::find_if(list->begin(), list->end(),
                         [&](const Subscription& s) { return s.session == sub.session; });
  if (it != list->end()) {
    *it = sub;
    return false;
  }
  list->push_back(sub);
  count_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool SubscriptionTree::unsubscribe(std::string_view filter, uint64_t session) {
  std::string_view group;
  std::string_view inner = filter;
  const bool shared = split_shared(filter, group, inner);
  const Levels levels(inner);
  std::unique_lock lock(mutex_);
  std::vector<Node*> path{root_.get()};
  for (size_t i = 0; i < levels.size(); ++i) {
    Node* next = path.back()->child(levels[i], false);
    if (next == nullptr) return false;
    path.push_back(next);
  }
  Node* node = path.back();
  bool removed = false;
  auto erase_from = [&](std::vector<Subscription>& list) {
    auto it = std::find_if(list.begin(), list.end(),
                           [&](const Subscription& s) { return s.session == session; });
    if (it == list.end()) return;
    list.erase(it);
    removed = true;
  };
  if (shared) {
    auto g = std::find_if(node->groups.begin(), node->groups.end(),
                          [&](const auto& x) { return x->name == group; });
    if (g != node->groups.end()) {
      erase_from((*g)->members);
      if ((*g)->members.empty()) node->groups.erase(g);
    }
  } else {
    erase_from(node->subs);
  }
  if (!removed) return false;
  count_.fetch_sub(1, std::memory_order_relaxed);
  // Prune the branch so unsubscribed topics do not leak nodes.
  for (size_t i = levels.size(); i > 0 && path[i]->empty(); --i)
    path[i - 1]->drop_child(levels[i - 1]);
  return true;
}

namespace {

void add_all(const std::vector<Subscription>& subs, std::vector<Subscription>& out) {
  out.insert(out.end(), subs.begin(), subs.end());
}

}  // namespace

void SubscriptionTree::match(std::string_view topic, std::vector<Subscription>& out) const {
  const Levels levels(topic);
  const bool dollar = !topic.empty() && topic[0] == '$';
  std::shared_lock lock(mutex_);
  auto add_node = [&out](const Node& n) {
    add_all(n.subs, out);
    for (const auto& g : n.groups) {
      if (g->members.empty()) continue;
      const uint32_t pick = g->next.fetch_add(1, std::memory_order_relaxed);
      out.push_back(g->members[pick % g->members.size()]);
    }
  };
  // Iterative depth-first walk; the stack holds (node, level index).
  struct Frame {
    const Node* node;
    size_t level;
  };
  Frame stack[64];
  std::vector<Frame> overflow;
  size_t top = 0;
  auto push = [&](const Node* n, size_t l) {
    if (top < 64) {
      stack[top++] = Frame{n, l};
    } else {
      overflow.push_back(Frame{n, l});
    }
  };
  push(root_.get(), 0);
  while (top > 0 || !overflow.empty()) {
    Frame f;
    if (!overflow.empty()) {
      f = overflow.back();
      overflow.pop_back();
    } else {
      f = stack[--top];
    }
    const bool first = f.level == 0;
    if (f.node->hash && !(first && dollar)) add_node(*f.node->hash);
    if (f.level == levels.size()) {
      add_node(*f.node);
      continue;
    }
    if (f.node->plus && !(first && dollar)) push(f.node->plus.get(), f.level + 1);
    if (!f.node->children.empty()) {
      auto it = f.node->children.find(levels[f.level]);
      if (it != f.node->children.end()) push(it->second.get(), f.level + 1);
    }
  }
}

}  // namespace verge::mqtt
