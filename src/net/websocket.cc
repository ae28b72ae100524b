#include "net/websocket.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace verge::net {

namespace {

constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// A base64 encoding of exactly 16 bytes: 22 alphabet characters followed by "==".
bool is_valid_ws_key(std::string_view key) {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  return std::all_of(key.begin(), key.begin() + 22, is_base64_char);
}

bool has_exact_token(const HttpRequest& req, std::string_view name, std::string_view token) {
  for (const auto& [n, v] : req.headers) {
    if (n.size() != name.size() ||
        !std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          auto lo = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
          return lo(a) == lo(b);
        })) {
      continue;
    }
    std::string_view rest = v;
    while (true) {
      const size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (item == token) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

// Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint8_t lo = 0x80;
    uint8_t hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if (k == 1 ? (cc < lo || cc > hi) : (cc < 0x80 || cc > 0xbf)) return false;
    }
    i += n + 1;
  }
  return true;
}

bool is_valid_received_close_code(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  if (code >= 1000 && code <= 1003) return true;
  return code >= 1007 && code <= 1014;
}

// XORs `n` bytes at `p` with the 4-byte `mask`, starting at mask index `pos`; advances `pos`.
void unmask(uint8_t* p, size_t n, const uint8_t (&mask)[4], uint8_t& pos) {
  uint8_t rot[8];
  for (size_t k = 0; k < 8; ++k) rot[k] = mask[(pos + k) & 3];
  uint64_t word;
  std::memcpy(&word, rot, sizeof word);
  size_t j = 0;
  for (; j + 32 <= n; j += 32) {
    uint64_t v[4];
    std::memcpy(v, p + j, sizeof v);
    v[0] ^= word;
    v[1] ^= word;
    v[2] ^= word;
    v[3] ^= word;
    std::memcpy(p + j, v, sizeof v);
  }
  for (; j + 8 <= n; j += 8) {
    uint64_t v;
    std::memcpy(&v, p + j, sizeof v);
    v ^= word;
    std::memcpy(p + j, &v, sizeof v);
  }
  for (; j < n; ++j) p[j] ^= rot[j & 7];
  pos = static_cast<uint8_t>((pos + n) & 3);
}

}  // namespace

std::string websocket_accept_key(std::string_view client_key) {
  std::string input;
  input.reserve(client_key.size() + kWsGuid.size());
  input.append(client_key);
  input.append(kWsGuid);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(input.data(), input.size(), md, &md_len, EVP_sha1(), nullptr) != 1) return {};
  unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(b64, md, static_cast<int>(md_len));
  if (n < 0) return {};
  return std::string(reinterpret_cast<const char*>(b64), static_cast<size_t>(n));
}

