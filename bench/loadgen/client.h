// One MQTT client connection of the load generator: a non-blocking socket registered in an epoll
// set, a fixed read buffer parsed in place (no per-message allocation) and an output buffer whose
// capacity is reused, written with one write(2) per batch. Packets are built with verge's codec.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "mqtt/codec.h"
#include "options.h"

namespace loadgen {

enum class Role : uint8_t { Publisher, Subscriber, Idle };
enum class State : uint8_t { Connecting, Connected, Subscribing, Ready, Closed };

struct Conn {
  int fd = -1;
  uint32_t index = 0;  // position in the owner's vector, stored in epoll_event.data.u32
  Role role = Role::Idle;
  State state = State::Connecting;
  bool want_out = false;  // EPOLLOUT registered

  std::vector<uint8_t> in;  // read buffer; grows only for a frame larger than it
  size_t in_len = 0;
  std::string out;  // bytes not yet written start at out_off
  size_t out_off = 0;

  // Publisher: an encoded PUBLISH reused for every message (packet id and timestamp patched).
  std::string tmpl;
  size_t pid_off = 0;      // offset of the packet id in tmpl (QoS 1 only)
  size_t payload_off = 0;  // offset of the payload (first 8 bytes: send time, ns)
  uint16_t next_id = 1;
  uint32_t inflight = 0;  // QoS 1 PUBLISH without PUBACK
  uint64_t sent = 0;
  uint64_t received = 0;

  size_t pending() const { return out.size() - out_off; }
};

// A parsed incoming PUBLISH (views into the read buffer, valid during the callback only).
struct PublishView {
  uint8_t qos = 0;
  uint16_t packet_id = 0;
  std::span<const uint8_t> payload;
};

// Connects (blocking TCP connect; the socket is non-blocking afterwards), registers it in `epfd`
// for reading and queues + flushes a CONNECT. Returns false (with a message on stderr) on error.
bool open_conn(Conn& c, const Options& o, const std::string& client_id, uint16_t keep_alive,
               size_t in_capacity, int epfd);

// Queues a SUBSCRIBE for one filter.
void queue_subscribe(Conn& c, const std::string& filter, unsigned qos, int version);

// Encodes the PUBLISH template for `topic` with a zero payload of `size` bytes.
void make_publish_template(Conn& c, const std::string& topic, unsigned qos, unsigned size,
                           int version);

// Appends `n` messages from the template, stamping `ts_ns` into each payload.
void append_publishes(Conn& c, unsigned n, unsigned qos, uint64_t ts_ns);

// Appends a PUBACK.
void append_puback(Conn& c, uint16_t packet_id);

// Writes what is pending; manages EPOLLOUT interest. False if the socket failed.
bool flush(Conn& c, int epfd);

// Reads once and calls on_frame(header, frame bytes) for every complete packet. Returns false on
// EOF, error or a malformed stream.
template <class F>
bool read_frames(Conn& c, F&& on_frame);

// Parses a PUBLISH frame (3.1.1 or 5) without allocating. False if it is malformed.
bool parse_publish(std::span<const uint8_t> frame, const verge::mqtt::FrameHeader& h, int version,
                   PublishView& out);

void close_conn(Conn& c);

// Raises RLIMIT_NOFILE to the hard limit; returns the new soft limit.
uint64_t raise_nofile_limit();

// ---- implementation of the template ----
ssize_t read_some(Conn& c);

template <class F>
bool read_frames(Conn& c, F&& on_frame) {
  const ssize_t n = read_some(c);
  if (n == 0) return false;
  if (n < 0) return true;  // EAGAIN
  size_t pos = 0;
  while (pos < c.in_len) {
    verge::mqtt::FrameHeader h;
    const std::span<const uint8_t> rest(c.in.data() + pos, c.in_len - pos);
    const auto st = verge::mqtt::peek_frame(rest, h);
    if (st == verge::mqtt::FrameStatus::Malformed) return false;
    if (st == verge::mqtt::FrameStatus::NeedMore) break;
    if (h.total_size() > rest.size()) {
      if (h.total_size() > c.in.size()) c.in.resize(h.total_size());
      break;
    }
    on_frame(h, rest.first(h.total_size()));
    pos += h.total_size();
  }
  if (pos > 0) {
    c.in_len -= pos;
    if (c.in_len > 0) std::memmove(c.in.data(), c.in.data() + pos, c.in_len);
  }
  return true;
}

}  // namespace loadgen
