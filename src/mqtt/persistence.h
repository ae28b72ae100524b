// Start-up recovery of the broker's durable state (docs/mqtt.md, "Persistence").
//
// <data-dir>/mqtt/CURRENT names the live generation; gen-<N>/w<i> is the journal of worker i.
// At start the live generation is replayed into a RecoveredState, a new generation is written with
// one snapshot per worker (the worker count may have changed), and CURRENT is switched to it with
// an atomic rename: a crash at any point leaves either the old or the new generation complete.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "core/result.h"
#include "mqtt/journal.h"
#include "mqtt/journal_codec.h"

namespace verge::mqtt {

struct RecoveredMessage {
  uint64_t seq = 0;
  uint16_t packet_id = 0;  // non-zero: was in flight with this id (resent with DUP)
  bool released = false;   // QoS 2 after PUBREC: only PUBREL is owed, no body
  uint8_t out_qos = 1;
  bool out_retain = false;
  uint32_t subscription_id = 0;
  std::vector<uint32_t> more_ids;
  StoredMessage msg;
};

struct RecoveredSession {
  std::string client_id;
  uint32_t expiry_interval = 0;
  Version version = Version::V5;
  std::string username;
  bool authenticated = false;
  std::vector<uint16_t> awaiting_pubrel;
  std::map<std::string, Subscription> subscriptions;
  std::map<uint64_t, RecoveredMessage> messages;  // by seq: delivery order
};

struct RecoveredState {
  std::unordered_map<std::string, RecoveredSession> sessions;
  std::map<std::string, StoredMessage> retained;
  uint64_t records = 0;
  uint64_t bad_records = 0;  // undecodable or referring to an unknown session: skipped, counted
};

// Applies one journal record (replay is idempotent: a reset SessionPut starts the session over).
void apply_record(RecoveredState& state, JournalRecord&& rec);

class JournalGeneration {
 public:
  // Replays the live generation under `dir` (none yet: empty state) into `state`.
  static Result<RecoveredState> load(const std::string& dir);
  // Creates the next generation with `workers` empty journals; nothing is live until publish().
  static Result<JournalGeneration> create(const std::string& dir, unsigned workers,
                                          JournalDurability durability,
                                          uint64_t max_record_bytes = 1 << 20);
  // Makes this generation the live one (atomic rename) and deletes the older ones. Flush the
  // journals (wherever they were moved to) first.
  Result<void> publish();

  std::vector<std::unique_ptr<Journal>>& journals() { return journals_; }

 private:
  static Result<void> replay_log(const std::string& path, RecoveredState& st);

  std::string dir_;
  uint64_t number_ = 0;
  std::vector<std::unique_ptr<Journal>> journals_;
};

}  // namespace verge::mqtt
