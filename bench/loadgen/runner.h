// The event loop shared by the scenarios: one epoll thread driving every connection.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <string>
#include <vector>

#include "client.h"
#include "options.h"
#include "stats.h"

namespace loadgen {

class Runner {
 public:
  explicit Runner(const Options& o);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Creates publishers and subscribers for the topology and waits until every subscription is
  // acknowledged and every publisher connected. False (message on stderr) on failure.
  bool setup_pubsub();

  // One epoll_wait (up to timeout_ms) and the handling of every ready connection.
  void poll(int timeout_ms);

  // Throughput: gives each publisher (round robin) a batch if its socket has drained and the
  // windows allow.
  void pump_saturate(uint64_t now);
  // Latency: sends what each publisher owes at the fixed rate since `start`.
  void pump_rate(uint64_t now, uint64_t start);

  const Options& o;
  int epfd = -1;
  std::vector<Conn> conns;
  std::vector<uint32_t> pubs;  // indexes into conns
  std::vector<uint32_t> subs;
  uint64_t fan = 1;       // deliveries per published message
  uint64_t expected = 0;  // deliveries owed for everything sent
  uint64_t received = 0;  // PUBLISH received by subscribers
  uint64_t lost = 0;      // deliveries given up on after a stall (QoS 0 drops)
  uint64_t stalls = 0;
  uint64_t window = 0;  // end-to-end deliveries allowed outstanding
  uint64_t last_progress_ns = 0;
  uint64_t connacks = 0, subacks = 0, refused = 0, closed = 0, bad_frames = 0;
  bool record_latency = false;
  Latencies latencies{1 << 22};

 private:
  void on_frame(Conn& c, const verge::mqtt::FrameHeader& h, std::span<const uint8_t> frame);
  void on_closed(Conn& c);
  size_t rr_ = 0;
  uint64_t last_received_ = 0;
};

}  // namespace loadgen
