// Topic name/filter validation and matching (spec 4.7). Everything works level by level on
// string_views so the ACL and the subscription tree can call it per message without allocating.
#include "mqtt/topic.h"

#include <cstddef>

namespace verge::mqtt {
namespace {

constexpr std::string_view kSharePrefix = "$share/";
constexpr size_t kMaxTopicLength = 65535;  // a UTF-8 string in MQTT has a 16-bit length prefix

// Walks a topic or filter level by level. "a//b" has three levels: "a", "", "b".
class Levels {
 public:
  explicit Levels(std::string_view s) : rest_(s) {}
  bool done() const { return done_; }
  // Returns the next level; call only when !done().
  std::string_view next() {
    const size_t slash = rest_.find('/');
    if (slash == std::string_view::npos) {
      done_ = true;
      return rest_;
    }
    std::string_view level = rest_.substr(0, slash);
    rest_.remove_prefix(slash + 1);
    return level;
  }
  // True when the only level left is "#" (so it also matches the parent level, spec 4.7.1.2).
  bool only_hash_left() const { return !done_ && rest_ == "#"; }

 private:
  std::string_view rest_;
  bool done_ = false;
};

bool is_wildcard(std::string_view level) { return level == "+" || level == "#"; }
bool starts_with_dollar(std::string_view level) { return !level.empty() && level[0] == '$'; }

// A shared filter matches like its inner filter; anything else is used as is.
std::string_view strip_shared(std::string_view filter) {
  std::string_view group;
  std::string_view inner;
  return split_shared(filter, group, inner) ? inner : filter;
}

bool valid_plain_filter(std::string_view filter) {
  if (filter.empty() || filter.size() > kMaxTopicLength) return false;
  Levels levels(filter);
  while (!levels.done()) {
    const std::string_view level = levels.next();
    if (level == "#") return levels.done();  // '#' must be the last level
    if (level == "+") continue;
    if (level.find_first_of("+#") != std::string_view::npos) return false;  // wildcard mid-level
  }
  return true;
}

}  // namespace

bool valid_topic_name(std::string_view topic) {
  if (topic.empty() || topic.size() > kMaxTopicLength) return false;
  return topic.find_first_of(std::string_view("+#\0", 3)) == std::string_view::npos;
}

bool valid_topic_filter(std::string_view filter) {
  if (filter.size() > kMaxTopicLength) return false;
  if (filter.starts_with(kSharePrefix)) {
    std::string_view group;
    std::string_view inner;
    if (!split_shared(filter, group, inner)) return false;
    if (group.empty() || group.find_first_of("+#") != std::string_view::npos) return false;
    return valid_plain_filter(inner);
  }
  return valid_plain_filter(filter);
}

bool split_shared(std::string_view filter, std::string_view& group, std::string_view& inner) {
  if (!filter.starts_with(kSharePrefix)) return false;
  const std::string_view rest = filter.substr(kSharePrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return false;  // "$share/group" has no filter
  group = rest.substr(0, slash);
  inner = rest.substr(slash + 1);
  return true;
}

bool topic_matches(std::string_view filter, std::string_view topic) {
  filter = strip_shared(filter);
  if (filter.empty() || topic.empty()) return false;
  // Spec 4.7.2: a filter starting with a wildcard does not match topics starting with '$'.
  if (topic[0] == '$' && (filter[0] == '+' || filter[0] == '#')) return false;
  Levels f(filter);
  Levels t(topic);
  while (!f.done()) {
    const std::string_view fl = f.next();
    if (fl == "#") return true;  // matches the rest, including zero levels ("a/#" matches "a")
    if (t.done()) return false;
    const std::string_view tl = t.next();
    if (fl != "+" && fl != tl) return false;
  }
  return t.done();
}

bool filter_covers(std::string_view outer, std::string_view inner) {
  outer = strip_shared(outer);
  inner = strip_shared(inner);
  if (outer.empty() || inner.empty()) return false;
  Levels o(outer);
  Levels i(inner);
  bool first = true;
  while (!o.done()) {
    const std::string_view ol = o.next();
    if (i.done()) return ol == "#" && o.done();  // "a/#" covers "a" (parent level)
    const std::string_view il = i.next();
    // A leading wildcard in `outer` cannot cover a literal '$' level in `inner` (spec 4.7.2).
    if (first && is_wildcard(ol) && !is_wildcard(il) && starts_with_dollar(il)) return false;
    first = false;
    if (ol == "#") return true;
    if (ol == "+") {
      if (il == "#") return false;  // inner matches more levels (and the parent level)
      continue;
    }
    if (ol != il) return false;  // a literal covers only the same literal
  }
  return i.done();
}

bool filters_intersect(std::string_view a, std::string_view b) {
  a = strip_shared(a);
  b = strip_shared(b);
  if (a.empty() || b.empty()) return false;
  Levels la(a);
  Levels lb(b);
  bool first = true;
  while (!la.done() && !lb.done()) {
    const std::string_view x = la.next();
    const std::string_view y = lb.next();
    if (first) {
      // Wildcard-led filters match no '$' topics, so they cannot meet a literal '$' level.
      if (is_wildcard(x) && !is_wildcard(y) && starts_with_dollar(y)) return false;
      if (is_wildcard(y) && !is_wildcard(x) && starts_with_dollar(x)) return false;
      first = false;
    }
    if (x == "#" || y == "#") return true;  // '#' matches whatever the other side continues with
    if (x == "+" || y == "+") continue;
    if (x != y) return false;
  }
  if (la.done() && lb.done()) return true;
  // One side is finished: the other still meets it only through a trailing "#" (parent level).
  return la.done() ? lb.only_hash_left() : la.only_hash_left();
}

}  // namespace verge::mqtt
