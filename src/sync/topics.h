// The MQTT topics between a node and its hub (docs/sync.md, "Protocol"). The hub's broker lets a
// node with identity N publish only under verge/up/N/ and verge/enroll/N, and subscribe only
// under verge/down/N/ (ACL rules with %u; the identity is the client certificate's CN).
#pragma once

#include <string>
#include <string_view>

namespace verge::sync::topics {

// node -> hub
inline std::string enroll(std::string_view node) { return "verge/enroll/" + std::string(node); }
// {"csr": PEM} on enroll(); the hub answers on enroll_reply(): {"cert","ca"} or {"error"}.
inline std::string enroll_reply(std::string_view node) {
  return "verge/enroll/" + std::string(node) + "/reply";
}
// Heartbeat, QoS 0, JSON (see EdgeAgent: version, cpu, memory, disk, backlog, applied version).
// The will on the same topic is {"online":false}.
inline std::string status(std::string_view node) {
  return "verge/up/" + std::string(node) + "/status";
}
// The node's devices (JSON list from DeviceManager::list_devices), QoS 1, sent on change.
inline std::string devices(std::string_view node) {
  return "verge/up/" + std::string(node) + "/devices";
}
// Desired-state apply report, QoS 1: {"version","applied":[...],"failed":[{"item","error"}]}.
inline std::string report(std::string_view node) {
  return "verge/up/" + std::string(node) + "/report";
}
// Uplink batches (sync/batch.h), QoS 1.
inline std::string data(std::string_view node, std::string_view stream) {
  return "verge/up/" + std::string(node) + "/data/" + std::string(stream);
}

// hub -> node
// Acknowledgement, QoS 0, JSON {"stream","next","quarantined"?:[{"seq","error"}]}: every record
// below `next` is stored at the hub. Lost acks are recovered by the node's resend timer.
inline std::string ack(std::string_view node) { return "verge/down/" + std::string(node) + "/ack"; }
// The node's desired state, retained, QoS 1 (see sync/desired.h).
inline std::string desired(std::string_view node) {
  return "verge/down/" + std::string(node) + "/desired";
}

inline constexpr std::string_view kUpPrefix = "verge/up/";
inline constexpr std::string_view kEnrollPrefix = "verge/enroll/";

// Node ids, stream names: [A-Za-z0-9_-]{1,64}.
bool valid_name(std::string_view s);

}  // namespace verge::sync::topics
