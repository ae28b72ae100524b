// Applying desired-state documents to the node's managers, item by item, as configuration items.
#include "sync/desired_apply.h"

#include <map>
#include <utility>

#include "core/file.h"
#include "devices/manager.h"
#include "rules/manager.h"
#include "sync/desired.h"
#include "sync/edge_files.h"

namespace verge::sync {

namespace {

using Items = std::vector<std::pair<std::string, Value>>;

// The spec with its name member set from the key (the document may leave it out).
Value named(const Value& spec, std::string_view field, const std::string& name) {
  if (!spec.is_object()) return spec;
  ValueObject members;
  members.reserve(spec.as_object().size() + 1);
  members.emplace_back(std::string(field), Value(name));
  for (const auto& [k, v] : spec.as_object()) {
    if (k != field) members.emplace_back(k, v);
  }
  return Value(std::move(members));
}

void set_item(Items& items, const std::string& name, const Value* spec) {
  for (auto it = items.begin(); it != items.end(); ++it) {
    if (it->first != name) continue;
    if (spec == nullptr) {
      items.erase(it);
    } else {
      it->second = *spec;
    }
    return;
  }
  if (spec != nullptr) items.emplace_back(name, *spec);
}

std::map<std::string, Items, std::less<>> items_by_kind(const Value& doc) {
  std::map<std::string, Items, std::less<>> out;
  for (auto kind : kDesiredKinds) {
    Items& items = out[std::string(kind)];
    const Value* v = doc.find(kind);
    if (v != nullptr && v->is_object()) items.assign(v->as_object().begin(), v->as_object().end());
  }
  return out;
}

int64_t version_of(const Value& doc) {
  const Value* v = doc.find("version");
  return v != nullptr && v->is_int() ? v->as_int() : 0;
}

std::string put_item(devices::DeviceManager* devices_, rules::RuleManager* rules_,
                     const std::string& kind, const std::string& name, const Value& spec) {
  if (kind == "profiles" || kind == "devices") {
    if (devices_ == nullptr) return "no device manager on this node";
    auto r = kind == "profiles" ? devices_->put_profile(named(spec, "name", name), true)
                                : devices_->put_device(named(spec, "id", name), true);
    return r ? std::string() : r.error().message;
  }
  if (rules_ == nullptr) return "no rule engine on this node";
  if (kind == "streams") {
    auto r = rules_->define_stream(spec.as_string(), true);
    return r ? std::string() : r.error().message;
  }
  auto parsed = rules::RuleSpec::from_value(named(spec, "id", name));
  if (!parsed) return parsed.error().message;
  parsed->from_config = true;
  auto r = rules_->spec(name) ? rules_->update(*parsed) : rules_->create(*parsed);
  return r ? std::string() : r.error().message;
}

std::string delete_item(devices::DeviceManager* devices_, rules::RuleManager* rules_,
                        const std::string& kind, const std::string& name) {
  if (kind == "profiles" || kind == "devices") {
    if (devices_ == nullptr) return "no device manager on this node";
    auto r = kind == "profiles" ? devices_->delete_profile(name, true)
                                : devices_->delete_device(name, true);
    if (!r && r.error().code == devices::DeviceErrorCode::NotFound) return {};  // already gone
    return r ? std::string() : r.error().message;
  }
  if (rules_ == nullptr) return "no rule engine on this node";
  auto r = kind == "streams" ? rules_->drop_stream(name, true) : rules_->remove(name, true);
  if (!r && r.error().code == rules::RuleErrc::NotFound) return {};
  return r ? std::string() : r.error().message;
}

}  // namespace

Value ApplyReport::to_value() const {
  ValueArray applied_items(applied.begin(), applied.end());
  ValueArray failures;
  for (const auto& f : failed) {
    failures.emplace_back(ValueObject{{"item", f.item}, {"error", f.error}});
  }
  return Value(ValueObject{{"version", version},
                           {"applied", std::move(applied_items)},
                           {"unchanged", static_cast<int64_t>(unchanged)},
                           {"failed", std::move(failures)}});
}

DesiredApplier::DesiredApplier(std::string dir, devices::DeviceManager* devices,
                               rules::RuleManager* rules)
    : dir_(std::move(dir)), devices_(devices), rules_(rules), applied_(ValueObject{}) {}

int64_t DesiredApplier::applied_version() const { return version_of(applied_); }

Result<ApplyReport> DesiredApplier::restore() {
  const std::string path = dir_ + "/applied.json";
  if (!file_exists(path)) return ApplyReport{};
  auto text = read_text_file(path, "applied desired state");
  if (!text) return unexpected(text.error());
  auto doc = parse_json(*text);
  if (!doc) {
    return unexpected(Error{path + ": " + doc.error().message + " at byte " +
                            std::to_string(doc.error().offset)});
  }
  if (auto ok = validate_desired(*doc); !ok) {
    return unexpected(Error{path + ": " + ok.error().message});
  }
  applied_ = Value(ValueObject{});  // nothing runs yet: every item is applied again
  return apply(*doc);
}

Result<ApplyReport> DesiredApplier::apply(const Value& doc) {
  if (auto ok = validate_desired(doc); !ok) return unexpected(ok.error());
  ApplyReport report;
  report.version = version_of(doc);
  const auto changes = diff_desired(applied_, doc);
  size_t desired_items = 0;
  for (auto kind : kDesiredKinds) {
    const Value* v = doc.find(kind);
    if (v != nullptr && v->is_object()) desired_items += v->as_object().size();
  }
  auto running = items_by_kind(applied_);

  for (const ItemChange& c : changes) {
    const std::string item = c.kind + "/" + c.name;
    std::string error;
    if (c.op == ItemChange::Op::Put) {
      error = put_item(devices_, rules_, c.kind, c.name, *c.spec);
    } else {
      error = delete_item(devices_, rules_, c.kind, c.name);
    }
    if (!error.empty()) {
      report.failed.push_back({item, error});
      continue;  // what ran before keeps running, and stays recorded as such
    }
    set_item(running[c.kind], c.name, c.op == ItemChange::Op::Put ? c.spec : nullptr);
    report.applied.push_back(item);
  }

  ValueObject next;
  next.emplace_back("version", Value(report.version));
  for (auto kind : kDesiredKinds) {
    Items& items = running[std::string(kind)];
    next.emplace_back(std::string(kind), Value(ValueObject(items.begin(), items.end())));
  }
  applied_ = Value(std::move(next));
  size_t puts = 0;
  for (const auto& c : changes) puts += c.op == ItemChange::Op::Put ? 1 : 0;
  report.unchanged = desired_items >= puts ? desired_items - puts : 0;

  if (auto r = make_private_dir(dir_); !r) return unexpected(r.error());
  if (auto r = write_file_atomic(dir_ + "/applied.json", applied_.to_json(), 0600); !r) {
    return unexpected(r.error());
  }
  return report;
}

}  // namespace verge::sync
