#include "net/websocket.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace verge::net {
namespace {

using Event = WsDecoder::Event;

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string raw(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

// A masked client frame; b0 is FIN/RSV/opcode.
std::string client_frame(uint8_t b0, std::string_view payload,
                         std::array<uint8_t, 4> mask = {0x37, 0xfa, 0x21, 0x3d}) {
  std::string f;
  f.push_back(static_cast<char>(b0));
  const uint64_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xffff) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xff));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int s = 56; s >= 0; s -= 8) f.push_back(static_cast<char>((n >> s) & 0xff));
  }
  for (uint8_t m : mask) f.push_back(static_cast<char>(m));
  for (size_t i = 0; i < payload.size(); ++i) {
    f.push_back(static_cast<char>(static_cast<uint8_t>(payload[i]) ^ mask[i % 4]));
  }
  return f;
}

struct Fed {
  std::vector<Event> events;  // control events and Error, in order
  std::vector<std::string> controls;
  std::string data;
};

// Feeds `input` in chunks of `chunk` bytes (0 = all at once), re-feeding after control events.
Fed feed_all(WsDecoder& dec, std::string_view input, size_t chunk = 0) {
  Fed r;
  size_t off = 0;
  while (off < input.size()) {
    const size_t len = chunk == 0 ? input.size() - off : std::min(chunk, input.size() - off);
    std::string_view piece = input.substr(off, len);
    while (true) {
      size_t consumed = 0;
      const Event e = dec.feed(bytes(piece), consumed, r.data);
      EXPECT_LE(consumed, piece.size());
      piece.remove_prefix(consumed);
      if (e == Event::Error) {
        r.events.push_back(e);
        return r;
      }
      if (e == Event::Ping || e == Event::Pong || e == Event::Close) {
        r.events.push_back(e);
        r.controls.push_back(dec.control_payload());
        continue;
      }
      EXPECT_TRUE(piece.empty());
      break;
    }
    off += len;
  }
  return r;
}

HttpRequest upgrade_request(std::string_view extra = "Sec-WebSocket-Protocol: mqtt\r\n") {
  std::string s =
      "GET /mqtt HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n";
  s += extra;
  s += "\r\n";
  HttpRequest req;
  const char* err = nullptr;
  EXPECT_EQ(parse_http_request(bytes(s), req, &err), HttpParse::Complete) << (err ? err : "");
  return req;
}

// ---------------------------------------------------------------------------------------------
// Handshake

