// The registry: an in-memory model under one mutex, written through to a Backend (SQLite or
// PostgreSQL) before a change becomes visible. Live status never touches the backend.
#include "sync/registry.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <limits>
#include <mutex>
#include <system_error>
#include <utility>

#include "core/log.h"
#include "store/postgres.h"
#include "sync/desired.h"
#include "sync/pki.h"
#include "sync/registry_backend.h"
#include "sync/registry_labels.h"
#include "sync/registry_merge.h"

namespace verge::sync {

namespace {

using namespace registry_internal;

constexpr std::string_view kApiTokenPrefix = "vat1_";
constexpr size_t kApiTokenIdLength = 8;
constexpr size_t kMaxNameLength = 128;

// Node ids appear in topics and in enrolment tokens (vgt1.<node>.<secret>...): [A-Za-z0-9_-].
Result<void> validate_node_id(std::string_view id) {
  const bool ok = !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  if (!ok) {
    return unexpected(
        Error{"node id \"" + std::string(id) + "\": expected 1..64 of A-Z a-z 0-9 _ -"});
  }
  return {};
}

Error unknown_node(std::string_view id) { return Error{"unknown node '" + std::string(id) + "'"}; }

struct NodeEntry {
  NodeInfo info;
  Value effective;  // merged desired document without "version"
};

struct TokenEntry {
  std::string hash;
  int64_t expires_ms = 0;
  bool used = false;
};

struct DesiredEntry {
  DesiredDoc doc;
  int64_t position = 0;
  Labels selector;  // parsed scope.value, for selector scopes
};

using DesiredMap = std::map<std::string, DesiredEntry, std::less<>>;  // by scope key

// Effective documents for one set of desired documents. Nodes that match the same documents (most
// of a fleet) share one merged Value, so a selector change over 10,000 nodes merges a handful of
// times, and comparing shared Values is a pointer check.
class Merger {
 public:
  explicit Merger(const DesiredMap& docs) : docs_(docs) {
    for (const auto& [key, entry] : docs) {
      if (entry.doc.scope.kind == DesiredScope::Kind::Selector) selectors_.push_back(&entry);
    }
    std::sort(
        selectors_.begin(), selectors_.end(),
        [](const DesiredEntry* a, const DesiredEntry* b) { return a->position < b->position; });
  }

  Value effective(const NodeInfo& node) {
    std::vector<const DesiredEntry*> applying;
    for (const DesiredEntry* e : selectors_) {
      if (selector_matches(e->selector, node.labels)) applying.push_back(e);
    }
    auto own = docs_.find("node:" + node.id);
    if (own != docs_.end()) applying.push_back(&own->second);
    std::vector<int64_t> signature;
    signature.reserve(applying.size());
    for (const DesiredEntry* e : applying) signature.push_back(e->position);
    auto it = memo_.find(signature);
    if (it != memo_.end()) return it->second;
    std::vector<const Value*> docs;
    docs.reserve(applying.size());
    for (const DesiredEntry* e : applying) docs.push_back(&e->doc.doc);
    Value merged = merge_desired(docs);
    memo_.emplace(std::move(signature), merged);
    return merged;
  }

  // Deep comparison, remembered per pair of shared documents.
  bool same(const Value& a, const Value& b) {
    const std::pair<const void*, const void*> key{&a.as_object(), &b.as_object()};
    auto it = equal_.find(key);
    if (it != equal_.end()) return it->second;
    const bool eq = a == b;
    equal_.emplace(key, eq);
    return eq;
  }

 private:
  const DesiredMap& docs_;
  std::vector<const DesiredEntry*> selectors_;  // creation order
  std::map<std::vector<int64_t>, Value> memo_;
  std::map<std::pair<const void*, const void*>, bool> equal_;
};

bool has_items(const Value& merged) {
  for (const auto& [kind, items] : merged.as_object()) {
    if (items.is_object() && !items.as_object().empty()) return true;
  }
  return false;
}

class RegistryImpl final : public Registry {
 public:
  RegistryImpl(const RegistryOptions& options, std::unique_ptr<Backend> backend)
      : options_(options), backend_(std::move(backend)) {}

