#include "devices/adapter.h"

#include <algorithm>

namespace verge::devices {

void AdapterRegistry::add(std::unique_ptr<AdapterFactory> factory) {
  factories_.push_back(std::move(factory));
}

const AdapterFactory* AdapterRegistry::find(std::string_view protocol) const {
  for (const auto& f : factories_) {
    if (f->protocol() == protocol) return f.get();
  }
  return nullptr;
}

std::vector<std::string_view> AdapterRegistry::protocols() const {
  std::vector<std::string_view> out;
  out.reserve(factories_.size());
  for (const auto& f : factories_) out.push_back(f->protocol());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace verge::devices
