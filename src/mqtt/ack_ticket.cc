#include "mqtt/ack_ticket.h"

#include <algorithm>

#include "mqtt/mqtt_connection.h"

namespace verge::mqtt {

uint64_t AckQueue::push(uint16_t packet_id, uint8_t qos) {
  entries_.push_back(Entry{packet_id, qos, State::Waiting, {}});
  return head_ + entries_.size() - 1;
}

uint64_t AckQueue::push_packet(std::string encoded) {
  entries_.push_back(Entry{0, 0, State::Waiting, std::move(encoded)});
  return head_ + entries_.size() - 1;
}

void AckQueue::complete(uint64_t index, bool stored) {
  if (index < head_ || index - head_ >= entries_.size()) return;
  entries_[index - head_].state = stored ? State::Stored : State::Failed;
  while (!entries_.empty() && entries_.front().state != State::Waiting) {
    const Entry e = std::move(entries_.front());
    entries_.pop_front();
    ++head_;
    if (conn_ == nullptr) continue;
    if (e.qos == 0) {
      if (e.state == State::Stored) {
        conn_->send_encoded(e.encoded);
      } else {
        conn_->close();  // a SUBACK must not promise what the journal lost: the client retries
      }
      continue;
    }
    // A failure may close the connection (3.1.1 cannot refuse), which detaches this queue.
    conn_->finish_publish(e.packet_id, e.qos, e.state == State::Stored);
  }
}

bool AckQueue::waiting_for(uint16_t packet_id) const {
  return std::any_of(entries_.begin(), entries_.end(), [packet_id](const Entry& e) {
    return e.qos != 0 && e.packet_id == packet_id;
  });
}

}  // namespace verge::mqtt