  Result<void> load() {
    auto snap = backend_->load();
    if (!snap) return unexpected(snap.error());
    for (DesiredRow& row : snap->desired) {
      DesiredEntry e{std::move(row.doc), row.position, {}};
      if (e.doc.scope.kind == DesiredScope::Kind::Selector) {
        auto sel = parse_selector(e.doc.scope.value);
        if (!sel) return unexpected(Error{"stored desired document: " + sel.error().message});
        e.selector = std::move(*sel);
      }
      next_position_ = std::max(next_position_, e.position + 1);
      const std::string key = e.doc.scope.key();
      desired_.emplace(key, std::move(e));
    }
    Merger merger(desired_);
    for (NodeInfo& n : snap->nodes) {
      Value eff = merger.effective(n);
      const std::string id = n.id;
      nodes_.emplace(id, NodeEntry{std::move(n), std::move(eff)});
    }
    for (EnrolTokenRow& t : snap->enrol_tokens) {
      enrol_tokens_[t.node_id] = TokenEntry{std::move(t.hash), t.expires_ms, t.used};
    }
    for (ApiTokenRow& t : snap->api_tokens) {
      const std::string id = t.token.id;
      api_tokens_.emplace(id, std::move(t));
    }
    for (AlarmRecord& a : snap->alarms) {
      auto key = std::make_pair(a.node, a.key);
      alarms_.emplace(std::move(key), std::move(a));
    }
    return {};
  }

  // --- Nodes ---

  Result<std::string> create_node(std::string_view id, std::string_view site, const Labels& labels,
                                  int64_t now_ms) override {
    if (auto r = validate_node_id(id); !r) return unexpected(r.error());
    if (auto r = validate_labels(labels); !r) return unexpected(r.error());
    std::string secret = random_token();
    std::lock_guard lock(mu_);
    NodeEntry entry;
    auto it = nodes_.find(id);
    if (it != nodes_.end()) {
      if (it->second.info.state != NodeState::Pending) {
        return unexpected(Error{"node '" + std::string(id) + "' exists (" +
                                std::string(to_string(it->second.info.state)) + ")"});
      }
      entry = it->second;  // pending: a new token replaces the old one
    } else {
      entry.info.id = id;
      entry.info.created_ms = now_ms;
      entry.effective = Value(ValueObject{});  // nothing desired yet
    }
    entry.info.site = site;
    entry.info.labels = labels;
    Merger merger(desired_);
    Value eff = merger.effective(entry.info);
    if (it == nodes_.end()) {
      if (has_items(eff)) entry.info.desired_version = 1;
    } else if (!merger.same(eff, entry.effective)) {
      ++entry.info.desired_version;
    }
    entry.effective = std::move(eff);
    TokenEntry token{token_hash(secret), now_ms + options_.enrol_token_ttl_ms, false};
    if (auto r = write({NodeRow{entry.info},
                        EnrolTokenRow{entry.info.id, token.hash, token.expires_ms, false}});
        !r) {
      return unexpected(r.error());
    }
    nodes_[entry.info.id] = std::move(entry);
    enrol_tokens_[std::string(id)] = std::move(token);
    return secret;
  }

  Result<std::string> reissue_enrol_token(std::string_view id, int64_t now_ms) override {
    std::string secret = random_token();
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return unexpected(unknown_node(id));
    if (it->second.info.state != NodeState::Active) {
      return unexpected(Error{"node '" + std::string(id) + "' is " +
                              std::string(to_string(it->second.info.state))});
    }
    TokenEntry token{token_hash(secret), now_ms + options_.enrol_token_ttl_ms, false};
    if (auto r = write({EnrolTokenRow{std::string(id), token.hash, token.expires_ms, false}}); !r) {
      return unexpected(r.error());
    }
    enrol_tokens_[std::string(id)] = std::move(token);
    return secret;
  }

  Result<void> consume_enrol_token(std::string_view node_id, std::string_view secret,
                                   int64_t now_ms) override {
    std::lock_guard lock(mu_);
    auto token = check_token(node_id, secret, now_ms);
    if (!token) return unexpected(token.error());
    const TokenEntry& t = **token;
    if (auto r = write({EnrolTokenRow{std::string(node_id), t.hash, t.expires_ms, true}}); !r) {
      return unexpected(r.error());
    }
    enrol_tokens_.find(node_id)->second.used = true;
    return {};
  }

  bool enrol_token_valid(std::string_view node_id, std::string_view secret,
                         int64_t now_ms) const override {
    std::lock_guard lock(mu_);
    return check_token(node_id, secret, now_ms).has_value();
  }

