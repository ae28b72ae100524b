// Fuzzes the MQTT codec. The first input byte picks the protocol version; the rest is a byte
// stream. Whatever decodes must re-encode to bytes that decode to an equal packet, and encoding
// must be stable (encode(decode(encode(p))) == encode(p)); any mismatch aborts.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <variant>

#include "mqtt/codec.h"

namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace verge::mqtt;
  if (size < 1) return 0;
  const Version version = (data[0] & 1) ? Version::V5 : Version::V311;
  std::span<const uint8_t> buf(data + 1, size - 1);

  // Decode exactly one frame when the stream holds one; otherwise feed everything so the
  // length-mismatch paths get exercised too.
  FrameHeader h;
  if (peek_frame(buf, h) == FrameStatus::Complete && h.total_size() <= buf.size()) {
    buf = buf.first(h.total_size());
  }
  auto first = decode(buf, version);
  if (!first) return 0;

  std::string encoded;
  encode(*first, version, encoded);
  auto second = decode(bytes(encoded), version);
  if (!second || !(*second == *first)) std::abort();

  std::string again;
  encode(*second, version, again);
  if (again != encoded) std::abort();

  if (const auto* pub = std::get_if<Publish>(&*first)) {
    std::string head;
    encode_publish_header(*pub, version, head);
    if (head.size() + pub->payload.size() != encoded.size() ||
        encoded.compare(0, head.size(), head) != 0) {
      std::abort();
    }
  }
  return 0;
}
