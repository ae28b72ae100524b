#include "sync/registry_merge.h"

#include <map>
#include <string>
#include <string_view>

#include "sync/desired.h"

namespace verge::sync::registry_internal {

Value merge_desired(std::span<const Value* const> docs) {
  ValueObject out;
  out.reserve(std::size(kDesiredKinds));
  for (std::string_view kind : kDesiredKinds) {
    std::map<std::string_view, const Value*> items;  // views into `docs`, which outlive this
    for (const Value* doc : docs) {
      const Value* section = doc->find(kind);
      if (section == nullptr || !section->is_object()) continue;
      for (const auto& [name, item] : section->as_object()) items[name] = &item;
    }
    ValueObject merged;
    merged.reserve(items.size());
    for (const auto& [name, item] : items) merged.emplace_back(std::string(name), *item);
    out.emplace_back(std::string(kind), Value(std::move(merged)));
  }
  return Value(std::move(out));
}

Value with_version(const Value& merged, int64_t version) {
  ValueObject out;
  out.reserve(merged.is_object() ? merged.as_object().size() + 1 : 1);
  out.emplace_back("version", Value(version));
  if (merged.is_object()) {
    for (const auto& member : merged.as_object()) out.push_back(member);
  }
  return Value(std::move(out));
}

Value without_version(const Value& doc) {
  if (!doc.is_object() || doc.find("version") == nullptr) return doc;
  ValueObject out;
  for (const auto& member : doc.as_object()) {
    if (member.first != "version") out.push_back(member);
  }
  return Value(std::move(out));
}

}  // namespace verge::sync::registry_internal