  Result<void> set_enrolled(std::string_view id, std::string_view cert_serial, int64_t not_after_ms,
                            int64_t now_ms) override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return unexpected(unknown_node(id));
    if (it->second.info.state == NodeState::Revoked) {
      return unexpected(Error{"node '" + std::string(id) + "' is revoked"});
    }
    NodeInfo info = it->second.info;
    info.state = NodeState::Active;
    info.enrolled_ms = now_ms;
    info.cert_serial = cert_serial;
    info.cert_not_after_ms = not_after_ms;
    if (auto r = write({NodeRow{info}}); !r) return r;
    it->second.info = std::move(info);
    return {};
  }

  Result<void> revoke_node(std::string_view id, int64_t /*now_ms*/) override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return unexpected(unknown_node(id));
    if (it->second.info.state == NodeState::Revoked) return {};
    NodeInfo info = it->second.info;
    info.state = NodeState::Revoked;
    if (auto r = write({NodeRow{info}}); !r) return r;
    it->second.info.state = NodeState::Revoked;
    it->second.info.online = false;
    return {};
  }

  Result<void> delete_node(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return unexpected(unknown_node(id));
    if (auto r = write({NodeDelete{std::string(id)}}); !r) return r;
    nodes_.erase(it);
    if (auto t = enrol_tokens_.find(id); t != enrol_tokens_.end()) enrol_tokens_.erase(t);
    if (auto d = desired_.find("node:" + std::string(id)); d != desired_.end()) desired_.erase(d);
    std::erase_if(alarms_, [&](const auto& a) { return a.first.first == id; });
    return {};
  }

  Result<void> set_labels(std::string_view id, std::string_view site,
                          const Labels& labels) override {
    auto r = relabel(id, site, labels);
    if (!r) return unexpected(r.error());
    return {};
  }

  Result<bool> relabel(std::string_view id, std::string_view site, const Labels& labels) override {
    if (auto r = validate_labels(labels); !r) return unexpected(r.error());
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return unexpected(unknown_node(id));
    NodeInfo info = it->second.info;
    info.site = site;
    info.labels = labels;
    Merger merger(desired_);
    Value eff = merger.effective(info);
    const bool changed = !merger.same(eff, it->second.effective);
    if (changed) ++info.desired_version;
    if (auto r = write({NodeRow{info}}); !r) return unexpected(r.error());
    it->second.info.site = info.site;
    it->second.info.labels = std::move(info.labels);
    it->second.info.desired_version = info.desired_version;
    it->second.effective = std::move(eff);
    return changed;
  }

