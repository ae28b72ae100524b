// Fuzzes the node configuration loader: any text is either applied or refused with an error that
// names where (the file name), never a crash, an exception or a half-applied configuration.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  verge::EdgeConfig cfg;
  const verge::EdgeConfig before = cfg;
  auto r = verge::apply_yaml_text(text, "fuzz.yaml", cfg);
  if (!r) {
    if (r.error().message.find("fuzz.yaml") == std::string::npos) std::abort();
    if (!(cfg == before)) std::abort();  // an error must leave the settings untouched
  }
  return 0;
}
