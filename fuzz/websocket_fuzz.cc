// Fuzzes WsDecoder. The first two input bytes pick the message limit and text policy; the rest is
// the client byte stream. It is decoded twice, all at once and in chunks whose sizes derive from
// the input, and both runs must produce the same events, control payloads, data and final state.
// Per-call invariants are checked with abort().
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "net/websocket.h"

namespace {

using verge::net::WsDecoder;
using Event = WsDecoder::Event;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Outcome {
  std::vector<Event> events;  // Ping, Pong, Close, Error in order
  std::vector<std::string> controls;
  std::string data;
  std::string error;
  uint16_t close_code = 0;
  bool closed = false;
  bool failed = false;
  size_t consumed = 0;
};

// Feeds one chunk completely (re-feeding after control events), checking per-call invariants.
// Returns false once the decoder has failed.
bool feed_chunk(WsDecoder& dec, std::span<const uint8_t> chunk, Outcome& out) {
  while (true) {
    const size_t before = out.data.size();
    size_t consumed = SIZE_MAX;
    const Event e = dec.feed(chunk, consumed, out.data);
    check(consumed <= chunk.size());
    check(out.data.size() - before <= consumed);  // unmasking never grows data
    out.consumed += consumed;
    chunk = chunk.subspan(consumed);
    switch (e) {
      case Event::None:
        check(chunk.empty() && out.data.size() == before);
        return true;
      case Event::Data:
        check(chunk.empty() && out.data.size() > before);
        return true;
      case Event::Ping:
      case Event::Pong:
      case Event::Close:
        check(dec.control_payload().size() <= 125);
        check((e == Event::Close) == dec.closed());
        out.events.push_back(e);
        out.controls.push_back(dec.control_payload());
        break;
      case Event::Error: {
        check(!dec.error().empty() && dec.failed());
        check(dec.close_code_to_send() >= 1000);
        out.events.push_back(e);
        std::string sink;
        size_t again = 1;
        check(dec.feed(chunk, again, sink) == Event::Error && again == 0 && sink.empty());
        return false;
      }
    }
  }
}

Outcome decode(std::span<const uint8_t> stream, uint64_t limit, bool reject_text,
               std::span<const uint8_t> sizes) {
  WsDecoder dec(limit);
  dec.set_reject_text(reject_text);
  Outcome out;
  size_t off = 0;
  size_t k = 0;
  while (off < stream.size()) {
    size_t n = stream.size() - off;
    if (!sizes.empty()) {
      const uint8_t s = sizes[k++ % sizes.size()];
      n = std::min(n, s < 200 ? size_t{1} + s % 16 : size_t{1} + (s - 200) * 64);
    }
    if (!feed_chunk(dec, stream.subspan(off, n), out)) break;
    off += n;
  }
  out.error = dec.error();
  out.close_code = dec.close_code();
  out.closed = dec.closed();
  out.failed = dec.failed();
  if (out.closed)
    check(out.close_code == 1005 || (out.close_code >= 1000 && out.close_code < 5000));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint64_t limit = data[0] == 0xff ? UINT64_MAX : uint64_t{data[0]} * 37;
  const bool reject_text = (data[1] & 1) != 0;
  const std::span<const uint8_t> stream(data + 2, size - 2);

  const Outcome whole = decode(stream, limit, reject_text, {});
  check(whole.failed || whole.consumed == stream.size());
  check(whole.data.size() <= stream.size());
  // Chunk sizes come from the stream itself (read backwards, so they differ from frame bytes).
  std::vector<uint8_t> sizes(stream.rbegin(), stream.rend());
  if (sizes.empty()) sizes.push_back(0);
  for (const auto& chunked : {decode(stream, limit, reject_text, sizes),
                              decode(stream, limit, reject_text, std::span(sizes).first(1))}) {
    check(chunked.events == whole.events);
    check(chunked.controls == whole.controls);
    check(chunked.data == whole.data);
    check(chunked.error == whole.error);
    check(chunked.close_code == whole.close_code);
    check(chunked.closed == whole.closed && chunked.failed == whole.failed);
    check(chunked.consumed == whole.consumed);
  }

  // Encoder: the header announces the length it was given, minimally encoded.
  const uint64_t len = limit;
  std::string hdr;
  verge::net::ws_encode_frame_header(verge::net::kWsBinary, len, hdr);
  check(hdr.size() == (len < 126 ? 2u : (len <= 0xffff ? 4u : 10u)));
  check(static_cast<uint8_t>(hdr[0]) == 0x82);
  uint64_t decoded = static_cast<uint8_t>(hdr[1]);
  if (hdr.size() > 2) {
    decoded = 0;
    for (size_t i = 2; i < hdr.size(); ++i) decoded = (decoded << 8) | static_cast<uint8_t>(hdr[i]);
  }
  check(decoded == len);
  return 0;
}
