#include "mqtt/acl.h"
#include "core/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mqtt/topic.h"

namespace verge::mqtt {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Splits off the next whitespace-separated token of `s`.
std::string_view next_token(std::string_view& s) {
  s = trim(s);
  size_t end = 0;
  while (end < s.size() && !is_space(s[end])) ++end;
  std::string_view tok = s.substr(0, end);
  s.remove_prefix(end);
  return tok;
}

// A substituted value must stay within one level and must not be a wildcard or empty, so a
// hostile username or client id cannot widen what the rule grants.
bool safe_value(std::string_view v, bool at_filter_start) {
  if (v.empty() || v.find_first_of("+#/") != std::string_view::npos) return false;
  // "%u/#" with username "$SYS" would otherwise reach the broker's '$' topics.
  return !(at_filter_start && v.front() == '$');
}

}  // namespace

Result<Acl> Acl::parse(std::string_view text, std::string_view name) {
  Acl acl;
  size_t lineno = 0;
  std::string_view line;
  while (next_line(text, line)) {
    ++lineno;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto err = [&](std::string_view what) { return unexpected(line_error(name, lineno, what)); };

    std::string_view rest = line;
    std::string_view perm = next_token(rest);
    std::string_view action = next_token(rest);
    std::string_view subject = next_token(rest);
    std::string_view filter = trim(rest);  // the rest of the line: topic levels may hold spaces
    if (filter.empty()) {
      return err("expected '<allow|deny> <publish|subscribe|all> <subject> <topic-filter>'");
    }

    Rule r;
    if (perm == "allow") {
      r.allow = true;
    } else if (perm != "deny") {
      return err("unknown permission '" + std::string(perm) + "' (expected allow or deny)");
    }

    bool pub = false;
    bool sub = false;
    if (action == "publish") {
      pub = true;
    } else if (action == "subscribe") {
      sub = true;
    } else if (action == "all") {
      pub = sub = true;
    } else {
      return err("unknown action '" + std::string(action) +
                 "' (expected publish, subscribe or all)");
    }

    if (subject == "any") {
      r.subject = SubjectKind::Any;
    } else if (subject == "anonymous") {
      r.subject = SubjectKind::Anonymous;
    } else if (subject == "authenticated") {
      r.subject = SubjectKind::Authenticated;
    } else if (subject.starts_with("user:") || subject.starts_with("client:")) {
      bool user = subject.starts_with("user:");
      r.subject = user ? SubjectKind::User : SubjectKind::Client;
      r.name = std::string(subject.substr(user ? 5 : 7));
      if (r.name.empty()) return err("empty name in subject '" + std::string(subject) + "'");
    } else {
      return err("unknown subject '" + std::string(subject) +
                 "' (expected any, anonymous, authenticated, user:NAME or client:ID)");
    }

    if (filter.size() > 65535) return err("topic filter too long");
    r.filter = std::string(filter);
    // Split into literal pieces and placeholders; build the trial substitution alongside.
    std::string trial;
    size_t lit_start = 0;
    for (size_t i = 0; i < filter.size(); ++i) {
      if (filter[i] != '%' || i + 1 >= filter.size()) continue;
      char p = filter[i + 1];
      if (p != 'u' && p != 'c') continue;  // any other '%' is literal
      if (i > lit_start) {
        r.pieces.push_back({Piece::Literal, static_cast<uint32_t>(lit_start),
                            static_cast<uint32_t>(i - lit_start)});
      }
      r.pieces.push_back({p == 'u' ? Piece::Username : Piece::ClientId, 0, 0});
      trial.append(filter.substr(lit_start, i - lit_start));
      trial += 'x';
      lit_start = i + 2;
      ++i;
    }
    r.templated = !r.pieces.empty();
    if (r.templated) {
      if (lit_start < filter.size()) {
        r.pieces.push_back({Piece::Literal, static_cast<uint32_t>(lit_start),
                            static_cast<uint32_t>(filter.size() - lit_start)});
      }
      trial.append(filter.substr(lit_start));
    } else {
      trial = r.filter;
    }
    if (!valid_topic_filter(trial)) return err("invalid topic filter '" + r.filter + "'");
    std::string_view group;
    std::string_view inner;
    if (split_shared(trial, group, inner)) {
      return err("shared subscription filter '" + r.filter +
                 "' not allowed in a rule (rules apply to the inner filter)");
    }

    if (pub && sub) {
      acl.publish_.push_back(r);
      acl.subscribe_.push_back(std::move(r));
    } else {
      (pub ? acl.publish_ : acl.subscribe_).push_back(std::move(r));
    }
    ++acl.count_;
  }
  return acl;
}

Result<Acl> Acl::load(const std::string& path) {
  auto text = read_text_file(path, "ACL file");
  if (!text) return unexpected(text.error());
  return parse(*text, path);
}

bool Acl::subject_matches(const Rule& r, const AclSubject& s) {
  switch (r.subject) {
    case SubjectKind::Any:
      return true;
    case SubjectKind::Anonymous:
      return !s.authenticated;
    case SubjectKind::Authenticated:
      return s.authenticated;
    case SubjectKind::User:
      return s.authenticated && s.username == r.name;
    case SubjectKind::Client:
      return s.client_id == r.name;
  }
  return false;
}

bool Acl::render(const Rule& r, const AclSubject& s, std::string& scratch, std::string_view& out) {
  if (!r.templated) {
    out = r.filter;
    return true;
  }
  scratch.clear();
  for (const Piece& p : r.pieces) {
    if (p.kind == Piece::Literal) {
      scratch.append(r.filter, p.offset, p.length);
      continue;
    }
    std::string_view v = p.kind == Piece::Username
                             ? (s.authenticated ? s.username : std::string_view{})
                             : s.client_id;
    if (!safe_value(v, scratch.empty())) return false;
    scratch.append(v);
  }
  out = scratch;
  return true;
}

namespace {
// Reused per thread so that templated rules do not allocate once the buffer has grown.
thread_local std::string t_scratch;
}  // namespace

bool Acl::first_match(const std::vector<Rule>& rules, const AclSubject& s, std::string_view topic) {
  for (const Rule& r : rules) {
    if (!subject_matches(r, s)) continue;
    std::string_view f;
    if (!render(r, s, t_scratch, f)) continue;
    if (topic_matches(f, topic)) return r.allow;
  }
  return false;
}

bool Acl::may_publish(const AclSubject& s, std::string_view topic) const {
  return first_match(publish_, s, topic);
}

bool Acl::may_receive(const AclSubject& s, std::string_view topic) const {
  return first_match(subscribe_, s, topic);
}

Acl::SubscribeDecision Acl::may_subscribe(const AclSubject& s, std::string_view filter) const {
  if (!valid_topic_filter(filter)) return {false, false};
  std::string_view group;
  std::string_view inner;
  if (split_shared(filter, group, inner)) filter = inner;
  bool check = false;
  for (const Rule& r : subscribe_) {
    if (!subject_matches(r, s)) continue;
    std::string_view f;
    if (!render(r, s, t_scratch, f)) continue;
    if (filter_covers(f, filter)) {
      if (!r.allow) return {false, false};
      return {true, check};
    }
    // A deny rule that only overlaps the request: allow the subscription if a later rule covers
    // it, but check each delivered message.
    if (!r.allow && filters_intersect(f, filter)) check = true;
  }
  return {false, false};
}

}  // namespace verge::mqtt