Result<std::string> websocket_handshake_response(const HttpRequest& req) {
  if (req.method != "GET") return unexpected(Error{"WebSocket upgrade requires GET"});
  if (req.version_minor != 1) return unexpected(Error{"WebSocket upgrade requires HTTP/1.1"});
  if (!req.header_has_token("Upgrade", "websocket")) {
    return unexpected(Error{"missing \"Upgrade: websocket\""});
  }
  if (!req.header_has_token("Connection", "Upgrade")) {
    return unexpected(Error{"Connection header does not contain \"Upgrade\""});
  }
  if (req.header_count("Sec-WebSocket-Version") != 1 ||
      req.header("Sec-WebSocket-Version") != std::string_view("13")) {
    return unexpected(Error{"unsupported Sec-WebSocket-Version (only 13)"});
  }
  const size_t keys = req.header_count("Sec-WebSocket-Key");
  if (keys == 0) return unexpected(Error{"missing Sec-WebSocket-Key"});
  if (keys > 1) return unexpected(Error{"duplicate Sec-WebSocket-Key"});
  const std::string_view key = *req.header("Sec-WebSocket-Key");
  if (!is_valid_ws_key(key)) {
    return unexpected(Error{"Sec-WebSocket-Key is not 16 bytes in base64"});
  }
  std::string_view protocol;
  if (has_exact_token(req, "Sec-WebSocket-Protocol", "mqtt")) {
    protocol = "mqtt";
  } else if (has_exact_token(req, "Sec-WebSocket-Protocol", "mqttv3.1")) {
    protocol = "mqttv3.1";
  }
  std::string out;
  out.reserve(160);
  out += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  out += "Sec-WebSocket-Accept: ";
  out += websocket_accept_key(key);
  out += "\r\n";
  if (!protocol.empty()) {
    out += "Sec-WebSocket-Protocol: ";
    out += protocol;
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

WsDecoder::WsDecoder(uint64_t max_message_bytes) : max_message_(max_message_bytes) {}

std::string_view WsDecoder::close_reason() const {
  if (close_code_ == 0 || control_.size() < 2) return {};
  return std::string_view(control_).substr(2);
}

WsDecoder::Event WsDecoder::fail(std::string_view why, uint16_t code) {
  state_ = State::Failed;
  error_.assign(why);
  error_code_ = code;
  return Event::Error;
}

bool WsDecoder::check_header_prefix() {
  if (hdr_len_ == 1) {
    const uint8_t b0 = hdr_[0];
    fin_ = (b0 & 0x80) != 0;
    opcode_ = b0 & 0x0f;
    if ((b0 & 0x70) != 0) return fail("reserved bits set", kWsCloseProtocolError), false;
    const bool control = (opcode_ & 0x08) != 0;
    if (control) {
      if (opcode_ != kWsClose && opcode_ != kWsPing && opcode_ != kWsPong) {
        return fail("unknown opcode", kWsCloseProtocolError), false;
      }
      if (!fin_) return fail("fragmented control frame", kWsCloseProtocolError), false;
    } else if (opcode_ == kWsContinuation) {
      if (!in_message_) {
        return fail("continuation frame without a started message", kWsCloseProtocolError), false;
      }
    } else if (opcode_ == kWsText || opcode_ == kWsBinary) {
      if (in_message_) {
        return fail("new data frame inside a fragmented message", kWsCloseProtocolError), false;
      }
      if (opcode_ == kWsText && reject_text_) {
        return fail("text frames are not accepted", kWsCloseUnsupportedData), false;
      }
    } else {
      return fail("unknown opcode", kWsCloseProtocolError), false;
    }
    return true;
  }
  const bool control = (opcode_ & 0x08) != 0;
  const uint8_t len7 = hdr_[1] & 0x7f;
  const uint8_t ext = len7 == 126 ? 2 : (len7 == 127 ? 8 : 0);
  if (hdr_len_ == 2) {
    if ((hdr_[1] & 0x80) == 0) return fail("unmasked client frame", kWsCloseProtocolError), false;
    if (control && len7 > 125) {
      return fail("control frame payload over 125 bytes", kWsCloseProtocolError), false;
    }
    hdr_need_ = static_cast<uint8_t>(2 + ext + 4);
  }
  if (hdr_len_ != 2 + ext) return true;  // length not complete yet (or already checked)
  uint64_t len = len7;
  if (ext == 2) {
    len = (uint64_t{hdr_[2]} << 8) | hdr_[3];
    if (len < 126) return fail("non-minimal payload length encoding", kWsCloseProtocolError), false;
  } else if (ext == 8) {
    if ((hdr_[2] & 0x80) != 0) {
      return fail("64-bit payload length with the high bit set", kWsCloseProtocolError), false;
    }
    len = 0;
    for (size_t k = 2; k < 10; ++k) len = (len << 8) | hdr_[k];
    if (len <= 0xffff) {
      return fail("non-minimal payload length encoding", kWsCloseProtocolError), false;
    }
  }
  if (!control && len > max_message_ - std::min(max_message_, message_bytes_)) {
    return fail("message too big", kWsCloseTooBig), false;
  }
  remaining_ = len;
  return true;
}

WsDecoder::Event WsDecoder::finish_control() {
  switch (opcode_) {
    case kWsPing:
      return Event::Ping;
    case kWsPong:
      return Event::Pong;
    default:
      break;
  }
  if (control_.empty()) {
    close_code_ = kWsCloseNoStatus;
  } else if (control_.size() == 1) {
    return fail("close frame with a 1-byte payload", kWsCloseProtocolError);
  } else {
    const auto code = static_cast<uint16_t>((static_cast<uint8_t>(control_[0]) << 8) |
                                            static_cast<uint8_t>(control_[1]));
    if (!is_valid_received_close_code(code)) {
      return fail("invalid close code", kWsCloseProtocolError);
    }
    if (!is_valid_utf8(std::string_view(control_).substr(2))) {
      return fail("close reason is not valid UTF-8", kWsCloseProtocolError);
    }
    close_code_ = code;
  }
  state_ = State::Closed;
  return Event::Close;
}

WsDecoder::Event WsDecoder::feed(std::span<const uint8_t> in, size_t& consumed,
                                 std::string& data_out) {
  consumed = 0;
  if (state_ == State::Failed) return Event::Error;
  if (state_ == State::Closed) {
    consumed = in.size();
    return Event::None;
  }
  const size_t start_size = data_out.size();
  size_t i = 0;
  while (i < in.size()) {
    if (state_ == State::Header) {
      while (hdr_len_ < hdr_need_ && i < in.size()) {
        hdr_[hdr_len_++] = in[i++];
        if (!check_header_prefix()) {
          consumed = i;
          return Event::Error;
        }
      }
      if (hdr_len_ < hdr_need_) break;
      std::memcpy(mask_, hdr_ + hdr_need_ - 4, 4);
      mask_pos_ = 0;
      if ((opcode_ & 0x08) != 0) {
        control_.clear();
      } else {
        message_bytes_ += remaining_;
        in_message_ = !fin_;
        if (fin_) message_bytes_ = 0;
      }
      state_ = State::Payload;
    }
    // State::Payload
    const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - i));
    if (n > 0) {
      std::string& dst = (opcode_ & 0x08) != 0 ? control_ : data_out;
      const size_t old = dst.size();
      dst.append(reinterpret_cast<const char*>(in.data() + i), n);
      unmask(reinterpret_cast<uint8_t*>(dst.data() + old), n, mask_, mask_pos_);
      i += n;
      remaining_ -= n;
    }
    if (remaining_ == 0) {
      state_ = State::Header;
      hdr_len_ = 0;
      hdr_need_ = 2;
      if ((opcode_ & 0x08) != 0) {
        consumed = i;
        return finish_control();
      }
    }
  }
  consumed = i;
  return data_out.size() > start_size ? Event::Data : Event::None;
}

void ws_encode_frame_header(uint8_t opcode, uint64_t payload_len, std::string& out) {
  out.push_back(static_cast<char>(0x80 | (opcode & 0x0f)));
  if (payload_len < 126) {
    out.push_back(static_cast<char>(payload_len));
  } else if (payload_len <= 0xffff) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(payload_len >> 8));
    out.push_back(static_cast<char>(payload_len & 0xff));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((payload_len >> shift) & 0xff));
    }
  }
}

void ws_encode_frame(uint8_t opcode, std::string_view payload, std::string& out) {
  ws_encode_frame_header(opcode, payload.size(), out);
  out.append(payload);
}

void ws_encode_close(uint16_t code, std::string_view reason, std::string& out) {
  if (reason.size() > 123) {
    size_t n = 123;
    while (n > 0 && (static_cast<uint8_t>(reason[n]) & 0xc0) == 0x80) --n;  // keep UTF-8 whole
    reason = reason.substr(0, n);
  }
  ws_encode_frame_header(kWsClose, 2 + reason.size(), out);
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xff));
  out.append(reason);
}

}  // namespace verge::net