TEST(WebSocketHandshake, AcceptKeyRfcSample) {
  EXPECT_EQ(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_NE(websocket_accept_key("x3JJHMbDL1EzLkh9GBhXDw=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(websocket_accept_key("x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

TEST(WebSocketHandshake, MqttSubprotocol) {
  const auto r = websocket_handshake_response(upgrade_request());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r,
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Sec-WebSocket-Protocol: mqtt\r\n"
            "\r\n");
}

TEST(WebSocketHandshake, SubprotocolSelection) {
  auto r = websocket_handshake_response(upgrade_request("Sec-WebSocket-Protocol: wamp, mqtt\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->find("Sec-WebSocket-Protocol: mqtt\r\n"), std::string::npos);

  r = websocket_handshake_response(upgrade_request("Sec-WebSocket-Protocol: mqttv3.1\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->find("Sec-WebSocket-Protocol: mqttv3.1\r\n"), std::string::npos);

  r = websocket_handshake_response(
      upgrade_request("Sec-WebSocket-Protocol: mqttv3.1\r\nSec-WebSocket-Protocol: mqtt\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->find("Sec-WebSocket-Protocol: mqtt\r\n"), std::string::npos);

  r = websocket_handshake_response(upgrade_request("Sec-WebSocket-Protocol: wamp, mqtt5x\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->find("Sec-WebSocket-Protocol"), std::string::npos);

  r = websocket_handshake_response(upgrade_request(""));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->find("Sec-WebSocket-Protocol"), std::string::npos);
  EXPECT_NE(r->find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos);
}

TEST(WebSocketHandshake, CaseInsensitiveUpgradeTokens) {
  HttpRequest req;
  const std::string_view s =
      "GET / HTTP/1.1\r\nHost: h\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\n"
      "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n";
  ASSERT_EQ(parse_http_request(bytes(s), req, nullptr), HttpParse::Complete);
  EXPECT_TRUE(websocket_handshake_response(req).has_value());
}

struct HandshakeBad {
  const char* name;
  std::string_view request;
  std::string_view error_part;
};

class WebSocketHandshakeBad : public ::testing::TestWithParam<HandshakeBad> {};

TEST_P(WebSocketHandshakeBad, Rejected) {
  HttpRequest req;
  const char* err = nullptr;
  ASSERT_EQ(parse_http_request(bytes(GetParam().request), req, &err), HttpParse::Complete) << err;
  const auto r = websocket_handshake_response(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find(GetParam().error_part), std::string::npos) << r.error().message;
}

#define WS_HDRS_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define WS_HDRS_UPG "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define WS_HDRS_VER "Sec-WebSocket-Version: 13\r\n"

INSTANTIATE_TEST_SUITE_P(
    Cases, WebSocketHandshakeBad,
    ::testing::Values(
        HandshakeBad{"Head",
                     "HEAD / HTTP/1.1\r\nHost: h\r\n" WS_HDRS_UPG WS_HDRS_KEY WS_HDRS_VER "\r\n",
                     "GET"},
        HandshakeBad{"Http10", "GET / HTTP/1.0\r\n" WS_HDRS_UPG WS_HDRS_KEY WS_HDRS_VER "\r\n",
                     "HTTP/1.1"},
        HandshakeBad{"NoUpgrade",
                     "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n" WS_HDRS_KEY WS_HDRS_VER
                     "\r\n",
                     "Upgrade"},
        HandshakeBad{
            "UpgradeH2c",
            "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n" WS_HDRS_KEY
                WS_HDRS_VER "\r\n",
            "websocket"},
        HandshakeBad{"ConnectionKeepAlive",
                     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
                     "" WS_HDRS_KEY WS_HDRS_VER "\r\n",
                     "Connection"},
        HandshakeBad{"Version8",
                     "GET / HTTP/1.1\r\nHost: h\r\n" WS_HDRS_UPG WS_HDRS_KEY
                     "Sec-WebSocket-Version: 8\r\n\r\n",
                     "Version"},
        HandshakeBad{"NoVersion", "GET / HTTP/1.1\r\nHost: h\r\n" WS_HDRS_UPG WS_HDRS_KEY "\r\n",
                     "Version"},
        HandshakeBad{"NoKey", "GET / HTTP/1.1\r\nHost: h\r\n" WS_HDRS_UPG WS_HDRS_VER "\r\n",
                     "missing Sec-WebSocket-Key"},
        HandshakeBad{"ShortKey",
                     "GET / HTTP/1.1\r\nHost: h\r\n" WS_HDRS_UPG WS_HDRS_VER
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n\r\n",
                     "16 bytes"},
        HandshakeBad{"KeyBadChar",
                     "GET / HTTP/1.1\r\nHost: h\r\n" WS_HDRS_UPG WS_HDRS_VER
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\n\r\n",
                     "16 bytes"},
        HandshakeBad{"DuplicateKey",
                     "GET / HTTP/1.1\r\nHost: h\r\n" WS_HDRS_UPG WS_HDRS_VER WS_HDRS_KEY WS_HDRS_KEY
                     "\r\n",
                     "duplicate"}),
    [](const ::testing::TestParamInfo<HandshakeBad>& p) { return std::string(p.param.name); });

// ---------------------------------------------------------------------------------------------
// Decoder: RFC 6455 5.7 examples

TEST(WsDecoder, RfcMaskedHello) {
  const std::string f = raw({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  EXPECT_EQ(client_frame(0x81, "Hello"), f);  // the helper matches the RFC bytes
  WsDecoder dec(1024);
  std::string out;
  size_t consumed = 0;
  EXPECT_EQ(dec.feed(bytes(f), consumed, out), Event::Data);
  EXPECT_EQ(consumed, f.size());
  EXPECT_EQ(out, "Hello");
}

TEST(WsDecoder, RfcUnmaskedHelloIsError) {
  const std::string f = raw({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  WsDecoder dec(1024);
  std::string out;
  size_t consumed = 0;
  EXPECT_EQ(dec.feed(bytes(f), consumed, out), Event::Error);
  EXPECT_EQ(dec.error(), "unmasked client frame");
  EXPECT_EQ(dec.close_code_to_send(), kWsCloseProtocolError);
  EXPECT_TRUE(out.empty());
}

TEST(WsDecoder, RfcMaskedPing) {
  // RFC 5.7's ping is unmasked; this is the same ping masked as a client must send it.
  const std::string f = client_frame(0x89, "Hello");
  WsDecoder dec(1024);
  std::string out;
  size_t consumed = 0;
  EXPECT_EQ(dec.feed(bytes(f), consumed, out), Event::Ping);
  EXPECT_EQ(consumed, f.size());
  EXPECT_EQ(dec.control_payload(), "Hello");
  EXPECT_TRUE(out.empty());
}

TEST(WsDecoder, RfcFragmentedHelloMasked) {
  // RFC 5.7: "Hel" (text, no FIN) then "lo" (continuation, FIN).
  const std::string s = client_frame(0x01, "Hel") + client_frame(0x80, "lo");
  WsDecoder dec(1024);
  const Fed r = feed_all(dec, s);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(r.data, "Hello");
}

// ---------------------------------------------------------------------------------------------
// Decoder: splitting

std::string big_payload(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    s[i] = static_cast<char>(seed >> 16);
  }
  return s;
}

std::string mixed_stream(std::string* expected_data) {
  const std::string p0 = "MQTT-CONNECT";
  const std::string p1 = big_payload(126, 1);    // smallest 16-bit length
  const std::string p2 = big_payload(70000, 2);  // 64-bit length
  const std::string p3 = big_payload(65535, 3);  // largest 16-bit length
  const std::string p4 = big_payload(7, 4);
  std::string s;
  s += client_frame(0x82, p0, {1, 2, 3, 4});
  s += client_frame(0x82, "", {9, 9, 9, 9});  // empty data frame
  s += client_frame(0x02, p1, {0xff, 0, 0x80, 7});
  s += client_frame(0x89, "ping!", {5, 6, 7, 8});
  s += client_frame(0x00, p2, {0xde, 0xad, 0xbe, 0xef});
  s += client_frame(0x8a, "", {1, 1, 1, 1});
  s += client_frame(0x80, p3, {0x11, 0x22, 0x33, 0x44});
  s += client_frame(0x81, p4, {0xa, 0xb, 0xc, 0xd});
  s += client_frame(0x88, raw({0x03, 0xe8}) + "bye", {0x55, 0x66, 0x77, 0x88});
  *expected_data = p0 + p1 + p2 + p3 + p4;
  return s;
}

TEST(WsDecoder, ByteByByteEqualsWhole) {
  std::string expected;
  const std::string s = mixed_stream(&expected);
  for (size_t chunk : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{1000}}) {
    WsDecoder dec(1 << 20);
    const Fed r = feed_all(dec, s, chunk);
    ASSERT_EQ(r.events, (std::vector<Event>{Event::Ping, Event::Pong, Event::Close}))
        << "chunk " << chunk;
    EXPECT_EQ(r.controls[0], "ping!");
    EXPECT_EQ(r.controls[1], "");
    EXPECT_TRUE(r.data == expected) << "chunk " << chunk;
    EXPECT_EQ(dec.close_code(), kWsCloseNormal);
    EXPECT_EQ(dec.close_reason(), "bye");
    EXPECT_TRUE(dec.closed());
  }
}

TEST(WsDecoder, EverySplitPoint) {
  const std::string s = client_frame(0x02, big_payload(300, 7), {1, 2, 3, 4}) +
                        client_frame(0x89, "pp") + client_frame(0x80, "tail");
  const std::string expected = big_payload(300, 7) + "tail";
  for (size_t k = 0; k <= s.size(); ++k) {
    WsDecoder dec(4096);
    Fed r = feed_all(dec, std::string_view(s).substr(0, k));
    const Fed r2 = feed_all(dec, std::string_view(s).substr(k));
    r.data += r2.data;
    r.events.insert(r.events.end(), r2.events.begin(), r2.events.end());
    EXPECT_EQ(r.events, std::vector<Event>{Event::Ping}) << "split " << k;
    EXPECT_TRUE(r.data == expected) << "split " << k;
  }
}

TEST(WsDecoder, ReturnsNoneWhileOnlyHeaderConsumed) {
  const std::string f = client_frame(0x82, "abc");
  WsDecoder dec(100);
  std::string out;
  size_t consumed = 99;
  EXPECT_EQ(dec.feed(bytes(std::string_view(f).substr(0, 6)), consumed, out), Event::None);
  EXPECT_EQ(consumed, 6u);
  EXPECT_EQ(dec.feed(bytes(std::string_view(f).substr(6, 1)), consumed, out), Event::Data);
  EXPECT_EQ(out, "a");
  EXPECT_EQ(dec.feed({}, consumed, out), Event::None);
  EXPECT_EQ(consumed, 0u);
}

TEST(WsDecoder, UnmaskAllLengthsAndPhases) {
  for (size_t len = 0; len < 80; ++len) {
    const std::string p = big_payload(len, static_cast<uint32_t>(len));
    const std::string f = client_frame(0x82, p, {0x12, 0x34, 0x56, 0x78});
    for (size_t first = 0; first <= f.size(); first += 3) {
      WsDecoder dec(1000);
      Fed r = feed_all(dec, std::string_view(f).substr(0, first));
      r.data += feed_all(dec, std::string_view(f).substr(first)).data;
      ASSERT_TRUE(r.data == p) << "len " << len << " split " << first;
    }
  }
}

TEST(WsDecoder, AppendsToExistingData) {
  WsDecoder dec(100);
  std::string out = "previous";
  size_t consumed = 0;
  const std::string f = client_frame(0x82, "new");
  EXPECT_EQ(dec.feed(bytes(f), consumed, out), Event::Data);
  EXPECT_EQ(out, "previousnew");
}

// ---------------------------------------------------------------------------------------------
// Decoder: fragmentation and control frames

TEST(WsDecoder, PingInsideFragmentedMessage) {
  const std::string s = client_frame(0x02, "AB") + client_frame(0x89, "hb") +
                        client_frame(0x00, "CD") + client_frame(0x80, "EF");
  WsDecoder dec(100);
  std::string out;
  size_t consumed = 0;
  EXPECT_EQ(dec.feed(bytes(s), consumed, out), Event::Ping);
  EXPECT_EQ(out, "AB");  // data before the ping is already delivered
  EXPECT_EQ(consumed, client_frame(0x02, "AB").size() + client_frame(0x89, "hb").size());
  EXPECT_EQ(dec.control_payload(), "hb");
  size_t consumed2 = 0;
  EXPECT_EQ(dec.feed(bytes(std::string_view(s).substr(consumed)), consumed2, out), Event::Data);
  EXPECT_EQ(consumed + consumed2, s.size());
  EXPECT_EQ(out, "ABCDEF");
}

TEST(WsDecoder, MessageLimitCountsWholeFragmentedMessage) {
  WsDecoder ok(6);
  EXPECT_EQ(feed_all(ok, client_frame(0x02, "abc") + client_frame(0x80, "def") +
                             client_frame(0x82, "ghijkl"))
                .data,
            "abcdefghijkl");  // the limit is per message, not per connection
  WsDecoder dec(6);
  const Fed r = feed_all(
      dec, client_frame(0x02, "abc") + client_frame(0x00, "def") + client_frame(0x80, "g"));
  EXPECT_EQ(r.events, std::vector<Event>{Event::Error});
  EXPECT_EQ(dec.error(), "message too big");
  EXPECT_EQ(dec.close_code_to_send(), kWsCloseTooBig);
  EXPECT_EQ(r.data, "abcdef");
}

TEST(WsDecoder, OversizeRejectedBeforePayloadArrives) {
  WsDecoder dec(1000);
  std::string out;
  size_t consumed = 0;
  // Header announcing 2^40 bytes; no payload follows.
  const std::string h = raw({0x82, 0xff, 0, 0, 0x01, 0, 0, 0, 0, 0});
  EXPECT_EQ(dec.feed(bytes(h), consumed, out), Event::Error);
  EXPECT_EQ(consumed, h.size());
  EXPECT_EQ(dec.error(), "message too big");
}

TEST(WsDecoder, CloseWithoutCode) {
  WsDecoder dec(100);
  const Fed r = feed_all(dec, client_frame(0x88, "") + client_frame(0x82, "ignored"));
  EXPECT_EQ(r.events, std::vector<Event>{Event::Close});
  EXPECT_EQ(dec.close_code(), kWsCloseNoStatus);
  EXPECT_EQ(dec.close_reason(), "");
  EXPECT_TRUE(r.data.empty());  // data after Close is ignored
}

TEST(WsDecoder, CloseWithCodeAndReason) {
  WsDecoder dec(100);
  const Fed r = feed_all(dec, client_frame(0x88, raw({0x0f, 0xa0}) + "going \xc3\xa9"));
  ASSERT_EQ(r.events, std::vector<Event>{Event::Close});
  EXPECT_EQ(dec.close_code(), 4000);
  EXPECT_EQ(dec.close_reason(), "going \xc3\xa9");
  std::string out;
  size_t consumed = 0;
  EXPECT_EQ(dec.feed(bytes("more"), consumed, out), Event::None);
  EXPECT_EQ(consumed, 4u);
}

TEST(WsDecoder, RejectTextWhenAsked) {
  WsDecoder dec(100);
  dec.set_reject_text(true);
  EXPECT_EQ(feed_all(dec, client_frame(0x82, "bin")).data, "bin");
  const Fed r = feed_all(dec, client_frame(0x81, "txt"));
  EXPECT_EQ(r.events, std::vector<Event>{Event::Error});
  EXPECT_EQ(dec.close_code_to_send(), kWsCloseUnsupportedData);
  WsDecoder lenient(100);
  EXPECT_EQ(feed_all(lenient, client_frame(0x81, "txt")).data, "txt");
}

// ---------------------------------------------------------------------------------------------
// Decoder: every error case

struct ErrorCase {
  const char* name;
  std::string input;
  std::string_view error;
};

class WsDecoderError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(WsDecoderError, FailsAndIsSticky) {
  for (size_t chunk : {size_t{0}, size_t{1}}) {
    WsDecoder dec(1000);
    const Fed r = feed_all(dec, GetParam().input, chunk);
    ASSERT_FALSE(r.events.empty());
    EXPECT_EQ(r.events.back(), Event::Error);
    EXPECT_EQ(dec.error(), GetParam().error);
    EXPECT_TRUE(dec.failed());
    EXPECT_NE(dec.close_code_to_send(), 0);
    std::string out;
    size_t consumed = 7;
    EXPECT_EQ(dec.feed(bytes(client_frame(0x82, "x")), consumed, out), Event::Error);
    EXPECT_EQ(consumed, 0u);
    EXPECT_TRUE(out.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, WsDecoderError,
    ::testing::Values(
        ErrorCase{"Unmasked", raw({0x82, 0x01, 'x'}), "unmasked client frame"},
        ErrorCase{"Rsv1", client_frame(0xc2, "x"), "reserved bits set"},
        ErrorCase{"Rsv2", client_frame(0xa2, "x"), "reserved bits set"},
        ErrorCase{"Rsv3", client_frame(0x92, "x"), "reserved bits set"},
        ErrorCase{"Opcode3", client_frame(0x83, "x"), "unknown opcode"},
        ErrorCase{"Opcode7", client_frame(0x87, "x"), "unknown opcode"},
        ErrorCase{"OpcodeB", client_frame(0x8b, "x"), "unknown opcode"},
        ErrorCase{"OpcodeF", client_frame(0x8f, "x"), "unknown opcode"},
        ErrorCase{"ControlTooLong", client_frame(0x89, std::string(126, 'p')),
                  "control frame payload over 125 bytes"},
        ErrorCase{"FragmentedPing", client_frame(0x09, "p"), "fragmented control frame"},
        ErrorCase{"FragmentedClose", client_frame(0x08, ""), "fragmented control frame"},
        ErrorCase{"ContinuationWithoutStart", client_frame(0x80, "x"),
                  "continuation frame without a started message"},
        ErrorCase{"ContinuationAfterFinishedMessage",
                  client_frame(0x82, "a") + client_frame(0x80, "b"),
                  "continuation frame without a started message"},
        ErrorCase{"NewMessageInsideFragmented", client_frame(0x02, "a") + client_frame(0x82, "b"),
                  "new data frame inside a fragmented message"},
        ErrorCase{"TooBig", client_frame(0x82, std::string(1001, 'b')), "message too big"},
        ErrorCase{
            "TooBigFragments",
            client_frame(0x02, std::string(600, 'b')) + client_frame(0x80, std::string(401, 'c')),
            "message too big"},
        ErrorCase{"HighBit64", raw({0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}),
                  "64-bit payload length with the high bit set"},
        ErrorCase{"NonMinimal16",
                  raw({0x82, 0xfe, 0x00, 0x05, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e'}),
                  "non-minimal payload length encoding"},
        ErrorCase{"NonMinimal64", raw({0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4}),
                  "non-minimal payload length encoding"},
        ErrorCase{"CloseOneByte", client_frame(0x88, "x"), "close frame with a 1-byte payload"},
        ErrorCase{"CloseCode1005", client_frame(0x88, raw({0x03, 0xed})), "invalid close code"},
        ErrorCase{"CloseCode999", client_frame(0x88, raw({0x03, 0xe7})), "invalid close code"},
        ErrorCase{"CloseCode5000", client_frame(0x88, raw({0x13, 0x88})), "invalid close code"},
        ErrorCase{"CloseBadUtf8", client_frame(0x88, raw({0x03, 0xe8, 0xc3, 0x28})),
                  "close reason is not valid UTF-8"},
        ErrorCase{"CloseSurrogate", client_frame(0x88, raw({0x03, 0xe8, 0xed, 0xa0, 0x80})),
                  "close reason is not valid UTF-8"},
        ErrorCase{"CloseTruncatedUtf8", client_frame(0x88, raw({0x03, 0xe8, 0xe2, 0x82})),
                  "close reason is not valid UTF-8"}),
    [](const ::testing::TestParamInfo<ErrorCase>& p) { return std::string(p.param.name); });

TEST(WsDecoder, ErrorDetectedAtOffendingByte) {
  WsDecoder dec(100);
  std::string out;
  size_t consumed = 0;
  const std::string s = client_frame(0x82, "ok") + raw({0xc2, 0x80});
  EXPECT_EQ(dec.feed(bytes(s), consumed, out), Event::Error);
  EXPECT_EQ(consumed, client_frame(0x82, "ok").size() + 1);
  EXPECT_EQ(out, "ok");
}

// ---------------------------------------------------------------------------------------------
// Encoder

TEST(WsEncode, HeaderLengths) {
  std::string out;
  ws_encode_frame_header(kWsBinary, 0, out);
  EXPECT_EQ(out, raw({0x82, 0x00}));
  out.clear();
  ws_encode_frame_header(kWsBinary, 125, out);
  EXPECT_EQ(out, raw({0x82, 125}));
  out.clear();
  ws_encode_frame_header(kWsText, 126, out);
  EXPECT_EQ(out, raw({0x81, 126, 0x00, 126}));
  out.clear();
  ws_encode_frame_header(kWsBinary, 65535, out);
  EXPECT_EQ(out, raw({0x82, 126, 0xff, 0xff}));
  out.clear();
  ws_encode_frame_header(kWsBinary, 65536, out);
  EXPECT_EQ(out, raw({0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}));
  out.clear();
  ws_encode_frame_header(kWsPong, 0x0102030405060708ull, out);
  EXPECT_EQ(out, raw({0x8a, 127, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(WsEncode, RfcUnmaskedHelloAndClose) {
  std::string out;
  ws_encode_frame(kWsText, "Hello", out);
  EXPECT_EQ(out, raw({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  out.clear();
  ws_encode_close(kWsCloseProtocolError, "bad", out);
  EXPECT_EQ(out, raw({0x88, 0x05, 0x03, 0xea, 'b', 'a', 'd'}));
  out.clear();
  ws_encode_close(kWsCloseNormal, std::string(200, 'r'), out);
  EXPECT_EQ(out.size(), 2u + 125u);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 125);
}

TEST(WsEncode, CloseReasonTruncatedOnUtf8Boundary) {
  std::string reason(122, 'a');
  reason += "\xc3\xa9\xc3\xa9";  // 126 bytes; byte 123 is in the middle of a character
  std::string out;
  ws_encode_close(kWsCloseNormal, reason, out);
  EXPECT_EQ(out.size(), 2u + 2u + 122u);
}

}  // namespace
}  // namespace verge::net
