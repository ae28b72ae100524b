// Command line of verge_loadgen. Every option is `--name value`; see usage() for the list.
#pragma once

#include <cstdint>
#include <string>

namespace loadgen {

enum class Mode { Throughput, Latency, Idle };
enum class Topology { FanIn, FanOut, P2P };

struct Options {
  Mode mode = Mode::Throughput;
  Topology topology = Topology::P2P;
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  int version = 4;                     // MQTT protocol level: 4 (3.1.1) or 5
  unsigned pubs = 1;                   // publishers (for p2p: pairs)
  unsigned subs = 1;                   // subscribers (ignored for p2p: one per publisher)
  unsigned qos = 0;                    // 0 or 1, both for PUBLISH and the subscription
  unsigned size = 16;                  // payload bytes (>= 8: the first 8 carry the send timestamp)
  double duration = 5;                 // measured seconds
  double warmup = 1;                   // seconds before measuring
  double rate = 20000;                 // latency mode: total messages/s over all publishers
  unsigned pub_window = 64;            // QoS 1: unacknowledged PUBLISH per publisher
  unsigned window_bytes = 512 * 1024;  // end-to-end: bytes sent but not yet received, all clients
  unsigned batch = 32;                 // messages written per publisher per turn
  unsigned conns = 18000;              // idle mode: connections
  int broker_pid = 0;                  // read the broker's RSS and CPU time from /proc/<pid>
  double settle = 3;                   // idle mode: seconds to wait before reading RSS
  bool persistent = false;             // persistent sessions (clean start 0; v5: expiry 1 h)
};

// Parses argv; prints usage and exits on --help or an error.
Options parse_options(int argc, char** argv);

const char* topology_name(Topology t);

}  // namespace loadgen