  std::optional<NodeInfo> node(std::string_view id) const override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return std::nullopt;
    return it->second.info;
  }

  std::vector<NodeInfo> nodes(const Labels& selector) const override {
    std::lock_guard lock(mu_);
    std::vector<NodeInfo> out;
    for (const auto& [id, n] : nodes_) {
      if (selector_matches(selector, n.info.labels)) out.push_back(n.info);
    }
    return out;
  }

  bool node_active(std::string_view id) const override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    return it != nodes_.end() && it->second.info.state == NodeState::Active;
  }

  bool node_cert_valid(std::string_view id, std::string_view serial) const override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    return it != nodes_.end() && it->second.info.state == NodeState::Active && !serial.empty() &&
           it->second.info.cert_serial == serial;
  }

  // --- Live status (memory only) ---

  void heartbeat(std::string_view id, Value status, int64_t now_ms) override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end() || it->second.info.state == NodeState::Revoked) return;
    NodeInfo& n = it->second.info;
    n.online = true;
    n.last_seen_ms = now_ms;
    n.status = std::move(status);
  }

  void set_offline(std::string_view id) override {
    std::lock_guard lock(mu_);
    if (auto it = nodes_.find(id); it != nodes_.end()) it->second.info.online = false;
  }

  void set_devices(std::string_view id, Value devices) override {
    std::lock_guard lock(mu_);
    if (auto it = nodes_.find(id); it != nodes_.end()) it->second.info.devices = std::move(devices);
  }

  void set_report(std::string_view id, Value report) override {
    std::lock_guard lock(mu_);
    if (auto it = nodes_.find(id); it != nodes_.end()) it->second.info.report = std::move(report);
  }

  size_t expire_heartbeats(int64_t now_ms) override {
    std::lock_guard lock(mu_);
    size_t expired = 0;
    for (auto& [id, n] : nodes_) {
      if (n.info.online && now_ms - n.info.last_seen_ms > options_.offline_after_ms) {
        n.info.online = false;
        ++expired;
      }
    }
    return expired;
  }

  // --- Desired state ---

  Result<std::vector<std::string>> put_desired(const DesiredScope& scope, Value doc,
                                               int64_t now_ms) override {
    if (auto r = validate_desired(doc); !r) return unexpected(r.error());
    auto normal = normalise(scope);
    if (!normal) return unexpected(normal.error());
    std::lock_guard lock(mu_);
    if (normal->kind == DesiredScope::Kind::Node && !nodes_.contains(normal->value)) {
      return unexpected(unknown_node(normal->value));
    }
    const std::string key = normal->key();
    DesiredMap next = desired_;
    DesiredEntry& entry = next[key];
    if (entry.position == 0) entry.position = next_position_;
    entry.doc.scope = *normal;
    entry.doc.doc = without_version(doc);
    entry.doc.revision += 1;
    entry.doc.updated_ms = now_ms;
    if (normal->kind == DesiredScope::Kind::Selector)
      entry.selector = *parse_selector(normal->value);
    const DesiredRow row{entry.doc, entry.position};
    return replace_desired(std::move(next), *normal, row);
  }

  Result<std::vector<std::string>> delete_desired(const DesiredScope& scope) override {
    auto normal = normalise(scope);
    if (!normal) return unexpected(normal.error());
    std::lock_guard lock(mu_);
    const std::string key = normal->key();
    DesiredMap next = desired_;
    auto it = next.find(key);
    if (it == next.end()) return unexpected(Error{"no desired document for " + key});
    next.erase(it);
    return replace_desired(std::move(next), *normal, DesiredDelete{key});
  }

  std::vector<DesiredDoc> desired_docs() const override {
    std::lock_guard lock(mu_);
    std::vector<const DesiredEntry*> entries;
    for (const auto& [key, e] : desired_) entries.push_back(&e);
    std::sort(entries.begin(), entries.end(), [](const DesiredEntry* a, const DesiredEntry* b) {
      return a->position < b->position;
    });
    std::vector<DesiredDoc> out;
    out.reserve(entries.size());
    for (const DesiredEntry* e : entries) out.push_back(e->doc);
    return out;
  }

  Value effective_desired(std::string_view node_id) const override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return Value();
    return with_version(it->second.effective, it->second.info.desired_version);
  }

  // --- API tokens ---

  Result<std::string> create_api_token(std::string_view name, Role role, int64_t now_ms) override {
    if (name.empty() || name.size() > kMaxNameLength) {
      return unexpected(Error{"api token name: expected 1..128 characters"});
    }
    std::lock_guard lock(mu_);
    std::string token;
    std::string id;
    do {  // ids are 48 random bits: a clash is rare, but must not replace another token
      token = std::string(kApiTokenPrefix) + random_token();
      id = token.substr(kApiTokenPrefix.size(), kApiTokenIdLength);
    } while (api_tokens_.contains(id));
    ApiTokenRow row{ApiToken{id, std::string(name), role, now_ms}, token_hash(token)};
    if (auto r = write({row}); !r) return unexpected(r.error());
    api_tokens_.emplace(id, std::move(row));
    return token;
  }

  std::optional<ApiToken> check_api_token(std::string_view token) const override {
    if (!token.starts_with(kApiTokenPrefix) ||
        token.size() < kApiTokenPrefix.size() + kApiTokenIdLength) {
      return std::nullopt;
    }
    const std::string hash = token_hash(token);
    std::lock_guard lock(mu_);
    auto it = api_tokens_.find(token.substr(kApiTokenPrefix.size(), kApiTokenIdLength));
    if (it == api_tokens_.end() || !equal_constant_time(hash, it->second.hash)) return std::nullopt;
    return it->second.token;
  }

  std::vector<ApiToken> api_tokens() const override {
    std::lock_guard lock(mu_);
    std::vector<ApiToken> out;
    out.reserve(api_tokens_.size());
    for (const auto& [id, t] : api_tokens_) out.push_back(t.token);
    return out;
  }

  Result<void> delete_api_token(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = api_tokens_.find(id);
    if (it == api_tokens_.end()) {
      return unexpected(Error{"unknown api token '" + std::string(id) + "'"});
    }
    if (auto r = write({ApiTokenDelete{std::string(id)}}); !r) return r;
    api_tokens_.erase(it);
    return {};
  }

  bool has_api_tokens() const override {
    std::lock_guard lock(mu_);
    return !api_tokens_.empty();
  }

  // --- Audit ---

  Result<void> audit(std::string_view who, std::string_view action, std::string_view target,
                     const Value& detail, int64_t now_ms) override {
    AuditEntry e{0, now_ms, std::string(who), std::string(action), std::string(target), detail};
    std::lock_guard lock(mu_);
    auto r = backend_->append_audit(e);
    if (!r) count_write_error(r.error());
    return r;
  }

  std::vector<AuditEntry> audit_log(int64_t after_id, size_t limit) const override {
    std::lock_guard lock(mu_);
    // "No limit" (SIZE_MAX) must not wrap to a negative SQL LIMIT.
    limit = std::min<size_t>(limit, std::numeric_limits<int64_t>::max());
    auto rows = backend_->read_audit(after_id, limit);
    if (!rows) {
      log_error("registry: cannot read the audit log", {{"error", rows.error().message}});
      return {};
    }
    return std::move(*rows);
  }

  // --- Alarms ---

  Result<void> upsert_alarm(std::string_view node, std::string_view key, const Value& doc,
                            int64_t now_ms) override {
    if (node.empty() || key.empty()) return unexpected(Error{"alarm: node and key are required"});
    AlarmRecord a{std::string(node), std::string(key), doc, now_ms};
    std::lock_guard lock(mu_);
    if (auto r = write({AlarmRow{a}}); !r) return r;
    alarms_[{a.node, a.key}] = std::move(a);
    return {};
  }

  std::vector<AlarmRecord> alarms(std::string_view node) const override {
    std::lock_guard lock(mu_);
    std::vector<AlarmRecord> out;
    for (const auto& [key, a] : alarms_) {
      if (node.empty() || a.node == node) out.push_back(a);
    }
    return out;
  }

  // --- Metrics ---

  void register_metrics(metrics::Registry& registry) override {
    // Counted at scrape time: a scrape walks the nodes once, a heartbeat stays a map update.
    registry.add_collector([this](metrics::Exposition& e) {
      size_t by_state[3] = {0, 0, 0};
      size_t online = 0;
      size_t tokens = 0;
      {
        std::lock_guard lock(mu_);
        for (const auto& [id, n] : nodes_) {
          ++by_state[static_cast<size_t>(n.info.state)];
          if (n.info.online) ++online;
        }
        tokens = api_tokens_.size();
      }
      for (NodeState s : {NodeState::Pending, NodeState::Active, NodeState::Revoked}) {
        e.gauge("verge_hub_nodes", "Registered nodes by state",
                {{"state", std::string(to_string(s))}},
                static_cast<double>(by_state[static_cast<size_t>(s)]));
      }
      e.gauge("verge_hub_nodes_online", "Nodes with a recent heartbeat", {},
              static_cast<double>(online));
      e.gauge("verge_hub_api_tokens", "API tokens", {}, static_cast<double>(tokens));
      e.counter("verge_hub_registry_write_errors_total",
                "Registry changes refused because the database write failed", {},
                static_cast<double>(write_errors_.load(std::memory_order_relaxed)));
    });
  }

 private:
  // Every durable change goes through here: all of `ops` or nothing; the caller changes memory
  // only on success.
  Result<void> write(const std::vector<Op>& ops) {
    auto r = backend_->commit(ops);
    if (!r) count_write_error(r.error());
    return r;
  }

  void count_write_error(const Error& e) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    log_error("registry: write failed", {{"error", e.message}});
  }

  // The node's token entry if `secret` would be accepted now; the caller holds mu_.
  Result<const TokenEntry*> check_token(std::string_view node_id, std::string_view secret,
                                        int64_t now_ms) const {
    auto n = nodes_.find(node_id);
    auto t = enrol_tokens_.find(node_id);
    if (n == nodes_.end() || t == enrol_tokens_.end() ||
        !equal_constant_time(token_hash(secret), t->second.hash)) {
      return unexpected(Error{"unknown token"});
    }
    if (n->second.info.state == NodeState::Revoked) {
      return unexpected(Error{"node '" + std::string(node_id) + "' is revoked"});
    }
    if (t->second.used) return unexpected(Error{"token already used"});
    if (now_ms >= t->second.expires_ms) return unexpected(Error{"token expired"});
    return &t->second;
  }

  static Result<DesiredScope> normalise(const DesiredScope& scope) {
    if (scope.kind == DesiredScope::Kind::Node) {
      if (auto r = validate_node_id(scope.value); !r) return unexpected(r.error());
      return scope;
    }
    auto sel = parse_selector(scope.value);
    if (!sel) return unexpected(sel.error());
    return DesiredScope{DesiredScope::Kind::Selector, format_selector(*sel)};
  }

  // Makes `next` the desired documents: recomputes the effective document of every node the
  // scope reaches, stores `change` with the new versions of the nodes whose document changed,
  // then shows it all. Returns those nodes' ids. The caller holds mu_.
  Result<std::vector<std::string>> replace_desired(DesiredMap next, const DesiredScope& scope,
                                                   Op change) {
    Labels selector;
    if (scope.kind == DesiredScope::Kind::Selector) selector = *parse_selector(scope.value);
    Merger merger(next);
    VersionsUpdate versions;
    std::vector<std::pair<NodeEntry*, Value>> updates;
    auto consider = [&](NodeEntry& n) {
      Value eff = merger.effective(n.info);
      if (merger.same(eff, n.effective)) return;
      versions.versions.emplace_back(n.info.id, n.info.desired_version + 1);
      updates.emplace_back(&n, std::move(eff));
    };
    if (scope.kind == DesiredScope::Kind::Node) {
      consider(nodes_.find(scope.value)->second);
    } else {
      for (auto& [id, n] : nodes_) {
        if (selector_matches(selector, n.info.labels)) consider(n);
      }
    }
    if (auto r = write({change, versions}); !r) return unexpected(r.error());
    next_position_ = std::max(next_position_, max_position(next) + 1);
    desired_ = std::move(next);
    std::vector<std::string> changed;
    changed.reserve(updates.size());
    for (auto& [n, eff] : updates) {
      ++n->info.desired_version;
      n->effective = std::move(eff);
      changed.push_back(n->info.id);
    }
    return changed;  // in id order (nodes_ is sorted)
  }

  static int64_t max_position(const DesiredMap& docs) {
    int64_t m = 0;
    for (const auto& [key, e] : docs) m = std::max(m, e.position);
    return m;
  }

  const RegistryOptions options_;
  mutable std::mutex mu_;
  // The durable store; const methods use it too (audit_log), always under mu_.
  std::unique_ptr<Backend> backend_;
  std::map<std::string, NodeEntry, std::less<>> nodes_;
  std::map<std::string, TokenEntry, std::less<>> enrol_tokens_;  // by node id
  DesiredMap desired_;
  int64_t next_position_ = 1;
  std::map<std::string, ApiTokenRow, std::less<>> api_tokens_;  // by public id
  std::map<std::pair<std::string, std::string>, AlarmRecord> alarms_;
  std::atomic<uint64_t> write_errors_{0};
};

}  // namespace

Result<std::unique_ptr<Registry>> Registry::open(const RegistryOptions& options) {
  Result<std::unique_ptr<Backend>> backend = unexpected(Error{});
  if (options.storage.empty() || options.storage == "embedded") {
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec) {
      return unexpected(
          Error{"cannot create data directory '" + options.data_dir + "': " + ec.message()});
    }
    backend = open_sqlite_backend(options.data_dir);
  } else if (store::is_postgres_url(options.storage)) {
    backend = open_postgres_backend(options.storage);
  } else {
    return unexpected(Error{"storage: expected \"embedded\" or a postgres:// URL"});
  }
  if (!backend) return unexpected(backend.error());
  return open_registry(options, std::move(*backend));
}

namespace registry_internal {

Result<std::unique_ptr<Registry>> open_registry(const RegistryOptions& options,
                                                std::unique_ptr<Backend> backend) {
  auto registry = std::make_unique<RegistryImpl>(options, std::move(backend));
  if (auto r = registry->load(); !r) return unexpected(r.error());
  return std::unique_ptr<Registry>(std::move(registry));
}

}  // namespace registry_internal

}  // namespace verge::sync
