// Fuzzes the broker journal's record decoder and replay: bytes read back from disk are either a
// record or an error, and replaying any sequence of records never crashes.
#include <cstdint>
#include <string_view>

#include "mqtt/journal_codec.h"
#include "mqtt/persistence.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  verge::mqtt::RecoveredState state;
  // The input is a sequence of records, each prefixed by a one-byte length.
  size_t at = 0;
  while (at < bytes.size()) {
    const size_t n = static_cast<uint8_t>(bytes[at++]);
    const std::string_view rec = bytes.substr(at, n);
    at += rec.size();
    auto r = verge::mqtt::decode_journal_record(rec);
    if (r) verge::mqtt::apply_record(state, std::move(*r));
  }
  return 0;
}
