// The records of the broker's journal (docs/formats/mqtt-journal.md): what a persistent session,
// its subscriptions, its QoS 1/2 messages and the retained messages become on disk. Encoding is a
// few appends to a string; decoding checks every length, since the bytes come from a file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "mqtt/message.h"
#include "mqtt/packet.h"
#include "mqtt/subscription_tree.h"

namespace verge::mqtt {

enum class JournalType : uint8_t {
  SessionPut = 1,   // a persistent session exists (reset: its state follows from scratch)
  SessionEnd = 2,   // it ended (clean start, expiry 0, expired)
  Subscribe = 3,    // a subscription was added or replaced
  Unsubscribe = 4,  // and removed
  Enqueue = 5,      // a QoS 1/2 message was queued for the session, under a per-session seq
  Done = 6,         // that message needs no more delivery (acknowledged, dropped or refused)
  Released = 7,     // QoS 2: PUBREC received, PUBREL owed (kept until PUBCOMP)
  Inflight = 8,     // snapshot only: a message in flight with its packet id (resent with DUP)
  Retain = 9,       // a retained message was set (an empty payload deletes it)
  Reset = 10,       // a snapshot follows: forget what this journal said before
};

// A message as stored: expiry as wall-clock ms so it means the same after a restart.
struct StoredMessage {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
  uint64_t expiry_wall_ms = 0;  // 0 = never
  bool has_props = false;
  ForwardedProperties props;
};

struct JournalRecord {
  JournalType type = JournalType::SessionPut;
  std::string client_id;  // every type but Retain
  // SessionPut
  bool reset = false;
  uint32_t expiry_interval = 0;
  Version version = Version::V5;
  std::string username;
  bool authenticated = false;
  std::vector<uint16_t> awaiting_pubrel;
  // Subscribe, Unsubscribe
  std::string filter;
  Subscription sub;  // session key is not stored
  // Enqueue, Done, Released, Inflight
  uint64_t seq = 0;
  uint16_t packet_id = 0;
  uint8_t out_qos = 0;
  bool out_retain = false;
  uint32_t subscription_id = 0;
  std::vector<uint32_t> more_ids;
  // Enqueue, Inflight (when the message is still owed), Retain
  StoredMessage msg;
};

// Converts the monotonic expiry of a Message to wall clock and back.
struct Clocks {
  uint64_t mono_ms = 0;
  uint64_t wall_ms = 0;
  uint64_t to_wall(uint64_t mono) const { return mono == 0 ? 0 : mono - mono_ms + wall_ms; }
  uint64_t to_mono(uint64_t wall) const;  // 0 stays 0; already past = 1 (expired)
};

void encode_session_put(std::string& out, const std::string& client_id, bool reset,
                        uint32_t expiry_interval, Version version, const std::string& username,
                        bool authenticated, const std::vector<uint16_t>& awaiting_pubrel);
void encode_session_end(std::string& out, const std::string& client_id);
void encode_subscribe(std::string& out, const std::string& client_id, const std::string& filter,
                      const Subscription& sub);
void encode_unsubscribe(std::string& out, const std::string& client_id, const std::string& filter);
// Enqueue and Inflight (packet_id != 0; `msg` may be null once PUBREC came: then Released).
void encode_message(std::string& out, JournalType type, const std::string& client_id, uint64_t seq,
                    uint16_t packet_id, uint8_t out_qos, bool out_retain, uint32_t subscription_id,
                    const std::vector<uint32_t>& more_ids, const Message* msg,
                    const Clocks& clocks);
void encode_done(std::string& out, const std::string& client_id, uint64_t seq);
void encode_released(std::string& out, const std::string& client_id, uint64_t seq,
                     uint16_t packet_id);
void encode_retain(std::string& out, const Message& msg, const Clocks& clocks);
void encode_reset(std::string& out);

Result<JournalRecord> decode_journal_record(std::string_view bytes);

}  // namespace verge::mqtt
