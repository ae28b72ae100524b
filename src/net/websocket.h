// Pure WebSocket (RFC 6455) server-side pieces: the opening handshake and frame decoding/encoding.
// No I/O. Used for MQTT over WebSocket (subprotocol "mqtt"), where the MQTT byte stream is carried
// in binary frames and frame boundaries carry no meaning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "net/http.h"

namespace verge::net {

inline constexpr uint8_t kWsContinuation = 0;
inline constexpr uint8_t kWsText = 1;
inline constexpr uint8_t kWsBinary = 2;
inline constexpr uint8_t kWsClose = 8;
inline constexpr uint8_t kWsPing = 9;
inline constexpr uint8_t kWsPong = 10;

// Close codes (RFC 6455 7.4.1).
inline constexpr uint16_t kWsCloseNormal = 1000;
inline constexpr uint16_t kWsCloseProtocolError = 1002;
inline constexpr uint16_t kWsCloseUnsupportedData = 1003;
inline constexpr uint16_t kWsCloseNoStatus = 1005;  // never sent: "close frame had no code"
inline constexpr uint16_t kWsCloseTooBig = 1009;

// base64(SHA-1(client_key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string websocket_accept_key(std::string_view client_key);

// Validates an upgrade request: GET, HTTP/1.1, Upgrade: websocket, Connection contains Upgrade,
// Sec-WebSocket-Version: 13, exactly one Sec-WebSocket-Key that is 16 bytes in base64. Returns the
// whole 101 response to send; it selects subprotocol "mqtt" if the client offers it, else
// "mqttv3.1" if offered (older clients), else no subprotocol header. On error the text says what is
// wrong and the caller answers 400 (when the version is wrong, it should add
// "Sec-WebSocket-Version: 13").
Result<std::string> websocket_handshake_response(const HttpRequest& req);

// Incremental decoder for client-to-server frames. Keeps only the partial frame header (<= 14
// bytes), the remaining payload count and control-frame payloads (<= 125 bytes); application data
// is unmasked straight into the caller's buffer.
class WsDecoder {
 public:
  explicit WsDecoder(uint64_t max_message_bytes);

  enum class Event { None, Data, Ping, Pong, Close, Error };

  // Consumes bytes from `in`; `consumed` is set to how many. Payload of binary, text and
  // continuation frames is unmasked and APPENDED to `data_out`. Returns:
  //   None / Data: all of `in` was consumed; Data if this call appended bytes to `data_out`.
  //   Ping / Pong / Close: a control frame was completed; `consumed` stops right after it, and
  //     control_payload() holds its payload (answer a Ping with a Pong carrying it). Data frames
  //     before it in `in` were already appended to `data_out`, so always look at `data_out`.
  //     After Close, close_code() is set (kWsCloseNoStatus when the frame had no code) and any
  //     further input is ignored: feed() consumes it all and returns None.
  //   Error: protocol violation; error() says why, close_code_to_send() is the code to close with
  //     (1002, or 1009 for an oversize message, 1003 for a rejected text frame). Sticky: later
  //     calls consume nothing and return Error again.
  Event feed(std::span<const uint8_t> in, size_t& consumed, std::string& data_out);

  const std::string& control_payload() const { return control_; }
  uint16_t close_code() const { return close_code_; }
  // The reason text of a received Close (a view into control_payload()).
  std::string_view close_reason() const;
  const std::string& error() const { return error_; }
  uint16_t close_code_to_send() const { return error_code_; }
  bool closed() const { return state_ == State::Closed; }
  bool failed() const { return state_ == State::Failed; }

  // MQTT over WebSocket requires binary frames and closing on any other data frame; call with true
  // to make text frames an Error (default: text payload is treated like binary).
  void set_reject_text(bool reject) { reject_text_ = reject; }

 private:
  enum class State : uint8_t { Header, Payload, Closed, Failed };

  Event fail(std::string_view why, uint16_t code);
  // Validates as much of the header as is in hdr_[0..hdr_len_); false (and state Failed) on error.
  bool check_header_prefix();
  Event finish_control();

  uint64_t max_message_;
  State state_ = State::Header;
  bool reject_text_ = false;
  uint8_t hdr_[14] = {};
  uint8_t hdr_len_ = 0;
  uint8_t hdr_need_ = 2;  // total header size once known (2 until the second byte is seen)
  uint8_t opcode_ = 0;
  bool fin_ = false;
  uint8_t mask_[4] = {};
  uint8_t mask_pos_ = 0;        // index into mask_ of the next payload byte
  uint64_t remaining_ = 0;      // payload bytes of the current frame not yet consumed
  bool in_message_ = false;     // a fragmented data message is open (awaiting continuation)
  uint64_t message_bytes_ = 0;  // payload bytes of the current data message so far
  std::string control_;
  uint16_t close_code_ = 0;
  uint16_t error_code_ = 0;
  std::string error_;
};

// Appends a server-to-client frame header: FIN set, no mask, minimal length encoding.
void ws_encode_frame_header(uint8_t opcode, uint64_t payload_len, std::string& out);

// Convenience: appends a whole unmasked frame (header + payload).
void ws_encode_frame(uint8_t opcode, std::string_view payload, std::string& out);

// Appends a Close frame with `code` and an optional reason (truncated to fit 125 bytes).
void ws_encode_close(uint16_t code, std::string_view reason, std::string& out);

}  // namespace verge::net
