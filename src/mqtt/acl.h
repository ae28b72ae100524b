// Access control for the broker: ordered allow/deny rules for publish and subscribe, read from a
// file (format in docs/security.md):
//   # comment
//   <allow|deny> <publish|subscribe|all> <subject> <topic-filter>
// subject: any | anonymous | authenticated | user:NAME | client:ID. The filter may contain %u
// (username, authenticated clients only) and %c (client id); when the value is empty, contains
// '+', '#' or '/', or starts with '$' where it begins the filter, the rule does not apply to that
// client. Rules are evaluated in file order, first match wins; no match denies.
//
// Evaluation does not allocate for rules without %u/%c and is thread-safe (const).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace verge::mqtt {

enum class AclAction { Publish, Subscribe };

struct AclSubject {
  std::string_view username;  // used for user:NAME and %u only when `authenticated`
  bool authenticated = false;
  std::string_view client_id;
};

class Acl {
 public:
  Acl() = default;

  // Errors name the file and line, e.g. "acl.conf:4: unknown action 'pub'".
  static Result<Acl> parse(std::string_view text, std::string_view name);
  static Result<Acl> load(const std::string& path);

  // Publish to a concrete topic: the first rule (matching subject, action publish/all) whose
  // filter matches the topic decides.
  bool may_publish(const AclSubject& s, std::string_view topic) const;

  struct SubscribeDecision {
    bool allowed;
    bool needs_delivery_check;  // check every delivered message with may_receive()
  };
  // Subscribe with a filter ("$share/group/filter" is checked by its inner filter): the first rule
  // (matching subject, action subscribe/all) whose filter covers the requested filter decides.
  // Deny rules before it that merely intersect the requested filter set `needs_delivery_check`.
  // An invalid filter is denied.
  SubscribeDecision may_subscribe(const AclSubject& s, std::string_view filter) const;

  // Per-message check for subscriptions flagged `needs_delivery_check`: the first rule (matching
  // subject, action subscribe/all) whose filter matches the concrete topic decides.
  bool may_receive(const AclSubject& s, std::string_view topic) const;

  size_t size() const { return count_; }

  // Parsed form, exposed for diagnostics and tests.
  enum class SubjectKind : uint8_t { Any, Anonymous, Authenticated, User, Client };

 private:
  struct Piece {
    enum Kind : uint8_t { Literal, Username, ClientId } kind;
    uint32_t offset;  // into Rule::filter (Literal only)
    uint32_t length;
  };
  struct Rule {
    bool allow = false;
    SubjectKind subject = SubjectKind::Any;
    std::string name;    // for User / Client
    std::string filter;  // as written, with %u / %c
    bool templated = false;
    std::vector<Piece> pieces;  // only when templated
  };

  static bool subject_matches(const Rule& r, const AclSubject& s);
  // Yields the filter of `r` for subject `s` (substituted into `scratch` when templated). False
  // when the rule does not apply to this client.
  static bool render(const Rule& r, const AclSubject& s, std::string& scratch,
                     std::string_view& out);
  static bool first_match(const std::vector<Rule>& rules, const AclSubject& s,
                          std::string_view topic);

  std::vector<Rule> publish_;    // rules with action publish or all, in file order
  std::vector<Rule> subscribe_;  // rules with action subscribe or all, in file order
  size_t count_ = 0;
};

}  // namespace verge::mqtt
