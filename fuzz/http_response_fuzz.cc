// Fuzzes the webhook client's response parser (net/http_client.h). Invariants are checked with
// abort(): a response found without `eof` is found the same with it; a complete response is
// complete for every longer buffer with the same prefix (bytes after it are not its own);
// no prefix of a body-delimited-by-close response is complete without `eof`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/http_client.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

using verge::net::parse_http_response;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (bool head_request : {false, true}) {
    auto open = parse_http_response(in, false, head_request);
    auto closed = parse_http_response(in, true, head_request);
    if (!open) {
      // An error without eof stays an error at eof (it came from the bytes, not their end).
      check(!closed);
      continue;
    }
    if (open->has_value()) {
      check(closed && closed->has_value());
      check((*open)->status == (*closed)->status && (*open)->body == (*closed)->body);
      check((*open)->status >= 200);
      // Trailing bytes after a complete response do not change it.
      const std::string more = std::string(in) + "HTTP/1.1 200 OK\r\n\r\nxyz";
      auto longer = parse_http_response(more, false, head_request);
      check(longer && longer->has_value() && (*longer)->body == (*open)->body);
    } else if (closed) {
      check(closed->has_value());  // at eof a response is either complete or an error
    }
  }
  return 0;
}
