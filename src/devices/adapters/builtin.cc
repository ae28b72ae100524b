#include "devices/adapters/builtin.h"

namespace verge::devices {

const AdapterRegistry& builtin_adapters() {
  static const AdapterRegistry registry = [] {
    AdapterRegistry r;
    // One line per adapter (each adapter author adds theirs here and nowhere else).
    return r;
  }();
  return registry;
}

}  // namespace verge::devices
